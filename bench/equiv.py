"""Time and peak memory of ``lgn-hw equiv`` (the decomposed proof) on the issue-23 goals.

    .venv/bin/python bench/equiv.py [--goals demo,random100k,mnist] [--jobs 2]
    .venv/bin/python bench/equiv.py --demo-netlist runs/demo/train/best.lgn.json

Goals (issue 23; each printed with its time, peak memory and the ratio to its bound):

- ``demo``: the demo core (digits 4 x 4000, optimised, encoder inside), PROVED in under 60 s.
  ``--demo-netlist`` names a trained netlist (``lgn-hw demo`` leaves it in
  ``runs/demo/train/best.lgn.json``); without it, the digits preset is trained first (its own time,
  not counted).
- ``random100k``: a random 4 x 25,000-gate core, 256 inputs, 10 classes, not optimised (``--no-opt``),
  PROVED in under 600 s and 4 GB.
- ``mnist``: a netlist named by ``--mnist-netlist`` (the mnist preset: LUT-6 nodes, learned
  connections, encoder inside), PROVED in under 60 s.

Each proof runs in its own subprocess; the peak memory is the largest resident set of that
process and of the tools it ran (Yosys, ABC), from getrusage. Exports are not timed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOALS = {"demo": (60.0, None), "random100k": (600.0, 4096.0), "mnist": (60.0, None)}

CHILD = r"""
import json, resource, sys, time
from lgn_hw.hdl.export import load_export
from lgn_hw.verify.proof import prove_parts
export = load_export(sys.argv[1])
start = time.perf_counter()
r = prove_parts(export.netlist, export, jobs=int(sys.argv[2]), work_dir=sys.argv[3],
                progress=lambda p: print(p.line(), flush=True))
wall = time.perf_counter() - start
me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"verdict": r.verdict, "detail": r.detail, "wall": wall, "parts": len(r.parts),
                  "peak_mb": max(me, kids) / 1024, "python_mb": me / 1024, "tools_mb": kids / 1024}))
"""


def _seconds(line: str) -> float:
    import re

    m = re.search(r"\((\d+\.\d+) s", line)
    return float(m.group(1)) if m else 0.0


def _export(netlist_path, folder, optimise: bool):
    from lgn_hw.hdl import export
    from lgn_hw.hdl.encoder import choose_encoder
    from lgn_hw.netlist import load
    from lgn_hw.netlist.opt import optimize

    net = load(netlist_path) if not hasattr(netlist_path, "layers") else netlist_path
    if optimise:
        net, _ = optimize(net)
    export(net, folder, encoder=choose_encoder(net), quiet=True)  # as 'lgn-hw export' does
    return net


def _prove(folder, jobs, work):
    proc = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(jobs), str(work)],
                          capture_output=True, text=True)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"the proof failed to run:\n{proc.stderr[-2000:]}")
    return lines[:-1], json.loads(lines[-1])


def _train_demo(tmp: Path) -> Path:
    out = tmp / "digits"
    subprocess.run([sys.executable, "-m", "lgn_hw", "train", "--dataset", "digits", "--out", str(out),
                    "--quiet"], check=True)
    return out / "best.lgn.json"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--goals", default="demo,random100k", help="comma-separated: demo, random100k, mnist")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--demo-netlist", type=Path)
    p.add_argument("--mnist-netlist", type=Path)
    p.add_argument("--parts", action="store_true", help="print every part's line")
    args = p.parse_args(argv)
    goals = [g for g in args.goals.split(",") if g]
    print(f"bench/equiv.py: goals {goals}, --jobs {args.jobs}, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="lgn-equiv-bench-") as tmp:
        tmp = Path(tmp)
        for goal in goals:
            folder, work = tmp / goal, tmp / f"{goal}-work"
            from lgn_hw.hdl.encoder import choose_encoder

            if goal == "demo":
                src = args.demo_netlist or _train_demo(tmp)
                net = _export(src, folder, optimise=True)
                what = (f"demo core from {src}: {net.num_gates:,} gates after optimisation, encoder "
                        f"{'inside' if choose_encoder(net) == 'hw' else 'on the host'}")
            elif goal == "random100k":
                from lgn_hw.netlist import random_netlist

                net = _export(random_netlist(256, [25_000] * 4, 10, seed=0), folder, optimise=False)
                what = "random core 4 x 25,000 gates, 256 inputs, 10 classes, not optimised"
            elif goal == "mnist":
                if args.mnist_netlist is None:
                    print("mnist: skipped (give --mnist-netlist)")
                    continue
                net = _export(args.mnist_netlist, folder, optimise=True)
                what = f"mnist core from {args.mnist_netlist}: {net.num_gates:,} nodes after optimisation"
            else:
                raise SystemExit(f"unknown goal {goal!r}")
            start = time.perf_counter()
            lines, fig = _prove(folder, args.jobs, work)
            wall = time.perf_counter() - start
            if args.parts:
                print("\n".join(lines))
            bound_s, bound_mb = GOALS[goal]
            met = fig["verdict"] == "PROVED" and wall <= bound_s and (bound_mb is None or fig["peak_mb"] <= bound_mb)
            print(f"{goal}: {what}")
            print(f"  {fig['verdict']} in {wall:.1f} s wall incl. Yosys ({fig['parts']} parts; goal {bound_s:.0f} s, "
                  f"ratio {wall / bound_s:.2f}); peak memory {fig['peak_mb']:.0f} MB (the largest of the "
                  f"proof's process, {fig['python_mb']:.0f} MB, and of the tools it ran)"
                  + (f", goal {bound_mb:.0f} MB" if bound_mb else "") + f": {'MET' if met else 'NOT MET'}"
                  + (f" ({fig['detail']})" if fig["verdict"] != "PROVED" else ""))
            slow = sorted(lines, key=lambda ln: -_seconds(ln))[:3]
            print("  slowest parts:\n" + "\n".join(slow))


if __name__ == "__main__":
    main()
