"""The native verification path: a Verilator-compiled C++ harness checked against the golden model.

The harness (``sim/native/lgn_native.cpp``) is compiled together with the core's
Verilog by ``verilator --cc --exe --build``. The golden model
(:func:`lgn_hw.netlist.evaluate`) computes every expected result up front; the
harness streams the samples and the expected ``out_class``/``out_scores`` words
from two binary files through the core under several handshake patterns (full
rate with the latency check, random ``in_valid`` gaps, random ``out_ready``
backpressure, both), compares every class and score in order and proves that
exactly one result comes out per sample accepted. It reports the first mismatch
with the cocotb bench's wording (sample index, inputs in hex, expected vs got).

It runs the same checks as the cocotb bench (``sim/lgn_tb.py``) about a thousand
times faster; the cocotb bench keeps the waveforms and is the path on Icarus.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import resource
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data.files import read_npy
from ..hdl import core_dims
from ..hdl.export import as_export, result_words
from ..netlist import Netlist, evaluate
from ..resources import resource_dir
from ..tools import check_simulator, run_child, verilator_env
from .cache import RUN_PREFIX, BuildCache
from .run import VerifyError, VerifyResult

__all__ = ["verify_native", "build_native", "NativeBuild", "PATTERNS", "OPT_LEVELS",
           "reference_netlist", "load_test_set", "hardware_words"]

log = logging.getLogger(__name__)

HARNESS = "lgn_native.cpp"
EXECUTABLE = "lgn_native"
#: The handshake patterns, in run order; every one streams every sample.
PATTERNS = ("full_throughput", "random_gaps", "random_backpressure", "stream_random")
#: C++ optimization levels for the model (``opt=``); see bench/verify.py for what each costs.
OPT_LEVELS = ("-O0", "-O1", "-O2", "-O3", "-Os")
DEFAULT_OPT = "-O1"   # measured by bench/verify.py: -O0 builds a little faster but runs ~15x slower
# -Wno-fatal: width warnings are lint's job, not the bench's.
_VERILATOR_ARGS = ("--cc", "--exe", "--prefix", "Vtop", "-Wno-fatal", "-Wno-lint",
                   "-Wno-style", "--x-assign", "fast", "--x-initial", "fast")


def harness_source() -> Path:
    return resource_dir("sim") / "native" / HARNESS


@dataclass(frozen=True)
class NativeBuild:
    """A built harness: the executable, its folder, whether it was reused, and the build time
    (``steps``: wall and CPU seconds of ``verilate`` and ``compile``, of a fresh build)."""

    executable: Path
    folder: Path
    reused: bool
    seconds: float
    steps: dict = field(default_factory=dict, compare=False)


def _cpus() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _tool_version(cmd: list, env: dict) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


@dataclass(frozen=True)
class _Plan:
    key: str
    args: list
    env: dict
    jobs: int
    tools: str    # the tool versions and flags every object of the build depends on


def _plan(sources, top: str, opt: str | None, jobs: int | None) -> _Plan:
    """The verilator arguments, environment and content key of a build."""
    opt = DEFAULT_OPT if opt is None else opt
    if opt not in OPT_LEVELS:
        raise ValueError(f"opt must be one of {', '.join(OPT_LEVELS)}, not {opt!r}")
    if jobs is None:
        jobs = min(4, _cpus())
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, not {jobs!r}")
    env = verilator_env()
    # OPT_FAST compiles the model's per-cycle code, OPT_GLOBAL the runtime library and the
    # harness; the once-only settle code (OPT_SLOW) gains nothing from optimization.
    makeflags = f"OPT_FAST={opt} OPT_GLOBAL={opt} OPT_SLOW=-O0"
    env["MAKEFLAGS"] = f"{env.get('MAKEFLAGS', '')} {makeflags}".strip()
    args = [*_VERILATOR_ARGS, "--top-module", top]
    tools = "\0".join([env["MAKEFLAGS"], _tool_version(["verilator", "--version"], env),
                       _tool_version([env.get("CXX", "c++"), "--version"], env)])
    h = hashlib.sha256()
    for part in (top, " ".join(args), tools):
        h.update(part.encode() + b"\0")
    h.update(harness_source().read_bytes() + b"\0")
    for src in sources:
        h.update(Path(src).name.encode() + b"\0" + Path(src).read_bytes() + b"\0")
    return _Plan(h.hexdigest()[:20], args, env, jobs, tools)


_MK_SETTING = re.compile(r"^(VM_[A-Z0-9_]+) = (.*)$", re.M)


def _runtime_objects(obj: Path, plan: _Plan) -> tuple[list[str], str]:
    """The Verilator runtime objects a verilated model links (verilated.o, ...) and the key of
    what they are compiled from: the tools, the flags, and the model's global settings."""
    classes = (obj / "Vtop_classes.mk").read_text()
    names = []
    for block in re.finditer(r"^VM_GLOBAL_(?:FAST|SLOW) \+= \\\n((?:  \S+ \\\n)*)", classes, re.M):
        names += [line.strip(" \\") for line in block.group(1).splitlines()]
    settings = sorted(_MK_SETTING.findall(classes) + _MK_SETTING.findall((obj / "Vtop.mk").read_text()))
    settings = [(k, v) for k, v in settings if not k.startswith(("VM_USER", "VM_PREFIX", "VM_MODPREFIX", "VM_PARALLEL"))]
    h = hashlib.sha256(plan.tools.encode() + repr((names, settings)).encode())
    return [f"{n}.o" for n in names], h.hexdigest()[:20]


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run_logged(cmd, build_log: Path, env: dict, cwd: Path, steps: dict | None = None,
                step: str = "") -> int:
    w0, c0 = time.perf_counter(), _children_cpu()
    try:
        return _run(cmd, build_log, env, cwd)
    finally:
        if steps is not None:
            steps[step] = {"wall": time.perf_counter() - w0, "cpu": _children_cpu() - c0}


