"""Pipelining trade-off: LUTs, FFs, fmax and latency of one network under different register placements.

Exports the network with registers after every 1, 2, 3 and 4 gate layers and
with the popcount tree registered after every 1 or 2 levels (``--gate-every``,
``--popcount-every``), synthesizes each export for iCE40 HX8K and ECP5-25k
(Yosys + nextpnr, the core wrapped out of context), prints a table and plots it.
The goal for the default pipeline: at most 0.5 LUT4 per gate on iCE40 with
fmax >= 100 MHz on the HX8K. The default (``Pipeline()``: gate_every=4,
popcount_every=2) is the configuration with the fewest iCE40 LUTs at fmax >= 100
MHz in this sweep on a trained digits net (add ``--popcount-every 1,2,3``).

    python bench/hw_sweep.py [--netlist NET.lgn.json] [--trained TRAINED.lgn.json]
                             [--out bench/out/hw_sweep] [--jobs 2] [--breakdown] [--collect]

Finished jobs are kept: a rerun (same netlist, same pipelines) only runs what is
missing, so an interrupted sweep resumes (``--force`` redoes everything).
``--trained`` names the netlist as trained, before ``lgn-hw optimize``, to count
LUTs per trained gate as well. A core that does not fit a device gets its LUT
count from Yosys alone and "no fit" for fmax. ``--breakdown`` also synthesizes
each iCE40 export with the hierarchy kept (``synth_ice40 -noflatten``) and
prints the LUTs and FFs of the gate layers, popcount, argmax, FIFO and the rest.

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

from lgn_hw.hdl import Pipeline, export, load_manifest
from lgn_hw.hdl.names import tool_copies
from lgn_hw.netlist import load, random_netlist
from lgn_hw.synth import ToolFailed, get_target, synthesize
from lgn_hw.tools import run_tool

TARGETS = ("ice40-hx8k", "ecp5-25k")
GOAL_LUT_PER_GATE = 0.5
GOAL_FMAX = 100.0
PARTS = ("layers", "popcount", "argmax", "fifo", "top")


def _ints(text):
    return [int(v) for v in text.split(",") if v.strip()]


def _same(manifest_or_report, sha, pipe):
    return (manifest_or_report.get("netlist_sha256") == sha
            and manifest_or_report.get("pipeline") == pipe.to_dict())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--netlist", help="a trained (optimised) *.lgn.json (default: a random stand-in)")
    ap.add_argument("--trained", help="the netlist before optimisation, for LUTs per trained gate")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--gate-every", default="1,2,3,4")
    ap.add_argument("--popcount-every", default="1,2")
    ap.add_argument("--targets", default=",".join(TARGETS))
    ap.add_argument("--out", default="bench/out/hw_sweep")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--force", action="store_true", help="redo jobs whose report already exists")
    ap.add_argument("--breakdown", action="store_true",
                    help="also count LUTs/FFs per block (iCE40, hierarchy kept)")
    ap.add_argument("--collect", action="store_true",
                    help="only print the table of the reports already under --out (an interrupted sweep)")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    trained_gates = load(args.trained).num_gates if args.trained else None
    if args.collect:
        reports = [json.loads(f.read_text()) for f in sorted(out.glob("g*_p*/synth-*/report.json"))]
        breakdown = {f.parent.parent.name: _breakdown(f.parent.parent, f.parent.name[len("breakdown-"):], False)
                     for f in sorted(out.glob("g*_p*/breakdown-*/stat.json"))}
        return _finish(reports, out, f"collected from {out}", trained_gates, breakdown)

    if args.netlist:
        net = load(args.netlist)
        source = f"trained netlist {args.netlist}"
    else:
        net = random_netlist(192, [args.width] * args.layers, 10, seed=0)
        source = (f"RANDOM stand-in netlist ({args.layers} x {args.width}, 192 inputs, 10 classes): "
                  "no trained netlist given (--netlist)")
    print(f"network: {source}; {net.num_gates} gates, depth {net.depth}"
          + (f"; {trained_gates} gates as trained ({args.trained})" if trained_gates else ""))
    targets = args.targets.split(",")
    for t in targets:
        get_target(t)
    configs = [Pipeline(gate_every=g, popcount_every=p, argmax_registered=True)
               for g in _ints(args.gate_every) for p in _ints(args.popcount_every)]
    exports = []
    for pipe in configs:
        d = out / f"g{pipe.gate_every}_p{pipe.popcount_every}"
        try:
            fresh = not args.force and _same(load_manifest(d), net.sha256(), pipe)
        except Exception:
            fresh = False
        if not fresh:
            export(net, d, pipeline=pipe)
        exports.append((d, pipe))

    def run(job):
        kind, d, pipe, t = job
        t0 = time.perf_counter()
        if kind == "breakdown":
            res = _breakdown(d, t, args.force)
            print(f"  {d.name} {t} breakdown: {res} ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
            return kind, d.name, res
        rep = d / f"synth-{t}" / "report.json"
        if rep.exists() and not args.force:
            r = json.loads(rep.read_text())
            if _same(r, net.sha256(), pipe):
                return kind, d.name, r
        try:
            r = synthesize(d, t)
        except ToolFailed as exc:
            # Most often the core does not fit the device: keep Yosys's counts, fmax "no fit".
            lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
            why = next((ln for ln in lines if ln.startswith("ERROR")), lines[-1])
            print(f"  {d.name} {t}: place and route FAILED ({why})", file=sys.stderr, flush=True)
            r = synthesize(d, t, pnr=False, out_dir=d / f"synth-{t}-nopnr")
            r["pnr_failed"] = why
            rep.parent.mkdir(parents=True, exist_ok=True)
            rep.write_text(json.dumps(r, indent=1))
        print(f"  {d.name} {t}: {r['luts']} LUTs, {r['ffs']} FFs, fmax {r['fmax_mhz']} MHz "
              f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        return kind, d.name, r

    jobs = [("synth", d, p, t) for d, p in exports for t in targets]
    if args.breakdown:
        jobs += [("breakdown", d, p, t) for d, p in exports for t in targets if t.startswith("ice40")]
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        results = list(pool.map(run, jobs))
    reports = [r for kind, _, r in results if kind == "synth"]
    breakdown = {name: r for kind, name, r in results if kind == "breakdown"}
    return _finish(reports, out, source, trained_gates, breakdown)


def _breakdown(d: Path, target: str, force: bool) -> dict:
    """LUTs and FFs per block of the core, synthesized with its hierarchy kept."""
    work = (d / f"breakdown-{target}").resolve()
    stat = work / "stat.json"
    if force or not stat.exists():
        work.mkdir(parents=True, exist_ok=True)
        manifest = load_manifest(d)
        sources = " ".join(c.name for c in tool_copies([d / f for f in manifest["verilog"]], work))
        script = (f"read_verilog -sv {sources}; hierarchy -check -top {manifest['top']}; "
                  f"synth_{get_target(target).family} -noflatten -top {manifest['top']}; "
                  f"tee -q -o stat.json stat -json")
        run_tool("yosys", ["-q", "-p", script], cwd=work, log_name="yosys.log")
    tgt = get_target(target)
    parts = {p: {"luts": 0, "ffs": 0} for p in PARTS}
    for name, entry in json.loads(stat.read_text())["modules"].items():
        block = name.lstrip("\\").rpartition(".")[2] if "." in name else "top"
        block = "layers" if block.startswith("layer") else block
        block = block if block in parts else "top"
        for cell, n in entry.get("num_cells_by_type", {}).items():
            kind = tgt.classify(cell.lstrip("\\"))
            if kind in ("lut", "ff"):
                parts[block][kind + "s"] += int(n)
    return parts


def _finish(reports, out, source, trained_gates, breakdown) -> int:
    reports.sort(key=lambda r: (r["target"], r["pipeline"]["gate_every"], r["pipeline"]["popcount_every"]))
    print(_table(reports, trained_gates))
    (out / "sweep.json").write_text(json.dumps({"reports": reports, "breakdown": breakdown,
                                                "trained_gates": trained_gates}, indent=1))
    if breakdown:
        print("\nLUTs / FFs per block (iCE40, hierarchy kept: no logic merges across blocks or gate layers, "
              "so the gate layers here are an upper bound of their share above):")
        print("config  " + "  ".join(f"{p:>13}" for p in PARTS))
        for name in sorted(breakdown):
            b = breakdown[name]
            print(f"{name:7} " + "  ".join(f"{b[p]['luts']:>6}/{b[p]['ffs']:<6}" for p in PARTS))
    default = Pipeline()
    for r in reports:
        p = r["pipeline"]
        if r["target"] == "ice40-hx8k" and (p["gate_every"], p["popcount_every"]) == (
                default.gate_every, default.popcount_every):
            fmax = r["fmax_mhz"] or 0
            ok = r["luts_per_gate"] <= GOAL_LUT_PER_GATE and fmax >= GOAL_FMAX
            per_trained = (f", {r['luts'] / trained_gates:.3f} per trained gate" if trained_gates else "")
            print(f"default pipeline on iCE40 HX8K: {r['luts_per_gate']:.3f} LUT4/gate{per_trained} "
                  f"(goal <= {GOAL_LUT_PER_GATE}: ratio {r['luts_per_gate'] / GOAL_LUT_PER_GATE:.2f}), "
                  f"fmax {r['fmax_mhz'] or 'no fit'} MHz (goal >= {GOAL_FMAX:g}: ratio "
                  f"{fmax / GOAL_FMAX:.2f}) -> {'MET' if ok else 'NOT MET'}")
    if reports:
        _plot(reports, out / "hw_sweep.png", source)
        print(f"plot {out / 'hw_sweep.png'}, data {out / 'sweep.json'}")
    return 0


def _table(reports, trained_gates) -> str:
    head = ["target", "gates/reg", "pop/reg", "LUTs", "LUT/gate", "LUT/trained", "FFs", "carry",
            "RAM", "logic used", "fmax MHz", "lat cyc", "lat ns"]
    rows = [head]
    for r in reports:
        u = r.get("utilization") or {}
        used = (f"{u['used']} ({100 * u['fraction']:.0f}%)"
                if u.get("used") is not None and u.get("fraction") is not None else "-")
        fmax = "no fit" if r.get("pnr_failed") else (f"{r['fmax_mhz']:.1f}" if r["fmax_mhz"] else "-")
        if r.get("pnr_failed"):
            used = "does not fit"
        rows.append([r["target"], str(r["pipeline"]["gate_every"]), str(r["pipeline"]["popcount_every"]),
                     str(r["luts"]), f"{r['luts_per_gate']:.2f}",
                     f"{r['luts'] / trained_gates:.2f}" if trained_gates else "-",
                     str(r["ffs"]), str(r["carries"]), str(r["rams"]), used, fmax,
                     str(r["latency_cycles"]), f"{r['latency_ns']:.0f}" if r["latency_ns"] else "-"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


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
