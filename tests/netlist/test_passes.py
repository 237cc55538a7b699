"""The optimiser: each pass on hand-built cases, and optimised == original on many netlists."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgn_hw import gates
from lgn_hw.netlist import Layer, LutLayer, Netlist, evaluate, load, random_netlist
from lgn_hw.netlist.equiv import all_inputs, check_equivalent
from lgn_hw.netlist.opt import (Constants, DeadGates, Duplicates, Gate, Graph, Lut, Normalize,
                                Wires, count_gates, lower, optimize)
from lgn_hw.netlist.opt.graph import (FALSE, NONE, NOT_A, TRUE, fix_input, negate_input,
                                      swap_inputs, tie_inputs)

OP = gates.OP_BY_NAME


def net_of(num_inputs, layers, num_classes=1):
    return Netlist(num_inputs, tuple(Layer(*zip(*rows)) if rows else None for rows in layers),
                   num_classes)


def rows(*gs):
    """Layer rows from (name, a, b) triples."""
    return [(a, b, OP[name]) for name, a, b in gs]


def same_function(a, b):
    x = all_inputs(a.num_inputs)
    return np.array_equal(evaluate(a, x).scores, evaluate(b, x).scores)


# -- derived ops ------------------------------------------------------------------------
def test_derived_ops_follow_the_truth_tables():
    for op in range(16):
        for a in (0, 1):
            for b in (0, 1):
                assert gates.truth(swap_inputs(op), b, a) == gates.truth(op, a, b)
                assert gates.truth(negate_input(op, "a"), a, b) == gates.truth(op, 1 - a, b)
                assert gates.truth(negate_input(op, "b"), a, b) == gates.truth(op, a, 1 - b)
                assert gates.truth(tie_inputs(op), a, b) == gates.truth(op, a, a)
                for v in (0, 1):
                    assert gates.truth(fix_input(op, "a", v), a, b) == gates.truth(op, v, b)
                    assert gates.truth(fix_input(op, "b", v), a, b) == gates.truth(op, a, v)
        assert not gates.DEPENDS_ON_A[fix_input(op, "a", 1)]
        assert not gates.DEPENDS_ON_B[tie_inputs(op)]
        assert (swap_inputs(op) == op) == bool(gates.SYMMETRIC[op])
    assert (gates.NAMES[FALSE], gates.NAMES[TRUE], gates.NAMES[NOT_A]) == ("FALSE", "TRUE", "NOT_A")


# -- each pass, by hand ----------------------------------------------------------------
def test_dead_gates_are_removed():
    net = net_of(2, [rows(("AND", 0, 1), ("XOR", 0, 1), ("OR", 0, 1)),
                     rows(("A", 0, 0), ("NOT_A", 0, 1))])  # layer-0 gates 1 and 2 unread
    g = Graph.from_netlist(net)
    assert DeadGates().run(g) == 2
    assert g.num_gates == 3
    assert DeadGates().run(g) == 0


def test_ignored_input_keeps_nothing_alive():
    # NOT_A ignores b, so the XOR feeding only b is dead.
    net = net_of(2, [rows(("AND", 0, 1), ("XOR", 0, 1)), rows(("NOT_A", 0, 1))])
    g = Graph.from_netlist(net)
    assert DeadGates().run(g) == 1


def test_normalize_ties_swaps_and_drops_ignored_sources():
    net = net_of(2, [rows(("XOR", 0, 0), ("B", 0, 1), ("NOT_A", 1, 0), ("AND", 0, 0))])
    g = Graph.from_netlist(net)
    assert Normalize().run(g) == 4
    got = [(x.op, x.a, x.b) for x in g.gates.values()]
    assert got == [(FALSE, NONE, NONE), (gates.PASS_A, 1, NONE), (NOT_A, 1, NONE),
                   (gates.PASS_A, 0, NONE)]
    assert Normalize().run(g) == 0


def test_constants_propagate_and_rewrite_consumers():
    # g0 = FALSE; g1 = x0 OR g0 (-> A of x0); g2 = AND(g0, x1) -> FALSE.
    net = net_of(2, [rows(("FALSE", 0, 1), ("A", 0, 0), ("B", 1, 1)),
                     rows(("OR", 1, 0), ("AND", 0, 2))])
    out, report = optimize(net, [Normalize, Constants, DeadGates])
    assert same_function(net, out)
    ops = out.layers[-1].op.tolist()
    assert ops[1] == FALSE  # the output slot stays, as a constant
    assert count_gates(out).logic == 0


def test_constant_consumer_op_comes_from_the_truth_table():
    # NAND(TRUE, x) == NOT x for every op pair: check all 16 consumers against the golden model.
    for op in range(16):
        for const in ("FALSE", "TRUE"):
            net = net_of(2, [rows((const, 0, 0), ("A", 1, 1)), [(0, 1, op), (1, 0, op)]])
            out, _ = optimize(net)
            assert same_function(net, out), (op, const)


def test_wires_fold_pass_and_not_into_consumers():
    # y = AND(NOT x0, x1) through a NOT gate and a pass-through gate.
    net = net_of(2, [rows(("NOT_A", 0, 0), ("A", 1, 1)), rows(("AND", 0, 1))])
    g = Graph.from_netlist(net)
    Normalize().run(g)
    assert Wires().run(g) > 0
    assert g.num_gates == 1
    (gate,) = g.gates.values()
    assert (gate.a, gate.b) == (0, 1)
    assert gates.NAMES[gate.op] == "NOT_A_AND_B"
    out = lower(g, net)
    assert same_function(net, out)


def test_every_op_absorbs_a_not_on_either_input():
    for op in range(16):
        net = net_of(2, [rows(("NOT_A", 0, 0), ("NOT_A", 1, 1)), [(0, 1, op)]])
        out, report = optimize(net)
        assert same_function(net, out), op
        assert out.num_gates == 1, op


def test_output_slot_on_a_wire_is_redirected_not_dropped():
    net = net_of(3, [rows(("AND", 0, 1), ("OR", 1, 2)), rows(("A", 0, 0), ("A", 1, 1))], 2)
    out, report = optimize(net)
    assert same_function(net, out)
    assert out.layers[-1].width == 2
    assert report.after.logic == 2


def test_duplicates_merge_in_either_order_for_symmetric_ops():
    net = net_of(2, [rows(("AND", 0, 1), ("AND", 1, 0), ("A_AND_NOT_B", 0, 1), ("NOT_A_AND_B", 1, 0)),
                     rows(("XOR", 0, 1), ("XOR", 2, 3))])
    g = Graph.from_netlist(net)
    assert Duplicates().run(g) > 0
    # AND(x0,x1) == AND(x1,x0); A_AND_NOT_B(x0,x1) == NOT_A_AND_B(x1,x0)
    assert g.num_gates == 4
    out = lower(g, net)
    assert same_function(net, out)


def test_last_layer_keeps_class_order_and_width():
    net = random_netlist(6, [30, 20, 12], 3, seed=5)
    out, _ = optimize(net)
    assert out.layers[-1].width == 12
    assert (out.num_inputs, out.num_classes, out.tau) == (net.num_inputs, net.num_classes, net.tau)
    assert same_function(net, out)


def test_skip_connections_become_pass_through_gates():
    # x0 AND x1 at layer 0 is read again by the layer-2 output: needs a delay gate.
    net = net_of(2, [rows(("AND", 0, 1), ("XOR", 0, 1)), rows(("OR", 0, 1), ("A", 0, 0)),
                     rows(("XNOR", 0, 1))])
    out, report = optimize(net)
    assert same_function(net, out)
    # The A gate is folded into the XNOR and comes back as the one delay gate lowering needs.
    assert (report.after.logic, report.after.passthrough, report.after.total) == (4, 1, 5)


def test_report_counts_and_table():
    net = random_netlist(8, [40, 30, 20], 2, seed=1)
    out, report = optimize(net)
    assert report.before.total == net.num_gates
    assert report.after.total == out.num_gates
    assert report.after.logic + report.after.passthrough + report.after.constant == out.num_gates
    assert report.after.logic < report.before.logic
    assert {r["pass"] for r in report.per_pass()} == {"dead", "normalize", "constants", "wires",
                                                      "duplicates"}
    text = report.table()
    assert "logic gates" in text and "fixpoint" in text
    assert out.metadata["optimized"]["gates_before"] == net.num_gates


def test_optimize_is_idempotent_and_reaches_a_fixpoint():
    net = random_netlist(10, [60, 40, 20], 2, seed=2)
    once, r1 = optimize(net)
    twice, r2 = optimize(once)
    assert r1.rounds < 100
    assert twice.num_gates <= once.num_gates
    assert count_gates(twice).logic == count_gates(once).logic


def test_optimize_rejects_bad_arguments():
    net = random_netlist(4, [8], 2, seed=0)
    with pytest.raises(TypeError, match=r"^optimize\(\) needs a Netlist"):
        optimize(net.to_dict())
    with pytest.raises(TypeError, match=r"^passes must be Pass"):
        optimize(net, [object()])
    with pytest.raises(ValueError, match=r"^'max_rounds' must be"):
        optimize(net, max_rounds=0)


# -- optimised == original ---------------------------------------------------------------
@pytest.mark.parametrize("seed", range(30))
def test_random_netlists_stay_equivalent(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 13))
    widths = [int(w) for w in rng.integers(1, 40, size=int(rng.integers(1, 6)))]
    classes = int(rng.integers(1, 4))
    widths[-1] = classes * int(rng.integers(1, 6))
    # Biased op choice: many pass-through, NOT and constant gates, as in trained networks.
    ops = [3, 3, 3, 5, 12, 10, 0, 15] + list(range(16))
    net = random_netlist(n, widths, classes, seed=seed, ops=ops if seed % 2 else None)
    out, report = optimize(net)
    result = check_equivalent(net, out)
    assert result.equivalent and result.exhaustive, result.describe()
    assert report.after.logic <= report.before.logic
    # Every pass keeps the graph's invariants (sources are earlier nodes, outputs exist).
    g = Graph.from_netlist(net)
    for p in (DeadGates(), Normalize(), Constants(), Wires(), Duplicates()):
        p.run(g)
        g.check()


@st.composite
def netlists(draw):
    n = draw(st.integers(1, 8))
    classes = draw(st.integers(1, 3))
    depth = draw(st.integers(1, 4))
    layers, prev = [], n
    for i in range(depth):
        w = draw(st.integers(1, 12)) if i < depth - 1 else classes * draw(st.integers(1, 4))
        k = draw(st.sampled_from([None, None, 2, 3, 4, 6]))
        if k is None:
            a = draw(st.lists(st.integers(0, prev - 1), min_size=w, max_size=w))
            b = draw(st.lists(st.integers(0, prev - 1), min_size=w, max_size=w))
            op = draw(st.lists(st.integers(0, 15), min_size=w, max_size=w))
            layers.append(Layer(a, b, op))
        else:
            full = (1 << (1 << k)) - 1
            special = [0, full] + [gates.lut_pass_through(k, i) for i in range(k)] + [
                full ^ gates.lut_pass_through(k, i) for i in range(k)] + [
                gates.lut_extend(op, 2, k) for op in range(16)]
            tables = draw(st.lists(st.integers(0, full) | st.sampled_from(special), min_size=w, max_size=w))
            inputs = draw(st.lists(st.lists(st.integers(0, prev - 1), min_size=k, max_size=k),
                                   min_size=w, max_size=w))
            layers.append(LutLayer(k, inputs, tables))
        prev = w
    return Netlist(n, tuple(layers), classes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(netlists())
def test_hypothesis_netlists_stay_equivalent(net):
    out, _ = optimize(net)
    out.validate()
    assert same_function(net, out)


# -- LUT nodes ------------------------------------------------------------------------------
def lut_net(num_inputs, layers, num_classes=1):
    """Layers from lists of (table, inputs) rows (all one k per layer) or gate rows (triples)."""
    out = []
    for rows_ in layers:
        if len(rows_[0]) == 3:
            out.append(Layer(*zip(*rows_)))
        else:
            k = len(rows_[0][1])
            out.append(LutLayer(k, [list(ins) for _, ins in rows_], [t for t, _ in rows_]))
    return Netlist(num_inputs, tuple(out), num_classes)


def table_of(k, fn):
    """The k-input table of fn(x_0, ..., x_{k-1}) (entry order of lgn_hw.gates)."""
    return gates.lut_from_entries([fn(*[(j >> (k - 1 - i)) & 1 for i in range(k)])
                                   for j in range(1 << k)])


def test_a_lut_ignoring_inputs_shrinks_and_keeps_its_order():
    # out = x3 XOR (x1 AND x4), written as a 6-LUT over (x4, x0, x1, x2, x3, x1).
    t = table_of(6, lambda x4, x0, x1, x2, x3, x1b: x3 ^ (x1 & x4))
    parity = table_of(6, lambda *x: sum(x) & 1)
    net = lut_net(6, [[(t, (4, 0, 1, 2, 3, 1)), (parity, (5, 2, 0, 1, 3, 4))]], 2)
    g = Graph.from_netlist(net)
    assert Normalize().run(g) == 1  # the parity reads all six: untouched
    node, par = g.gates.values()
    assert isinstance(node, Lut) and node.inputs == (4, 1, 3)
    assert node.table == table_of(3, lambda x4, x1, x3: x3 ^ (x1 & x4))
    assert par.inputs == (5, 2, 0, 1, 3, 4)
    out = lower(g, net)
    # The layer stays a 6-LUT layer (for the parity); the shrunk node pads with its first input.
    assert isinstance(out.layers[0], LutLayer) and out.layers[0].k == 6
    assert out.layers[0].inputs[0].tolist() == [4, 1, 3, 4, 4, 4]
    assert same_function(net, out)


@pytest.mark.parametrize("fn,op_name", [(lambda a, b, c, d: a & c, "AND"),
                                        (lambda a, b, c, d: 1 - d, "NOT_A"),
                                        (lambda a, b, c, d: c, "A")])
def test_a_lut_reading_two_inputs_or_fewer_becomes_a_gate(fn, op_name):
    net = lut_net(4, [[(table_of(4, fn), (0, 1, 2, 3))]])
    g = Graph.from_netlist(net)
    Normalize().run(g)
    (node,) = g.gates.values()
    assert isinstance(node, Gate) and gates.NAMES[node.op] == op_name
    out, report = optimize(net)
    assert all(layer.kind == "gate" for layer in out.layers)
    assert same_function(net, out)


def test_constant_luts_and_luts_reading_constants():
    # Layer 0: a constant-1 6-LUT, x0 AND x1, and a 3-LUT; layer 1 reads the constant.
    maj = table_of(3, lambda a, b, c: int(a + b + c >= 2))
    net = lut_net(3, [[((1 << 64) - 1, (0, 1, 2, 0, 1, 2)), (table_of(6, lambda a, b, *r: a & b), (0, 1, 2, 0, 1, 2)),
                       (maj, (0, 1, 2, 0, 0, 0))],
                      [(maj, (0, 1, 2))]])
    # maj(1, y, z) = y OR z: one gate reading the AND and the majority.
    out, report = optimize(net)
    assert same_function(net, out)
    assert report.before.constant == 1 and report.after.logic == 3
    assert out.num_gates == 3 and out.layers[-1].kind == "gate"
    assert gates.NAMES[int(out.layers[-1].op[0])] == "OR"


def test_wires_fold_into_luts_and_negate_table_inputs():
    # y = maj(NOT x0, x1, x2) through a NOT gate and a pass-through 3-LUT.
    maj = table_of(3, lambda a, b, c: int(a + b + c >= 2))
    net = lut_net(3, [[(table_of(3, lambda a, b, c: 1 - a), (0, 1, 2)), (table_of(3, lambda a, b, c: b), (2, 1, 0)),
                       (table_of(3, lambda a, b, c: c), (0, 1, 2))],
                      [(maj, (0, 1, 2))]])
    out, report = optimize(net)
    assert same_function(net, out)
    assert report.before.passthrough == 2 and report.after.total == 1
    (layer,) = out.layers
    assert layer.kind == "lut" and layer.inputs.tolist() == [[0, 1, 2]]
    assert int(layer.tables[0]) == table_of(3, lambda a, b, c: int((1 - a) + b + c >= 2))


def test_duplicate_luts_merge_across_input_orders():
    f = table_of(3, lambda a, b, c: a ^ (b & c))
    g_ = table_of(3, lambda c, a, b: a ^ (b & c))  # the same function, inputs in another order
    h = table_of(3, lambda a, b, c: a ^ (b & (1 - c)))
    net = lut_net(3, [[(f, (0, 1, 2)), (g_, (2, 0, 1)), (h, (0, 2, 1))], [(f, (0, 1, 2))]])
    g = Graph.from_netlist(net)
    Normalize().run(g)
    assert Duplicates().run(g) > 0
    # Nodes 0 and 1 merge; the output f(n0, n0, n2) = n0 AND NOT n2 becomes a gate.
    assert g.num_gates == 3
    assert isinstance(g.gates[g.outputs[0]], Gate)
    assert same_function(net, lower(g, net))


def test_dead_luts_are_removed_and_ignored_inputs_keep_nothing_alive():
    t = table_of(3, lambda a, b, c: a & c)  # ignores input 1
    net = lut_net(3, [[(t, (0, 1, 2)), (t, (2, 1, 0)), (t, (1, 1, 1))], [(t, (0, 2, 1))]])
    g = Graph.from_netlist(net)
    assert DeadGates().run(g) == 1  # node 2 feeds only the ignored input
    assert g.num_gates == 3


def test_a_level_mixing_gates_and_luts_lowers_to_one_lut_layer():
    # Layer 1 is a 4-LUT layer that also holds a plain gate and a delay.
    par = table_of(4, lambda a, b, c, d: a ^ b ^ c ^ d)
    net = lut_net(4, [rows(("AND", 0, 1), ("OR", 2, 3), ("XOR", 0, 2), ("NAND", 1, 3)),
                      [(par, (0, 1, 2, 3)), (table_of(4, lambda a, b, c, d: a | b), (0, 1, 2, 3))],
                      rows(("XOR", 0, 1))])
    out, report = optimize(net)
    assert same_function(net, out)
    kinds = [layer.kind for layer in out.layers]
    assert kinds == ["gate", "lut", "gate"]
    assert out.layers[1].k == 4


def test_count_gates_on_lut_layers():
    net = lut_net(3, [[(0, (0, 1, 2)), (255, (0, 1, 2)), (gates.lut_pass_through(3, 1), (0, 1, 2)),
                       (table_of(3, lambda a, b, c: a & b & c), (0, 1, 2))]])
    c = count_gates(net)
    assert (c.total, c.constant, c.passthrough, c.logic) == (4, 2, 1, 1)


@pytest.mark.parametrize("seed", range(30))
def test_random_lut_and_mixed_netlists_stay_equivalent(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 13))
    depth = int(rng.integers(1, 5))
    classes = int(rng.integers(1, 4))
    widths = [int(w) for w in rng.integers(1, 30, size=depth)]
    widths[-1] = classes * int(rng.integers(1, 5))
    kinds = [None if rng.random() < 0.3 else int(rng.integers(2, 7)) for _ in range(depth)]
    net = random_netlist(n, widths, classes, seed=seed, k=kinds, sparse=0.5)
    out, report = optimize(net)
    result = check_equivalent(net, out)
    assert result.equivalent and result.exhaustive, result.describe()
    assert report.after.logic <= report.before.logic
    g = Graph.from_netlist(net)
    for p in (DeadGates(), Normalize(), Constants(), Wires(), Duplicates()):
        p.run(g)
        g.check()


def test_sparse_random_lut_netlists_shrink():
    net = random_netlist(16, [200, 150, 60], 3, seed=1, k=[6, 4, 6], sparse=0.6)
    reads = net.layers[0].reads()
    assert 0.4 < np.mean(reads <= 3) < 0.8
    out, report = optimize(net)
    assert report.after.logic < 0.8 * report.before.logic
    assert check_equivalent(net, out, num_random=20000)


def test_cli_optimize_check_proves_a_lut_netlist(tmp_path, capsys):
    from lgn_hw.cli import main

    net = random_netlist(10, [20, 12, 6], 2, seed=3, k=[6, None, 4])
    path = net.save(tmp_path / "lut.lgn.json")
    assert main(["optimize", str(path), str(tmp_path / "opt.lgn.json"), "--check"]) == 0
    out = capsys.readouterr().out
    assert "check: equivalent on all 1024 input vectors" in out
    assert check_equivalent(net, load(tmp_path / "opt.lgn.json"))
