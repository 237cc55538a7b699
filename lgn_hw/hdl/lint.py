"""Lint an export folder: three front ends (pyverilog, slang, Verilator) and the port check.

pyverilog is slow on big flat modules and chokes on ``(* src *)`` attributes;
the export writes no src attributes and one module per block, and this module
parses each module on its own (by default only the top, whose ports it
checks, plus every module smaller than ``parse_limit`` characters). slang
(pyslang) elaborates every source whatever its size, in well under a second on
a 9k-gate core; its errors and warnings fail the lint, except the warnings in
:data:`SLANG_WAIVED`. Verilator lints everything, with the waivers of
``hdl_templates/verilator_lint.vlt``.
"""

from __future__ import annotations

import atexit
import functools
import logging
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..tools import find_tool, verilator_env
from .axis import axis_top
from .export import as_export, render_template
from .names import tool_copies
from .ports import core_ports

__all__ = ["LintError", "LintReport", "lint", "split_modules", "parse_ports"]

log = logging.getLogger(__name__)

WAIVERS = "verilator_lint.vlt"
PARSE_LIMIT = 200_000
#: slang warnings that Amaranth's Verilog raises by design, with why they are harmless.
SLANG_WAIVED = {
    # a counter plus or minus a 1-bit flag (the FIFO's level, the handshake's pending count):
    # Verilog widens the flag to the counter's width, which is what the generator means.
    "arith-op-mismatch",
}


class LintError(ValueError):
    """The export folder fails lint; the message says which check and why."""


@dataclass
class LintReport:
    folder: Path
    top: str
    modules: int = 0
    parsed: list = field(default_factory=list)   # module names pyverilog parsed
    skipped: list = field(default_factory=list)  # too big for pyverilog (Verilator still lints them)
    ports: list = field(default_factory=list)    # (name, dir, width) of the top, as parsed
    verilator: str = ""                          # verilator's version line
    slang: str = ""                              # pyslang's version ("" when not run)
    slang_waived: int = 0                        # warnings of SLANG_WAIVED that slang gave
    waivers: Path | None = None
    axis: str | None = None                      # the AXI4-Stream wrapper's module, linted too (export --axis)


_MODULE = re.compile(r"^module\s+(\\\S+|[A-Za-z_][A-Za-z0-9_$]*)", re.M)


def split_modules(text: str) -> dict:
    """``{module name: source text}`` of a Yosys-written Verilog file (attributes kept)."""
    chunks, start = {}, 0
    for end in re.finditer(r"^endmodule\b.*$", text, re.M):
        chunk = text[start: end.end()] + "\n"
        found = _MODULE.search(chunk)
        if found:
            name = found.group(1)
            chunks[name[1:] if name.startswith("\\") else name] = chunk
        start = end.end()
    return chunks


@functools.lru_cache(maxsize=1)
def _parser():
    """One pyverilog parser per process (building its LALR tables takes seconds)."""
    from pyverilog.vparser.parser import VerilogParser

    # PLY writes its table module into outputdir; keep it out of the working directory.
    workdir = tempfile.mkdtemp(prefix="lgn-pyverilog-")
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    return VerilogParser(outputdir=workdir, debug=False)


def parse_ports(parser, text: str, name: str) -> list:
    """Parse one module with pyverilog; return its ``(name, dir, width)`` ports in port-list order."""
    from pyverilog.vparser import ast as vast
    from pyverilog.vparser.parser import ParseError

    try:
        source = parser.parse(text)
    except ParseError as exc:
        raise LintError(f"pyverilog cannot parse module {name}: {exc}") from None
    mods = [d for d in source.description.definitions if isinstance(d, vast.ModuleDef)]
    if len(mods) != 1:
        raise LintError(f"expected one module in the text of {name}, pyverilog found {len(mods)}")
    mod = mods[0]
    decls = {}
    for item in mod.items:
        if isinstance(item, vast.Decl):
            for d in item.list:
                if isinstance(d, (vast.Input, vast.Output, vast.Inout)):
                    width = 1
                    if d.width is not None:
                        width = abs(int(d.width.msb.value) - int(d.width.lsb.value)) + 1
                    kind = {vast.Input: "in", vast.Output: "out", vast.Inout: "inout"}[type(d)]
                    decls[d.name] = (d.name, kind, width)
    order = [p.name if hasattr(p, "name") else p.first.name for p in mod.portlist.ports]
    return [decls.get(p, (p, "?", 0)) for p in order]


