"""Run the standalone cocotb bench of this lgn-hw export (needs cocotb and a simulator, not lgn-hw).

    python run.py                     # Icarus, the core
    python run.py --sim verilator     # or SIM=verilator python run.py
    python run.py --interface axis    # the AXI4-Stream wrapper (export --axis)

Builds in sim_build-<sim>-<interface>/ beside this file and exits 0 when every test passes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cocotb_tools.runner import get_results, get_runner

HERE = Path(__file__).resolve().parent


def main(argv=None) -> int:
    bench = json.loads((HERE / "bench.json").read_text())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", choices=("icarus", "verilator"), default=os.environ.get("SIM", "icarus"))
    parser.add_argument("--interface", choices=sorted(bench["interfaces"]), default="core")
    args = parser.parse_args(argv)
    spec = bench["interfaces"][args.interface]
    runner = get_runner(args.sim)
    build_dir = HERE / f"sim_build-{args.sim}-{args.interface}"
    runner.build(sources=[HERE / src for src in spec["sources"]], hdl_toplevel=spec["toplevel"],
                 build_dir=build_dir, always=True, timescale=("1ns", "1ps"),
                 build_args=["-Wno-fatal"] if args.sim == "verilator" else [])
    results = build_dir / "results.xml"
    results.unlink(missing_ok=True)   # a crashed simulation must not read as an earlier run's results
    try:
        runner.test(test_module="test_lgn_core", hdl_toplevel=spec["toplevel"], build_dir=build_dir,
                    test_dir=HERE, results_xml=str(results), extra_env={"LGN_INTERFACE": args.interface})
    except SystemExit:
        pass   # cocotb's runner exits when a test failed; the results file says which
    tests, failed = get_results(results)
    print(f"lgn-hw standalone bench: {spec['toplevel']} on {args.sim}: {tests - failed} of {tests} tests passed")
    return 1 if failed or not tests else 0


if __name__ == "__main__":
    sys.exit(main())
