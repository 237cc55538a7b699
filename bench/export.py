"""Export time, peak memory, longest Verilog line, and whether Icarus, Verilator and Yosys read the result.

    .venv/bin/python bench/export.py [--sizes 10000,100000] [--layers 5] [--inputs 784] [--lint] [--readers]
    .venv/bin/python bench/export.py --sizes 100000 --layers 4 --inputs 256 --readers   # issue 10's core
    nice .venv/bin/python bench/export.py --sizes 1000000 --layers 4 --inputs 256 --readers

Each size runs in its own subprocess (peak RSS and CPU time via getrusage); the netlist is
random (``random_netlist``, not optimised), ``--inputs`` inputs, ``--layers`` equal layers,
``--classes`` classes, default Pipeline. Goal: 100k gates in under 60 s. Prints the figures and
the ratio against the goal.

``--readers`` also times, on each export, ``iverilog -g2012`` (parse, elaborate and code
generation), ``verilator --lint-only`` and Yosys ``read_verilog`` + ``hierarchy -check``
(each its wall time, OK or the first error line): issue 10 asks that a 100k- and a 1M-gate core
parse in all three, and that no line be longer than a few thousand characters (Verilator
refuses lines of more than 40,000 preprocessor tokens). Measured 2026-12-01 on this 2-core
machine at load ~11 (wall times swell; CPU in brackets), final emission of that day:

    gates   export s        peak MB  longest line  iverilog       verilator      yosys
    100000  76.7 (20.9 CPU)     663       877      57.1 (18.3) OK  145.7 (23.2) OK  21.6 (3.0) OK

(before: longest line 159,895 characters, which Verilator refused.) With layer outputs joined
into one cell (since 3d829d2) a 4 x 250,000-gate core stopped inside Amaranth (no cell may be
wider than 65,535 bits; wide signals are now one cell per 32,768 bits). Its export now runs,
but Amaranth's netlist for it passed 15 GB of memory after 4 CPU minutes and was stopped
(250,000 gates: 2.2 GB peak, Yosys 13 s), so the 1M-gate readers are not measured.
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


def _reader_commands(top: str, sources: list[str]) -> dict:
    from lgn_hw.tools import find_tool

    return {
        "iverilog": [find_tool("iverilog"), "-g2012", "-o", "reader.vvp", "-s", top, *sources],
        "verilator": [find_tool("verilator"), "--lint-only", "-Wno-fatal", "-Wno-lint", "-Wno-style",
                      "--top-module", top, *sources],
        "yosys": [find_tool("yosys"), "-q", "-p",
                  f"read_verilog {' '.join(sources)}; hierarchy -check -top {top}"],
    }


def _read_with(name: str, cmd: list[str], cwd: str) -> dict:
    from lgn_hw.tools import verilator_env

    import resource

    def children_cpu():
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    env = verilator_env() if name == "verilator" else None
    t0, c0 = time.perf_counter(), children_cpu()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds, cpu_seconds = time.perf_counter() - t0, children_cpu() - c0
    errors = [ln for ln in (proc.stderr + proc.stdout).splitlines()
              if "rror" in ln or ln.startswith("%Error")]
    ok = proc.returncode == 0 and not errors
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "ok": ok,
            "error": "" if ok else (errors[0] if errors else proc.stderr.strip()[-300:])[:300]}


def child(gates: int, out: str, args) -> None:
    import resource

    from lgn_hw.hdl import export
    from lgn_hw.netlist import random_netlist

    def cpu():
        r = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return sum(u.ru_utime + u.ru_stime for u in r)

    net = random_netlist(args.inputs, [gates // args.layers] * args.layers, args.classes, seed=0)
    t0, c0 = time.perf_counter(), cpu()
    manifest = export(net, out, quiet=True)
    seconds, cpu_seconds = time.perf_counter() - t0, cpu() - c0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sources = list(manifest["verilog"])
    longest = 0
    for name in sources:
        with open(Path(out) / name) as f:
            longest = max([longest, *(len(line.rstrip("\n")) for line in f)])
    result = {"gates": net.num_gates, "seconds": seconds, "cpu_seconds": cpu_seconds,
              "latency": manifest["latency"], "longest_line": longest, "peak_rss_mb": peak,
              "verilog_bytes": sum((Path(out) / f).stat().st_size for f in sources)}
    if args.lint:
        from lgn_hw.hdl.lint import lint

        t0 = time.perf_counter()
        lint(out)
        result["lint_seconds"] = time.perf_counter() - t0
    if args.readers:
        for name, cmd in _reader_commands(manifest["top"], sources).items():
            result[name] = _read_with(name, cmd, out)
    print(json.dumps(result))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000", help="gate counts, comma-separated")
    ap.add_argument("--layers", type=int, default=5)
    ap.add_argument("--inputs", type=int, default=784)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--lint", action="store_true", help="also time 'lgn-hw lint' on each export")
    ap.add_argument("--readers", action="store_true",
                    help="also time iverilog, verilator --lint-only and yosys read_verilog on each export")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.out, args)
        return 0
    readers = ("iverilog", "verilator", "yosys") if args.readers else ()
    print(f"{'gates':>8} {'export s':>9} {'CPU s':>6} {'peak MB':>8} {'Verilog MB':>11} {'longest':>8} "
          f"{'latency':>8}" + (f" {'lint s':>7}" if args.lint else "")
          + "".join(f" {name + ' s (CPU)':>18}" for name in readers))
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="lgn-bench-") as out:
            cmd = [sys.executable, __file__, "--child", str(size), "--out", out,
                   "--layers", str(args.layers), "--inputs", str(args.inputs), "--classes", str(args.classes)]
            cmd += ["--lint"] * args.lint + ["--readers"] * args.readers
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                print(proc.stderr, file=sys.stderr)
                return 1
            r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{r['gates']:>8} {r['seconds']:>9.1f} {r['cpu_seconds']:>6.1f} {r['peak_rss_mb']:>8.0f} "
              f"{r['verilog_bytes'] / 1e6:>11.2f} {r['longest_line']:>8} {r['latency']:>8}"
              + (f" {r['lint_seconds']:>7.1f}" if args.lint else "")
              + "".join(f" {r[name]['seconds']:>7.1f} ({r[name]['cpu_seconds']:>5.1f}) {'OK' if r[name]['ok'] else 'NO':>2}"
                        for name in readers))
        for name in readers:
            if not r[name]["ok"]:
                print(f"         {name} failed: {r[name]['error']}")
        if r["gates"] == GOAL_GATES:
            print(f"         {GOAL_GATES} gates: {r['seconds']:.1f} s wall ({r['cpu_seconds']:.1f} s CPU) vs goal "
                  f"{GOAL_SECONDS:.0f} s -> ratio {r['seconds'] / GOAL_SECONDS:.2f} wall, "
                  f"{r['cpu_seconds'] / GOAL_SECONDS:.2f} CPU (wall time counts other load on the machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
