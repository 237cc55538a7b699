"""``lgn-hw info NETLIST``: nodes per layer, op histogram, LUT table statistics, depth."""

from __future__ import annotations

import numpy as np

from .. import gates
from ..netlist import load


def register(sub):
    p = sub.add_parser("info", help="summarize a netlist file",
                       description="Print gates (or LUT nodes) per layer, the op histogram of the "
                       "gate layers, statistics of the LUT layers' tables and the depth of a netlist.")
    p.add_argument("netlist", help="a *.lgn.json netlist file")
    p.set_defaults(func=run)


def run(args) -> int:
    net = load(args.netlist)
    luts = [(i, layer) for i, layer in enumerate(net.layers) if layer.kind == "lut"]
    gate_count = sum(layer.width for layer in net.layers if layer.kind == "gate")
    print(f"netlist     {args.netlist}")
    print(f"inputs      {net.num_inputs}" + ("  (encoder: raw features)" if net.encoder else ""))
    print(f"classes     {net.num_classes}  ({net.outputs_per_class} outputs each, tau {net.tau:g})")
    if not luts:
        print(f"depth       {net.depth} gate layers")
        print(f"gates       {net.num_gates}")
        for i, w in enumerate(net.widths):
            print(f"  layer {i:<3} {w}")
    else:
        print(f"depth       {net.depth} layers ({len(luts)} LUT layers), file version {net.format_version}")
        print(f"nodes       {net.num_gates}  ({gate_count} gates, {net.num_gates - gate_count} LUT nodes)")
        for i, layer in enumerate(net.layers):
            kind = f"LUT-{layer.k}" if layer.kind == "lut" else "gates"
            print(f"  layer {i:<3} {layer.width:<8} {kind}")
    if gate_count:
        print("op histogram" + ("  (gate layers)" if luts else ""))
        hist = net.op_histogram()
        for op in range(gates.NUM_OPS):
            share = hist[op] / max(1, gate_count)
            print(f"  {op:>2} {gates.NAMES[op]:<12} {hist[op]:>8}  {share:6.1%}")
    if luts:
        print("LUT tables  (nodes by inputs the table reads; constant and pass-through tables)")
        for i, layer in luts:
            reads = layer.reads()
            hist = " ".join(f"{r}:{c}" for r, c in enumerate(np.bincount(reads, minlength=layer.k + 1)))
            print(f"  layer {i:<3} LUT-{layer.k}  reads {hist}  (mean {reads.mean():.2f})  "
                  f"constant {int(layer.is_constant().sum())}  "
                  f"pass-through {int(layer.is_passthrough().sum())}")
    return 0
