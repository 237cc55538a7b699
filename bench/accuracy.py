"""Accuracy of the default training configurations, measured on CPU.

Trains every dataset's default configuration and, on digits, every gate
estimator, then prints one table: discrete test accuracy (the netlist, by the
golden model on raw test features), soft test accuracy (the training-mode
forward: the gate mixture for ``soft``, the sampled network for the hard
estimators), the gap, unused gates, gates, best epoch and wall time, and checks the bars:
MONK-1 100%, MONK-3 >= 97%, digits >= 97%, breast cancer >= 95%.

    .venv/bin/python bench/accuracy.py            # everything (about 15 minutes on 2 cores)
    .venv/bin/python bench/accuracy.py --only monk1,monk3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time

import torch

from lgn_hw.train import TrainConfig, train
from lgn_hw.train.presets import DATASET_PRESETS, estimator_defaults

#: (name, settings, bar on discrete test accuracy or None), from lgn_hw.train.presets
DEFAULTS = [(name, dict(settings, dataset=name), bar)
            for name, (settings, bar) in DATASET_PRESETS.items() if name not in ("digits", "mnist")]
DIGITS = dict(DATASET_PRESETS["digits"][0], dataset="digits")
ESTIMATORS = ("soft", "gumbel_st", "decoupled_st", "reinmax")
BARS = {"digits": DATASET_PRESETS["digits"][1]}


def run_one(label, settings, bar):
    cfg = TrainConfig(**settings)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        res = train(cfg, tmp, quiet=True)
        wall = time.perf_counter() - t0
    b = res.best
    row = dict(label=label, estimator=cfg.estimator, discrete=res.test_accuracy, soft=b["test_soft"],
               gap=b["test_soft"] - res.test_accuracy, unused=b["unused_gates"], gates=res.netlist.num_gates,
               epoch=b["epoch"], wall=wall, bar=bar)
    row["ok"] = None if bar is None else res.test_accuracy >= bar - 1e-9
    return row


def fmt(row):
    bar = "" if row["bar"] is None else f"{'PASS' if row['ok'] else 'FAIL'} (>= {row['bar']:.0%})"
    return (f"{row['label']:<14}{row['estimator']:<14}{row['discrete']:>9.4f}{row['soft']:>9.4f}"
            f"{row['gap']:>+9.4f}{row['unused']:>8}{row['gates']:>8}{row['epoch']:>6}{row['wall']:>8.0f}s  {bar}")


HEADER = (f"{'dataset':<14}{'estimator':<14}{'discrete':>9}{'soft':>9}{'gap':>9}{'unused':>8}{'gates':>8}"
          f"{'epoch':>6}{'wall':>9}  bar")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", help="comma-separated labels (monk1, ..., digits) to run")
    ap.add_argument("--estimators", default=",".join(ESTIMATORS), help="estimators compared on digits")
    ap.add_argument("--digits-epochs", type=int, help="override the digits epochs")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    only = set(args.only.split(",")) if args.only else None
    jobs = [(lab, s, bar) for lab, s, bar in DEFAULTS if only is None or lab in only]
    if only is None or "digits" in only:
        for est in args.estimators.split(","):
            s = dict(DIGITS, **estimator_defaults(est), estimator=est)  # what each estimator needs
            if args.digits_epochs:
                s["epochs"] = args.digits_epochs
            jobs.append(("digits", s, BARS["digits"] if est == "soft" else None))
    print(HEADER, flush=True)
    rows = []
    for lab, s, bar in jobs:
        row = run_one(lab, s, bar)
        rows.append(row)
        print(fmt(row), flush=True)
    failed = [r for r in rows if r["ok"] is False]
    dig = {r["estimator"]: r for r in rows if r["label"] == "digits"}
    if "soft" in dig and len(dig) > 1:
        print("\ndigits, against soft (classic DLGN): gap and unused gates")
        s = dig["soft"]
        for est, r in dig.items():
            if est == "soft":
                continue
            print(f"  {est:<14} gap {r['gap']:+.4f} vs {s['gap']:+.4f} ({'smaller' if abs(r['gap']) < abs(s['gap']) else 'not smaller'}), "
                  f"unused {r['unused']} vs {s['unused']} ({'fewer' if r['unused'] < s['unused'] else 'not fewer'}), "
                  f"discrete {r['discrete']:.4f} vs {s['discrete']:.4f}")
    barred = [r for r in rows if r["ok"] is not None]
    print(f"\n{len(barred) - len(failed)} of {len(barred)} runs with a bar meet it" if rows else "nothing run")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
