"""``lgn-hw predict NETLIST INPUTS``: classes (and scores) from the golden model."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np

from ..cli import UsageError
from ..netlist import evaluate, load, predict


def register(sub):
    p = sub.add_parser(
        "predict", help="predict classes with the golden model",
        description="Evaluate a netlist on inputs from a file: a .npy array of 0/1 bits (n, num_inputs) "
        "or, when the netlist carries an encoder, of raw features (n, num_features); or a CSV or NPZ "
        "file like the one it was trained on (CSV columns found by name, text columns mapped to their "
        "codes; NPZ x_test or x). Prints one line per sample: the class, then the class scores (a class name "
        "with a space, quote or newline in it as a JSON string). When "
        "the file has labels (a CSV label column, y_test or y) they are not used for predicting; the "
        "accuracy is printed to stderr.")
    p.add_argument("netlist", help="a *.lgn.json netlist file")
    p.add_argument("inputs", help=".npy, .csv, .tsv or .npz file of inputs")
    p.add_argument("--out", help="write predicted classes to this .npy file instead of printing")
    p.add_argument("--bits", action="store_true", help="a .npy of bits even though the netlist has an encoder")
    p.add_argument("--names", action="store_true",
                   help="print class names (the netlist's metadata class_names) instead of class numbers")
    p.set_defaults(func=run)


_PLAIN = re.compile(r"[^\s\"\\]+")


def _name(name) -> str:
    """A class name as one word of the output line: as it is when plain, else a JSON string literal
    (a name with a space, a newline, a quote or nothing in it keeps the output one line per sample)."""
    name = str(name)
    return name if _PLAIN.fullmatch(name) and name.isprintable() else json.dumps(name)


def run(args) -> int:
    from ..data import DataError, read_inputs

    net = load(args.netlist)
    names = net.metadata.get("class_names")
    if args.names and not (isinstance(names, list) and len(names) == net.num_classes):
        raise UsageError(f"{args.netlist}: the netlist has no class names (metadata 'class_names'); "
                         "train it on a labelled --data file")
    if args.out is not None:
        out = Path(args.out)
        if out.suffix.lower() != ".npy" or out.is_dir():
            raise UsageError(f"--out must name a .npy file (the predicted classes), not {args.out!r}")
    if args.bits and Path(args.inputs).suffix.lower() != ".npy":
        raise UsageError(f"--bits reads a .npy file of input bits, not {args.inputs}")
    try:
        inputs = read_inputs(args.inputs, net)
    except DataError as exc:
        raise UsageError(str(exc)) from None
    try:
        bits = net.encoder is None or args.bits
        result = evaluate(net, inputs.x) if bits else predict(net, inputs.x)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{args.inputs}: {exc}") from None
    if inputs.y is not None:
        right = int((result.classes == inputs.y).sum())
        print(f"accuracy {right / len(inputs.y):.4f} ({right} of {len(inputs.y)})", file=sys.stderr)
    if args.out:
        from ..netlist.model import atomic_path

        with atomic_path(args.out) as tmp, open(tmp, "wb") as f:  # never into a device node
            np.save(f, result.classes)
        print(f"wrote {len(result.classes)} predicted classes to {args.out}", file=sys.stderr)
        return 0
    out = sys.stdout
    label = (lambda c: _name(names[c])) if args.names else str
    for c, s in zip(result.classes, result.scores):
        out.write(f"{label(int(c))} " + " ".join(map(str, s)) + "\n")
    return 0
