"""Equivalence: the golden-model check, and the Yosys proof of exported cores."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from lgn_hw.cli import main
from lgn_hw.netlist import Layer, evaluate, mutant, random_netlist
from lgn_hw.netlist.equiv import all_inputs, check_equivalent
from lgn_hw.netlist.opt import optimize

# Trained networks are rich in pass-through, NOT and constant gates; so are these.
_OPS = [3, 3, 3, 3, 5, 12, 10, 0, 15] + list(range(16))


def small_net(seed=1, n=12, widths=(80, 60, 40, 30), classes=3):
    return random_netlist(n, list(widths), classes, seed=seed, ops=_OPS)


def alter_one_gate(net, layer=1, gate=None):
    """The netlist with one gate's op changed so that the class scores change."""
    layers = list(net.layers)
    base = check_equivalent(net, net)
    assert base
    for j in range(layers[layer].width) if gate is None else [gate]:
        for flip in (1, 2, 4, 8, 15):
            op = layers[layer].op.copy()
            op[j] ^= flip
            cand = net.with_layers(layers[:layer] + [Layer(layers[layer].a, layers[layer].b, op)]
                                   + layers[layer + 1:])
            if not check_equivalent(net, cand):
                return cand
    raise AssertionError("no observable gate to alter")


def test_all_inputs_enumerates_every_vector():
    x = all_inputs(3)
    assert x.shape == (8, 3)
    assert len({tuple(r) for r in x.tolist()}) == 8
    assert x[5].tolist() == [1, 0, 1]


def test_exhaustive_check_finds_a_difference_with_its_input():
    net = small_net()
    bad = alter_one_gate(net)
    result = check_equivalent(net, bad)
    assert not result and result.exhaustive
    x = result.counterexample[None, :]
    from lgn_hw.netlist import evaluate
    assert evaluate(net, x).scores[0].tolist() == result.expected.tolist()
    assert evaluate(bad, x).scores[0].tolist() == result.actual.tolist()
    assert "NOT equivalent" in result.describe()


def test_random_check_beyond_16_inputs_reports_its_count():
    net = random_netlist(40, [60, 30], 3, seed=3, ops=_OPS)
    out, _ = optimize(net)
    result = check_equivalent(net, out, num_random=5000, seed=7)
    assert result and not result.exhaustive and result.vectors == 5000
    assert "random 5000" in result.describe()


def test_check_rejects_mismatched_interfaces():
    with pytest.raises(ValueError, match=r"^the netlists have 4 and 5 inputs$"):
        check_equivalent(random_netlist(4, [4], 2), random_netlist(5, [4], 2))
    with pytest.raises(TypeError, match=r"^'net_b' must be a Netlist"):
        check_equivalent(random_netlist(4, [4], 2), None)


def test_optimize_cli_writes_an_equivalent_netlist(tmp_path, capsys):
    net = small_net(seed=4)
    src, dst = tmp_path / "in.lgn.json", tmp_path / "out.lgn.json"
    net.save(src)
    assert main(["optimize", str(src), str(dst), "--check"]) == 0
    out = capsys.readouterr().out
    assert "logic gates" in out and "equivalent on all 4096" in out
    from lgn_hw.netlist import load
    assert check_equivalent(net, load(dst))


