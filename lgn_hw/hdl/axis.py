"""The AXI4-Stream wrapper of an exported core (``lgn-hw export --axis``, DESIGN.md section 4.1).

:class:`AxisWrapper` is an Amaranth component that instantiates the exported core
module by name (the core's Verilog stays in ``<top>.v``; the wrapper's goes to
``<top>_axis.v``) and renames its stream to the AMBA names Vivado's IP
integrator and PYNQ-style host code expect::

    aclk, aresetn                                 clock, synchronous active-low reset
    s_axis_tdata/tvalid/tready/tlast              samples in  (in_data in the low bits)
    m_axis_tdata/tvalid/tready/tlast              results out (class, then the scores, byte-aligned)

:class:`AxisLayout` is the byte layout (version :data:`AXIS_LAYOUT_VERSION`), and
packs and unpacks words for host code and benches. ``tlast`` travels with its
sample through a small FIFO beside the core (results leave in order, one per
sample), so a packet of samples comes back as a packet of results.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, ClockDomain, Const, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from .ports import AXIS_CLOCK, AXIS_RESETN, CLOCK, RESET, axis_ports, core_dims, core_ports

__all__ = ["AXIS_LAYOUT_VERSION", "AxisLayout", "AxisWrapper", "axis_top", "wrapper_verilog"]

AXIS_LAYOUT_VERSION = 1


def axis_top(top: str) -> str:
    """The wrapper module's name for core module ``top``."""
    return f"{top}_axis"


def _bytes(bits: int) -> int:
    return (bits + 7) // 8


@dataclass(frozen=True)
class AxisLayout:
    """Where every field sits in ``s_axis_tdata`` and ``m_axis_tdata`` (DESIGN.md section 4.1).

    ``s_axis_tdata``: the core's ``in_data`` in bits ``[0, in_width)``, padded with
    ignored bits to whole bytes. ``m_axis_tdata``: the class in the first
    ``class_bytes`` bytes, then class c's score in ``score_bytes`` bytes at byte
    ``class_bytes + c * score_bytes``; every field little-endian and zero-padded.
    """

    in_width: int
    num_classes: int
    score_width: int
    class_width: int

    @classmethod
    def of(cls, source, in_width: int) -> "AxisLayout":
        """The layout of a core: ``source`` a Netlist or manifest, ``in_width`` its in_data bits."""
        dims = core_dims(source)
        return cls(in_width=in_width, num_classes=dims["num_classes"], score_width=dims["score_width"],
                   class_width=dims["class_width"])

    @property
    def s_bytes(self) -> int:
        return _bytes(self.in_width)

    @property
    def s_width(self) -> int:
        return 8 * self.s_bytes

    @property
    def class_bytes(self) -> int:
        return _bytes(self.class_width)

    @property
    def score_bytes(self) -> int:
        return _bytes(self.score_width)

    @property
    def m_bytes(self) -> int:
        return self.class_bytes + self.num_classes * self.score_bytes

    @property
    def m_width(self) -> int:
        return 8 * self.m_bytes

    def score_byte(self, c: int) -> int:
        """The first byte of class ``c``'s score in ``m_axis_tdata``."""
        return self.class_bytes + c * self.score_bytes

    def pack_result(self, cls: int, scores) -> int:
        """The ``m_axis_tdata`` word of a result."""
        word = int(cls)
        for c, s in enumerate(scores):
            word |= int(s) << (8 * self.score_byte(c))
        return word

    def unpack_result(self, word: int) -> tuple[int, tuple]:
        """``(class, scores)`` of an ``m_axis_tdata`` word."""
        cls = word & ((1 << (8 * self.class_bytes)) - 1)
        mask = (1 << (8 * self.score_bytes)) - 1
        return cls, tuple((word >> (8 * self.score_byte(c))) & mask for c in range(self.num_classes))

    def to_dict(self) -> dict:
        """The manifest's ``axis`` entry (without the file and module names)."""
        return {"layout_version": AXIS_LAYOUT_VERSION, "s_tdata_bits": self.s_width,
                "m_tdata_bits": self.m_width, "in_data_bits": self.in_width,
                "class_byte": 0, "class_bytes": self.class_bytes,
                "score_bytes": self.score_bytes, "first_score_byte": self.score_byte(0)}


class AxisWrapper(wiring.Component):
    """AXI4-Stream ports around the exported core module ``core`` (instantiated by name).

    ``depth`` is the tlast FIFO's depth: at least the samples the core can hold
    (``latency + 1`` for a FIFO core, ``latency`` for a stalling one); the
    wrapper holds ``s_axis_tready`` low when it is full, so it is never wrong,
    only slower, when too small.
    """

    def __init__(self, core: str, layout: AxisLayout, depth: int):
        if not isinstance(layout, AxisLayout):
            raise TypeError(f"'layout' must be an AxisLayout, not {layout!r}")
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
            raise ValueError(f"'depth' must be a positive integer, not {depth!r}")
        self.core, self.layout, self.depth = core, layout, depth
        super().__init__({p.name: (In if p.direction == "in" else Out)(p.width) for p in axis_ports(layout)})

    def elaborate(self, platform):
        lay = self.layout
        m = Module()
        m.domains.sync = cd = ClockDomain("sync")
        m.d.comb += [cd.clk.eq(getattr(self, AXIS_CLOCK)), cd.rst.eq(~getattr(self, AXIS_RESETN))]
        m.submodules.tlast = fifo = SyncFIFO(width=1, depth=self.depth)

        ports = core_ports({"num_inputs": lay.in_width, "num_classes": lay.num_classes,
                            "score_width": lay.score_width, "class_width": lay.class_width},
                           in_width=lay.in_width)
        sig = {p.name: Signal(p.width, name=f"core_{p.name}") for p in ports}
        m.d.comb += [
            sig[CLOCK].eq(cd.clk),
            sig[RESET].eq(cd.rst),
            sig["in_data"].eq(self.s_axis_tdata[:lay.in_width]),
            # A sample enters when the core and the tlast FIFO both take it.
            sig["in_valid"].eq(self.s_axis_tvalid & fifo.w_rdy),
            self.s_axis_tready.eq(sig["in_ready"] & fifo.w_rdy),
            fifo.w_en.eq(self.s_axis_tvalid & sig["in_ready"] & fifo.w_rdy),
            fifo.w_data.eq(self.s_axis_tlast),
            self.m_axis_tvalid.eq(sig["out_valid"]),
            sig["out_ready"].eq(self.m_axis_tready),
            self.m_axis_tlast.eq(fifo.r_data & sig["out_valid"]),
            fifo.r_en.eq(sig["out_valid"] & self.m_axis_tready),
        ]
        w = lay.score_width
        fields = [sig["out_class"], Const(0, 8 * lay.class_bytes - lay.class_width)]
        for c in range(lay.num_classes):
            fields += [sig["out_scores"][c * w:(c + 1) * w], Const(0, 8 * lay.score_bytes - w)]
        m.d.comb += self.m_axis_tdata.eq(Cat(*fields))
        m.submodules.core = Instance(
            self.core, *[("i" if p.direction == "in" else "o", p.name, sig[p.name]) for p in ports])
        return m


def wrapper_verilog(core: str, layout: AxisLayout, depth: int) -> str:
    """The Verilog of the wrapper module ``<core>_axis`` (the core module itself is not in it)."""
    from amaranth.back import verilog

    wrapper = AxisWrapper(core, layout, depth)
    return verilog.convert(wrapper, name=axis_top(core), emit_src=False)
