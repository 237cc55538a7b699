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