def lint(folder, *, verilator: bool = True, parse_limit: int = PARSE_LIMIT) -> LintReport:
    """Lint the export in ``folder`` (an :class:`~lgn_hw.hdl.ExportDir` or its folder).

    Returns a report or raises :class:`LintError`. ``verilator=False`` skips
    Verilator (pyverilog and the port check only); with ``verilator=True`` a
    missing Verilator raises :class:`~lgn_hw.tools.ToolNotFound`.
    """
    export = as_export(folder)
    top = export.top
    report = LintReport(export.folder, top)
    texts = [src.read_text() for src in export.sources]
    modules = {}
    for text in texts:
        modules.update(split_modules(text))
    report.modules = len(modules)
    if top not in modules:
        raise LintError(f"no module {top!r} in {', '.join(export.source_names)} "
                        f"(modules: {', '.join(sorted(modules)) or 'none'})")

    parser = _parser()
    for name, text in modules.items():
        if name != top and len(text) > parse_limit:
            report.skipped.append(name)
            continue
        ports = parse_ports(parser, text, name)
        report.parsed.append(name)
        if name == top:
            report.ports = ports
    want = [(p.name, p.direction, p.width) for p in core_ports(export)]
    if sorted(report.ports) != sorted(want):
        got, exp = set(report.ports), set(want)
        raise LintError(f"top {top!r} ports differ from the manifest: unexpected "
                        f"{sorted(got - exp) or 'none'}, missing {sorted(exp - got) or 'none'}")

    report.ports = sorted(report.ports, key=want.index)  # in DESIGN.md order

    _run_slang(export, texts, report)
    if verilator:
        _run_verilator(export, report)
    wrapper = _axis_wrapper(export)
    if wrapper is not None:   # the wrapper with the core: slang, and Verilator when it runs
        names = [*export.source_names, wrapper.name]
        _run_slang(export, [*texts, wrapper.read_text()], report, names=names, top=axis_top(top))
        if verilator:
            _run_verilator(export, report, names=names, top=axis_top(top))
        report.axis = axis_top(top)
    return report


def _axis_wrapper(export) -> Path | None:
    """The AXI4-Stream wrapper of an export whose manifest has an ``axis`` entry, else None.

    Its file name is derived from the top module (``<top>_axis.v``), never read from the
    manifest, and must be a regular file inside the folder.
    """
    if not export.manifest.get("axis"):
        return None
    path = export.folder / f"{axis_top(export.top)}.v"
    if path.is_symlink() or not path.is_file():
        raise LintError(f"{export.folder}: the manifest has an 'axis' entry but {path.name} is "
                        f"{'a link' if path.is_symlink() else 'missing or not a regular file'}")
    return path


def _run_slang(export, texts, report: LintReport, *, names=None, top=None) -> None:
    """Elaborate every source with slang; errors and unwaived warnings raise :class:`LintError`.
    ``names`` and ``top`` default to the export's sources and top module."""
    import pyslang
    from pyslang import DiagnosticEngine, ast, syntax

    sources = pyslang.SourceManager()
    comp = ast.Compilation()
    top = top or export.top
    for name, text in zip(names or export.source_names, texts):
        comp.addSyntaxTree(syntax.SyntaxTree.fromText(text, sources, name=name))
    tops = [inst.name for inst in comp.getRoot().topInstances]
    diags = comp.getAllDiagnostics()
    engine = DiagnosticEngine(sources)
    bad = [d for d in diags if d.isError() or engine.getOptionName(d.code) not in SLANG_WAIVED]
    report.slang = pyslang.__version__
    report.slang_waived = len(diags) - len(bad)
    if bad:
        lines = [ln for ln in DiagnosticEngine.reportAll(sources, bad).splitlines()
                 if ": error: " in ln or ": warning: " in ln]
        shown = "; ".join(lines[:5]) + (f"; ... ({len(lines)} in all)" if len(lines) > 5 else "")
        raise LintError(f"slang: {shown}")
    if top not in tops:
        raise LintError(f"slang: {top!r} is not a top module of the sources "
                        f"(tops: {', '.join(tops) or 'none'})")


def _run_verilator(export, report: LintReport, *, names=None, top=None) -> None:
    names, top = names or export.source_names, top or export.top
    exe = find_tool("verilator")
    env = verilator_env()
    version = subprocess.run([exe, "--version"], env=env, capture_output=True, text=True)
    report.verilator = version.stdout.strip()
    with tempfile.TemporaryDirectory(prefix="lgn-lint-") as work:
        # Verilator reads copies under generated names: no name from the folder goes into its
        # configuration or command line (issue 22); messages are mapped back to the real names.
        sources = [export.folder / name for name in names]  # checked names (the export's, the wrapper's)
        copies = [p.name for p in tool_copies(sources, work)]
        waivers = Path(work) / WAIVERS
        waivers.write_text("".join(
            render_template(WAIVERS, top=export.top, verilog=name) for name in copies))
        cmd = [exe, "--lint-only", "-Wall", "--top-module", top, WAIVERS, *copies]
        log.info("running %s", " ".join(cmd))
        proc = subprocess.run(cmd, cwd=Path(work), env=env, capture_output=True, text=True)
    stderr = proc.stderr
    for copy, name in zip(copies, names):
        stderr = stderr.replace(copy, name)
    report.waivers = Path(WAIVERS)
    if proc.returncode != 0 or "%Warning" in stderr or "%Error" in stderr:
        lines = [ln for ln in stderr.splitlines() if ln.startswith("%")]
        shown = "; ".join(lines[:5]) + (f"; ... ({len(lines)} lines)" if len(lines) > 5 else "")
        raise LintError(f"verilator --lint-only -Wall: {shown or stderr.strip()[:500]}")