def test_optimize_cli_bad_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.lgn.json"
    bad.write_text("{")
    assert main(["optimize", str(bad), str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("lgn-hw optimize: error:")


# -- exported cores ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """The original netlist, and its optimised version exported as Verilog."""
    from lgn_hw.hdl.export import export

    net = small_net(seed=11)
    opt, report = optimize(net)
    assert check_equivalent(net, opt)
    assert report.after.logic < report.before.logic
    folder = tmp_path_factory.mktemp("opt_export")
    export(opt, folder, testbench=True, testbench_samples=100)
    return net, opt, folder


@pytest.mark.icarus
def test_optimised_export_is_bit_exact_in_simulation(exported):
    from lgn_hw.tools import check_simulator

    net, opt, folder = exported
    iverilog, vvp = check_simulator("icarus")
    build = subprocess.run([iverilog, "-g2012", "-o", "sim", "tb_lgn_top.v", "lgn_top.v"],
                           cwd=folder, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    run = subprocess.run([vvp, "-n", "sim"], cwd=folder, capture_output=True, text=True)
    assert "PASS" in run.stdout, run.stdout + run.stderr


@pytest.mark.yosys
@pytest.mark.slow
@pytest.mark.abc
def test_optimised_export_is_proved_equivalent_to_the_original(exported, capsys):
    """Both methods, the decomposed proof and the bounded whole-core one, agree."""
    net, opt, folder = exported
    src = folder.parent / "original.lgn.json"
    net.save(src)
    assert main(["equiv", str(src), str(folder), "--method", "both"]) == 0
    verdicts = [ln.split()[0] for ln in capsys.readouterr().out.splitlines() if not ln.startswith(" ")]
    assert verdicts == ["PROVED:", "PROVED:"]


@pytest.mark.yosys
@pytest.mark.abc
@pytest.mark.slow
def test_an_altered_gate_fails_the_proof(exported, tmp_path):
    from lgn_hw.hdl.export import export
    from lgn_hw.verify.equiv import prove_equivalent

    net, opt, _ = exported
    bad = alter_one_gate(opt, layer=opt.depth - 2)
    export(bad, tmp_path)
    result = prove_equivalent(net, tmp_path)
    assert not result
    assert "counterexample" in result.describe()
    net.save(tmp_path.parent / "original.lgn.json")
    assert main(["equiv", str(tmp_path.parent / "original.lgn.json"), str(tmp_path)]) == 1  # both methods refute it
    assert main(["equiv", str(tmp_path / "netlist.lgn.json"), str(tmp_path), "--method", "both"]) == 0  # its own


def test_equiv_cli_reports_a_missing_export_in_one_line(tmp_path, capsys):
    net = small_net()
    net.save(tmp_path / "n.lgn.json")
    assert main(["equiv", str(tmp_path / "n.lgn.json"), str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such export folder" in err


# -- LUT netlists -----------------------------------------------------------------------------
def fold_to_lut4(net, layer):
    """The netlist with gate layers ``layer`` and ``layer + 1`` folded into one 4-LUT layer
    (each node reads the four sources of its two gates): the same function, one layer less."""
    from lgn_hw import gates
    from lgn_hw.netlist import LutLayer

    first, second = net.layers[layer], net.layers[layer + 1]
    inputs, tables = [], []
    for op2, a, b in zip(second.op.tolist(), second.a.tolist(), second.b.tolist()):
        ops = (int(first.op[a]), int(first.op[b]))
        inputs.append([int(first.a[a]), int(first.b[a]), int(first.a[b]), int(first.b[b])])
        entries = []
        for j in range(16):
            x = [(j >> (3 - i)) & 1 for i in range(4)]
            entries.append(gates.truth(op2, gates.truth(ops[0], x[0], x[1]), gates.truth(ops[1], x[2], x[3])))
        tables.append(gates.lut_from_entries(entries))
    lut = LutLayer(4, inputs, tables)
    return net.with_layers(list(net.layers[:layer]) + [lut] + list(net.layers[layer + 2:]))


def test_folded_lut_netlist_keeps_the_function():
    net = small_net(seed=4)
    lut_net = fold_to_lut4(net, 1)
    assert [layer.kind for layer in lut_net.layers] == ["gate", "lut", "gate"]
    result = check_equivalent(net, lut_net)
    assert result.equivalent and result.exhaustive
    bad, first = mutant(lut_net, all_inputs(12), layer=1)
    assert not check_equivalent(net, bad)
    # Exactly one bit of one table differs.
    diff = bad.layers[1].tables ^ lut_net.layers[1].tables
    assert np.count_nonzero(diff) == 1 and bin(int(diff.max())).count("1") == 1
    assert (evaluate(bad, all_inputs(12)[first]).scores != evaluate(net, all_inputs(12)[first]).scores).any()


@pytest.mark.parametrize("k", [None, 6])
def test_mutant_changes_one_node_observably(k):
    net = random_netlist(8, [20, 12, 6], 3, seed=2, k=k)
    bits = all_inputs(8)
    for layer in range(3):
        bad, first = mutant(net, bits, layer=layer)
        changed = [i for i in range(3) if bad.layers[i] != net.layers[i]]
        assert changed == [layer]
        assert (evaluate(bad, bits[first]).scores != evaluate(net, bits[first]).scores).any()
        assert (evaluate(bad, bits[:first]).scores == evaluate(net, bits[:first]).scores).all()
    with pytest.raises(ValueError, match=r"^'layer' must be in 0\.\.2, not 3$"):
        mutant(net, bits, layer=3)
    with pytest.raises(ValueError, match=r"^no single-node change in layer 0 changes the outputs on these 0 samples$"):
        mutant(net, bits[:0])


def test_the_proof_reference_of_a_lut_netlist_simulates_to_the_golden_model():
    from amaranth.sim import Simulator

    from lgn_hw.verify.equiv import _reference

    net = random_netlist(9, [12, 10, 6], 3, seed=8, k=[6, None, 3])
    ref = _reference(net)
    bits = all_inputs(9)[::7]
    want = evaluate(net, bits)
    got = []

    async def bench(ctx):
        for row in bits:
            ctx.set(ref.in_data, int("".join(map(str, row[::-1])), 2))
            got.append((ctx.get(ref.scores), ctx.get(ref.cls)))

    sim = Simulator(ref)
    sim.add_testbench(bench)
    sim.run()
    w = net.score_width
    scores = np.array([[(s >> (w * c)) & ((1 << w) - 1) for c in range(3)] for s, _ in got])
    np.testing.assert_array_equal(scores, want.scores)
    np.testing.assert_array_equal([c for _, c in got], want.classes)


@pytest.mark.yosys
@pytest.mark.abc
@pytest.mark.slow
def test_a_lut_netlist_is_proved_against_the_gate_export_and_a_flipped_table_bit_fails(exported, tmp_path, capsys):
    from lgn_hw.verify.equiv import prove_equivalent

    net, opt, folder = exported
    lut_net = fold_to_lut4(net, 1)
    assert lut_net.has_lut_layers
    src = tmp_path / "lut.lgn.json"
    lut_net.save(src)
    assert main(["equiv", str(src), str(folder), "--method", "both"]) == 0
    verdicts = [ln.split()[0] for ln in capsys.readouterr().out.splitlines() if not ln.startswith(" ")]
    assert verdicts == ["PROVED:", "PROVED:"]
    bad, _ = mutant(lut_net, all_inputs(net.num_inputs), layer=1)
    result = prove_equivalent(bad, folder, work_dir=tmp_path / "bad")
    assert not result and "counterexample" in result.describe()
    bad.save(tmp_path / "bad.lgn.json")
    assert main(["equiv", str(tmp_path / "bad.lgn.json"), str(folder)]) == 1


def test_reference_of_a_wide_last_layer_is_generated():
    """The demo's 400 outputs per class made the reference's score sum recurse too deeply."""
    from lgn_hw.verify.equiv import reference_verilog

    net = random_netlist(16, [64, 4000], 10, seed=5, ops=_OPS)
    text = reference_verilog(net)
    assert "module lgn_equiv_ref" in text
    assert text.count("score9") >= 1


def test_yosys_running_out_of_memory_is_undecided_not_a_counterexample(exported, tmp_path, monkeypatch, capsys):
    """The demo-size proof used to end in 'FAILED: yosys failed: thrown Wasm exception', exit 1,
    as if the core were wrong."""
    net, _, folder = exported
    fake = tmp_path / "yosys"
    fake.write_text("#!/bin/sh\n"
                    "echo 'Solving problem with 12170670 variables and 31637991 clauses..' > equiv.log\n"
                    "echo 'thrown Wasm exception' >&2\nexit 1\n")
    fake.chmod(0o755)
    import lgn_hw.verify.equiv as equiv
    monkeypatch.setattr(equiv, "find_tool", lambda name: str(fake))  # YOSYS would reach Amaranth too
    src = tmp_path / "original.lgn.json"
    net.save(src)
    assert main(["equiv", str(src), str(folder), "--method", "bounded"]) == 3
    out = capsys.readouterr().out
    assert out.startswith("UNDECIDED: Yosys ran out of memory on 12,170,670 variables and 31,637,991 clauses")
    assert "counterexample" not in out
