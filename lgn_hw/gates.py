"""The one gate table of lgn-hw (DESIGN.md section 1), and its k-input generalisation.

A k-input LUT node (k = 2..6 in a netlist) reading bits ``x_0..x_{k-1}`` holds a
table ``T``, an integer of ``2**k`` bits; its output is::

    j = sum_i x_i << (k - 1 - i)          # input 0 is the most significant bit
    out = (T >> (2**k - 1 - j)) & 1       # T read MSB-first lists out(j = 0, 1, ...)

A gate is the ``k = 2`` case: it reads ``a`` and ``b`` and its op code (0..15)
*is* its table, ``out = (op >> (3 - (2*a + b))) & 1``.

Everything else here -- names aside, which are just labels -- is derived from
that rule: the real-valued relaxation ``c0 + c1*a + c2*b + c3*a*b`` used in
training, the GF(2) algebraic normal form used by the bit-parallel golden
model, the Amaranth expressions used by the hardware generator, and the table
rewrites (cofactors, ignored inputs, permutations) the optimiser uses.
"""

from __future__ import annotations

from functools import cache

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
    "MIN_K",
    "MAX_K",
    "check_k",
    "check_table",
    "lut_index",
    "lut_truth",
    "lut_entries",
    "lut_from_entries",
    "gate_table",
    "lut_pass_through",
    "lut_depends",
    "lut_cofactor",
    "lut_negate_input",
    "lut_rewire",
    "lut_permute",
    "lut_extend",
    "lut_apply_bits",
    "lut_hdl_expr",
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


def lut_index(bits):
    """The entry index ``j = sum_i x_i << (k-1-i)`` of input bits ``x`` (inputs on the last axis).

    ``bits`` is a sequence of k bits (an int is returned) or an array ``(..., k)``
    (an integer array of shape ``(...)``: ``uint8`` for k <= 8).
    """
    if isinstance(bits, (tuple, list)) and all(isinstance(x, (int, np.integer)) for x in bits):
        j = 0
        for x in bits:
            j = (j << 1) | int(x)
        return j
    x = np.asarray(bits)
    k = x.shape[-1]
    j = np.zeros(x.shape[:-1], dtype=np.uint8 if k <= 8 else np.int64)  # small: big arrays of nodes
    for i in range(k):
        j = (j << 1) | x[..., i].astype(j.dtype)
    return j


def lut_truth(table, bits):
    """The defining rule: the output of the node with ``table`` for input bits ``x_0..x_{k-1}``.

    ``bits`` as for :func:`lut_index`; with arrays, ``table`` (ints or ``uint64``)
    broadcasts against the sample shape and a ``uint8`` array of 0/1 is returned.
    """
    if isinstance(bits, (tuple, list)) and isinstance(table, (int, np.integer)):
        return (int(table) >> ((1 << len(bits)) - 1 - lut_index(bits))) & 1
    x = np.asarray(bits)
    shift = ((1 << x.shape[-1]) - 1 - lut_index(x)).astype(np.uint64)
    return ((np.asarray(table, dtype=np.uint64) >> shift) & np.uint64(1)).astype(np.uint8)


def truth(op: int, a: int, b: int) -> int:
    """The output of gate ``op`` for input bits ``a``, ``b``: the 2-LUT rule of :func:`lut_truth`."""
    return lut_truth(op, (a, b))


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


# -- k-input LUT nodes --------------------------------------------------------------------
#: Input counts of a LUT node in a netlist (the table helpers below also take k = 0 and 1).
MIN_K, MAX_K = 2, 6


