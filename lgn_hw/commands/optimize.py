"""``lgn-hw optimize IN OUT``: remove gates that do nothing, keeping the function."""

from __future__ import annotations

from ..netlist import load


def register(sub):
    p = sub.add_parser(
        "optimize", help="optimise a netlist (dead, constant, wire and duplicate gates)",
        description="Remove dead gates, propagate constants, fold pass-through and NOT gates into "
        "their consumers and merge duplicate gates, repeated to a fixpoint; write the optimised "
        "netlist (same inputs, classes and scores for every input) and print gates per pass. "
        "Connections that skip layers get pass-through gates (delay registers in a pipelined "
        "core), counted apart from logic gates.")
    p.add_argument("input", metavar="IN", help="a *.lgn.json netlist file")
    p.add_argument("output", metavar="OUT", help="where to write the optimised netlist")
    p.add_argument("--check", action="store_true",
                   help="also check equivalence with the golden model (exhaustive up to 16 inputs)")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..netlist.opt import optimize

    net = load(args.input)
    out, report = optimize(net)
    if args.check:
        from ..netlist.equiv import check_equivalent

        result = check_equivalent(net, out)
        if not result:
            raise RuntimeError(f"optimiser bug: {result.describe()}")
    out.save(args.output)
    if not args.quiet:
        print(report.table())
        if args.check:
            print(f"check: {result.describe()}")
        print(f"wrote {args.output}")
    return 0
