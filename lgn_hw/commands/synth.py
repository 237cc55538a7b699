"""``lgn-hw synth DIR --target T``: Yosys (and nextpnr) report for an exported core."""

from __future__ import annotations

import json

from ..cli import UsageError, seed


def register(sub):
    from ..synth import TARGETS

    p = sub.add_parser(
        "synth", help="synthesize an exported core and report its cost",
        description="Synthesize the core in an 'lgn-hw export' folder with Yosys for an FPGA family "
        "and, where an open place and route exists (iCE40, ECP5, Gowin), place it with nextpnr under "
        "a clock constraint. Writes report.json and prints LUTs, FFs, carries, utilisation, fmax, "
        "latency and throughput. For place and route the core is wrapped by default (its inputs "
        "from a shift register, its outputs folded to a few pins), since a full-width core has "
        "more pins than a device; cell counts are always the core's own.")
    p.add_argument("dir", help="an 'lgn-hw export' folder (with manifest.json)")
    p.add_argument("--target", action="append", required=True, metavar="TARGET",
                   choices=[*TARGETS, "all"],
                   help=f"one of {', '.join(TARGETS)}, or all; may be repeated")
    p.add_argument("--freq", type=float, metavar="MHZ",
                   help="clock constraint for nextpnr (default: the target's, e.g. 100 for iCE40 HX8K)")
    p.add_argument("--out", metavar="DIR", help="output folder (default: DIR/synth-<target>)")
    p.add_argument("--bare", action="store_true",
                   help="place the bare core (one pin per port bit) instead of the wrapped one")
    p.add_argument("--no-pnr", action="store_true", help="stop after Yosys (no fmax)")
    p.add_argument("--seed", type=seed, default=0, help="nextpnr seed (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the report JSON instead of the table")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..hdl import ManifestError, load_export
    from ..synth import TARGETS, format_report, format_table, synthesize
    from ..tools import ToolFailed, ToolNotFound

    targets = list(TARGETS) if "all" in args.target else list(dict.fromkeys(args.target))
    if args.out and len(targets) > 1:
        raise UsageError("--out takes one target; omit it to write DIR/synth-<target> for each")
    try:
        export = load_export(args.dir)
    except ManifestError as exc:
        raise UsageError(str(exc)) from None
    reports = []
    for target in targets:
        try:
            report = synthesize(export, target, freq_mhz=args.freq, out_dir=args.out,
                                ooc=not args.bare, seed=args.seed, pnr=not args.no_pnr)
        except (ManifestError, ToolNotFound, ToolFailed, ValueError, TypeError) as exc:
            raise UsageError(f"{target}: {exc}") from None
        reports.append(report)
        if args.json:
            print(json.dumps(report, indent=1))
        elif len(targets) == 1:
            print(format_report(report))
    if not args.json and len(targets) > 1:
        print(format_table(reports))
        for r in reports:
            print(f"{r['target']}: {r['placement']}; report {r['out_dir']}/report.json")
    return 0