def check_k(k, *, minimum: int = 0) -> int:
    """Return ``k`` as an int, or raise unless it is an input count in ``minimum..MAX_K``."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"'k' must be an integer in {minimum}..{MAX_K}, not {k!r}")
    if not minimum <= int(k) <= MAX_K:
        raise ValueError(f"'k' must be in {minimum}..{MAX_K}, not {k!r}")
    return int(k)


def check_table(table, k) -> int:
    """Return ``table`` as an int, or raise unless it is a table of a ``k``-input node."""
    k = check_k(k)
    if isinstance(table, bool) or not isinstance(table, (int, np.integer)):
        raise TypeError(f"a {k}-input table must be an integer, not {table!r}")
    if not 0 <= int(table) < 1 << (1 << k):
        raise ValueError(f"a {k}-input table must be in 0..2**{1 << k}-1, not {table!r}")
    return int(table)


def lut_entries(table: int, k: int) -> tuple:
    """The outputs for entry indices ``j = 0 .. 2**k - 1`` (``truth_table`` for k = 2)."""
    t, n = check_table(table, k), 1 << k
    return tuple((t >> (n - 1 - j)) & 1 for j in range(n))


def lut_from_entries(entries):
    """The table whose outputs for ``j = 0, 1, ...`` are ``entries`` (2**k values of 0 or 1).

    The inverse of :func:`lut_entries`: ``T = sum_j e_j << (2**k - 1 - j)``. An
    array with ``2**k`` entries on its last axis gives a ``uint64`` array of tables.
    """
    e = np.asarray(entries)
    n = e.shape[-1] if e.ndim else 0
    if e.ndim == 0 or n not in [1 << k for k in range(MAX_K + 1)] or (
            e.size and not np.all((e == 0) | (e == 1))):
        raise ValueError(f"a table's entries are 2**k values of 0 or 1 (k <= {MAX_K}), "
                         f"not {entries!r}")
    weights = np.uint64(1) << np.arange(n - 1, -1, -1, dtype=np.uint64)
    tables = np.bitwise_or.reduce(np.where(e.astype(bool), weights, np.uint64(0)), axis=-1)
    return int(tables) if e.ndim == 1 else tables


def gate_table(op) -> int:
    """The 2-input table of gate ``op``: the op code itself (a gate *is* a 2-LUT)."""
    return check_op(op)


def lut_pass_through(k: int, i: int = 0) -> int:
    """The table of ``out = x_i`` (pass-through initialisation is ``i = 0``; ``PASS_A`` for k = 2)."""
    k = check_k(k, minimum=1)
    if not 0 <= i < k:
        raise ValueError(f"input {i!r} out of range for a {k}-input table")
    return _low_mask(k, i)  # for i = 0 the low half: entries j >= 2**(k-1) have x_0 = 1


@cache
def _index_map(k: int, new_k: int, spec: tuple) -> tuple:
    """For each entry index of the ``new_k``-input table, the entry index of the old one.

    ``spec[i] = (m, inv)``: old input ``i`` reads new input ``m`` XOR ``inv``, or the
    constant ``inv`` when ``m`` is None.
    """
    j = np.arange(1 << new_k)
    old = np.zeros_like(j)
    for m, inv in spec:  # old input bits, most significant first
        bit = (j >> (new_k - 1 - m)) & 1 if m is not None else 0
        old = (old << 1) | (bit ^ inv)
    return tuple(old.tolist())


def _remap(table: int, k: int, new_k: int, spec) -> int:
    """The ``new_k``-input table ``T'(y) = T(x)`` with ``x`` given by ``spec`` (see
    :func:`_index_map`): the old table's entries gathered through the cached index map."""
    bits = format(int(table), f"0{1 << k}b")  # entry j is character j
    return int("".join([bits[j] for j in _index_map(k, new_k, tuple(spec))]), 2)


@cache
def _low_mask(k: int, i: int) -> int:
    """Table bits whose entries have ``x_i = 1``: the table of ``out = x_i``."""
    n, bit = 1 << k, 1 << (k - 1 - i)
    return sum(1 << (n - 1 - j) for j in range(n) if j & bit)


def lut_depends(table, k) -> tuple:
    """For each input ``i``, whether the output depends on it.

    ``table`` may be a ``uint64`` array (one boolean array per input is returned).
    Entry ``j`` with ``x_i = 1`` sits ``2**(k-1-i)`` bits below its partner with
    ``x_i = 0``, so the table depends on ``x_i`` when a shifted copy differs.
    """
    k = check_k(k)
    if isinstance(table, np.ndarray):
        t = table.astype(np.uint64)
        return tuple(((t >> np.uint64(1 << (k - 1 - i))) ^ t) & np.uint64(_low_mask(k, i)) != 0
                     for i in range(k))
    t = check_table(table, k)
    return tuple(bool(((t >> (1 << (k - 1 - i))) ^ t) & _low_mask(k, i)) for i in range(k))


def lut_cofactor(table, k, i: int, value: int) -> int:
    """The ``k-1``-input table of the node with input ``i`` tied to ``value`` (input ``i`` removed)."""
    check_table(table, k)
    if not 0 <= i < k:
        raise ValueError(f"input {i!r} out of range for a {k}-input table")
    spec = [(m - (m > i), 0) for m in range(k)]
    spec[i] = (None, int(value))
    return _remap(table, k, k - 1, spec)


