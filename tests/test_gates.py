"""The gate table, checked exhaustively against DESIGN.md section 1."""

import itertools

import numpy as np
import pytest
from amaranth.hdl import Const, Signal
from amaranth.sim import Simulator

from lgn_hw import gates

# DESIGN.md's table, written out once here as the *test oracle* (the library derives it).
DESIGN_TABLE = {
    0: ("FALSE", lambda a, b: 0),
    1: ("AND", lambda a, b: a * b),
    2: ("A_AND_NOT_B", lambda a, b: a - a * b),
    3: ("A", lambda a, b: a),
    4: ("NOT_A_AND_B", lambda a, b: b - a * b),
    5: ("B", lambda a, b: b),
    6: ("XOR", lambda a, b: a + b - 2 * a * b),
    7: ("OR", lambda a, b: a + b - a * b),
    8: ("NOR", lambda a, b: 1 - a - b + a * b),
    9: ("XNOR", lambda a, b: 1 - a - b + 2 * a * b),
    10: ("NOT_B", lambda a, b: 1 - b),
    11: ("A_OR_NOT_B", lambda a, b: 1 - b + a * b),
    12: ("NOT_A", lambda a, b: 1 - a),
    13: ("NOT_A_OR_B", lambda a, b: 1 - a + a * b),
    14: ("NAND", lambda a, b: 1 - a * b),
    15: ("TRUE", lambda a, b: 1),
}
BITS = list(itertools.product((0, 1), repeat=2))


@pytest.mark.parametrize("op", range(16))
def test_truth_rule_matches_design_relaxation_on_corners(op):
    _, relax = DESIGN_TABLE[op]
    for a, b in BITS:
        assert gates.truth(op, a, b) == relax(a, b)


@pytest.mark.parametrize("op", range(16))
def test_names(op):
    assert gates.NAMES[op] == DESIGN_TABLE[op][0]
    assert gates.OP_BY_NAME[gates.NAMES[op]] == op


@pytest.mark.parametrize("op", range(16))
def test_coeffs_reproduce_relaxation_on_grid(op):
    _, relax = DESIGN_TABLE[op]
    c0, c1, c2, c3 = gates.COEFFS[op]
    for a in np.linspace(0, 1, 7):
        for b in np.linspace(0, 1, 7):
            assert c0 + c1 * a + c2 * b + c3 * a * b == pytest.approx(relax(a, b))


@pytest.mark.parametrize("op", range(16))
def test_anf_and_apply_bits(op):
    k0, k1, k2, k3 = gates.ANF[op]
    for a, b in BITS:
        assert k0 ^ (k1 & a) ^ (k2 & b) ^ (k3 & a & b) == gates.truth(op, a, b)
    # All four input combinations at once, in one 64-bit word and one uint8 word.
    for dtype in (np.uint8, np.uint64):
        a = dtype(0b1100)
        b = dtype(0b1010)
        out = int(gates.apply_bits(op, a, b)) & 0b1111
        expect = sum(gates.truth(op, (0b1100 >> i) & 1, (0b1010 >> i) & 1) << i for i in range(4))
        assert out == expect


def test_apply_bits_vectorised_ops():
    rng = np.random.default_rng(0)
    ops = rng.integers(0, 16, 200)
    a = rng.integers(0, 2**63, 200, dtype=np.uint64)
    b = rng.integers(0, 2**63, 200, dtype=np.uint64)
    out = gates.apply_bits(ops, a, b)
    for i in range(0, 200, 17):
        assert out[i] == gates.apply_bits(int(ops[i]), a[i], b[i])


@pytest.mark.parametrize("op", range(16))
def test_symmetry_and_dependence(op):
    f = lambda a, b: gates.truth(op, a, b)  # noqa: E731
    assert gates.SYMMETRIC[op] == all(f(a, b) == f(b, a) for a, b in BITS)
    assert gates.DEPENDS_ON_A[op] == any(f(0, b) != f(1, b) for b in (0, 1))
    assert gates.DEPENDS_ON_B[op] == any(f(a, 0) != f(a, 1) for a in (0, 1))


@pytest.mark.parametrize("op", range(16))
def test_hdl_expr_on_python_ints(op):
    for a, b in BITS:
        assert gates.hdl_expr(op, a, b) & 1 == gates.truth(op, a, b)


def test_hdl_expr_simulated_in_amaranth():
    a, b = Signal(), Signal()
    outs = [Signal(name=f"out{op}") for op in range(16)]
    from amaranth.hdl import Module

    m = Module()
    for op in range(16):
        m.d.comb += outs[op].eq(gates.hdl_expr(op, a, b))
    sim = Simulator(m)
    seen = {}

    async def bench(ctx):
        for va, vb in BITS:
            ctx.set(a, va)
            ctx.set(b, vb)
            for op in range(16):
                seen[op, va, vb] = ctx.get(outs[op])

    sim.add_testbench(bench)
    sim.run()
    for (op, va, vb), got in seen.items():
        assert got == gates.truth(op, va, vb), (op, va, vb)


