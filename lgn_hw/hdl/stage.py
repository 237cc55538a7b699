"""Pieces every block of the core shares: stage signals and register counts."""

from __future__ import annotations

from amaranth.hdl import Cat, Signal

__all__: list = []


def _levels(count: int) -> int:
    """Levels of a binary reduction tree over ``count`` leaves."""
    return (count - 1).bit_length() if count > 1 else 0


def _registers(levels: int, every: int) -> int:
    return levels // every if every else 0


#: Pieces per concatenation in the tree of :func:`_join`. Icarus builds a longer one as a tree
#: of 4-way nodes that are not behind inversions: 4 ran the demo-shaped core's testbench in 5%
#: fewer instructions than 16 (valgrind --tool=callgrind on bench/icarus.py's design), 2 in 1.5%.
GROUP = 4


#: Bits per segment of a wide signal: Amaranth builds no cell of more than 65,535 bits, so
#: :func:`_join` makes one cell per 32,768 bits of a wider value (cut at multiples of it), and
#: a block's port of that width is one port per segment, ``<name>_<i>`` (:func:`_name_segments`).
SEGMENT = 1 << 15


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
    bounds the length of a Verilog line, and makes the result one cell (one
    per :data:`SEGMENT` bits), so that a block whose output it is gets one
    named port for it.
    """
    segments = []
    for pieces in _segments(parts):
        while True:
            pieces = [~~Cat(*pieces[i: i + GROUP]) for i in range(0, len(pieces), GROUP)]
            if len(pieces) == 1:
                break
        segments.append(pieces[0])
    return segments[0] if len(segments) == 1 else Cat(*segments)


def _segments(parts):
    """``parts`` as lists of pieces of :data:`SEGMENT` bits each (the last may be shorter)."""
    segments, segment, width = [], [], 0
    for part in parts:
        lo = 0
        while lo < len(part):
            take = min(len(part) - lo, SEGMENT - width)
            segment.append(part if take == len(part) else part[lo: lo + take])
            lo, width = lo + take, width + take
            if width == SEGMENT:
                segments.append(segment)
                segment, width = [], 0
    return segments + [segment] if segment or not segments else segments


def _name_segments(m, port):
    """Name each :data:`SEGMENT` of a port wider than one cell ``<name>_<i>``, so that its ports,
    one per segment (see :func:`_join`), are named after it. Returns the segments."""
    if len(port) <= SEGMENT:
        return [port]
    segments = []
    for i, lo in enumerate(range(0, len(port), SEGMENT)):
        seg = Signal(min(SEGMENT, len(port) - lo), name=f"{port.name}_{i}")
        m.d.comb += seg.eq(port[lo: lo + SEGMENT])
        segments.append(seg)
    return segments


#: Bits and pieces per register cell: Yosys writes a register's initial value as one
#: literal (``reg [N-1:0] r = N'h...``) and its input as one concatenation of the
#: pieces, so a wider stage is several registers (a 2048-bit register's lines are
#: about 550 characters; 64 pieces about 1,500).
REGISTER_BITS = 2048
REGISTER_PIECES = 64


def _register_groups(parts):
    """``parts`` in consecutive groups of at most :data:`REGISTER_BITS` bits and
    :data:`REGISTER_PIECES` pieces (a wider part is sliced)."""
    groups, group, width = [], [], 0
    for part in parts:
        for lo in range(0, len(part), REGISTER_BITS):
            piece = part[lo: lo + REGISTER_BITS] if len(part) > REGISTER_BITS else part
            if width + len(piece) > REGISTER_BITS or len(group) == REGISTER_PIECES:
                groups.append(group)
                group, width = [], 0
            group.append(piece)
            width += len(piece)
    return groups + [group]


def _stage(m, value, registered: bool, name: str, *, out=None, attrs=None):
    """A wide signal holding ``value``: a plain wire, or registers without reset or enable.

    ``value`` may be a list of pieces. A wire joins them with :func:`_join`.
    A register takes them as they are: Icarus evaluates a register's input
    only on the clock edge, so a concatenation there costs nothing between
    edges. A stage of more than :data:`REGISTER_BITS` bits or
    :data:`REGISTER_PIECES` pieces is several registers ``<name>_<i>``,
    joined with :func:`_join`.

    With ``out`` (an output port of the block), the stage drives that port and
    the port's name is the stage's name in the Verilog: a signal of the same
    value under another name would become the port's name (Amaranth names a
    port after the first signal it finds with exactly the port's bits).
    ``attrs`` go to the registers (Verilog attributes).
    """
    parts = list(value) if isinstance(value, (list, tuple)) else [value]
    if registered:
        groups = _register_groups(parts)
        regs = []
        for i, group in enumerate(groups):
            reg_name = f"{name}_{i}" if len(groups) > 1 else "" if out is not None else name
            reg = Signal(sum(len(p) for p in group), name=reg_name, reset_less=True, attrs=attrs or {})
            m.d.sync += reg.eq(Cat(*group))
            regs.append(reg)
        sig = regs[0] if len(regs) == 1 else _join(regs)
    elif isinstance(value, (list, tuple)):
        sig = _join(parts)
    else:
        sig = value
    if out is not None:
        m.d.comb += out.eq(sig)
        _name_segments(m, out)
        return out
    if not isinstance(sig, Signal):
        wire = Signal(len(sig), name=name)
        m.d.comb += wire.eq(sig)
        sig = wire
    return sig
