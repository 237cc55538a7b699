"""The core's ports, spelled once (DESIGN.md section 3).

Everything that needs a port name or width (the Amaranth component, the
testbench, lint, verification, synthesis wrappers) gets it from
:func:`core_ports`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

__all__ = ["Port", "core_ports", "core_dims", "axis_ports", "CLOCK", "RESET", "AXIS_CLOCK", "AXIS_RESETN"]

CLOCK = "clk"
RESET = "rst"
#: the AXI4-Stream wrapper's clock and (active-low) reset, as AMBA names them
AXIS_CLOCK = "aclk"
AXIS_RESETN = "aresetn"


@dataclass(frozen=True)
class Port:
    name: str
    direction: str  # "in" or "out", seen from the core
    width: int
    meaning: str

    def to_dict(self) -> dict:
        return {"name": self.name, "dir": self.direction, "width": self.width}


def _dims_of(source) -> tuple[int, int, int, int]:
    """``(num_inputs, num_classes, score_width, class_width)`` of a Netlist or manifest."""
    if isinstance(source, Mapping):
        try:
            dims = tuple(source[k] for k in ("num_inputs", "num_classes", "score_width", "class_width"))
        except KeyError as exc:
            raise ValueError(f"manifest lacks field {exc.args[0]!r}") from None
    else:
        try:
            dims = (source.num_inputs, source.num_classes, source.score_width, source.class_width)
        except AttributeError:
            raise TypeError(f"expected a Netlist or a manifest dict, not {source!r}") from None
    for name, value in zip(("num_inputs", "num_classes", "score_width", "class_width"), dims):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return dims


def core_dims(source) -> dict:
    """The four numbers that fix the core's ports, from a Netlist or a manifest."""
    n, c, w, cw = _dims_of(source)
    return {"num_inputs": n, "num_classes": c, "score_width": w, "class_width": cw}


def core_ports(source, *, in_width: int | None = None) -> list[Port]:
    """The top module's ports, in order, for a Netlist or a manifest dict.

    ``in_data`` is ``num_inputs`` bits wide unless ``in_width`` says otherwise
    (a core with the encoder inside reads raw integer features); a manifest
    gives it in its ``encoder`` entry, an ``ExportDir`` as its ``in_width``.
    """
    n, c, w, cw = _dims_of(source)
    if in_width is None:
        if isinstance(source, Mapping):
            entry = source.get("encoder")
            in_width = entry.get("in_width") if isinstance(entry, Mapping) else None
        else:
            in_width = getattr(source, "in_width", None)
    if in_width is not None and (isinstance(in_width, bool) or not isinstance(in_width, int) or in_width < 1):
        raise ValueError(f"in_width must be a positive integer, not {in_width!r}")

    return [
        Port(CLOCK, "in", 1, "clock, rising edge"),
        Port(RESET, "in", 1, "synchronous reset, active high"),
        Port("in_valid", "in", 1, "in_data holds a sample"),
        Port("in_ready", "out", 1, "the core accepts a sample this cycle"),
        Port("in_data", "in", n if in_width is None else in_width,
             "bit i is input bit i; with the encoder in the core, feature f's integer at its field"),
        Port("out_valid", "out", 1, "out_class / out_scores hold a result"),
        Port("out_ready", "in", 1, "the consumer accepts the result this cycle"),
        Port("out_class", "out", cw, "predicted class"),
        Port("out_scores", "out", c * w, f"class c's popcount at bits [c*{w} +: {w}]"),
    ]


def axis_ports(layout) -> list[Port]:
    """The AXI4-Stream wrapper's ports (``lgn-hw export --axis``), in order, for an
    :class:`~lgn_hw.hdl.axis.AxisLayout` (its byte layout is DESIGN.md section 4.1)."""
    return [
        Port(AXIS_CLOCK, "in", 1, "clock, rising edge"),
        Port(AXIS_RESETN, "in", 1, "synchronous reset, active low"),
        Port("s_axis_tdata", "in", layout.s_width, f"in_data at bits [0 +: {layout.in_width}], the rest ignored"),
        Port("s_axis_tvalid", "in", 1, "s_axis_tdata holds a sample"),
        Port("s_axis_tready", "out", 1, "the wrapper accepts a sample this cycle"),
        Port("s_axis_tlast", "in", 1, "the sample ends a packet; comes back on its result's m_axis_tlast"),
        Port("m_axis_tdata", "out", layout.m_width, "class and scores, byte-aligned fields"),
        Port("m_axis_tvalid", "out", 1, "m_axis_tdata holds a result"),
        Port("m_axis_tready", "in", 1, "the consumer accepts the result this cycle"),
        Port("m_axis_tlast", "out", 1, "the sample of this result came with s_axis_tlast"),
    ]
