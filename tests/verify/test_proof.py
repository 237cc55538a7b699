"""The decomposed proof (lgn_hw.verify.proof): exports proved per part, mutants refuted and replayed."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lgn_hw.cli import main
from lgn_hw.data.encoding import fit_thermometer
from lgn_hw.hdl import Pipeline, export
from lgn_hw.netlist import Layer, evaluate, random_netlist
from lgn_hw.netlist.model import Netlist

pytestmark = [pytest.mark.yosys, pytest.mark.abc]

_OPS = [3, 3, 3, 3, 5, 12, 10, 0, 15] + list(range(16))


def encoded_net(seed=0, widths=(24, 12), classes=3):
    """A random netlist behind a quantized thermometer encoder (the default export puts it in the core)."""
    rng = np.random.default_rng(seed)
    enc = fit_thermometer(rng.normal(0, 3, (200, 6)), 3).to_dict()
    net = random_netlist(18, list(widths), classes, seed=seed, ops=_OPS)
    return Netlist(net.num_inputs, net.layers, net.num_classes, net.tau, enc, {})


def export_(net, folder, **kw):
    """Export with the encoder inside whenever the netlist has one."""
    return export(net, folder, encoder="hw" if net.encoder is not None else "host", quiet=True, **kw)


def prove(net, folder, **kw):
    from lgn_hw.verify.proof import prove_parts

    return prove_parts(net, folder, work_dir=folder.parent / (folder.name + "-work"), **kw)


def test_an_export_with_the_encoder_inside_is_proved_against_its_own_netlist(tmp_path, capsys):
    """The regression of issue 23: the bounded proof drove netlist bits into the raw-feature in_data
    and answered FAILED on every such export; both methods now prove it."""
    net = encoded_net()
    folder = tmp_path / "hw"
    manifest = export_(net, folder)
    assert manifest["encoder"]["mode"] == "hw"
    assert main(["equiv", str(folder / "netlist.lgn.json"), str(folder), "--method", "both"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.match(r"^  PROVED +encoder ", out[1])
    assert [ln.split()[0] for ln in out if not ln.startswith(" ")] == ["PROVED:", "PROVED:"]


@pytest.mark.parametrize("spec", ["gates=1,popcount=1,argmax=1", "gates=0,popcount=0,argmax=0",
                                  "gates=2,popcount=3,argmax=0", "lut=6", "lut=6,stream=stall",
                                  "gates=1,popcount=1,argmax=1,stream=stall"])
def test_every_pipeline_placement_and_stream_is_proved(tmp_path, spec):
    net = encoded_net(seed=3, widths=(40, 30))
    folder = tmp_path / "hw"
    export_(net, folder, pipeline=Pipeline.parse(spec))
    result = prove(net, folder, jobs=2)
    assert result.proved, result.describe()
    names = [p.name for p in result.parts]
    assert names[:3] == ["pipeline", "encoder", "layer0"] and names[-2:] == ["argmax", "output stage"]
    assert sum(n.startswith("popcount") for n in names) == 3


def test_lut_node_layers_and_wide_classes_are_proved(tmp_path):
    net = random_netlist(24, [60, 50, 400], 4, seed=8, k=[6, None, 3])
    folder = tmp_path / "hw"
    export_(net, folder)
    result = prove(net, folder)
    assert result.proved, result.describe()
    assert any(p.name == "popcount c3" and p.claim.startswith("100-bit count") for p in result.parts)


def test_an_optimised_export_is_proved_against_the_unoptimised_original(tmp_path, capsys):
    from lgn_hw.netlist.opt import optimize

    net = encoded_net(seed=5, widths=(60, 30))
    opt, _ = optimize(net)
    folder = tmp_path / "hw"
    export_(opt, folder)
    net.save(tmp_path / "original.lgn.json")
    assert main(["equiv", str(tmp_path / "original.lgn.json"), str(folder), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "  PROVED    netlist" in out and out.splitlines()[-1].startswith("PROVED:")


# -- mutants ----------------------------------------------------------------------------------
def _assert_refuted(result, net, export_dir):
    """FAILED, with an input that the golden model and the replayed core disagree on."""
    from lgn_hw.hdl.export import load_export

    assert result.verdict == "FAILED", result.describe()
    x = result.counterexample
    assert x is not None
    bits = load_export(export_dir).inputs.netlist_bits(x[None, :])
    want = evaluate(net, bits)
    m = re.search(r"core class (\d+) scores \[([\d, ]*)\]; netlist class (\d+) scores \[([\d, ]*)\]$",
                  result.replay)
    assert m, result.replay
    assert (int(m.group(3)), m.group(4)) == (int(want.classes[0]), ", ".join(map(str, want.scores[0])))
    assert (m.group(1), m.group(2)) != (m.group(3), m.group(4))


def test_a_changed_gate_op_is_refuted_and_replayed(tmp_path):
    from lgn_hw.netlist import mutant
    from lgn_hw.netlist.equiv import all_inputs

    net = random_netlist(12, [80, 60, 30], 3, seed=11, ops=_OPS)
    bad, _ = mutant(net, all_inputs(12), layer=1)  # one gate's op changed, observably
    folder = tmp_path / "hw"
    export_(bad, folder)
    _assert_refuted(prove(net, folder), net, folder)


def test_a_swapped_wire_is_refuted_and_replayed(tmp_path):
    from lgn_hw.netlist.equiv import check_equivalent

    net = random_netlist(12, [80, 60, 30], 3, seed=12, ops=[1, 2, 4, 6, 7, 8, 9, 14])
    layer = net.layers[1]
    for j in range(layer.width):
        a = layer.a.copy()
        a[j] = (a[j] + 1) % 80
        bad = net.with_layers([net.layers[0], Layer(a, layer.b, layer.op), net.layers[2]])
        if not check_equivalent(net, bad):
            break
    folder = tmp_path / "hw"
    export_(bad, folder)
    _assert_refuted(prove(net, folder), net, folder)


def test_a_dropped_popcount_bit_is_refuted_and_replayed(tmp_path):
    """The Verilog's popcount reads one bit of class 0 as a constant 0 (the bit is not counted)."""
    net = random_netlist(12, [80, 60, 30], 3, seed=13, ops=_OPS)
    folder = tmp_path / "hw"
    export_(net, folder)
    path = folder / "lgn_top.v"
    text = path.read_text()
    start = text.index("module \\lgn_top.popcount")
    end = text.index("endmodule", start)
    bit = re.search(r"x\[\d+\]", text[start:end]).group(0)  # the first single bit the module reads
    path.write_text(text[:start] + text[start:end].replace(bit, "1'h0") + text[end:])
    _assert_refuted(prove(net, folder), net, folder)


