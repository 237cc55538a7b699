"""Export time and peak memory for random 10k- and 100k-gate netlists.

    .venv/bin/python bench/export.py [--sizes 10000,100000] [--lint]

Each size runs in its own subprocess (peak RSS and CPU time via getrusage); the netlist is
784 inputs, 5 equal layers, 10 classes, default Pipeline. Goal: 100k gates in
under 60 s. Prints the figures and the ratio against the goal.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 60.0
GOAL_GATES = 100_000


def child(gates: int, out: str, do_lint: bool) -> None:
    import resource

    from lgn_hw.hdl import export
    from lgn_hw.netlist import random_netlist

    def cpu():
        r = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return sum(u.ru_utime + u.ru_stime for u in r)

    net = random_netlist(784, [gates // 5] * 5, 10, seed=0)
    t0, c0 = time.perf_counter(), cpu()
    manifest = export(net, out, quiet=True)
    seconds, cpu_seconds = time.perf_counter() - t0, cpu() - c0
    result = {"gates": net.num_gates, "seconds": seconds, "cpu_seconds": cpu_seconds,
              "latency": manifest["latency"],
              "verilog_bytes": sum((Path(out) / f).stat().st_size
                                   for f in manifest["verilog"])}
    if do_lint:
        from lgn_hw.hdl.lint import lint

        t0 = time.perf_counter()
        lint(out)
        result["lint_seconds"] = time.perf_counter() - t0
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--lint", action="store_true", help="also time 'lgn-hw lint' on each export")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.out, args.lint)
        return 0
    print(f"{'gates':>8} {'export s':>9} {'CPU s':>6} {'peak MB':>8} {'Verilog MB':>11} {'latency':>8}"
          + (f" {'lint s':>7}" if args.lint else ""))
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="lgn-bench-") as out:
            cmd = [sys.executable, __file__, "--child", str(size), "--out", out]
            proc = subprocess.run(cmd + (["--lint"] if args.lint else []), capture_output=True, text=True)
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                return 1
            r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{r['gates']:>8} {r['seconds']:>9.1f} {r['cpu_seconds']:>6.1f} {r['peak_rss_mb']:>8.0f} "
              f"{r['verilog_bytes'] / 1e6:>11.2f} {r['latency']:>8}"
              + (f" {r['lint_seconds']:>7.1f}" if args.lint else ""))
        if r["gates"] == GOAL_GATES:
            print(f"         {GOAL_GATES} gates: {r['seconds']:.1f} s wall ({r['cpu_seconds']:.1f} s CPU) vs goal "
                  f"{GOAL_SECONDS:.0f} s -> ratio {r['seconds'] / GOAL_SECONDS:.2f} wall, "
                  f"{r['cpu_seconds'] / GOAL_SECONDS:.2f} CPU (wall time counts other load on the machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
