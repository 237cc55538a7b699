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


def _stage(m, value, registered: bool, name: str) -> Signal:
    """A wide signal holding ``value``: a plain wire, or a register without reset or enable.

    ``value`` may be a list of pieces: they are joined with :func:`_join`.
    """
    if isinstance(value, (list, tuple)):
        value = _join(value)
    sig = Signal(len(value), name=name, reset_less=True)
    if registered:
        m.d.sync += sig.eq(value)
    else:
        m.d.comb += sig.eq(value)
    return sig

