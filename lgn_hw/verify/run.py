"""Build an exported core with cocotb's runner and check it against the golden model.

The bench itself (driver, monitor, backpressure, model, scoreboard) lives in the
shipped ``sim/`` folder and runs inside the simulator; this module prepares its
configuration, builds the Verilog once per (simulator, design) in the user's
build cache (:mod:`lgn_hw.verify.cache`, never in the export folder) and reads
back the results.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from .. import __version__
from ..data.files import read_npy
from ..hdl.export import ExportDir, as_export
from ..netlist import Netlist
from ..resources import resource_dir
from ..tools import SIMULATORS, check_simulator, simulator_env, tool_version
from .cache import BuildCache, build_key

__all__ = ["VerifyResult", "VerifyError", "verify", "BENCH_TESTS", "xml_results"]

log = logging.getLogger(__name__)

BENCH_MODULE = "lgn_bench"
BENCH_CONFIG_ENV = "LGN_BENCH_CONFIG"  # names the bench's JSON configuration (sim/lgn_tb.py reads it)
BENCH_TESTS = ("idle_after_reset", "stream_random", "full_throughput")
TIMESCALE = ("1ns", "1ps")


class VerifyError(RuntimeError):
    """Verification could not run (bad export folder, build failure, simulator crash)."""


@dataclass(frozen=True)
class VerifyResult:
    """What a verification run found.

    ``samples`` is the number of samples streamed through the core in each test;
    ``checked`` counts the results compared against the golden model (over the
    random-handshake and the full-rate runs). ``cycles`` and ``throughput``
    (results per clock cycle) come from the full-rate run.
    """

    sim: str
    samples: int
    checked: int
    mismatches: int
    cycles: int
    throughput: float
    latency: int | None           # measured at full rate
    expected_latency: int | None  # what the netlist and the pipeline imply (= the manifest's)
    passed: bool
    message: str | None           # the first failure, or None
    failed_tests: tuple = ()
    tests: dict = field(default_factory=dict, repr=False)  # the bench summary per test
    run_dir: Path | None = None   # bench config, inputs, sim.log, results.xml, summary.json
    waveform: Path | None = None  # with waves=True
    bench: str = "cocotb"         # or "native" (lgn_hw.verify.native)
    accuracy: float | None = None  # with labels: the hardware's classes against them

    def summary(self) -> str:
        lines = [
            f"simulator   {self.sim} ({self.bench} bench)",
            f"samples     {self.samples} per test, {self.checked} results checked",
            f"mismatches  {self.mismatches}",
            f"cycles      {self.cycles} at full rate",
            f"throughput  {self.throughput:.3f} results/cycle",
            f"latency     {self.latency} cycles (manifest: {self.expected_latency})",
        ]
        if self.accuracy is not None:
            lines.append(f"accuracy    {self.accuracy:.4f} (the hardware's classes against the labels)")
        if self.message:
            lines.append(f"first failure: {self.message}")
        lines.append("PASS" if self.passed else f"FAIL ({', '.join(self.failed_tests) or 'see log'})")
        return "\n".join(lines)


def _inputs(inputs, net: Netlist, samples: int, seed: int, mode: str = "host") -> np.ndarray:
    """``in_data`` bits for the run: random (``samples``, ``seed``), or from ``inputs``."""
    from ..hdl.encoder import CoreInputs

    core_inputs = CoreInputs(net, mode)
    if inputs is None:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ValueError(f"samples must be a positive integer, not {samples!r}")
        return core_inputs.random(samples, np.random.default_rng(seed))
    if isinstance(inputs, (str, Path)):
        try:
            inputs = read_npy(inputs)  # header checked against the file size first
        except (OSError, ValueError) as exc:
            raise ValueError(f"{inputs}: cannot read as .npy ({exc})") from None
    bits = np.asarray(inputs)
    width = core_inputs.width
    if bits.ndim != 2 or bits.shape[1] != width or bits.shape[0] < 1:
        raise ValueError(f"inputs must be in_data bits of shape (n, {width}) with n >= 1, not {bits.shape} "
                         "(raw features go through ExportDir.inputs.from_raw first)")
    if bits.dtype != np.bool_ and not (np.issubdtype(bits.dtype, np.integer)
                                       or np.issubdtype(bits.dtype, np.floating)):
        raise TypeError(f"inputs must be 0/1 numbers, not dtype {bits.dtype}")
    if bits.min() < 0 or bits.max() > 1 or not np.all(bits == np.round(bits)):
        raise ValueError("inputs must hold only 0 and 1 (input bits, not raw features)")
    return bits.astype(np.uint8)


_SIM_VERSIONS = {"icarus": ("iverilog", "vvp"), "verilator": ("verilator",)}


def _build_args(sim: str) -> list[str]:
    return ["-Wno-fatal"] if sim == "verilator" else []


def design_key(sim: str, export: ExportDir, waves: bool) -> str:
    """The cache key of a simulator build: the source bytes, the tool versions and every build option."""
    import cocotb

    parts = ["lgn-hw cocotb build", __version__, cocotb.__version__, sys.version, sim, export.top,
             int(waves), *TIMESCALE, *_build_args(sim), *(tool_version(t) for t in _SIM_VERSIONS[sim])]
    for src in export.sources:
        parts += [src.name, src.read_bytes()]
    return build_key(*parts)


def _build(runner, sim, sources, top, build_dir: Path, waves: bool) -> None:
    build_log = build_dir / "build.log"
    log.info("building %s with %s in %s", top, sim, build_dir)
    try:
        runner.build(sources=sources, hdl_toplevel=top, build_dir=build_dir, build_args=_build_args(sim),
                     timescale=TIMESCALE, waves=waves, always=True, log_file=build_log)
    except (RuntimeError, SystemExit) as exc:
        tail = build_log.read_text(errors="replace").strip().splitlines()[-15:] if build_log.exists() else []
        raise VerifyError(f"{sim} failed to build {top} ({exc}); the end of {build_log}:\n"
                          + "\n".join(tail)) from None


def xml_results(results: Path) -> tuple[set[str], dict[str, str]]:
    """The testcase names that ran, and failed name -> its failure message, from the xUnit file."""
    names, failed = set(), {}
    for case in ElementTree.parse(results).getroot().iter("testcase"):
        names.add(case.get("name"))
        for tag in ("failure", "error"):
            node = case.find(tag)
            if node is not None:
                failed[case.get("name", "?")] = (node.get("message") or node.text or tag).strip()
    return names, failed


def verify(export_dir, netlist=None, *, sim: str = "icarus", samples: int = 1000, seed: int = 0,
           inputs=None, build_dir=None, gap_prob: float = 0.3, stall_prob: float = 0.3,
           waves: bool = False) -> VerifyResult:
    """Simulate the core exported to ``export_dir`` and compare it with the golden model.

    ``export_dir`` is an :class:`~lgn_hw.hdl.ExportDir` or its folder.
    ``netlist`` (a path or :class:`~lgn_hw.netlist.Netlist`; default the
    export's netlist copy) is the reference. ``inputs`` (an
    ``(n, num_inputs)`` array of 0/1 or a ``.npy`` path) replaces the ``samples``
    random samples drawn with ``seed``. ``gap_prob`` and ``stall_prob`` are the
    chances per cycle of a gap on ``in_valid`` and of ``out_ready`` low.
    Builds are cached in ``build_dir`` (default the user's cache,
    ``$XDG_CACHE_HOME/lgn-hw/sim``), one folder per simulator and design hash,
    reused only under a valid signed stamp. Returns a :class:`VerifyResult`;
    raises :class:`~lgn_hw.tools.ToolNotFound` when ``sim`` is not installed
    and :class:`VerifyError` when the design does not build or the simulator crashes.
    """
    from cocotb_tools.runner import get_runner

    if sim not in SIMULATORS:
        raise ValueError(f"sim must be one of {', '.join(SIMULATORS)}, not {sim!r}")
    for name, p in (("gap_prob", gap_prob), ("stall_prob", stall_prob)):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p < 1.0:
            raise ValueError(f"{name} must be a number in [0, 1), not {p!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an integer, not {seed!r}")
    export = as_export(export_dir)
    net = export.reference(netlist)
    bits = _inputs(inputs, net, samples, seed, export.encoder)
    top = export.top
    cache = BuildCache(build_dir)
    check_simulator(sim)
    key = design_key(sim, export, waves)
    with simulator_env(sim):
        runner = get_runner(sim)
        runner.log.setLevel(log.getEffectiveLevel())   # cocotb pins its runner's logger to INFO
        with cache.entry(f"{sim}-{key}", key) as (sim_build, fresh):
            if fresh:
                _build(runner, sim, list(export.sources), top, sim_build, waves)
                cache.seal(sim_build, key)
            run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=sim_build))
        for bench_file in resource_dir("sim").glob("*.py"):
            shutil.copy2(bench_file, run_dir / bench_file.name)
        np.save(run_dir / "inputs.npy", bits)
        net.save(run_dir / "netlist.lgn.json")
        config = {"netlist": "netlist.lgn.json", "inputs": "inputs.npy", "seed": seed,
                  "gap_prob": float(gap_prob), "stall_prob": float(stall_prob),
                  "latency": export.latency, "summary": "summary.json", "encoder": export.encoder}
        (run_dir / "bench.json").write_text(json.dumps(config, indent=1))
        results = run_dir / "results.xml"
        log.info("running the bench in %s", run_dir)
        try:
            runner.test(test_module=BENCH_MODULE, hdl_toplevel=top, hdl_toplevel_lang="verilog",
                        build_dir=sim_build,
                        test_dir=run_dir, results_xml=str(results), seed=seed, waves=waves,
                        plusargs=[f"+dumpfile_path={run_dir / f'{top}.fst'}"] if waves and sim == "icarus" else [],
                        extra_env={BENCH_CONFIG_ENV: str(run_dir / "bench.json")},
                        log_file=run_dir / "sim.log")
        except SystemExit:
            pass  # cocotb exits on failed tests under pytest; the results file says more
    result = _collect(sim, export.latency, len(bits), run_dir, results)
    if waves:
        found = [p for p in (run_dir / f"{top}.fst", run_dir / "dump.vcd") if p.exists()]
        result = dataclasses.replace(result, waveform=found[0] if found else None)
    return result


def _collect(sim, expected_latency, n, run_dir: Path, results: Path) -> VerifyResult:
    sim_log = run_dir / "sim.log"
    if not results.is_file():
        tail = sim_log.read_text(errors="replace").strip().splitlines()[-15:] if sim_log.exists() else []
        raise VerifyError(f"the {sim} simulation ended without results; the end of {sim_log}:\n"
                          + "\n".join(tail))
    ran, failed = xml_results(results)
    summary_path = run_dir / "summary.json"
    tests = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    missing = [name for name in BENCH_TESTS if name not in ran]
    message = None
    for name in BENCH_TESTS:   # in run order; the bench's summary is more precise than the XML
        if name in tests and tests[name].get("first_failure"):
            message = tests[name]["first_failure"]
            break
        if name in failed:
            message = f"{name}: {failed[name]}"
            break
    if message is None and missing:
        message = f"tests did not run: {', '.join(missing)} (see {sim_log})"
    full = tests.get("full_throughput", {})
    latency = full.get("latency_max") if full.get("latency_min") == full.get("latency_max") else None
    return VerifyResult(
        sim=sim, samples=n,
        checked=sum(t.get("results", 0) for t in tests.values()),
        mismatches=sum(t.get("mismatches", 0) for t in tests.values()),
        cycles=full.get("cycles", 0), throughput=full.get("throughput", 0.0),
        latency=latency, expected_latency=expected_latency,
        passed=not failed and not missing,
        message=message, failed_tests=tuple(failed) + tuple(missing), tests=tests, run_dir=run_dir)