def test_hdl_expr_constant_is_one_bit():
    a = Signal()
    assert isinstance(gates.hdl_expr(15, a, a), Const)
    assert gates.hdl_expr(0, a, a).shape().width == 1


@pytest.mark.parametrize("bad", [-1, 16, 3.0, True, "3", None])
def test_check_op_rejects(bad):
    with pytest.raises((TypeError, ValueError), match=r"^gate op must be"):
        gates.check_op(bad)


def test_formula_text():
    assert gates.formula(6) == "a + b - 2ab"
    assert gates.formula(0) == "0"
    assert gates.formula(13) == "1 - a + ab"


def test_op_from_table_inverts_truth_table():
    for op in range(16):
        assert gates.op_from_table(gates.truth_table(op)) == op
    tables = np.array([gates.truth_table(op) for op in range(16)], dtype=bool)
    np.testing.assert_array_equal(gates.op_from_table(tables), np.arange(16))
    np.testing.assert_array_equal(gates.op_from_table(tables.reshape(4, 4, 4)), np.arange(16).reshape(4, 4))
    for bad in ([0, 1, 1], [0, 2, 1, 1], 5):
        with pytest.raises(ValueError, match=r"^a truth table is 4 values of 0 or 1, not "):
            gates.op_from_table(bad)


# -- k-input LUT nodes (CONTRACTS.md: entry index j = sum x_i << (k-1-i), out = T >> (2^k-1-j)) --
def _oracle(table, xs):
    """The contract's rule written out as a string lookup: T in binary, MSB first, lists out(j)."""
    k = len(xs)
    j = int("".join(map(str, xs)), 2)  # x_0 is the most significant bit of the index
    return int(format(table, f"0{1 << k}b")[j])


@pytest.mark.parametrize("op", range(16))
def test_a_gate_is_the_2_lut_with_table_op(op):
    t = gates.gate_table(op)
    for a, b in BITS:
        assert gates.lut_truth(t, (a, b)) == gates.truth(op, a, b) == _oracle(t, (a, b))
        assert gates.lut_truth(t, np.array([a, b])) == gates.truth(op, a, b)
    assert gates.lut_entries(t, 2) == gates.truth_table(op)
    words = np.array([[0b1100], [0b1010]], dtype=np.uint64)
    assert gates.lut_apply_bits(t, 2, words)[0] == gates.apply_bits(op, words[0], words[1])[0]


@pytest.mark.parametrize("k", range(1, 7))
def test_lut_rules_agree_with_the_oracle(k):
    rng = np.random.default_rng(k)
    n = 1 << k
    tables = [0, (1 << n) - 1, gates.lut_pass_through(k)] + [
        int(t) for t in rng.integers(0, 1 << min(n, 63), 5, dtype=np.uint64)]
    if k == 6:
        tables.append((1 << 64) - 1 - 12345)
    xs = np.array([[(j >> (k - 1 - i)) & 1 for i in range(k)] for j in range(n)], dtype=np.uint8)
    np.testing.assert_array_equal(gates.lut_index(xs), np.arange(n))
    for t in tables:
        want = [_oracle(t, tuple(x)) for x in xs.tolist()]
        assert list(gates.lut_entries(t, k)) == want
        assert gates.lut_from_entries(want) == t
        assert [gates.lut_truth(t, tuple(x)) for x in xs.tolist()] == want
        np.testing.assert_array_equal(gates.lut_truth(t, xs), want)
        # Bit-parallel: sample s is bit s of each input word.
        words = np.array([sum(int(xs[s, i]) << s for s in range(n)) for i in range(k)],
                         dtype=np.uint64)
        got = int(gates.lut_apply_bits(t, k, words))
        assert [(got >> s) & 1 for s in range(n)] == want
    assert [gates.lut_truth(gates.lut_pass_through(k), tuple(x)) for x in xs.tolist()] == list(xs[:, 0])


