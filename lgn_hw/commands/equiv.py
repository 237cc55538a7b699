"""``lgn-hw equiv NETLIST DIR``: prove that an exported core computes the netlist."""

from __future__ import annotations

from ..cli import UsageError
from ..netlist import load

METHODS = ("parts", "bounded", "both")


def register(sub):
    p = sub.add_parser(
        "equiv", help="prove an exported core equivalent to a netlist (ABC, per part; or Yosys SAT)",
        description="Prove that the Verilog exported in DIR (by 'lgn-hw export') computes NETLIST's "
        "class scores and class for every input. The default method ('parts') flattens the core with "
        "Yosys, checks that its flip-flops are pure pipeline delays, cuts it at its blocks (encoder, "
        "each layer, each class's popcount, argmax) and proves each part with ABC against a "
        "reference built from the netlist: one line per part, then the verdict. 'bounded' is the "
        "whole-core Yosys SAT check from reset (handshake and latency included; small cores only); "
        "'both' runs both. NETLIST may be the unoptimised original of an optimised export. On a "
        "difference, the input is saved as DIR/equiv/counterexample.npy and the core is simulated "
        "on it. Exit status 0 when proved, 1 when the core differs, 3 when no answer was found.")
    p.add_argument("netlist", help="a *.lgn.json netlist file")
    p.add_argument("dir", metavar="DIR", help="an 'lgn-hw export' folder (with manifest.json)")
    p.add_argument("--method", choices=METHODS, default="parts", help="how to prove (default: parts)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="parts proved in parallel (default 1)")
    p.add_argument("--timeout", type=int, default=900, help="solver timeout in seconds (per part)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..hdl.export import load_export
    from ..tools import ToolFailed, ToolNotFound
    from ..verify.equiv import prove_equivalent
    from ..verify.proof import prove_parts

    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, not {args.jobs}")
    net = load(args.netlist)
    codes = []
    try:
        export = load_export(args.dir)
        if args.method in ("parts", "both"):
            from ..hdl.digest import core_digest
            from ..report.records import write_equiv_record

            core = core_digest(export, net)   # what the record names (lgn-hw report shows it)
            result = prove_parts(net, export, jobs=args.jobs, timeout=args.timeout,
                                 progress=lambda part: print(part.line(), flush=True))
            write_equiv_record(export.folder, result, core=core)
            print(f"{result.verdict}: " + (
                f"the exported core computes the netlist's scores and class for every input "
                f"({len(result.parts)} parts, {result.seconds:.1f} s)" if result.proved else result.detail))
            if result.replay:
                print(result.replay)
            codes.append(0 if result.proved else 3 if result.undecided else 1)
        if args.method in ("bounded", "both"):
            bounded = prove_equivalent(net, export, timeout=args.timeout)
            print(bounded.describe())
            codes.append(0 if bounded.proved else 3 if bounded.undecided else 1)
    except (ToolNotFound, ToolFailed, ValueError) as exc:  # ManifestError is a ValueError
        raise UsageError(str(exc)) from None
    return 1 if 1 in codes else max(codes)
