"""``lgn-hw lint DIR``: parse the exported Verilog, check its ports, run Verilator's linter."""

from __future__ import annotations

from ..cli import UsageError
from ..hdl.export import ManifestError, load_export
from ..hdl.lint import PARSE_LIMIT, LintError, lint
from ..tools import ToolNotFound


def register(sub):
    p = sub.add_parser(
        "lint", help="lint an exported core",
        description="Check an 'lgn-hw export' folder: parse the Verilog with pyverilog, check the "
        "top module's ports and widths against manifest.json, elaborate every source with slang "
        "(pyslang; its warnings fail the lint too), and run 'verilator --lint-only "
        "-Wall' (waivers for generator-inherent warnings: hdl_templates/verilator_lint.vlt). "
        "Exits 1 when a check fails.")
    p.add_argument("dir", help="the export folder (holds manifest.json)")
    p.add_argument("--no-verilator", action="store_true", help="skip Verilator (pyverilog, ports and slang only)")
    p.add_argument("--parse-limit", type=int, default=PARSE_LIMIT, metavar="CHARS",
                   help="pyverilog parses modules up to this size; bigger ones are left to "
                        "Verilator (default: %(default)s; the top is always parsed)")
    p.set_defaults(func=run)


def run(args) -> int:
    try:
        export = load_export(args.dir)
        report = lint(export, verilator=not args.no_verilator, parse_limit=args.parse_limit)
    except (ManifestError, ToolNotFound) as exc:
        raise UsageError(str(exc)) from None
    except LintError as exc:
        print(f"FAIL  {args.dir}: {exc}")
        return 1
    print(f"top         {report.top}  ({report.modules} modules)")
    print(f"pyverilog   parsed {len(report.parsed)}"
          + (f", left {len(report.skipped)} big ones to Verilator" if report.skipped else ""))
    print(f"ports       " + ", ".join(f"{n}[{w}]" for n, _, w in report.ports) + "  match the manifest")
    print(f"slang       clean (pyslang {report.slang}"
          + (f"; {report.slang_waived} waived width warnings)" if report.slang_waived else ")"))
    if report.verilator:
        print(f"verilator   -Wall clean ({report.verilator}; waivers {report.waivers})")
    else:
        print("verilator   skipped")
    if report.axis:
        print(f"axis        {report.axis} (the AXI4-Stream wrapper) with the core: slang"
              + (" and verilator clean" if report.verilator else " clean"))
    print(f"OK    {args.dir}")
    return 0
