"""Bitstreams for real boards: the exported core behind the UART wrapper, built by amaranth-boards.

:func:`build_board` wraps the core of an ``lgn-hw export`` folder in
:class:`~lgn_hw.synth.uart.LgnUart`, connects it to the board's USB serial port
and builds (and optionally programs) it with Amaranth's Yosys/nextpnr flow. The
tools are the YoWASP builds unless ``YOSYS``, ``NEXTPNR_ICE40``, ... say otherwise.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from amaranth.hdl import Elaboratable, Module
from amaranth.lib import io

from ..hdl import ExportDir, as_export
from ..tools import ToolNotFound, tool_env, tool_env_var
from .report import parse_pnr
from .uart import LgnUart

__all__ = ["BOARDS", "Board", "build_board", "BoardBuild", "DEFAULT_BAUD"]

log = logging.getLogger(__name__)

DEFAULT_BAUD = 115200


@dataclass(frozen=True)
class Board:
    name: str
    module: str
    platform: str
    tools: tuple            # build tools (keys of lgn_hw.tools.TOOLS)
    bitstream: str          # bitstream file suffix
    programmer: str         # the programming tool amaranth-boards calls, and its variable
    programmer_hint: str


BOARDS = {b.name: b for b in (
    Board("icestick", "amaranth_boards.icestick", "ICEStickPlatform",
          ("yosys", "nextpnr-ice40", "icepack"), "bin", "iceprog",
          "apt-get install fpga-icestorm (or set ICEPROG)"),
    Board("icebreaker", "amaranth_boards.icebreaker", "ICEBreakerPlatform",
          ("yosys", "nextpnr-ice40", "icepack"), "bin", "iceprog",
          "apt-get install fpga-icestorm (or set ICEPROG)"),
    Board("ulx3s-85f", "amaranth_boards.ulx3s", "ULX3S_85F_Platform",
          ("yosys", "nextpnr-ecp5", "ecppack"), "bit", "openFPGALoader",
          "apt-get install openfpgaloader (or set OPENFPGALOADER)"),
)}


@dataclass(frozen=True)
class BoardBuild:
    board: str
    bitstream: Path
    build_dir: Path
    baud: int
    divisor: int
    clock_hz: float
    utilization: str | None     # nextpnr's device utilisation lines
    fmax_mhz: float | None


class _BoardTop(Elaboratable):
    def __init__(self, export: ExportDir, sources: dict, baud: int):
        self.export, self.sources, self.baud = export, sources, baud
        self.divisor = None

    def elaborate(self, platform):
        m = Module()
        self.divisor = round(platform.default_clk_frequency / self.baud)
        m.submodules.uart = uart = LgnUart(self.export, top=self.export.top, divisor=self.divisor)
        pins = platform.request("uart", 0, dir="-")  # raw ports (incl. rts, dtr, ... left unused)
        m.submodules.rx_buffer = rx_buffer = io.Buffer("i", pins.rx)
        m.submodules.tx_buffer = tx_buffer = io.Buffer("o", pins.tx)
        m.d.comb += [uart.rx.eq(rx_buffer.i), tx_buffer.o.eq(uart.tx)]
        for name, text in self.sources.items():
            platform.add_file(name, text)
        return m


def _pnr_figures(build_dir: Path, name: str):
    """nextpnr's utilisation lines (entries in use) and fmax, from its JSON report."""
    path = build_dir / f"{name}.pnr.json"
    if not path.is_file():
        return None, None
    pnr = parse_pnr(json.loads(path.read_text()))
    util = "\n".join(f"{k}: {v['used']}/ {v['available']} {100 * v['used'] // v['available']}%"
                     for k, v in pnr["pnr_utilization"].items() if v.get("available"))
    return util or None, pnr["fmax_mhz"]


def build_board(export_dir, board: str, out_dir, *, program: bool = False,
                baud: int = DEFAULT_BAUD, name: str = "lgn_board") -> BoardBuild:
    """Build a bitstream for ``board`` (a key of :data:`BOARDS`) in ``out_dir``; program it if asked.

    ``export_dir`` is an :class:`~lgn_hw.hdl.ExportDir` or its folder.
    """
    if board not in BOARDS:
        raise ValueError(f"unknown board {board!r}; expected one of {', '.join(BOARDS)}")
    if isinstance(baud, bool) or not isinstance(baud, int) or not 1200 <= baud <= 3_000_000:
        raise ValueError(f"'baud' must be an integer from 1200 to 3000000, not {baud!r}")
    spec = BOARDS[board]
    export = as_export(export_dir)
    # Generated names: the build scripts Amaranth writes never hold a name from the folder.
    sources = {f"source_{i}.v": src.read_text() for i, src in enumerate(export.sources)}
    env = tool_env(spec.tools)
    if program:
        prog = os.environ.get(tool_env_var(spec.programmer), spec.programmer)
        if shutil.which(prog) is None:
            raise ToolNotFound(f"{spec.programmer} is not installed, so {board} cannot be "
                               f"programmed: {spec.programmer_hint}")
    platform = getattr(importlib.import_module(spec.module), spec.platform)()
    top = _BoardTop(export, sources, baud)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # Build with the found tools in the build script's environment, not ours.
    plan = platform.prepare(top, name, nextpnr_opts=f"--report {name}.pnr.json")
    products = plan.execute_local(str(out), env=env)
    if program:
        platform.toolchain_program(products, name)
    bitstream = out / f"{name}.{spec.bitstream}"
    if not bitstream.is_file():
        raise RuntimeError(f"the {board} build finished without {bitstream}")
    util, fmax = _pnr_figures(out, name)
    clock = platform.default_clk_frequency
    actual = clock / top.divisor
    if abs(actual - baud) / baud > 0.02:
        log.warning("baud rate %d is %.1f%% off (%d cycles per bit at %.0f Hz)",
                    baud, 100 * abs(actual - baud) / baud, top.divisor, clock)
    return BoardBuild(board=board, bitstream=bitstream.resolve(), build_dir=out.resolve(), baud=baud,
                      divisor=top.divisor, clock_hz=clock, utilization=util, fmax_mhz=fmax)
