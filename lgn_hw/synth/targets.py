"""The synthesis targets: one FPGA device each, with its Yosys script and place-and-route tool."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Target", "TARGETS", "get_target"]


@dataclass(frozen=True)
class Target:
    """One device: how Yosys maps to it and how nextpnr (if any) places it."""

    name: str
    family: str
    device: str
    yosys_script: str           # template file under hdl_templates/
    pnr_tool: str | None        # a key of lgn_hw.tools.TOOLS, or None: synthesis only
    pnr_args: tuple             # device selection for nextpnr
    unconstrained_io: tuple     # nextpnr options that let it place unconstrained pins
    logic_resource: str         # the nextpnr utilisation entry that counts logic cells
    default_freq_mhz: float
    capacity_luts: int          # for utilisation without place and route
    capacity_ffs: int
    cell_kinds: tuple           # (regex, kind) pairs classifying mapped cells
    memory_luts: tuple = ()     # (cell, LUT sites) of LUT-RAM / shift-register cells

    def lut_sites(self, cell_type: str) -> int:
        """LUT sites one ``cell_type`` cell takes when it is a LUT used as memory, else 0."""
        return dict(self.memory_luts).get(cell_type, 0)

    def classify(self, cell_type: str) -> str | None:
        """``'lut'``, ``'ff'``, ``'carry'``, ``'mux'``, ``'ram'`` (block or LUT RAM, shift
        registers), ``'io'``, ``'const'``, or None for anything else."""
        for pattern, kind in self.cell_kinds:
            if re.fullmatch(pattern, cell_type):
                return kind
        return None

    @property
    def has_pnr(self) -> bool:
        return self.pnr_tool is not None


_ICE40_CELLS = ((r"SB_LUT4", "lut"), (r"SB_RAM40_4K\w*", "ram"),
                (r"SB_DFF\w*", "ff"), (r"SB_CARRY", "carry"), (r"SB_IO\w*", "io"))
_ECP5_CELLS = ((r"LUT4", "lut"), (r"DP16KD|PDPW16KD|TRELLIS_DPR16X4", "ram"), (r"TRELLIS_FF", "ff"), (r"CCU2[CD]", "carry"),
               (r"PFUMX|L6MUX21", "mux"), (r"TRELLIS_IO|[IO]B", "io"))
_XILINX_CELLS = ((r"LUT[1-6]|INV", "lut"), (r"RAM\w+|SRL\w+", "ram"),
                 (r"FD[RSCP]E(_1)?|LD[CP]E?", "ff"), (r"CARRY[48]", "carry"),
                 (r"MUXF[789]", "mux"), (r"[IO]BUF\w*|BUFG\w*", "io"))
_GOWIN_CELLS = ((r"LUT[1-4]", "lut"), (r"RAM16\w*|SDPB?|DPB?|SPX?9?", "ram"), (r"GND|VCC", "const"),
                (r"DFF\w*", "ff"), (r"ALU", "carry"), (r"MUX2_LUT[5-8]", "mux"),
                (r"[IOT]BUF|IOBUF", "io"))

#: LUT6 sites a Xilinx 7-series LUT-RAM / shift-register cell takes (SLICEM LUTs used as memory).
#: Vivado's "CLB LUTs" count them; Yosys's stat lists them apart from LUT1..LUT6: the argmax's
#: delay lines map to SRL16E and the output FIFO to RAM32M.
_XILINX_MEMORY_LUTS = (("SRL16E", 1), ("SRLC16E", 1), ("SRLC32E", 1), ("RAM32X1S", 1), ("RAM64X1S", 1),
                       ("RAM32X1D", 2), ("RAM64X1D", 2), ("RAM128X1S", 2), ("RAM128X1D", 4), ("RAM256X1S", 4),
                       ("RAM32M", 4), ("RAM64M", 4), ("RAM32M16", 8), ("RAM64M8", 8))

# Per family: place-and-route tool (None: synthesis only), its options for unconstrained
# pins, the utilisation entry that counts logic cells, and the cell classes.
_FAMILIES = {
    "ice40": ("nextpnr-ice40", ("--pcf-allow-unconstrained",), "ICESTORM_LC", _ICE40_CELLS),
    "ecp5": ("nextpnr-ecp5", ("--lpf-allow-unconstrained",), "TRELLIS_COMB", _ECP5_CELLS),
    "xilinx": (None, (), "", _XILINX_CELLS),
    "gowin": ("nextpnr-gowin", (), "SLICE", _GOWIN_CELLS),
}


def _target(name, family, device, pnr_args, freq_mhz, luts, ffs) -> Target:
    pnr_tool, unconstrained_io, logic_resource, cells = _FAMILIES[family]
    return Target(name, family, device, f"synth_{family}.ys.tmpl", pnr_tool, pnr_args,
                  unconstrained_io, logic_resource, freq_mhz, luts, ffs, cells,
                  _XILINX_MEMORY_LUTS if family == "xilinx" else ())


TARGETS = {t.name: t for t in (
    _target("ice40-hx8k", "ice40", "iCE40HX8K-CT256", ("--hx8k", "--package", "ct256"), 100.0, 7680, 7680),
    _target("ice40-up5k", "ice40", "iCE40UP5K-SG48", ("--up5k", "--package", "sg48"), 50.0, 5280, 5280),
    _target("ecp5-25k", "ecp5", "LFE5U-25F-CABGA381", ("--25k", "--package", "CABGA381"),
            150.0, 24288, 24288),
    _target("ecp5-85k", "ecp5", "LFE5U-85F-CABGA381", ("--85k", "--package", "CABGA381"),
            150.0, 83640, 83640),
    # Synthesis only: no open place and route for 7-series here. Capacity of an XC7A35T.
    _target("xilinx-7", "xilinx", "XC7A35T (7-series, LUT6)", (), 200.0, 20800, 41600),
    # The Tang Nano 9K's GW1NR-9C, through the legacy nextpnr-gowin that yowasp-nextpnr-gowin ships.
    _target("gowin", "gowin", "GW1NR-LV9QN88PC6/I5",
            ("--device", "GW1NR-LV9QN88PC6/I5", "--family", "GW1N-9C"), 100.0, 8640, 6480),
)}


def get_target(name: str) -> Target:
    """The :class:`Target` called ``name``; a ValueError lists the known ones."""
    try:
        return TARGETS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown target {name!r}; expected one of {', '.join(TARGETS)}") from None
