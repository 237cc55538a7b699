"""``lgn-hw predict NETLIST INPUTS``: classes (and scores) from the golden model."""

from __future__ import annotations

import sys

import numpy as np

from ..cli import UsageError
from ..netlist import evaluate, load, predict


def register(sub):
    p = sub.add_parser(
        "predict", help="predict classes with the golden model",
        description="Evaluate a netlist on inputs from a .npy file: an (n, num_inputs) array of "
        "0/1 bits, or, when the netlist carries an encoder, an (n, num_features) array of raw "
        "features. Prints one line per sample: the class, then the class scores.")
    p.add_argument("netlist", help="a *.lgn.json netlist file")
    p.add_argument("inputs", help=".npy file of input bits or raw features")
    p.add_argument("--out", help="write predicted classes to this .npy file instead of printing")
    p.add_argument("--bits", action="store_true", help="inputs are bits even though the netlist has an encoder")
    p.set_defaults(func=run)


def run(args) -> int:
    net = load(args.netlist)
    try:
        x = np.load(args.inputs, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"{args.inputs}: cannot read as .npy ({exc})") from None
    try:
        result = evaluate(net, x) if (net.encoder is None or args.bits) else predict(net, x)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{args.inputs}: {exc}") from None
    if args.out:
        np.save(args.out, result.classes)
        return 0
    out = sys.stdout
    for c, s in zip(result.classes, result.scores):
        out.write(f"{c} " + " ".join(map(str, s)) + "\n")
    return 0
