"""``lgn-hw info NETLIST``: gates per layer, op histogram, depth."""

from __future__ import annotations

from .. import gates
from ..netlist import load


def register(sub):
    p = sub.add_parser("info", help="summarize a netlist file",
                       description="Print gates per layer, the op histogram and the depth of a netlist.")
    p.add_argument("netlist", help="a *.lgn.json netlist file")
    p.set_defaults(func=run)


def run(args) -> int:
    net = load(args.netlist)
    print(f"netlist     {args.netlist}")
    print(f"inputs      {net.num_inputs}" + ("  (encoder: raw features)" if net.encoder else ""))
    print(f"classes     {net.num_classes}  ({net.outputs_per_class} outputs each, tau {net.tau:g})")
    print(f"depth       {net.depth} gate layers")
    print(f"gates       {net.num_gates}")
    for i, w in enumerate(net.widths):
        print(f"  layer {i:<3} {w}")
    print("op histogram")
    hist = net.op_histogram()
    for op in range(gates.NUM_OPS):
        share = hist[op] / max(1, net.num_gates)
        print(f"  {op:>2} {gates.NAMES[op]:<12} {hist[op]:>8}  {share:6.1%}")
    return 0