def lut_negate_input(table, k, i: int) -> int:
    """The table computing the same node with input ``i`` inverted."""
    check_table(table, k)
    if not 0 <= i < k:
        raise ValueError(f"input {i!r} out of range for a {k}-input table")
    return _remap(table, k, k, [(m, int(m == i)) for m in range(k)])


def lut_rewire(table, k, wiring, new_k: int) -> int:
    """The ``new_k``-input table of the node whose old input ``i`` reads new input ``wiring[i]``.

    Ties inputs (equal entries), reorders them and drops them: ``wiring[i]`` may be
    None for an input the table ignores (it then reads 0; the caller makes sure
    the table ignores it).
    """
    check_table(table, k)
    new_k = check_k(new_k)
    wiring = list(wiring)
    if len(wiring) != k or any(m is not None and not 0 <= m < new_k for m in wiring):
        raise ValueError(f"wiring {wiring!r} must give each of {k} inputs one of 0..{new_k - 1} or None")
    return _remap(table, k, new_k, [(None if m is None else int(m), 0) for m in wiring])


def lut_permute(table, k, order) -> int:
    """The table of the node rewired so that its new input ``m`` is old input ``order[m]``
    (``order`` a permutation of ``0..k-1``)."""
    order = [int(o) for o in order]
    if sorted(order) != list(range(k)):
        raise ValueError(f"order {order!r} is not a permutation of 0..{k - 1}")
    wiring = [0] * k
    for m, o in enumerate(order):
        wiring[o] = m
    return lut_rewire(table, k, wiring, k)


def lut_extend(table, k, new_k: int) -> int:
    """The ``new_k``-input table computing the same function, inputs ``k..new_k-1`` ignored."""
    check_table(table, k)
    check_k(new_k)
    if new_k < k:
        raise ValueError(f"cannot extend a {k}-input table to {new_k} inputs")
    return lut_rewire(table, k, range(k), new_k)


def lut_apply_bits(table, k: int, xs):
    """Evaluate LUT node(s) bit-parallel on packed words: a mux tree (Shannon expansion).

    ``xs`` holds the k inputs on its first axis (shape ``(k, ...)``, unsigned
    integer words, every bit an independent sample); ``table`` (ints or a
    ``uint64`` array) broadcasts against ``xs[0]``. Each level of the tree selects,
    with one input, between the two halves of the entries: ``lo ^ (x & (lo ^ hi))``.
    """
    xs = np.asarray(xs)
    k = check_k(k)
    if xs.shape[0] != k:
        raise ValueError(f"xs must hold k={k} inputs on its first axis, not shape {xs.shape}")
    t = np.asarray(table, dtype=np.uint64)
    ones = np.array(~np.zeros((), dtype=xs.dtype))
    n = 1 << k
    # Entry j as an all-zeros/all-ones mask, on a new first axis: (2**k, ...).
    shifts = np.arange(n - 1, -1, -1, dtype=np.uint64).reshape((n,) + (1,) * t.ndim)
    m = ((t[None] >> shifts) & np.uint64(1)).astype(xs.dtype) * ones
    m = m.reshape((n,) + (1,) * max(0, xs.ndim - 1 - t.ndim) + t.shape)
    for i in range(k - 1, -1, -1):  # x_{k-1} is the index's least significant bit
        lo, hi = m[0::2], m[1::2]
        m = lo ^ (xs[i] & (lo ^ hi))
    return m[0]


def lut_hdl_expr(table, k, inputs):
    """An expression of ``~ & | ^`` computing the node with ``table`` from ``inputs``.

    Works on any operands that support those operators (Amaranth values, ints),
    like :func:`hdl_expr`, which it uses for the last two inputs. Shannon
    expansion on ``x_0``: ``(x_0 & f1) | (~x_0 & f0)`` with the cofactors
    ``f0, f1``; an input the table ignores does not appear.
    """
    t = check_table(table, k)
    inputs = list(inputs)
    if k < 1:
        raise ValueError(f"an expression needs a table of at least one input, not k={k!r}")
    if len(inputs) != k:
        raise ValueError(f"a {k}-input table needs {k} inputs, not {len(inputs)}")
    if k <= 2:
        return hdl_expr(lut_extend(t, k, 2), inputs[0], inputs[-1])
    f0, f1 = lut_cofactor(t, k, 0, 0), lut_cofactor(t, k, 0, 1)
    if f0 == f1:
        return lut_hdl_expr(f0, k - 1, inputs[1:])
    x, e0, e1 = inputs[0], lut_hdl_expr(f0, k - 1, inputs[1:]), lut_hdl_expr(f1, k - 1, inputs[1:])
    return (x & e1) | (~x & e0)
