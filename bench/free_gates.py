"""The free-gate cost: accuracy against gates left after optimisation, per ``free_weight``.

Trains one shape (default: digits 4 x 1000, the frontier's ``soft-4x1000``) at
several ``--free-weight`` values, optimises each netlist (``lgn-hw optimize``)
and prints per weight: discrete test accuracy, logic gates after optimisation,
their ratio to weight 0 (the reference, trained in the same process), and with
``--synth`` the LUT6 count of the exported core (Yosys ``synth_xilinx``).

    .venv/bin/python bench/free_gates.py                        # digits, weights 0,0.3,1,3
    .venv/bin/python bench/free_gates.py --weights 0,1 --epochs 10 --synth
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from lgn_hw.netlist.opt import optimize
from lgn_hw.train import TrainConfig, train

SHAPE = dict(dataset="digits", layers=4, width=1000, tau=10.0, batch_size=32, lr=0.01, epochs=40)


def _lut6(net, work: Path):
    from lgn_hw.hdl import export
    from lgn_hw.synth import synthesize

    export(net, work / "hw", quiet=True)
    return synthesize(work / "hw", "xilinx-7", pnr=False)["luts"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default="0,0.3,1,3", help="comma-separated free_weight values (0 first)")
    ap.add_argument("--epochs", type=int, default=SHAPE["epochs"])
    ap.add_argument("--estimator", default="soft")
    ap.add_argument("--synth", action="store_true", help="also count LUT6 (xilinx-7, Yosys only)")
    args = ap.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",")]
    if weights[0] != 0:
        weights.insert(0, 0.0)
    print(f"digits {SHAPE['layers']} x {SHAPE['width']}, {args.estimator}, {args.epochs} epochs; "
          f"reference: free_weight 0")
    print(f"{'free_weight':>11}{'discrete':>10}{'logic gates':>13}{'x ref':>7}" + (f"{'LUT6':>8}{'x ref':>7}" if args.synth else "")
          + f"{'train s':>9}")
    ref = None
    for w in weights:
        cfg = TrainConfig(**dict(SHAPE, epochs=args.epochs, estimator=args.estimator, free_weight=w))
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            res = train(cfg, Path(tmp) / "run", quiet=True)
            secs = time.perf_counter() - t0
            net, report = optimize(res.netlist)
            row = {"logic": report.after.logic, "lut6": _lut6(net, Path(tmp)) if args.synth else None}
        ref = ref or row
        line = (f"{w:>11g}{res.test_accuracy:>10.2%}{row['logic']:>13,}{row['logic'] / ref['logic']:>7.2f}")
        if args.synth:
            line += f"{row['lut6']:>8,}{row['lut6'] / ref['lut6']:>7.2f}"
        print(line + f"{secs:>9.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
