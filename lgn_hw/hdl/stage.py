"""Pieces every block of the core shares: stage signals and register counts."""

from __future__ import annotations

from amaranth.hdl import Signal

__all__: list = []


def _levels(count: int) -> int:
    """Levels of a binary reduction tree over ``count`` leaves."""
    return (count - 1).bit_length() if count > 1 else 0


def _registers(levels: int, every: int) -> int:
    return levels // every if every else 0


def _stage(m, value, registered: bool, name: str) -> Signal:
    """A wide signal holding ``value``: a plain wire, or a register without reset or enable."""
    sig = Signal(len(value), name=name, reset_less=True)
    if registered:
        m.d.sync += sig.eq(value)
    else:
        m.d.comb += sig.eq(value)
    return sig

