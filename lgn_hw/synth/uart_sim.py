"""Simulate the UART board wrapper around an exported core (cocotb on Icarus).

:func:`simulate_uart` converts :class:`~lgn_hw.synth.uart.LgnUart` to Verilog,
builds it with the core's Verilog through ``cocotb_tools.runner`` and runs the
serial-level bench ``sim/uart/uart_bench.py``: bytes in on ``rx``, answers out
on ``tx``, compared with the golden model.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..hdl import load_manifest
from ..hdl.export import NETLIST_COPY
from ..netlist import Netlist, load
from ..netlist.model import atomic_write_text
from ..resources import resource_dir
from .uart import Geometry, LgnUart

__all__ = ["simulate_uart", "UartSimResult", "UART_TESTS", "uart_verilog"]

log = logging.getLogger(__name__)

UART_TESTS = ("classes_streamed", "scores_on_request", "resync_after_garbage")
_BENCH = "uart_bench"
_TIMESCALE = ("1ns", "1ps")


@dataclass(frozen=True)
class UartSimResult:
    passed: bool
    failures: dict          # test name -> message
    run_dir: Path


def uart_verilog(manifest: dict, *, divisor: int, timeout=None) -> tuple[str, str]:
    """``(module name, Verilog text)`` of the UART wrapper for the core in ``manifest``."""
    from amaranth.back import verilog

    name = f"{manifest['top']}_uart"
    design = LgnUart(Geometry.from_manifest(manifest), top=manifest["top"], divisor=divisor,
                     timeout=timeout)
    return name, verilog.convert(design, name=name, emit_src=False)


def simulate_uart(export_dir, netlist=None, *, samples: int = 20, seed: int = 0, inputs=None,
                  divisor: int = 8, timeout: int | None = None, build_dir=None) -> UartSimResult:
    """Run the UART bench on Icarus; ``netlist`` defaults to the export's copy (manifest ``netlist``).

    ``samples`` random samples drawn with ``seed`` (or the rows of ``inputs``)
    are sent at ``divisor`` clock cycles per bit. Raises
    :class:`~lgn_hw.verify.SimulatorNotFound` when Icarus is missing.
    """
    from cocotb_tools.runner import get_runner

    from ..verify import check_simulator
    from ..verify.run import xml_results  # the one reader of cocotb's xUnit results

    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"'samples' must be a positive integer, not {samples!r}")
    export_dir = Path(export_dir)
    manifest = load_manifest(export_dir)
    net = netlist if isinstance(netlist, Netlist) else load(
        netlist if netlist is not None else export_dir / manifest.get("netlist", NETLIST_COPY))
    if net.num_inputs != manifest["num_inputs"] or net.num_classes != manifest["num_classes"]:
        raise ValueError(f"netlist ({net.num_inputs} inputs, {net.num_classes} classes) does not "
                         f"match the export ({manifest['num_inputs']}, {manifest['num_classes']})")
    if inputs is None:
        rng = np.random.default_rng(seed)
        bits = rng.integers(0, 2, (samples, net.num_inputs), dtype=np.uint8)
    else:
        bits = np.asarray(inputs, dtype=np.uint8)
        if bits.ndim != 2 or bits.shape[1] != net.num_inputs:
            raise ValueError(f"inputs must have shape (n, {net.num_inputs}), not {bits.shape}")
    check_simulator("icarus")

    timeout = timeout if timeout is not None else 40 * divisor * 10
    name, text = uart_verilog(manifest, divisor=divisor, timeout=timeout)
    root = Path(build_dir) if build_dir is not None else export_dir / "sim_build"
    root.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix="uart-", dir=root)).resolve()
    atomic_write_text(build / f"{name}.v", text)
    sources = [(export_dir / f).resolve() for f in manifest["verilog"]] + [build / f"{name}.v"]
    shutil.copy2(resource_dir("sim") / "uart" / f"{_BENCH}.py", build / f"{_BENCH}.py")
    np.save(build / "inputs.npy", bits)
    net.save(build / "netlist.lgn.json")
    config = build / "uart.json"
    config.write_text(json.dumps({"netlist": "netlist.lgn.json", "inputs": "inputs.npy",
                                  "divisor": divisor, "timeout": timeout, "seed": seed}))
    runner = get_runner("icarus")
    runner.build(sources=sources, hdl_toplevel=name, build_dir=build, timescale=_TIMESCALE,
                 always=True, log_file=build / "build.log")
    results = build / "results.xml"
    try:
        runner.test(test_module=_BENCH, hdl_toplevel=name, hdl_toplevel_lang="verilog",
                    build_dir=build, test_dir=build, results_xml=str(results), seed=seed,
                    extra_env={"LGN_UART_CONFIG": str(config)}, log_file=build / "sim.log")
    except SystemExit:
        pass
    seen, failures = xml_results(results) if results.is_file() else (set(), {})
    for test in UART_TESTS:
        if test not in seen:
            failures.setdefault(test, f"did not run (see {build / 'sim.log'})")
    return UartSimResult(passed=not failures, failures=failures, run_dir=build)
