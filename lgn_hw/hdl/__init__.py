"""HDL stage: the Amaranth core, its Verilog export, the AXI4-Stream wrapper and the FuseSoC core
(DESIGN.md sections 4 and 5)."""

from .axis import AxisLayout, AxisWrapper
from .core import GateLayer, LgnCore, latency_of
from .export import (LATENCY_DEFINITION, MANIFEST, ExportDir, ManifestError, as_export, check_top_name, export,
                     load_export, load_manifest, render_template)
from .pipeline import Pipeline
from .popcount import Argmax, Popcount
from .ip import core_vlnv, write_ip
from .ports import CLOCK, RESET, Port, axis_ports, core_dims, core_ports

__all__ = [
    "LgnCore", "GateLayer", "Popcount", "Argmax", "latency_of",
    "Pipeline", "Port", "core_ports", "core_dims", "CLOCK", "RESET",
    "export", "ExportDir", "load_export", "as_export", "load_manifest", "ManifestError", "MANIFEST", "LATENCY_DEFINITION",
    "check_top_name", "render_template",
    "AxisLayout", "AxisWrapper", "axis_ports", "write_ip", "core_vlnv",
]
