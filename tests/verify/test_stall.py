"""The stalling output stage (``Pipeline(stream="stall")``: no FIFO, every register takes the
enable ``out_ready | ~out_valid``) on both cocotb simulators and the native Verilator harness,
under every handshake pattern; and a core in which one block misses the enable, which only
backpressure can reveal, is caught by each bench."""

from __future__ import annotations

import re

import pytest

from lgn_hw.hdl import Pipeline, export
from lgn_hw.hdl.lint import split_modules
from lgn_hw.netlist import load, random_netlist
from lgn_hw.verify import verify
from lgn_hw.verify.native import PATTERNS, verify_native

SAMPLES = 80
# 6 classes of 10 bits (LUT-6 counters), a register after every gate layer and adder level.
PIPELINE = Pipeline(1, 1, True, lut_size=6, stream="stall")


@pytest.fixture(scope="module")
def cores(tmp_path_factory):
    """A correct stall core, and a copy whose argmax registers advance whatever the enable says."""
    net = random_netlist(10, [24, 60], 6, seed=12)
    root = tmp_path_factory.mktemp("stall")
    manifest = export(net, root / "good", pipeline=PIPELINE, quiet=True)
    export(net, root / "broken", pipeline=PIPELINE, quiet=True)
    path = root / "broken" / "lgn_top.v"
    text = path.read_text()
    argmax = split_modules(text)["lgn_top.argmax"]
    assert argmax.count("if (advance) begin") >= 3
    path.write_text(text.replace(argmax, argmax.replace("if (advance) begin", "if (1'b1) begin")))
    return root, manifest


def _params():
    yield pytest.param("icarus", marks=pytest.mark.icarus, id="icarus")
    yield pytest.param("verilator", marks=[pytest.mark.verilator, pytest.mark.slow], id="verilator")


@pytest.mark.parametrize("sim", list(_params()))
def test_stall_core_passes_every_handshake(sim, cores, tmp_path):
    root, manifest = cores
    result = verify(root / "good", sim=sim, samples=SAMPLES, seed=4, build_dir=tmp_path,
                    gap_prob=0.4, stall_prob=0.4)
    assert result.passed, result.message
    assert result.checked == 2 * SAMPLES and result.mismatches == 0
    assert result.latency == manifest["latency"] and result.throughput == 1.0
    assert result.tests["stream_random"]["error_count"] == 0


@pytest.mark.icarus
def test_register_missing_the_stall_is_caught_by_cocotb(cores, tmp_path):
    root, _ = cores
    result = verify(root / "broken", sim="icarus", samples=SAMPLES, seed=4, build_dir=tmp_path,
                    gap_prob=0.4, stall_prob=0.4)
    assert not result.passed
    # At full rate nothing stalls, so the fault shows only under backpressure.
    assert tuple(result.failed_tests) == ("stream_random",), result.failed_tests
    assert re.match(r"^sample \d+: inputs 0x", result.message), result.message


@pytest.mark.verilator
def test_native_harness_on_stall_cores(cores, tmp_path):
    root, manifest = cores
    good = verify_native(root / "good", samples=SAMPLES, seed=4, build_dir=tmp_path, opt="-O0",
                         gap_prob=0.4, stall_prob=0.4)
    assert good.passed, good.message
    assert good.checked == len(PATTERNS) * SAMPLES
    assert good.latency == manifest["latency"]
    for name in ("random_backpressure", "stream_random"):  # stalls really happened
        assert good.tests[name]["latency_max"] > manifest["latency"]
    bad = verify_native(root / "broken", samples=SAMPLES, seed=4, build_dir=tmp_path, opt="-O0",
                        gap_prob=0.4, stall_prob=0.4)
    assert not bad.passed
    assert set(bad.failed_tests) == {"random_backpressure", "stream_random"}, bad.failed_tests


@pytest.mark.yosys
def test_stall_core_with_counters_is_proved_equivalent(cores):
    from lgn_hw.verify.equiv import prove_equivalent

    root, _ = cores
    net = load(root / "good" / "netlist.lgn.json")
    result = prove_equivalent(net, root / "good", work_dir=root / "proof")
    assert result.proved, result
