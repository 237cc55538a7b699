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

from ..hdl import as_export
from ..netlist.model import atomic_write_text
from ..resources import resource_dir
from .uart import LgnUart

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


def uart_verilog(export, *, divisor: int, timeout=None) -> tuple[str, str]:
    """``(module name, Verilog text)`` of the UART wrapper for ``export`` (an ExportDir or its folder)."""
    from amaranth.back import verilog

    export = as_export(export)
    name = f"{export.top}_uart"
    design = LgnUart(export, top=export.top, divisor=divisor, timeout=timeout)
    return name, verilog.convert(design, name=name, emit_src=False)


def simulate_uart(export_dir, netlist=None, *, samples: int = 20, seed: int = 0, inputs=None,
                  divisor: int = 8, timeout: int | None = None, build_dir=None) -> UartSimResult:
    """Run the UART bench on Icarus; ``netlist`` defaults to the export's copy.

    ``export_dir`` is an :class:`~lgn_hw.hdl.ExportDir` or its folder.
    ``samples`` random samples drawn with ``seed`` (or the rows of ``inputs``)
    are sent at ``divisor`` clock cycles per bit. The build goes to a fresh
    folder in ``build_dir`` (default the user's build cache). Raises
    :class:`~lgn_hw.tools.ToolNotFound` when Icarus is missing.
    """
    from cocotb_tools.runner import get_runner

    from ..hdl.encoder import CoreInputs
    from ..tools import check_simulator, simulator_env
    from ..verify.cache import BuildCache
    from ..verify.run import xml_results  # the one reader of cocotb's xUnit results

    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ValueError(f"'samples' must be a positive integer, not {samples!r}")
    export = as_export(export_dir)
    net = export.reference(netlist)
    core_inputs = CoreInputs(net, export.encoder)
    if inputs is None:
        bits = core_inputs.random(samples, np.random.default_rng(seed))
    else:
        bits = core_inputs.from_raw(inputs)
    check_simulator("icarus")
    timeout = timeout if timeout is not None else 40 * divisor * 10
    name, text = uart_verilog(export, divisor=divisor, timeout=timeout)
    root = BuildCache(build_dir).root
    build = Path(tempfile.mkdtemp(prefix="uart-", dir=root)).resolve()
    atomic_write_text(build / f"{name}.v", text)
    sources = [*export.sources, build / f"{name}.v"]
    shutil.copy2(resource_dir("sim") / "uart" / f"{_BENCH}.py", build / f"{_BENCH}.py")
    np.save(build / "inputs.npy", bits)
    net.save(build / "netlist.lgn.json")
    config = build / "uart.json"
    config.write_text(json.dumps({"netlist": "netlist.lgn.json", "inputs": "inputs.npy",
                                  "divisor": divisor, "timeout": timeout, "seed": seed,
                                  "encoder": export.encoder}))
    results = build / "results.xml"
    with simulator_env("icarus"):
        runner = get_runner("icarus")
        runner.build(sources=sources, hdl_toplevel=name, build_dir=build, timescale=_TIMESCALE,
                     always=True, log_file=build / "build.log")
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
