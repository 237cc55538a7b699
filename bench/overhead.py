"""LUT6 that small cores spend around their nodes, per block, on Xilinx 7, for each core shape.

    python bench/overhead.py                          # small100, small600 and a random mid-size core
    python bench/overhead.py NET.lgn.json ...         # your own netlists
    python bench/overhead.py --configs default,small  # a subset of the shapes below

For each netlist (optimised as ``lgn-hw export`` does, encoder inside when it has a
quantized one), each core shape is exported and synthesized for ``xilinx-7``
(Yosys); the table lists per block (encoder, layers, popcount, argmax, fifo) the
logic LUTs and, after the slash, the LUT6 sites with LUT-RAM and SRL counted
(``lgn-hw synth``'s ``lut_sites``: RAM32M = 4, SRL16E = 1), then the
totals, the ratio of the total to the ``default`` shape's and to the default shape's
before these changes (:data:`BEFORE`, for the built-in designs). Shapes
(``lgn_hw.hdl.Pipeline``):

    default   Pipeline()                                  (registers every 4 layers / 2 adder levels)
    lut6      Pipeline(lut_size=6)                        popcount counters, LUT compare in the argmax
    stall     Pipeline(stream="stall")                    no FIFO, the pipeline stalls
    small     Pipeline(lut_size=6, stream="stall")        both
    small-a0  Pipeline(lut_size=6, stream="stall", argmax_registered=False)

Measured 2026-12-01 (shared 2-core machine; Yosys 0.70 via YoWASP), logic LUT / LUT6 sites:

    design      shape     layers popcount  argmax    fifo   LUT  LUT6+RAM  lat
    small100    before    110    120       74/119    16/48  320  397       9   (commit 6c30d2e)
    small100    default   110    120       75/75     16/48  321  353       9   (SRL16E -> FFs)
    small100    lut6      110    100       58        16/48  284  316       9
    small100    stall     101    120       87         0     308  308       7
    small100    small     101     80       56         0     237  237       7   0.60 of before
    small600    before    398    140       74/119    16/48  628  705       9
    small600    small     391    120       56         0     567  567       7   0.80 of before
    random-mid  before    772   1210      113/191    15/67 2110 2240      10
    random-mid  small     773   1060      114         0    1947 1947       8   0.87 of before

small100 is 1 LUT-6 layer of 100 nodes (784 inputs, encoder inside, 10 x 10 popcount
bits), small600 2 layers (388 nodes after optimisation, 10 x 15 bits), random-mid
:func:`mid_size` (10 x 100 bits). "before" is the default shape before the changes this
bench came with (the argmax's delay lines were 45 SRL16E, the FIFO 8 RAM32M). Yosys's LUT
mapper is not exact: the same counters gave 8 LUT6 per class of 10 bits with the stall's
clock enable and 10 without (small100 lut6 against small).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout

from lgn_hw.hdl import Pipeline, export  # noqa: E402
from lgn_hw.hdl.encoder import choose_encoder  # noqa: E402
from lgn_hw.netlist import load, random_netlist  # noqa: E402
from lgn_hw.netlist.opt import optimize  # noqa: E402
from lgn_hw.synth import synthesize  # noqa: E402

CONFIGS = {
    "default": Pipeline(),
    "lut6": Pipeline(lut_size=6),
    "stall": Pipeline(stream="stall"),
    "small": Pipeline(lut_size=6, stream="stall"),
    "small-a0": Pipeline(lut_size=6, stream="stall", argmax_registered=False),
}
BLOCKS = ("encoder", "layers", "popcount", "argmax", "fifo")
#: Trained MNIST-8k LUT-6 netlists with learned connections (``lgn-hw train``, README), kept in the repo.
DESIGNS = [ROOT / "bench" / "designs" / "small100.lgn.json", ROOT / "bench" / "designs" / "small600.lgn.json"]
#: LUT6 sites (LUT-RAM and SRL included) of the default shape before this bench's changes
#: (commit 6c30d2e), for the ratio column "vs before".
BEFORE = {"small100": 397, "small600": 705, "random-mid": 2240}


def mid_size():
    """A random mid-size core: 3 layers of 2,000 / 2,000 / 1,000 gates, 10 classes of 100 bits."""
    return random_netlist(256, [2000, 2000, 1000], 10, seed=1)


def measure(net, pipeline, work: Path) -> dict:
    """Export ``net`` with ``pipeline`` into ``work``, synthesize for xilinx-7: per block
    ``(logic LUTs, LUT6 sites)`` (the synthesis report's ``luts`` and ``lut_sites``) and the totals."""
    export(net, work, pipeline=pipeline, encoder=choose_encoder(net, "auto"), quiet=True)
    rep = synthesize(work, "xilinx-7", pnr=False)
    blocks = rep["blocks"]
    return {"blocks": {b: (blocks[b]["luts"], blocks[b]["lut_sites"]) if b in blocks else (0, 0) for b in BLOCKS},
            "luts": rep["luts"], "sites": rep["lut_sites"], "ffs": rep["ffs"],
            "latency": rep["latency_cycles"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlists", nargs="*", type=Path, help="netlists (default: small100, small600, a random mid-size core)")
    ap.add_argument("--configs", default=",".join(CONFIGS), help="shapes to measure (default: all)")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args(argv)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    bad = [c for c in names if c not in CONFIGS]
    if bad:
        ap.error(f"unknown shape {bad[0]!r}; shapes: {', '.join(CONFIGS)}")
    designs = [(p.stem.removesuffix(".lgn"), load(p)) for p in (args.netlists or [d for d in DESIGNS if d.exists()])]
    if not args.netlists:
        designs.append(("random-mid", mid_size()))
    rows = []
    print("per block: logic LUT / LUT6 sites with LUT-RAM and SRL (xilinx-7, Yosys)")
    print(f"{'design':<12} {'shape':<9} " + " ".join(f"{b:>11}" for b in BLOCKS)
          + f" {'LUT':>6} {'LUT6+RAM':>8} {'ratio':>6} {'vs before':>9} {'FF':>6} {'lat':>4}")
    with tempfile.TemporaryDirectory(prefix="overhead-") as tmp:
        for name, net in designs:
            net = optimize(net)[0]
            base = None
            for config in names:
                r = measure(net, CONFIGS[config], Path(tmp) / f"{name}-{config}")
                base = base or r["sites"]
                rows.append({"design": name, "shape": config, "pipeline": str(CONFIGS[config]), **r})
                cells = " ".join(f"{f'{a}/{b}':>11}" for a, b in r["blocks"].values())
                before = f"{r['sites'] / BEFORE[name]:.3f}" if name in BEFORE else "-"
                print(f"{name:<12} {config:<9} {cells} {r['luts']:>6} {r['sites']:>8} "
                      f"{r['sites'] / base:>6.3f} {before:>9} {r['ffs']:>6} {r['latency']:>4}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
