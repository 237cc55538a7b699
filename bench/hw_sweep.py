"""Pipelining trade-off: LUTs, FFs, fmax and latency of one network under different register placements.

Exports the network with registers after every 1, 2, 3 and 4 gate layers and
with the popcount tree registered after every level or every second level,
synthesizes each export for iCE40 HX8K and ECP5-25k (Yosys + nextpnr, the core
wrapped out of context), prints a table and plots it. The goal for the default
pipeline: at most 0.5 LUT4 per gate on iCE40 with fmax >= 100 MHz on the HX8K.

    python bench/hw_sweep.py [--netlist NET.lgn.json] [--out build/hw_sweep] [--jobs 2] [--collect]

Without --netlist a random netlist of the default digits shape (192 inputs,
10 classes; --layers/--width, default 4 x 1000) stands in, and the output says so.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lgn_hw.hdl import Pipeline, export
from lgn_hw.netlist import load, random_netlist
from lgn_hw.synth import ToolFailed, format_table, synthesize

TARGETS = ("ice40-hx8k", "ecp5-25k")
GOAL_LUT_PER_GATE = 0.5
GOAL_FMAX = 100.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--netlist", help="a trained *.lgn.json (default: a random stand-in)")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--gate-every", default="1,2,3,4")
    ap.add_argument("--popcount-every", default="1,2")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--out", default="build/hw_sweep")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--collect", action="store_true",
                    help="only print the table of the reports already under --out (an interrupted sweep)")
    args = ap.parse_args(argv)
    if args.collect:
        found = sorted(Path(args.out).glob("g*_p*/synth-*/report.json"))
        reports = [json.loads(f.read_text()) for f in found]
        reports.sort(key=lambda r: (r["target"], r["pipeline"]["gate_every"], r["pipeline"]["popcount_every"]))
        print(format_table(reports))
        return 0

    if args.netlist:
        net = load(args.netlist)
        source = f"trained netlist {args.netlist}"
    else:
        net = random_netlist(192, [args.width] * args.layers, 10, seed=0)
        source = (f"RANDOM stand-in netlist ({args.layers} x {args.width}, 192 inputs, 10 classes): "
                  "no trained netlist given (--netlist)")
    print(f"network: {source}; {net.num_gates} gates, depth {net.depth}")
    out = Path(args.out)
    configs = [Pipeline(gate_every=g, popcount_every=p, argmax_registered=True)
               for g in map(int, args.gate_every.split(",")) for p in map(int, args.popcount_every.split(","))]
    exports = []
    for pipe in configs:
        d = out / f"g{pipe.gate_every}_p{pipe.popcount_every}"
        export(net, d, pipeline=pipe)
        exports.append(d)
    jobs = [(d, t) for d in exports for t in args.targets.split(",")]

    def run(job):
        d, t = job
        t0 = time.perf_counter()
        try:
            r = synthesize(d, t)
        except ToolFailed as exc:
            print(f"{d.name} {t}: FAILED ({str(exc).splitlines()[0]})", file=sys.stderr)
            return None
        print(f"  {d.name} {t}: {r['luts']} LUTs, fmax {r['fmax_mhz']} MHz "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        return r

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        reports = [r for r in pool.map(run, jobs) if r is not None]
    reports.sort(key=lambda r: (r["target"], r["pipeline"]["gate_every"], r["pipeline"]["popcount_every"]))
    print(format_table(reports))
    (out / "sweep.json").write_text(json.dumps(reports, indent=1))

    default = Pipeline()
    for r in reports:
        p = r["pipeline"]
        if r["target"] == "ice40-hx8k" and (p["gate_every"], p["popcount_every"]) == (
                default.gate_every, default.popcount_every):
            ok = r["luts_per_gate"] <= GOAL_LUT_PER_GATE and (r["fmax_mhz"] or 0) >= GOAL_FMAX
            print(f"default pipeline on iCE40 HX8K: {r['luts_per_gate']:.3f} LUT4/gate "
                  f"(goal <= {GOAL_LUT_PER_GATE}: ratio {r['luts_per_gate'] / GOAL_LUT_PER_GATE:.2f}), "
                  f"fmax {r['fmax_mhz']} MHz (goal >= {GOAL_FMAX:g}: ratio "
                  f"{(r['fmax_mhz'] or 0) / GOAL_FMAX:.2f}) -> {'MET' if ok else 'NOT MET'}")
    _plot(reports, out / "hw_sweep.png", source)
    print(f"plot {out / 'hw_sweep.png'}, data {out / 'sweep.json'}")
    return 0


def _plot(reports, path, source):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(16, 4))
    for (target, pop), marker in zip(sorted({(r["target"], r["pipeline"]["popcount_every"]) for r in reports}),
                                     "osd^v<>"):
        rows = [r for r in reports if r["target"] == target and r["pipeline"]["popcount_every"] == pop]
        rows.sort(key=lambda r: r["pipeline"]["gate_every"])
        g = [r["pipeline"]["gate_every"] for r in rows]
        label = f"{target} popcount/{pop}"
        for ax, key in zip(axes, ("luts", "ffs", "fmax_mhz", "latency_ns")):
            ax.plot(g, [r[key] or 0 for r in rows], marker=marker, label=label)
            ax.set_title(key)
            ax.set_xlabel("registers every K gate layers")
    axes[0].legend(fontsize=7)
    fig.suptitle(source[:120], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
