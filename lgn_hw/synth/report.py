"""Human-readable tables of synthesis reports, and the one reader of nextpnr's JSON report."""

from __future__ import annotations

__all__ = ["format_report", "format_table", "parse_pnr"]


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
            f"/a{int(bool(p.get('argmax_registered')))}")


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
    if util.get("used") is not None:
        lines.append(f"utilisation {util['used']} / {util['available']} {util['resource']}")
    if report.get("fmax_mhz") is not None:
        met = "met" if report.get("timing_met") else "NOT met"
        lines.append(f"clock       constraint {report['freq_target_mhz']:g} MHz, fmax "
                     f"{report['fmax_mhz']:.1f} MHz ({met}); one sample per clock")
    lines.append(f"placement   {report['placement']}: {report['placement_note']}")
    lines.append(f"files       {report['out_dir']}")
    return "\n".join(lines)
