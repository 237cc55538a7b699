"""Synthesis stage: Yosys and nextpnr reports, UART board builds, and the host side.

:func:`synthesize` maps an exported core (``lgn-hw export``) to an FPGA family
and reports LUTs, FFs, carries, utilisation, fmax, latency and throughput.
"""

from .flow import REPORT, synthesize
from .report import format_report, format_table
from .targets import TARGETS, Target, get_target
from .tools import ToolFailed, ToolNotFound, find_tool

__all__ = [
    "synthesize", "REPORT", "format_report", "format_table",
    "TARGETS", "Target", "get_target",
    "ToolNotFound", "ToolFailed", "find_tool",
]
