"""The one gate table of lgn-hw (DESIGN.md section 1).

A gate reads two bits ``a`` and ``b``; its op code (0..15) *is* its truth table::

    out = (op >> (3 - (2*a + b))) & 1

Everything else here -- names aside, which are just labels -- is derived from
that rule: the real-valued relaxation ``c0 + c1*a + c2*b + c3*a*b`` used in
training, the GF(2) algebraic normal form used by the bit-parallel golden
model, and the Amaranth expression used by the hardware generator.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "NUM_OPS",
    "NAMES",
    "OP_BY_NAME",
    "PASS_A",
    "truth",
    "truth_table",
    "op_from_table",
    "COEFFS",
    "ANF",
    "SYMMETRIC",
    "DEPENDS_ON_A",
    "DEPENDS_ON_B",
    "apply_bits",
    "hdl_expr",
    "formula",
    "check_op",
]

NUM_OPS = 16

#: Human-readable names, indexed by op code. Labels only: no behaviour derives from them.
NAMES = (
    "FALSE", "AND", "A_AND_NOT_B", "A", "NOT_A_AND_B", "B", "XOR", "OR",
    "NOR", "XNOR", "NOT_B", "A_OR_NOT_B", "NOT_A", "NOT_A_OR_B", "NAND", "TRUE",
)
OP_BY_NAME = {name: op for op, name in enumerate(NAMES)}

#: The pass-through gate ``out = a``; residual initialisation favours it.
PASS_A = OP_BY_NAME["A"]


def check_op(op) -> int:
    """Return ``op`` as an int, or raise if it is not a gate op code."""
    if isinstance(op, bool) or not isinstance(op, (int, np.integer)):
        raise TypeError(f"gate op must be an integer in 0..15, not {op!r}")
    if not 0 <= int(op) < NUM_OPS:
        raise ValueError(f"gate op must be in 0..15, not {op!r}")
    return int(op)


def truth(op: int, a: int, b: int) -> int:
    """The defining rule: the output of gate ``op`` for input bits ``a``, ``b``."""
    return (op >> (3 - (2 * a + b))) & 1


def truth_table(op: int) -> tuple[int, int, int, int]:
    """``(f(0,0), f(0,1), f(1,0), f(1,1))`` of gate ``op``."""
    return tuple(truth(op, a, b) for a in (0, 1) for b in (0, 1))


def op_from_table(table):
    """The op code whose truth table is ``table`` ``(f(0,0), f(0,1), f(1,0), f(1,1))``.

    The inverse of :func:`truth_table`. ``table`` may also be an array of 0/1
    values (or booleans) with 4 on its last axis, giving an ``int64`` array of ops.
    """
    t = np.asarray(table)
    if t.ndim == 0 or t.shape[-1] != 4 or (t.size and not np.all((t == 0) | (t == 1))):
        raise ValueError(f"a truth table is 4 values of 0 or 1, not {table!r}")
    ops = t.astype(np.int64) @ np.array([8, 4, 2, 1], dtype=np.int64)  # f(a,b) is bit 3-(2a+b)
    return int(ops) if t.ndim == 1 else ops


def _coeffs(op: int) -> tuple[int, int, int, int]:
    f00, f01, f10, f11 = truth_table(op)
    # Multilinear interpolation of the four corners.
    return (f00, f10 - f00, f01 - f00, f11 - f10 - f01 + f00)


def _anf(op: int) -> tuple[int, int, int, int]:
    f00, f01, f10, f11 = truth_table(op)
    # The same interpolation over GF(2): out = k0 ^ k1 a ^ k2 b ^ k3 ab.
    return (f00, f10 ^ f00, f01 ^ f00, f11 ^ f10 ^ f01 ^ f00)


#: 16x4 real coefficients: relaxation of op = c0 + c1*a + c2*b + c3*a*b.
COEFFS = np.array([_coeffs(op) for op in range(NUM_OPS)], dtype=np.int8)
#: 16x4 GF(2) coefficients: op(a, b) = k0 ^ k1&a ^ k2&b ^ k3&a&b.
ANF = np.array([_anf(op) for op in range(NUM_OPS)], dtype=np.uint8)
#: op(a, b) == op(b, a) for all bits.
SYMMETRIC = np.array([truth_table(op)[1] == truth_table(op)[2] for op in range(NUM_OPS)])
#: Whether the output depends on each input at all.
DEPENDS_ON_A = np.array([any(truth(op, 0, b) != truth(op, 1, b) for b in (0, 1)) for op in range(NUM_OPS)])
DEPENDS_ON_B = np.array([any(truth(op, a, 0) != truth(op, a, 1) for a in (0, 1)) for op in range(NUM_OPS)])


def apply_bits(op, a, b):
    """Evaluate gate(s) ``op`` on bit vectors packed in unsigned integers.

    ``a`` and ``b`` are unsigned integer scalars or numpy arrays (every bit an
    independent sample); ``op`` is an op code or an array of them broadcasting
    against ``a``. Uses the algebraic normal form, so it is branch-free.
    """
    a = np.asarray(a)
    b = np.asarray(b)
    ones = np.array(~np.zeros((), dtype=a.dtype))
    k = ANF[np.asarray(op)]
    # Turn each 0/1 coefficient into an all-zeros/all-ones mask of a's dtype.
    m = [(k[..., i].astype(a.dtype) * ones) for i in range(4)]
    return m[0] ^ (m[1] & a) ^ (m[2] & b) ^ (m[3] & a & b)


def hdl_expr(op: int, a, b):
    """An expression computing gate ``op`` from ``a`` and ``b`` with ``~ & | ^``.

    Works on any operands that support those operators (Amaranth values, ints).
    The form is derived from the truth table: one minterm is an AND of
    literals, three minterms an OR of literals, and every function with two
    (and none or all four) is affine, written in algebraic normal form.
    """
    op = check_op(op)
    table = truth_table(op)
    ones = sum(table)

    def lit(x, positive):
        return x if positive else ~x

    corners = [(ia, ib) for ia in (0, 1) for ib in (0, 1)]
    if ones == 1:
        ia, ib = corners[table.index(1)]
        return lit(a, ia) & lit(b, ib)
    if ones == 3:
        ia, ib = corners[table.index(0)]
        # The single zero is at (ia, ib): out = (a != ia) | (b != ib).
        return lit(a, not ia) | lit(b, not ib)
    k0, k1, k2, k3 = _anf(op)
    assert k3 == 0  # every balanced or constant 2-input function is affine
    terms = [x for x, k in ((a, k1), (b, k2)) if k]
    if not terms:
        return _const(a, k0)
    expr = terms[0]
    for t in terms[1:]:
        expr = expr ^ t
    return ~expr if k0 else expr


def _const(like, value):
    """A constant bit of the same kind as ``like``: a 1-bit Amaranth Const, else an int mask."""
    from amaranth.hdl import Const, Value

    if isinstance(like, Value):
        return Const(value, 1)
    return -1 if value else 0  # all ones / all zeros, like ~x on Python ints


def formula(op: int) -> str:
    """The relaxation of gate ``op`` as text, e.g. ``'a + b - 2ab'``."""
    op = check_op(op)
    parts = []
    for coef, term in zip(_coeffs(op), ("1", "a", "b", "ab")):
        if coef == 0:
            continue
        mag = abs(coef)
        text = term if term != "1" else "1"
        if mag != 1:
            text = f"{mag}{term}" if term != "1" else str(mag)
        sign = "-" if coef < 0 else "+"
        parts.append((sign, text))
    if not parts:
        return "0"
    out = ("-" if parts[0][0] == "-" else "") + parts[0][1]
    for sign, text in parts[1:]:
        out += f" {sign} {text}"
    return out
