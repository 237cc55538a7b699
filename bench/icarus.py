"""Icarus speed on the export's plain testbench: cycles per second of CPU time.

    .venv/bin/python bench/icarus.py [NETLIST] [--samples 300] [--no-opt] [--repeat 3] [--synth]

Exports NETLIST (default: a random 4-layer net of the demo's shape, 192 inputs,
978/1855/2328/4000 gates, 10 classes, optimised to 6,835 gates) with
``lgn-hw export --testbench --samples N``, compiles it with ``iverilog -g2012``
and runs ``vvp`` (``--repeat`` times; the least CPU time counts, the machine is
shared); prints the compile time, the simulated cycles, vvp's CPU seconds (loading
the compiled design included) and cycles/s, and the ratio to the recorded
baseline: the emission before the chunked layers (one cell per op run, one flat
Cat per layer) ran this bench on the demo core at 49 cycles/s of vvp CPU time
(472 cycles in 9.66 s, 300 samples; the issue measured 57 cycles/s of wall time on
an idle machine). Goal: 20x. ``--synth`` also synthesizes the export (Yosys only)
for iCE40 HX8K and Xilinx 7 and prints the LUTs against those of that old emission
on the default net (8,143 SB_LUT4 and 7,809 LUT6, measured at commit 60d954d): the
emission must not cost logic (goal: within 2%).

Measured 2026-12-01 (default net, 300 samples, --repeat 5, shared 2-core machine):
49 cycles/s (old emission) -> 241-332 (cells of 64 gates joined by a tree) -> 1,004-1,026
cycles/s now, 20.5-20.9x (CPU time swells by up to 20% when the machine is loaded: 891 at
load 11); LUTs 8,137 iCE40 (-0.1%) and 7,809 Xilinx (+0.0%), FFs equal. ``--instructions``
(callgrind, independent of load): 50.85 G for the old emission, 11.46 G for the cells of 64,
6.26 G now (8.1x fewer); instructions fall less than time (the old emission copied wide
vectors: more cache misses per instruction).

Why vvp was slow, and what fixed it (perf on vvp, and small variants of each block
timed alone on random inputs, ms per cycle):

* vvp builds one event-driven node per operator, per bit-select and per 4 pieces of
  a concatenation, and each node costs 25-100 ns whenever an input changes, whether
  or not its own output does. A concatenation node is not scheduled: every change of
  one piece re-sends the whole concatenated vector at once to every reader (set_bit
  per bit, then send_vec4 to each fan-out), so wide concatenations of many changing
  pieces cost width x pieces. Operators (``&``, ``~``, ...) are scheduled and run
  once per delta however often their inputs change, so a double inversion behind a
  16-way concatenation (lgn_hw.hdl.stage._join) stops the re-sending.
* Popcount (3.25 -> 0.72 ms): Amaranth emits an expression again for every use, so
  each full adder computed ``a ^ b`` twice and each carry-chain adder whose sum was
  sliced twice was two adders (synthesis merged them; vvp did not): values used twice
  are now signals. The first level (a third of all nodes) was ~7 scalar nodes per
  full adder; its inputs are now placed so that it is 5 bitwise vector operations
  per class over plain slices. Combinational levels are no longer staged through a
  joined wire, registered levels take their pieces as they are (a register's input
  is evaluated only at the clock edge) and are laid out so that each adder's first
  operand is one slice.
* Gate layers (1.03 -> 0.62 ms): cells of 16 gates instead of 64 (a 64-piece operand
  is a 3-level tree of concatenations, each re-sent on every piece change), joins of
  4 pieces instead of 16 (one concatenation node per inversion pair), and a
  one-input gate inverts the opposite literal instead of ANDing the literal with
  itself (one bit-select instead of two; a third of the optimised demo's gates are
  pass-throughs).
* What is left: two bit-selects per two-input gate (each ~25 ns per change of its
  source), and per adder a few bit-selects, two concatenations and the operand
  padding Icarus adds for the carry-out; loading the design (0.11 s, mostly symbol
  look-ups, proportional to the number of nodes) is a quarter of the 300-sample run.
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
#: vvp instructions (callgrind) for the default net at 300 samples, by emission.
BASELINE_INSTRUCTIONS = {"old emission (8bd8c40)": 50_845_163_223, "cells of 64 (60d954d)": 11_459_427_355}
#: LUTs of the old emission (commit 60d954d) on the default net, and the allowed growth.
BASELINE_LUTS = {"ice40-hx8k": 8143, "xilinx-7": 7809}
LUT_TOLERANCE = 0.02


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
    ap.add_argument("--instructions", action="store_true",
                    help="also count vvp's instructions under valgrind (callgrind): independent of machine load")
    ap.add_argument("--synth", action="store_true",
                    help="also count LUTs (Yosys, iCE40 HX8K and Xilinx 7) against the old emission's")
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
        instructions = None
        if args.instructions:
            if not shutil.which("valgrind"):
                print("valgrind not found (Debian: apt-get install valgrind)", file=sys.stderr)
                return 2
            vg = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=callgrind.out",
                                 "vvp", "-n", "sim"], cwd=out, capture_output=True, text=True)
            counted = re.search(r"Collected : (\d+)", vg.stderr)
            instructions = int(counted.group(1)) if counted else None
        luts = {}
        if args.synth:
            from lgn_hw.synth import synthesize

            for target in BASELINE_LUTS:
                report = synthesize(out, target, pnr=False, out_dir=Path(out) / f"synth-{target}")
                luts[target] = (report["luts"], report["ffs"])
    rate = cycles / sim_s
    print(f"netlist        {what}: {net.num_gates} gates, latency {manifest['latency']}")
    print(f"export         {export_s:.1f} s, longest Verilog line {longest} chars")
    print(f"iverilog       {compile_s:.1f} s CPU")
    print(f"vvp            {cycles} cycles in {sim_s:.2f} s CPU = {rate:.0f} cycles/s")
    print(f"vs baseline    {BASELINE_CYCLES_PER_S:.0f} cycles/s (demo core, old emission): "
          f"{rate / BASELINE_CYCLES_PER_S:.1f}x (goal {GOAL_RATIO:.0f}x)")
    if instructions:
        line = f"instructions   {instructions / 1e9:.2f} G for vvp (callgrind)"
        if not args.netlist and args.samples == 300:
            line += "; " + ", ".join(f"{name} {ref / 1e9:.2f} G = {ref / instructions:.1f}x"
                                     for name, ref in BASELINE_INSTRUCTIONS.items())
        print(line)
    for target, (count, ffs) in luts.items():
        ref = BASELINE_LUTS[target]
        line = f"{target:<14} {count} LUTs, {ffs} FFs"
        if not args.netlist:
            line += (f"; old emission {ref}: {count / ref - 1:+.1%} "
                     f"(goal within {LUT_TOLERANCE:.0%})")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
