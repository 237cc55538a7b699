"""Human-readable tables of synthesis reports, and the one reader of nextpnr's JSON report."""

from __future__ import annotations

import json
import re

__all__ = ["BLOCKS", "format_report", "format_table", "parse_pnr", "parse_stat", "split_cells"]

#: The blocks of a core whose cells a synthesis report counts apart. ``layers`` is the core
#: module itself: the gate layers (merged into it) with the input register and the handshake
#: logic (valid shift register, credit counter); the others are its kept submodules.
BLOCKS = ("encoder", "layers", "popcount", "argmax", "fifo")


# Yosys before 0.24 (Debian 12's 0.23) prints the design hierarchy's table ("  name   1") into
# `stat -json` between the modules and the design totals, which makes the file invalid JSON.
_STAT_TABLE_LINE = re.compile(r"^[ \t]+[^\s\"{}\[\],:]+[ \t]+\d+[ \t]*$", re.M)


def parse_stat(text: str) -> dict:
    """The JSON of Yosys ``stat -json`` (``tee -o``); from Yosys 0.23 too, whose hierarchy table
    lines inside the JSON are dropped (Edalize's Yosys backend needs a Yosys with Tcl, such as
    Debian's, which that is)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return json.loads(_STAT_TABLE_LINE.sub("", text))


def split_cells(stat: dict, core: str) -> tuple[dict, dict]:
    """Cells of ``core`` from Yosys ``stat -json``: ``(cells_by_type, {block: cells_by_type})``.

    The synthesis scripts keep the hierarchy of the core's blocks
    (``hdl_templates/synth_*.ys.tmpl``), so the core's own module lists them as
    instances; the totals add each block's cells instead. A kept submodule
    that is not a known block counts as ``layers``.
    """
    modules = {name.lstrip("\\"): entry for name, entry in stat.get("modules", {}).items()}
    if core not in modules:
        raise RuntimeError(f"yosys stat has no module {core!r} (modules: {sorted(modules)})")
    total, blocks = {}, {}
    for name, entry in modules.items():
        if name != core and not name.startswith(core + "."):
            continue
        # A block's own kept submodules (the popcount's per-class counters) count as the block.
        block = name[len(core) + 1:].split(".")[0] if name != core else "layers"
        block = block if block in BLOCKS else "layers"
        counts = blocks.setdefault(block, {})
        for cell, n in entry.get("num_cells_by_type", {}).items():
            cell = cell.lstrip("\\")
            if cell in modules:  # an instance of a kept block: its cells are counted there
                continue
            counts[cell] = counts.get(cell, 0) + int(n)
            total[cell] = total.get(cell, 0) + int(n)
    return total, {b: blocks[b] for b in BLOCKS if b in blocks}


def parse_pnr(report: dict, logic_resource: str | None = None) -> dict:
    """fmax, clock constraint and utilisation from a nextpnr ``--report`` JSON file's contents.

    ``logic_resource`` is the utilisation entry that counts logic cells
    (e.g. ``ICESTORM_LC``; None: no ``utilization``); ``pnr_utilization`` keeps
    every entry in use.
    """
    fmax = report.get("fmax", {})
    # One clock: take the slowest if nextpnr lists more than one.
    achieved = [v["achieved"] for v in fmax.values() if "achieved" in v]
    constraint = [v["constraint"] for v in fmax.values() if "constraint" in v]
    util = report.get("utilization", {})
    logic = util.get(logic_resource, {})
    used, avail = logic.get("used"), logic.get("available")
    return {
        "fmax_mhz": round(min(achieved), 2) if achieved else None,
        # What nextpnr says it was asked for: proof that the clock constraint arrived.
        "pnr_constraint_mhz": max(constraint) if constraint else None,
        "utilization": None if logic_resource is None else {
            "resource": logic_resource, "used": used, "available": avail,
            "fraction": round(used / avail, 4) if used is not None and avail else None,
        },
        "pnr_utilization": {k: v for k, v in util.items() if v.get("used")},
    }

_COLUMNS = (
    ("target", "target", "{}"),
    ("pipeline", "pipeline", "{}"),
    ("gates", "gates", "{}"),
    ("LUTs", "luts", "{}"),
    ("LUT/gate", "luts_per_gate", "{:.3f}"),
    ("FFs", "ffs", "{}"),
    ("carry", "carries", "{}"),
    ("util", "util", "{:.1%}"),
    ("fmax MHz", "fmax_mhz", "{:.1f}"),
    ("lat cyc", "latency_cycles", "{}"),
    ("lat ns", "latency_ns", "{:.1f}"),
    ("Msamples/s", "msps", "{:.1f}"),
)


def _pipeline_text(p) -> str:
    if not isinstance(p, dict):
        return "-"
    return (f"g{p.get('gate_every', '?')}/p{p.get('popcount_every', '?')}"
            f"/a{int(bool(p.get('argmax_registered')))}"
            + (f"/l{p['lut_size']}" if p.get("lut_size") else "")
            + ("/stall" if p.get("stream") == "stall" else ""))


def _row(report: dict) -> list[str]:
    values = dict(report)
    values["pipeline"] = _pipeline_text(report.get("pipeline"))
    values["util"] = (report.get("utilization") or {}).get("fraction")
    tp = report.get("throughput_sps")
    values["msps"] = tp / 1e6 if tp else None
    out = []
    for _, key, fmt in _COLUMNS:
        v = values.get(key)
        out.append("-" if v is None else fmt.format(v))
    return out


def format_table(reports) -> str:
    """One row per report: LUTs, FFs, carries, utilisation, fmax, latency, throughput."""
    rows = [[h for h, _, _ in _COLUMNS]] + [_row(r) for r in reports]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_report(report: dict) -> str:
    """The table for one report, then where the figures come from."""
    util = report.get("utilization") or {}
    lines = [format_table([report]), ""]
    lines.append(f"device      {report['device']} ({report['family']})")
    sites = report.get("lut_sites")
    if sites is not None and sites != report.get("luts"):
        lines.append(f"LUT sites   {sites}: {report['luts']} logic LUTs + {sites - report['luts']} LUTs used as "
                     "memory (shift registers, LUT-RAM), as the vendor's LUT count has them")
    if util.get("used") is not None:
        lines.append(f"utilisation {util['used']} / {util['available']} {util['resource']}")
    if report.get("fmax_mhz") is not None:
        met = "met" if report.get("timing_met") else "NOT met"
        lines.append(f"clock       constraint {report['freq_target_mhz']:g} MHz, fmax "
                     f"{report['fmax_mhz']:.1f} MHz ({met}); one sample per clock")
    blocks = report.get("blocks") or {}
    if blocks:
        lines.append("blocks      " + ", ".join(
            f"{name} {b['luts']} LUT"
            + (f" (+{b['lut_sites'] - b['luts']} as memory)" if b.get("lut_sites", b["luts"]) != b["luts"] else "")
            + f" / {b['ffs']} FF" + (f" / {b['carries']} carry" if b.get("carries") else "")
            for name, b in blocks.items()))
    lines.append(f"placement   {report['placement']}: {report['placement_note']}")
    lines.append(f"files       {report['out_dir']}")
    return "\n".join(lines)