def _run(cmd, build_log: Path, env: dict, cwd: Path) -> int:
    with open(build_log, "a") as out:
        out.write("$ " + " ".join(map(str, cmd)) + "\n")
        out.flush()
        try:
            # its own process group, ended with this command (SIGTERM, Ctrl-C): no orphaned compilers
            return run_child(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        except OSError as exc:
            out.write(f"cannot run {cmd[0]}: {exc}\n")
            return 127


def _compile(folder: Path, sources, plan: _Plan, cache: BuildCache, steps: dict) -> int:
    """Verilate into ``folder/obj`` and compile it with make. The runtime library objects are
    compiled once per tool set and flags into their own cache entry ``native-runtime-<key>``
    (signed like every entry) and reused by later builds: they are the same for every design,
    and half of a small design's build."""
    obj, build_log = folder / "obj", folder / "build.log"
    code = _run_logged(["verilator", *plan.args, "-Mdir", str(obj), "-o", str(folder / EXECUTABLE),
                        *map(str, sources), str(harness_source())], build_log, plan.env, folder,
                       steps, "verilate")
    if code:
        return code
    objects, rt_key = _runtime_objects(obj, plan)
    name = f"native-runtime-{rt_key}"
    cached = False
    if objects:
        with cache.entry(name, rt_key) as (runtime, fresh):
            cached = not fresh and all((runtime / o).is_file() for o in objects)
            if cached:
                now = time.time()
                for o in objects:
                    shutil.copy2(runtime / o, obj / o)
                    os.utime(obj / o, (now + 1, now + 1))   # newer than the makefiles make checks
    code = _run_logged(["make", "-C", str(obj), "-f", "Vtop.mk", "-j", str(plan.jobs)],
                       build_log, plan.env, folder, steps, "compile")
    steps["runtime_cached"] = cached
    if code == 0 and objects and not cached and all((obj / o).is_file() for o in objects):
        with cache.entry(name, rt_key) as (runtime, fresh):
            if fresh:   # else another build cached them meanwhile
                for o in objects:
                    shutil.copy2(obj / o, runtime / o)
                cache.seal(runtime, rt_key)
    return code


def build_native(sources, top: str, build_dir=None, *, opt: str | None = None,
                 jobs: int | None = None) -> NativeBuild:
    """Compile the harness with the Verilog ``sources`` (top module ``top``) under ``build_dir``.

    The build is the :class:`~lgn_hw.verify.cache.BuildCache` entry ``native-<key>`` of
    ``build_dir`` (default: the user's cache, ``~/.cache/lgn-hw/verify``), where the key
    hashes the Verilog sources, the harness source, the flags and the tool versions: an
    unchanged design is built once, and a build is reused only under its signed stamp
    (a folder planted or changed by someone else is built again). ``opt`` is the C++
    optimization level of the model (one of :data:`OPT_LEVELS`; default
    :data:`DEFAULT_OPT`), ``jobs`` the parallel compile jobs (default: the CPUs this
    process may use, at most 4). Entries are locked while they are checked and built.
    """
    sources = [Path(s).resolve() for s in sources]
    plan = _plan(sources, top, opt, jobs)
    check_simulator("verilator")
    cache = BuildCache(build_dir, subfolder="verify")
    with cache.entry(f"native-{plan.key}", plan.key) as (folder, fresh):
        exe = folder / EXECUTABLE
        if not fresh and exe.is_file():
            log.info("reusing the native harness build in %s", folder)
            return NativeBuild(exe, folder, True, 0.0)
        build_log = folder / "build.log"
        log.info("building the native harness for %s in %s (log: %s)", top, folder, build_log)
        t0 = time.perf_counter()
        steps = {}
        code = _compile(folder, sources, plan, cache, steps)
        seconds = time.perf_counter() - t0
        if code != 0 or not exe.is_file():
            tail = build_log.read_text(errors="replace").strip().splitlines()[-15:]
            raise VerifyError(f"verilator failed to build {top} with the native harness (exit "
                              f"{code}); the end of {build_log}:\n" + "\n".join(tail))
        shutil.rmtree(folder / "obj", ignore_errors=True)   # 10x the size of the executable
        cache.seal(folder, plan.key)
    log.info("built the native harness in %.1f s", seconds)
    return NativeBuild(exe, folder, False, seconds, steps)


def reference_netlist(export_dir, netlist=None) -> Netlist:
    """The golden model's netlist: ``netlist`` (path or Netlist), else the export's copy;
    checked to fit the exported core (:meth:`~lgn_hw.hdl.ExportDir.reference`)."""
    return as_export(export_dir).reference(netlist)


# -- stimulus and expected results ---------------------------------------------------------------

def load_test_set(net: Netlist, inputs, labels=None, *, mode: str = "host"
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """What ``in_data`` carries for a test set, as bits ``(n, width)``, and its labels ``(n,)``.

    ``inputs`` (an array or a ``.npy`` path) holds raw features ``(n, features)`` when
    the netlist carries an encoder, else input bits ``(n, num_inputs)`` of 0/1.
    ``mode`` is the core's encoder mode (:class:`~lgn_hw.hdl.encoder.CoreInputs`):
    ``"host"`` cores read the netlist's bits, ``"hw"`` cores the packed integer
    features. ``labels`` (array or ``.npy``) are class indices, one per sample.
    """
    from ..hdl.encoder import CoreInputs

    core_inputs = CoreInputs(net, mode)
    if isinstance(inputs, (str, os.PathLike)) and Path(inputs).suffix.lower() in (".csv", ".tsv", ".npz"):
        from ..data import read_inputs  # a file like the training data: its label column, if any, labels it

        table = read_inputs(inputs, net)
        inputs, labels = table.x, labels if labels is not None else table.y
    x = _load_array("inputs", inputs)
    if x.dtype == np.bool_:
        x = x.astype(np.uint8)
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(f"inputs must be numbers, not dtype {x.dtype}")
    if x.ndim == 0 or len(x) < 1:
        raise ValueError(f"inputs must hold at least one sample, not shape {x.shape}")
    if net.encoder is None:   # (CoreInputs.from_raw's message would speak of raw features too)
        if x.ndim != 2 or x.shape[1] != net.num_inputs:
            raise ValueError(f"inputs must be input bits of shape (n, {net.num_inputs}) (the netlist "
                             f"has no encoder), not {x.shape}")
        if x.min() < 0 or x.max() > 1 or not np.all(x == np.round(x)):
            raise ValueError("inputs must hold only 0 and 1 (the netlist has no encoder for raw features)")
    elif not core_inputs.encoder.quantized:
        # Encoder.encode compares unquantized features as they come: NaN would read as 0 bits.
        # (A quantized encoder's Encoder.quantize checks the shape and names a non-finite value.)
        features = core_inputs.encoder.num_features
        if x.ndim != 2 or x.shape[1] != features:
            raise ValueError(f"inputs must be raw features of shape (n, {features}) "
                             f"(the netlist carries an encoder), not {x.shape}")
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            raise ValueError("inputs hold NaN or infinite features")
    words = core_inputs.from_raw(np.asarray(x))
    if labels is None:
        return words, None
    y = _load_array("labels", labels)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.shape != (len(words),):
        raise ValueError(f"labels must have shape ({len(words)},) to match the inputs, not {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(y == np.round(y)):
            raise ValueError(f"labels must be class indices (integers), not dtype {y.dtype}")
    if y.min() < 0 or y.max() >= net.num_classes:
        bad = y[(y < 0) | (y >= net.num_classes)][0]
        raise ValueError(f"labels must be classes 0..{net.num_classes - 1}, not {bad}")
    return words, y.astype(np.int64)


def _load_array(name: str, value) -> np.ndarray:
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        if path.suffix.lower() != ".npy":
            raise ValueError(f"{path}: {name} must be a .npy file")
        try:
            value = read_npy(path)   # a regular file, header checked against its size
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: no such {name} file") from None
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: cannot read as .npy ({exc})") from None
    return np.asarray(value)


def hardware_words(in_bits: np.ndarray) -> np.ndarray:
    """``in_data`` bits ``(n, width)`` (see :class:`~lgn_hw.hdl.encoder.CoreInputs`) as the
    harness's little-endian ``uint32`` words ``(n, ceil(width / 32))``, bit i of a row at bit
    i % 32 of word i // 32."""
    in_bits = np.asarray(in_bits, dtype=np.uint8)
    n, width = in_bits.shape
    padded = np.zeros((n, -(-width // 32) * 32), dtype=np.uint8)
    padded[:, :width] = in_bits
    return np.packbits(padded, axis=1, bitorder="little").view("<u4")


# -- running -------------------------------------------------------------------------------------

def verify_native(export_dir, netlist=None, *, samples: int = 1000, seed: int = 0, inputs=None,
                  labels=None, build_dir=None, gap_prob: float = 0.3, stall_prob: float = 0.3,
                  patterns=PATTERNS, opt: str | None = None, jobs: int | None = None,
                  threads: int | None = None, plusargs=(), timings: dict | None = None) -> VerifyResult:
    """Check the core exported to ``export_dir`` on Verilator with the native harness.

    ``netlist`` (path or :class:`~lgn_hw.netlist.Netlist`; default the folder's copy)
    is the golden model's reference. ``inputs`` (array or ``.npy``: raw features when
    the netlist carries an encoder, else bits) replaces ``samples`` random samples
    drawn with ``seed``; ``labels`` adds the accuracy the hardware reached (from the
    classes it produced at full rate). Each of ``patterns`` (see :data:`PATTERNS`)
    streams every sample; ``gap_prob``/``stall_prob`` are the chances per cycle of a
    gap on ``in_valid`` and of ``out_ready`` low. The build is cached in
    ``build_dir`` (default: the user's cache, ``~/.cache/lgn-hw/verify``), keyed by
    content; ``opt`` and ``jobs`` go to :func:`build_native`. ``threads`` patterns run at
    once, each on its own model (default: the CPUs this process may use). ``plusargs`` (``"+name=value"``)
    reach the design's ``$value$plusargs``. ``timings``, a dict, receives the wall seconds
    of each stage: ``stimulus``, ``golden``, ``pack`` (random stimulus, golden model and
    packing run while the harness builds), ``build_wait``, ``files``, ``harness`` (and
    ``harness_cpu``), and ``build``, the :class:`NativeBuild`. Raises :class:`VerifyError` when the build fails or the harness
    crashes.
    """
    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    for name, p in (("gap_prob", gap_prob), ("stall_prob", stall_prob)):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ValueError(f"{name} must be a number in [0, 1), not {p!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 63:
        raise ValueError(f"seed must be an integer in [0, 2**63), not {seed!r}")
    patterns = tuple(patterns)
    bad = [p for p in patterns if p not in PATTERNS]
    if bad or not patterns or len(set(patterns)) != len(patterns):
        raise ValueError(f"patterns must be distinct names from {', '.join(PATTERNS)}, not "
                         f"{bad[0] if bad else patterns!r}")
    if threads is None:
        threads = _cpus()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive integer, not {threads!r}")
    plusargs = [str(a) for a in plusargs]
    if any(not a.startswith("+") for a in plusargs):
        raise ValueError(f"plusargs must start with '+', not {next(a for a in plusargs if not a.startswith('+'))!r}")
    export = as_export(export_dir)
    net = export.reference(netlist)
    from ..hdl.encoder import CoreInputs

    mode = export.encoder
    core_inputs = CoreInputs(net, mode)
    in_width = {p.name: p.width for p in export.ports}["in_data"]
    if in_width != core_inputs.width:
        raise ValueError(f"in_data of the core in {export.folder} is {in_width} bits wide but this netlist "
                         f"({mode} encoder) needs {core_inputs.width}: it does not belong to this core")
    if inputs is None:
        if labels is not None:
            raise ValueError("labels need inputs: pass the test set's inputs too")
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ValueError(f"samples must be a positive integer, not {samples!r}")
        in_bits, y = None, None
    else:   # read and checked before anything is built
        in_bits, y = load_test_set(net, inputs, labels, mode=mode)
    dims = core_dims(export)

    # Random stimulus, the golden model and the packing run while the harness builds (make and
    # the compilers are other processes; the golden model's kernel runs outside the GIL).
    with ThreadPoolExecutor(1) as pool:
        building = pool.submit(build_native, export.sources, export.top, build_dir, opt=opt, jobs=jobs)
        if in_bits is None:
            in_bits = core_inputs.random(samples, np.random.default_rng(seed))
        bits = core_inputs.netlist_bits(in_bits)
        timings["stimulus"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        golden = evaluate(net, bits)
        timings["golden"] = time.perf_counter() - t0
        in_words = hardware_words(in_bits)
        want = result_words(net, golden.classes, golden.scores)
        timings["pack"] = time.perf_counter() - t0 - timings["golden"]
        build = timings["build"] = building.result()
    timings["build_wait"] = time.perf_counter() - t0 - timings["golden"] - timings["pack"]
    run_dir = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=build.folder))
    t0 = time.perf_counter()
    files = {"inputs": run_dir / "inputs.bin", "expected": run_dir / "expected.bin",
             "classes": run_dir / "classes.bin"}
    in_words.tofile(files["inputs"])
    want.tofile(files["expected"])
    del in_words, want
    timings["files"] = time.perf_counter() - t0
    cmd = [str(build.executable), f"inputs={files['inputs']}", f"expected={files['expected']}",
           f"classes={files['classes']}", f"summary={run_dir / 'summary.json'}",
           f"samples={len(bits)}", f"in_width={in_width}", f"num_classes={dims['num_classes']}",
           f"score_width={dims['score_width']}", f"class_width={dims['class_width']}",
           f"latency={export.latency}", f"seed={seed}", f"gap_prob={float(gap_prob)!r}",
           f"stall_prob={float(stall_prob)!r}", f"patterns={','.join(patterns)}", f"threads={threads}", *plusargs]
    (run_dir / "command.txt").write_text(" ".join(cmd) + "\n")
    log.info("running %s", " ".join(cmd))
    t0, c0 = time.perf_counter(), _children_cpu()
    with open(run_dir / "sim.log", "w") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT)
    timings["harness"], timings["harness_cpu"] = time.perf_counter() - t0, _children_cpu() - c0
    summary_path = run_dir / "summary.json"
    if proc.returncode not in (0, 1) or not summary_path.is_file():
        tail = (run_dir / "sim.log").read_text(errors="replace").strip().splitlines()[-15:]
        raise VerifyError(f"the native harness ended without results (exit {proc.returncode}); "
                          f"the end of {run_dir / 'sim.log'}:\n" + "\n".join(tail))
    tests = json.loads(summary_path.read_text())
    accuracy = None
    if y is not None and files["classes"].is_file():
        got = np.fromfile(files["classes"], dtype="<u4")
        if len(got) == len(y):
            accuracy = float(np.mean(got == y))
    result = _collect(export.latency, tests, len(bits), run_dir, patterns, accuracy)
    log.info("native harness: %d results checked in %.2f s (golden model %.2f s, files %.2f s)",
             result.checked, timings["harness"], timings["golden"], timings["files"])
    if result.passed:   # keep the stimulus of a failing run for a rerun, drop a passing one's
        for path in files.values():
            path.unlink(missing_ok=True)
    return result


def _collect(expected_latency, tests: dict, n: int, run_dir: Path, patterns, accuracy) -> VerifyResult:
    order = ("idle_after_reset", *patterns)
    missing = [name for name in order if name not in tests]
    failed = [name for name in order
              if name in tests and (tests[name]["mismatches"] or tests[name]["error_count"])]
    message = next((tests[name]["first_failure"] for name in failed if tests[name]["first_failure"]),
                   None)
    if message is None and missing:
        message = f"tests did not run: {', '.join(missing)} (see {run_dir / 'sim.log'})"
    full = tests.get("full_throughput", {})
    latency = full.get("latency_max") if full.get("latency_min") == full.get("latency_max") else None
    return VerifyResult(
        sim="verilator", samples=n,
        checked=sum(tests[p].get("results", 0) for p in patterns if p in tests),
        mismatches=sum(t.get("mismatches", 0) for t in tests.values()),
        cycles=full.get("cycles", 0), throughput=full.get("throughput", 0.0),
        latency=latency, expected_latency=expected_latency,
        passed=not failed and not missing, message=message,
        failed_tests=tuple(failed) + tuple(missing), tests=tests, run_dir=run_dir,
        bench="native", accuracy=accuracy)