def test_lut_apply_bits_and_truth_vectorised_over_nodes():
    rng = np.random.default_rng(3)
    tables = rng.integers(0, 2**63, 50, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
    xs = rng.integers(0, 2**63, (6, 50, 3), dtype=np.uint64)
    out = gates.lut_apply_bits(tables[:, None], 6, xs)
    assert out.shape == (50, 3)
    for node in (0, 17, 49):
        for w in range(3):
            for s in (0, 5, 62):
                bits = tuple(int(xs[i, node, w] >> np.uint64(s)) & 1 for i in range(6))
                assert (int(out[node, w]) >> s) & 1 == _oracle(int(tables[node]), bits)
    bits = rng.integers(0, 2, (7, 50, 6))
    np.testing.assert_array_equal(
        gates.lut_truth(tables, bits),
        [[_oracle(int(tables[n]), tuple(bits[s, n])) for n in range(50)] for s in range(7)])


def _all_rows(k):
    return [tuple((j >> (k - 1 - i)) & 1 for i in range(k)) for j in range(1 << k)]


@pytest.mark.parametrize("k", [2, 3, 5])
def test_table_rewrites(k):
    rng = np.random.default_rng(k)
    for t in [int(v) for v in rng.integers(0, 1 << (1 << k), 6, dtype=np.uint64)]:
        f = lambda x: _oracle(t, x)  # noqa: E731
        deps = gates.lut_depends(t, k)
        for i in range(k):
            assert deps[i] == any(f(x) != f(x[:i] + (1 - x[i],) + x[i + 1:]) for x in _all_rows(k))
            for v in (0, 1):
                c = gates.lut_cofactor(t, k, i, v)
                assert all(_oracle(c, y) == f(y[:i] + (v,) + y[i:]) for y in _all_rows(k - 1))
            n = gates.lut_negate_input(t, k, i)
            assert all(_oracle(n, x) == f(x[:i] + (1 - x[i],) + x[i + 1:]) for x in _all_rows(k))
        order = list(rng.permutation(k))
        p = gates.lut_permute(t, k, order)
        for y in _all_rows(k):
            x = [0] * k
            for m, o in enumerate(order):
                x[o] = y[m]
            assert _oracle(p, y) == f(tuple(x))
        e = gates.lut_extend(t, k, 6)
        assert all(_oracle(e, x) == f(x[:k]) for x in _all_rows(6))
        assert gates.lut_depends(e, 6)[k:] == (False,) * (6 - k)
        # Tie input 0 to input k-1 and move the rest down: a (k-1)-input table.
        wiring = [k - 2] + list(range(k - 1))
        r = gates.lut_rewire(t, k, wiring, k - 1)
        assert all(_oracle(r, y) == f(tuple(y[m] for m in wiring)) for y in _all_rows(k - 1))
    np.testing.assert_array_equal(
        np.stack(gates.lut_depends(np.array([5, 3, 0, 15], dtype=np.uint64), 2), axis=1),
        [[False, True], [True, False], [False, False], [False, False]])
    for i in range(k):
        assert all(_oracle(gates.lut_pass_through(k, i), x) == x[i] for x in _all_rows(k))


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_lut_hdl_expr_on_python_ints(k):
    rng = np.random.default_rng(k)
    for t in [0, (1 << (1 << k)) - 1] + [int(v) for v in rng.integers(0, 1 << (1 << k), 8, dtype=np.uint64)]:
        for x in _all_rows(k):
            assert gates.lut_hdl_expr(t, k, list(x)) & 1 == _oracle(t, x)


def test_lut_hdl_expr_simulated_in_amaranth():
    from amaranth.hdl import Module

    rng = np.random.default_rng(0)
    tables = [int(v) for v in rng.integers(0, 2**63, 4, dtype=np.uint64)] + [2**64 - 1, 0]
    xs = [Signal(name=f"x{i}") for i in range(6)]
    outs = [Signal(name=f"out{n}") for n in range(len(tables))]
    m = Module()
    for t, o in zip(tables, outs):
        m.d.comb += o.eq(gates.lut_hdl_expr(t, 6, xs))
    seen = {}

    async def bench(ctx):
        for x in _all_rows(6)[::3]:
            for sig, v in zip(xs, x):
                ctx.set(sig, v)
            for n, o in enumerate(outs):
                seen[n, x] = ctx.get(o)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    for (n, x), got in seen.items():
        assert got == _oracle(tables[n], x), (n, x)


@pytest.mark.parametrize("k,table,message", [
    (7, 0, r"^'k' must be in 0\.\.6, not 7$"),
    (True, 0, r"^'k' must be an integer in 0\.\.6, not True$"),
    (2, 16, r"^a 2-input table must be in 0\.\.2\*\*4-1, not 16$"),
    (3, -1, r"^a 3-input table must be in 0\.\.2\*\*8-1, not -1$"),
    (3, 1.0, r"^a 3-input table must be an integer, not 1\.0$"),
])
def test_check_table_rejects(k, table, message):
    with pytest.raises((TypeError, ValueError), match=message):
        gates.check_table(table, k)


def test_lut_from_entries_rejects_and_vectorises():
    for bad in ([0, 1, 1], [0, 2], 5, [0] * 128):
        with pytest.raises(ValueError, match=r"^a table's entries are 2\*\*k values of 0 or 1"):
            gates.lut_from_entries(bad)
    e = np.random.default_rng(0).integers(0, 2, (3, 4, 64))
    t = gates.lut_from_entries(e)
    assert t.dtype == np.uint64 and t.shape == (3, 4)
    assert list(gates.lut_entries(int(t[1, 2]), 6)) == e[1, 2].tolist()


def test_pass_through_of_2_inputs_is_gate_a():
    assert gates.lut_pass_through(2) == gates.PASS_A
