"""HDL stage: the Amaranth core and its Verilog export (DESIGN.md section 3)."""

from .core import GateLayer, LgnCore, latency_of
from .export import (LATENCY_DEFINITION, MANIFEST, ExportDir, ManifestError, as_export, check_top_name, export,
                     load_export, load_manifest, render_template)
from .pipeline import Pipeline
from .popcount import Argmax, Popcount
from .ports import CLOCK, RESET, Port, core_dims, core_ports

__all__ = [
    "LgnCore", "GateLayer", "Popcount", "Argmax", "latency_of",
    "Pipeline", "Port", "core_ports", "core_dims", "CLOCK", "RESET",
    "export", "ExportDir", "load_export", "as_export", "load_manifest", "ManifestError", "MANIFEST", "LATENCY_DEFINITION",
    "check_top_name", "render_template",
]
