"""Pieces every block of the core shares: stage signals and register counts."""

from __future__ import annotations

from amaranth.hdl import Cat, Signal

__all__: list = []


def _levels(count: int) -> int:
    """Levels of a binary reduction tree over ``count`` leaves."""
    return (count - 1).bit_length() if count > 1 else 0


def _registers(levels: int, every: int) -> int:
    return levels // every if every else 0


#: Pieces per concatenation in the tree of :func:`_join`.
GROUP = 16


def _join(parts):
    """``Cat(*parts)`` as a tree of ``GROUP``-way concatenations, each behind a double inversion.

    Logically this is the plain ``Cat``; synthesis removes the inversions
    (``bench/icarus.py`` compares the LUT counts). It is for event-driven
    simulators: Icarus re-sends a whole concatenation to every reader each
    time any one piece changes, but evaluates gate-like cells (``~``) once per
    time step however often their inputs change. A flat ``Cat`` of ``n``
    cells therefore costs about ``n`` times its width per cycle, and a
    combinational chain of them multiplies that; behind the inversions every
    node is sent on once per step and has at most ``GROUP`` pieces. It also
    bounds the length of a Verilog line, and makes the result one cell, so
    that a block whose output it is gets one named port for it.
    """
    parts = list(parts)
    while True:
        parts = [~~Cat(*parts[i: i + GROUP]) for i in range(0, len(parts), GROUP)]
        if len(parts) == 1:
            return parts[0]


#: Bits per register cell: Yosys writes a register's initial value as one literal
#: (``reg [N-1:0] r = N'h...``), so a wider stage is several registers joined (a
#: 2048-bit register's line is about 550 characters).
REGISTER_BITS = 2048


def _register_groups(parts):
    """``parts`` in consecutive groups of at most :data:`REGISTER_BITS` bits (a wider part is sliced)."""
    groups, group, width = [], [], 0
    for part in parts:
        for lo in range(0, len(part), REGISTER_BITS):
            piece = part[lo: lo + REGISTER_BITS] if len(part) > REGISTER_BITS else part
            if width + len(piece) > REGISTER_BITS:
                groups.append(group)
                group, width = [], 0
            group.append(piece)
            width += len(piece)
    return groups + [group]


def _stage(m, value, registered: bool, name: str, *, out=None):
    """A wide signal holding ``value``: a plain wire, or a register without reset or enable.

    ``value`` may be a list of pieces: they are joined with :func:`_join`. A
    register wider than :data:`REGISTER_BITS` is cut into registers
    ``<name>_<i>`` of at most that width, joined again with :func:`_join`.

    With ``out`` (an output port of the block), the stage drives that port and
    the port's name is the stage's name in the Verilog: a signal of the same
    value under another name would become the port's name (Amaranth names a
    port after the first signal it finds with exactly the port's bits).
    """
    parts = list(value) if isinstance(value, (list, tuple)) else [value]
    if registered and sum(len(p) for p in parts) > REGISTER_BITS:
        groups = _register_groups(parts)
        value = _join([_stage(m, group, True, f"{name}_{i}") for i, group in enumerate(groups)])
        registered = False
    elif isinstance(value, (list, tuple)):
        value = _join(parts)
    sig = Signal(len(value), name="" if out is not None else name, reset_less=True)
    if registered:
        m.d.sync += sig.eq(value)
    else:
        m.d.comb += sig.eq(value)
    if out is not None:
        m.d.comb += out.eq(sig)
        return out
    return sig
