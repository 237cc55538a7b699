"""Gates before and after the netlist optimiser, per pass, for trained networks.

For each gate estimator and each dataset (digits and MONK-1) a small network is
trained with ``lgn_hw.train``; the bench prints the optimiser's per-pass table,
logic and total gates before/after with the ratio, checks equivalence with the
golden model, and, when ``lgn_hw.synth`` is available (``--synth``), the LUTs
after Yosys synthesis (iCE40, no place and route) of the original and the
optimised export.

    python bench/optimize.py                       # all estimators, digits and monk1
    python bench/optimize.py --netlist a.lgn.json  # your own netlists instead
    python bench/optimize.py --synth               # also LUTs (slower)
    python bench/optimize.py --k 6                 # LUT-6 networks (train --layer-kind lut --k 6)

With ``--random`` it measures random networks instead and says so: those are
not representative of trained ones. The random set includes LUT networks (LUT-6,
LUT-4 and mixed, half of their tables reading at most 3 inputs, as trained LUT
networks started from pass-through do) and prints the optimiser's time per node
against the gate network's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from lgn_hw.netlist import load, random_netlist  # noqa: E402
from lgn_hw.netlist.equiv import check_equivalent  # noqa: E402
from lgn_hw.netlist.opt import optimize  # noqa: E402

DATASETS = {"digits": dict(layers=4, width=1000, epochs=10),
            "monk1": dict(layers=3, width=200, epochs=30)}


def trained(dataset, estimator, seed, quiet=True, k=None):
    from lgn_hw.train import TrainConfig, train

    lut = {} if k is None else {"layer_kind": "lut", "k": k}
    cfg = TrainConfig(dataset=dataset, estimator=estimator, seed=seed, device="cpu",
                      **DATASETS[dataset], **lut)
    with tempfile.TemporaryDirectory() as d:
        result = train(cfg, d, quiet=quiet)
    acc = result.test_accuracy
    return result.netlist, acc


def luts(net, target="ice40-hx8k"):
    from lgn_hw.hdl.export import export
    from lgn_hw.synth import synthesize

    with tempfile.TemporaryDirectory() as d:
        export(net, d)
        return synthesize(d, target, pnr=False)["luts"]


def run_one(name, net, args):
    t0 = time.perf_counter()
    out, report = optimize(net)
    dt = time.perf_counter() - t0
    eq = check_equivalent(net, out, exhaustive_limit=20, num_random=20000, seed=0)
    b, a = report.before, report.after
    print(f"\n== {name}: {net.num_inputs} inputs, {net.num_classes} classes, optimised in {dt:.2f} s")
    print(report.table())
    print(f"equivalence: {eq.describe()}")
    row = {"name": name, "logic_before": b.logic, "logic_after": a.logic,
           "total_before": b.total, "total_after": a.total, "seconds": dt, "nodes": net.num_gates}
    if args.synth:
        try:
            row["luts_before"], row["luts_after"] = luts(net), luts(out)
            print(f"LUTs (iCE40, Yosys): {row['luts_before']} -> {row['luts_after']} "
                  f"(ratio {row['luts_after'] / max(1, row['luts_before']):.3f})")
        except Exception as exc:  # a missing tool or a failed flow: report, keep going
            print(f"LUTs: not measured ({exc})")
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--netlist", nargs="*", default=[], help="netlist files to measure instead")
    p.add_argument("--estimators", nargs="*", help="estimators (default: all)")
    p.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--random", action="store_true", help="use random networks (no training)")
    p.add_argument("--synth", action="store_true", help="also synthesize and count LUTs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--k", type=int, choices=range(2, 7), metavar="K",
                   help="train k-input LUT networks instead of gate networks")
    args = p.parse_args(argv)

    rows = []
    if args.netlist:
        for path in args.netlist:
            rows.append(run_one(Path(path).name, load(path), args))
    elif args.random:
        print("NOTE: random networks (--random); not representative of trained networks")
        for i, (n, widths, c) in enumerate([(64, [1000] * 4, 10), (17, [200] * 3, 2)]):
            rows.append(run_one(f"random-{i}", random_netlist(n, widths, c, seed=args.seed), args))
        for name, k in (("random-lut6", 6), ("random-lut4", 4), ("random-mixed", [6, None, 4, None])):
            net = random_netlist(64, [1000] * 4, 10, seed=args.seed, k=k, sparse=0.5)
            rows.append(run_one(name, net, args))
    else:
        from lgn_hw.train import ESTIMATORS

        for dataset in args.datasets:
            for est in args.estimators or list(ESTIMATORS):
                t0 = time.perf_counter()
                net, acc = trained(dataset, est, args.seed, k=args.k)
                if args.k is not None:
                    est = f"{est}/lut{args.k}"
                print(f"\ntrained {dataset}/{est} in {time.perf_counter() - t0:.0f} s, "
                      f"test accuracy {acc if acc is None else f'{acc:.3f}'}")
                rows.append(run_one(f"{dataset}/{est}", net, args))

    print("\n== summary (ratio = after / before)")
    head = f"{'network':<24}{'logic':>14}{'ratio':>7}{'total':>14}{'ratio':>7}{'us/node':>9}"
    if args.synth:
        head += f"{'LUTs':>14}{'ratio':>7}"
    print(head)
    for r in rows:
        line = (f"{r['name']:<24}{r['logic_before']:>7}->{r['logic_after']:<5}"
                f"{r['logic_after'] / max(1, r['logic_before']):>7.3f}"
                f"{r['total_before']:>7}->{r['total_after']:<5}"
                f"{r['total_after'] / max(1, r['total_before']):>7.3f}"
                f"{r['seconds'] / max(1, r['nodes']) * 1e6:>9.1f}")
        if "luts_before" in r:
            line += (f"{r['luts_before']:>7}->{r['luts_after']:<5}"
                     f"{r['luts_after'] / max(1, r['luts_before']):>7.3f}")
        print(line)


if __name__ == "__main__":
    main()
