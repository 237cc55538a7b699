"""``synthesize()``: Yosys (and nextpnr where an open flow exists) on an exported core.

The report counts the core's cells out of context (the core keeps its hierarchy
in Yosys, so a wrapper's cells are not mixed in) and takes fmax and device
utilisation from nextpnr's JSON report. For place and route the core is wrapped
(``hdl_templates/ooc_wrapper.v.tmpl``: in_data from a shift register on one
pin, outputs folded to a few registered pins) unless ``ooc=False``, which
places the bare core with one pin per port bit (only tiny cores fit).
"""

from __future__ import annotations

import json
import re
import logging
import math
import os
import time
from pathlib import Path

from ..hdl import as_export, render_template
from ..hdl.digest import sources_sha256
from ..hdl.names import tool_copies
from ..netlist.model import atomic_write_text
from ..tools import clear_outputs, find_tool, run_tool
from .report import parse_pnr, parse_stat, split_cells
from .targets import Target, get_target

__all__ = ["synthesize", "REPORT", "REPORT_FORMAT", "REPORT_VERSION", "PLACEMENT_NOTES"]

log = logging.getLogger(__name__)

REPORT = "report.json"
REPORT_FORMAT = "lgn-hw-synth-report"
REPORT_VERSION = 1

PLACEMENT_NOTES = {
    "wrapper": "placed inside hdl_templates/ooc_wrapper.v.tmpl (in_data from a shift register on "
               "one pin, outputs folded to registered pins); utilisation includes the wrapper, "
               "cell counts are the core's alone",
    "bare": "the bare core placed with one pin per port bit",
    "none": "synthesis only (no open place and route for this family, or pnr=False), so no "
            "fmax; utilisation is the core's LUTs against the device's",
}


def _check_freq(freq_mhz):
    if freq_mhz is None:
        return None
    if isinstance(freq_mhz, bool) or not isinstance(freq_mhz, (int, float)):
        raise TypeError(f"'freq_mhz' must be a number, not {freq_mhz!r}")
    if not math.isfinite(freq_mhz) or not 0 < freq_mhz <= 2000:
        raise ValueError(f"'freq_mhz' must be in (0, 2000] MHz, not {freq_mhz!r}")
    return float(freq_mhz)


def _rel(path: Path, start: Path) -> str:
    # Relative: YoWASP tools see the file system through WASI preopens, and
    # absolute paths outside them (e.g. /tmp on some hosts) are invisible.
    return os.path.relpath(path, start)


def _count_cells(target: Target, cells_by_type: dict, core: str) -> dict:
    counts = {"luts": 0, "ffs": 0, "carries": 0, "muxes": 0, "rams": 0, "io": 0, "const": 0}
    plural = {"lut": "luts", "ff": "ffs", "carry": "carries", "mux": "muxes", "ram": "rams",
              "io": "io", "const": "const"}
    counts["lut_sites"] = 0  # LUTs plus LUTs used as memory (Xilinx SRL/LUT-RAM), as vendors count them
    for cell, n in cells_by_type.items():
        cell, n = cell.lstrip("\\"), int(n)
        kind = target.classify(cell)
        if kind is not None:
            counts[plural[kind]] += n
        counts["lut_sites"] += (n if kind == "lut" else 0) + target.lut_sites(cell) * n
    # Yosys-internal bookkeeping cells ($scopeinfo after flatten) are not hardware.
    counts["cells_by_type"] = {k.lstrip("\\"): int(v) for k, v in sorted(cells_by_type.items())
                               if k.lstrip("\\") != core and not k.startswith("$")}
    return counts


def _core_cells(target: Target, stat: dict, core: str) -> dict:
    total, blocks = split_cells(stat, core)
    counts = _count_cells(target, total, core)
    counts["blocks"] = {b: {k: v for k, v in _count_cells(target, cells, core).items() if k != "cells_by_type"}
                        for b, cells in blocks.items()}
    return counts


#: Bits the out-of-context wrapper's input shift register moves per clock (hdl_templates/ooc_wrapper.v.tmpl).
OOC_LANE = 64


def logic_depth(path: Path) -> int | None:
    """The longest path in cells between registers from Yosys ``ltp -noff`` output (None if absent).

    Yosys prints ``Longest topological path in <module> (length=N)``; with a wrapper around the
    core the longest of the modules is the one that counts.
    """
    try:
        text = path.read_text(errors="replace")[:1 << 20]
    except OSError:
        return None
    found = [int(n) for n in re.findall(r"Longest topological path in .* \(length=(\d+)\)", text)]
    return max(found) if found else None


