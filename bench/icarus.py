"""Icarus speed on the export's plain testbench: cycles per second of CPU time.

    .venv/bin/python bench/icarus.py NETLIST [--samples 300] [--no-opt]

Exports NETLIST (default: the demo's trained digits net if given, else a random
4-layer net of the demo's shape, 192 inputs, 978/1855/2328/4000 gates, 10 classes)
with ``lgn-hw export --testbench --samples N``, compiles it with ``iverilog -g2012``
and runs ``vvp``; prints the compile time, the simulated cycles, vvp's CPU seconds
and cycles/s, and the ratio to the recorded baseline: the emission before the
chunked layers (one cell per op run, one flat Cat per layer) ran this bench on the
demo core at 49 cycles/s of vvp CPU time (472 cycles in 9.66 s, 300 samples; the
issue measured 57 cycles/s of wall time on an idle machine). Goal: 20x.
CPU time, not wall time: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINE_CYCLES_PER_S = 49.0
GOAL_RATIO = 20.0


def _cpu_run(cmd, cwd):
    t0 = os.times()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    t1 = os.times()
    return proc, (t1.children_user + t1.children_system) - (t0.children_user + t0.children_system)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlist", nargs="?", help="a *.lgn.json (default: a random net of the demo's shape)")
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--no-opt", action="store_true", help="export without the optimiser")
    ap.add_argument("--repeat", type=int, default=3, help="vvp runs; the least CPU time counts (default 3)")
    args = ap.parse_args()
    if not shutil.which("iverilog") or not shutil.which("vvp"):
        print("iverilog/vvp not found (Debian: apt-get install iverilog)", file=sys.stderr)
        return 2

    from lgn_hw.hdl import export
    from lgn_hw.netlist import load, random_netlist

    if args.netlist:
        net = load(args.netlist)
        what = args.netlist
    else:
        net = random_netlist(192, [978, 1855, 2328, 4000], 10, seed=0)
        what = "random 192 -> 978/1855/2328/4000 -> 10 classes"
    if not args.no_opt:
        from lgn_hw.netlist.opt import optimize

        net, _ = optimize(net)
    with tempfile.TemporaryDirectory(prefix="lgn-icarus-") as out:
        t0 = time.perf_counter()
        manifest = export(net, out, testbench=True, testbench_samples=args.samples, quiet=True)
        export_s = time.perf_counter() - t0
        vfile = Path(out) / manifest["verilog"][0]
        longest = max(len(line) for line in vfile.read_text().splitlines())
        proc, compile_s = _cpu_run(["iverilog", "-g2012", "-o", "sim", manifest["testbench"]["file"],
                                    *manifest["verilog"]], out)
        if proc.returncode:
            print(proc.stderr, file=sys.stderr)
            return 1
        runs = [_cpu_run(["vvp", "-n", "sim"], out) for _ in range(max(1, args.repeat))]
        proc, sim_s = min(runs, key=lambda r: r[1])
        found = re.search(r"PASS: (\d+) samples, (\d+) cycles", proc.stdout)
        if not found:
            print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
            return 1
        cycles = int(found.group(2))
    rate = cycles / sim_s
    print(f"netlist        {what}: {net.num_gates} gates, latency {manifest['latency']}")
    print(f"export         {export_s:.1f} s, longest Verilog line {longest} chars")
    print(f"iverilog       {compile_s:.1f} s CPU")
    print(f"vvp            {cycles} cycles in {sim_s:.2f} s CPU = {rate:.0f} cycles/s")
    print(f"vs baseline    {BASELINE_CYCLES_PER_S:.0f} cycles/s (demo core, old emission): "
          f"{rate / BASELINE_CYCLES_PER_S:.1f}x (goal {GOAL_RATIO:.0f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
