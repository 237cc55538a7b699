"""k-input LUT layers in the core: simulated against the golden model, one FPGA LUT per node."""

import numpy as np
import pytest

from lgn_hw.hdl import Pipeline, export
from lgn_hw.netlist import random_netlist
from lgn_hw.netlist.random import mutant


@pytest.mark.parametrize("kinds, pipeline", [([6, None, 4], Pipeline()), ([3, 5], Pipeline(1, 1, True)),
                                              ([2], Pipeline(0, 0, False))])
def test_mixed_core_matches_golden_under_gaps_and_backpressure(kinds, pipeline):
    from test_core_sim import check_results, simulate

    widths = [30, 24, 12][: len(kinds)]
    net = random_netlist(14, widths, 3, seed=len(kinds), k=kinds)
    bits = np.random.default_rng(3).integers(0, 2, (40, 14))
    core, log = simulate(net, pipeline, bits, valid_p=0.6, ready_p=0.6, seed=4)
    check_results(net, bits, log["results"])


@pytest.mark.icarus
def test_a_flipped_table_bit_fails_verification(tmp_path):
    from lgn_hw.verify import verify

    net = random_netlist(12, [24, 12], 2, seed=5, k=[6, 4])
    bits = np.random.default_rng(6).integers(0, 2, (120, 12), dtype=np.uint8)
    bad, first = mutant(net, bits, layer=1)
    export(net, tmp_path / "good", quiet=True)
    export(bad, tmp_path / "bad", quiet=True)
    assert verify(tmp_path / "good", net, sim="icarus", inputs=bits, build_dir=tmp_path / "c").passed
    result = verify(tmp_path / "bad", net, sim="icarus", inputs=bits, build_dir=tmp_path / "c")
    assert not result.passed and result.mismatches > 0
    assert f"sample {first}:" in result.message


@pytest.mark.yosys
@pytest.mark.parametrize("k, target", [(6, "xilinx-7"), (4, "ice40-hx8k")])
def test_one_lut_per_node_when_k_fits_the_target(tmp_path, k, target):
    from lgn_hw.synth import synthesize

    nodes = 200  # one LUT layer, all of it read by the popcount
    net = random_netlist(48, [nodes], 2, seed=k, k=k)
    export(net, tmp_path / "hw", quiet=True, pipeline=Pipeline(1, 2, True))
    rep = synthesize(tmp_path / "hw", target, pnr=False)
    layer_luts = rep["blocks"]["layers"]["luts"]   # the nodes plus the handshake's few LUTs
    assert nodes <= layer_luts <= nodes + 15, rep["blocks"]