def synthesize(export_dir, target, *, freq_mhz=None, out_dir=None, ooc=True, seed=0,
               pnr=True) -> dict:
    """Synthesize the core exported in ``export_dir`` for ``target``; return the report dict.

    ``export_dir`` is an :class:`~lgn_hw.hdl.ExportDir` or its folder. The
    report's gate count, widths and latency come from the export's netlist
    copy and pipeline (checked against the sources when the export is
    loaded), its cell counts from Yosys. ``target`` is a name from :data:`lgn_hw.synth.TARGETS`. ``freq_mhz`` is the
    clock constraint given to nextpnr (default: the target's). Files (scripts,
    logs, ``report.json``) go to ``out_dir``, by default ``synth-<target>`` inside
    the export (refused when it is a link).
    Raises :class:`~lgn_hw.synth.ToolNotFound` when a tool is missing and
    :class:`~lgn_hw.synth.ToolFailed` when one fails (for example a core too
    large for the device). ``pnr=False`` stops after Yosys even where nextpnr
    exists (nextpnr-gowin takes minutes to load its chip database).
    """
    tgt = get_target(target)
    freq = _check_freq(freq_mhz)
    for name, flag in (("ooc", ooc), ("pnr", pnr)):
        if not isinstance(flag, bool):
            raise TypeError(f"'{name}' must be a bool, not {flag!r}")
    do_pnr = tgt.has_pnr and pnr
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"'seed' must be a non-negative integer, not {seed!r}")
    export = as_export(export_dir)
    core = export.top
    out = Path(out_dir) if out_dir is not None else export.work_dir(f"synth-{tgt.name}")
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder {str(out)!r} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    # Files the tools write by name: removed first, so no output goes through a planted link.
    clear_outputs(out, ["stat.json", "netlist.json", "pnr.json", "ltp.txt"])
    freq = freq if freq is not None else tgt.default_freq_mhz

    # Resolve every tool first, so a missing one fails before minutes of synthesis.
    tools = {"yosys": find_tool("yosys")}
    if do_pnr:
        tools[tgt.pnr_tool] = find_tool(tgt.pnr_tool)

    placement = "none" if not do_pnr else ("wrapper" if ooc else "bare")
    # The tools read copies under generated names: no name from the folder goes into a script.
    sources = tool_copies(export.sources, out)
    sources_digest = sources_sha256(sources)   # the exact bytes Yosys reads (the report names them)
    top = core
    if placement == "wrapper":
        top = f"{core}_ooc"
        wrapper = out / f"{top}.v"
        width = {p.name: p.width for p in export.ports}
        atomic_write_text(wrapper, render_template(
            "ooc_wrapper.v.tmpl", wrapper=top, core=core, num_inputs=width["in_data"],
            step=min(OOC_LANE, width["in_data"]),
            class_width=width["out_class"], scores_width=width["out_scores"]))
        sources.append(wrapper)
    script = out / f"synth_{tgt.family}.ys"
    atomic_write_text(script, render_template(
        tgt.yosys_script, sources=" ".join(f'"{_rel(s, out)}"' for s in sources), top=top, core=core,
        stat_json="stat.json", netlist_json="netlist.json"))

    t0 = time.perf_counter()
    run_tool("yosys", ["-q", "-s", script.name], cwd=out, log_name="yosys.log")
    t_synth = time.perf_counter() - t0
    cells = _core_cells(tgt, parse_stat((out / "stat.json").read_text()), core)
    depth = logic_depth(out / "ltp.txt")

    pnr = {"fmax_mhz": None, "pnr_constraint_mhz": None, "utilization": {
        "resource": "LUT", "used": cells["lut_sites"], "available": tgt.capacity_luts,
        "fraction": round(cells["lut_sites"] / tgt.capacity_luts, 4)}, "pnr_utilization": None}
    t_pnr = None
    if do_pnr:
        args = [*tgt.pnr_args, "--json", "netlist.json", *tgt.unconstrained_io,
                "--freq", f"{freq:g}", "--timing-allow-fail", "--report", "pnr.json",
                "--seed", str(seed)]
        t0 = time.perf_counter()
        run_tool(tgt.pnr_tool, args, cwd=out, log_name="nextpnr.log")
        t_pnr = time.perf_counter() - t0
        pnr = parse_pnr(json.loads((out / "pnr.json").read_text()), tgt.logic_resource)

    fmax = pnr["fmax_mhz"]
    latency = export.latency
    gates = export.gates
    report = {
        "format": REPORT_FORMAT,
        "version": REPORT_VERSION,
        "target": tgt.name,
        "family": tgt.family,
        "device": tgt.device,
        "top": core,
        "gates": gates,
        "num_inputs": export.num_inputs,
        "num_classes": export.num_classes,
        "pipeline": export.pipeline.to_dict(),
        "netlist_sha256": export.netlist.sha256(),
        "sources_sha256": sources_digest,
        "placement": placement,
        "placement_note": PLACEMENT_NOTES[placement],
        "luts": cells["luts"],
        "lut_sites": cells["lut_sites"],
        "ffs": cells["ffs"],
        "carries": cells["carries"],
        "muxes": cells["muxes"],
        "rams": cells["rams"],
        "luts_per_gate": round(cells["luts"] / gates, 4) if gates else None,
        "cells_by_type": cells["cells_by_type"],
        "blocks": cells["blocks"],
        "logic_depth": depth,
        "utilization": pnr["utilization"],
        "pnr_utilization": pnr["pnr_utilization"],
        "freq_target_mhz": freq if do_pnr else None,
        "pnr_constraint_mhz": pnr["pnr_constraint_mhz"],
        "fmax_mhz": fmax,
        "timing_met": (fmax >= freq) if fmax is not None else None,
        "latency_cycles": latency,
        "latency_ns": round(latency * 1000.0 / fmax, 2) if fmax else None,
        "throughput_sps": round(fmax * 1e6) if fmax else None,
        "seed": seed,
        "tools": tools,
        "seconds": {"synth": round(t_synth, 2), "pnr": round(t_pnr, 2) if t_pnr is not None else None},
        "out_dir": str(out),
    }
    atomic_write_text(out / REPORT, json.dumps(report, indent=1) + "\n")
    log.info("%s: %d LUTs, %d FFs, fmax %s MHz", tgt.name, cells["luts"], cells["ffs"], fmax)
    return report