def test_a_flipped_argmax_tie_rule_is_refuted_and_replayed(tmp_path):
    """The Verilog's first argmax compare made '>=' (a tie of classes 0 and 1 now goes to 1)."""
    net = random_netlist(10, [40, 24], 3, seed=2, ops=_OPS)
    folder = tmp_path / "hw"
    export_(net, folder)
    path = folder / "lgn_top.v"
    text = path.read_text()
    start = text.index("module \\lgn_top.argmax")
    end = text.index("endmodule", start)
    compare = re.compile(r"= (\S+ > \S+);").search(text, start).group(1)  # class and score selects
    path.write_text(text[:start] + text[start:end].replace(compare, compare.replace(">", ">=")) + text[end:])
    _assert_refuted(prove(net, folder), net, folder)


def test_a_skipped_register_stage_fails_the_pipeline_part(tmp_path, monkeypatch):
    """A layer register left out (the manifest's latency unchanged): the result comes a cycle
    early, which the structural check of the pipeline names."""
    import lgn_hw.hdl.core as core

    net = random_netlist(12, [40, 40, 30], 3, seed=4, ops=_OPS)
    real = core.GateLayer.__init__

    def skip(self, *args, registered, **kw):
        real(self, *args, registered=False, **kw)
        self.latency = 1  # claims a register it does not have

    folder = tmp_path / "hw"
    with monkeypatch.context() as mp:
        mp.setattr(core.GateLayer, "__init__", skip)
        export_(net, folder, pipeline=Pipeline.parse("gates=1"))
    result = prove(net, folder)
    assert result.verdict == "FAILED"
    assert result.parts[0].name == "pipeline" and result.parts[0].status == "failed"
    assert re.search(r"is \d+ flip-flops after in_data, not the \d+ that the latency implies", result.detail)


def test_nothing_but_the_verilog_text_reaches_the_scripts(tmp_path):
    """The scripts name the Verilog by generated names; the manifest's file names never appear."""
    net = encoded_net()
    folder = tmp_path / "hw"
    export_(net, folder)
    result = prove(net, folder)
    assert result.proved
    work = folder.parent / "hw-work"
    script = (work / "proof.ys").read_text()
    assert "read_verilog -sv dut_0.v" in script and "lgn_top.v" not in script


def test_the_top_name_must_be_an_identifier(tmp_path):
    from lgn_hw.hdl.export import load_export
    from lgn_hw.verify.proof import prove_parts

    net = encoded_net()
    folder = tmp_path / "hw"
    export_(net, folder)
    ex = load_export(folder)
    object.__setattr__(ex, "top", "lgn_top\nshell rm -rf x")
    result = prove_parts(net, ex, work_dir=tmp_path / "w")
    assert result.verdict == "FAILED" and "not a plain Verilog identifier" in result.detail

