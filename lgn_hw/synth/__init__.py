"""Synthesis stage: Yosys and nextpnr reports, UART board builds, and the host side.

* :func:`synthesize` maps an exported core (``lgn-hw export``) to an FPGA family
  and reports LUTs, FFs, carries, utilisation, fmax, latency and throughput.
* :class:`LgnUart` puts the core behind a UART (protocol in :mod:`lgn_hw.synth.uart`);
  :func:`simulate_uart` checks it at the serial level in cocotb, :func:`build_board`
  makes a bitstream with amaranth-boards, :func:`classify_samples` talks to the board.
"""

from .board import BOARDS, BoardBuild, build_board
from .flow import REPORT, synthesize
from .host import BoardTimeout, ClassifyResult, classify_samples, frame, pack_sample
from .report import format_report, format_table
from .targets import TARGETS, Target, get_target
from ..tools import ToolFailed, ToolNotFound, find_tool
from .uart import CMD_CLASS, CMD_SCORES, LgnUart, UARTRx, UARTTx, answer_bytes, sample_bytes, score_bytes
from .uart_sim import UartSimResult, simulate_uart

__all__ = [
    "synthesize", "REPORT", "format_report", "format_table",
    "TARGETS", "Target", "get_target",
    "ToolNotFound", "ToolFailed", "find_tool",
    "LgnUart", "UARTRx", "UARTTx", "CMD_CLASS", "CMD_SCORES", "sample_bytes", "score_bytes", "answer_bytes",
    "simulate_uart", "UartSimResult",
    "BOARDS", "build_board", "BoardBuild",
    "classify_samples", "ClassifyResult", "BoardTimeout", "pack_sample", "frame",
]
