"""What an FPGA engineer needs to drop an exported core into a design (DESIGN.md section 5.1).

:func:`write_ip` adds to an export folder (the names are all ours: the top module's
name, which :func:`~lgn_hw.hdl.export.check_top_name` has checked, and fixed names)::

    <top>.core                 FuseSoC CAPI2 core: filesets and Edalize targets
                               (lint, sim on Icarus or Verilator, synth_<family>, synth_vivado,
                               synth_quartus; lint_axis with the wrapper)
    <top>_axis.v               (axis) the AXI4-Stream wrapper (lgn_hw.hdl.axis)
    ip/                        what the targets read: lint waivers, the clock constraints
                               (<top>.xdc, <top>.sdc), the Yosys scripts of `lgn-hw synth`, the
                               Vivado out-of-context hook
    vivado_ooc.tcl             (vivado) the Vivado out-of-context flow: synth, opt, place, route, reports
    cocotb/                    (with the testbench) a cocotb bench that runs without lgn-hw:
                               test_lgn_core.py, run.py, Makefile, bench.json, vectors.json

and returns the manifest's ``ip`` entry (and ``axis`` entry). The .core file is
YAML written from a dict; the scripts come from ``hdl_templates/``. Edalize writes
the project files of each tool when the user runs a target; two things it cannot
say are hand-written templates: the Vivado out-of-context flow
(``vivado_ooc.tcl.tmpl``, and ``vivado_project_ooc.tcl`` for Edalize's project flow)
and the clock constraints.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from .. import __version__
from ..netlist.golden import evaluate
from ..netlist.model import atomic_write_text
from ..resources import resource_dir
from .axis import AxisLayout, axis_top, wrapper_verilog
from .ports import AXIS_CLOCK, AXIS_RESETN, CLOCK, RESET, axis_ports

__all__ = ["write_ip", "ip_files", "core_vlnv", "check_ip_options", "tb_top", "DEFAULT_VIVADO_PART", "DEFAULT_QUARTUS", "DEFAULT_CLOCK_MHZ",
           "IP_DIR", "COCOTB_DIR", "VIVADO_SCRIPT", "VECTORS_FORMAT", "OPEN_SYNTH_TARGETS"]

#: the part published accuracy-per-LUT rows are measured on
DEFAULT_VIVADO_PART = "xcvu9p-flgb2104-2-i"
#: (family, device) of the .core's Quartus target
DEFAULT_QUARTUS = ("Cyclone V", "5CSEMA5F31C6")
DEFAULT_CLOCK_MHZ = 200.0
IP_DIR = "ip"
COCOTB_DIR = "cocotb"
VIVADO_SCRIPT = "vivado_ooc.tcl"
VECTORS_FORMAT = "lgn-hw-vectors"
#: .core target -> (family, the lgn-hw synth target whose Yosys script, hdl_templates/synth_<family>.ys.tmpl,
#: it runs); lgn_hw.synth.targets names the same families (tests/hdl/test_ip.py checks)
OPEN_SYNTH_TARGETS = {"synth_ice40": ("ice40", "ice40-hx8k"), "synth_ecp5": ("ecp5", "ecp5-25k"),
                      "synth_xilinx7": ("xilinx", "xilinx-7"), "synth_gowin": ("gowin", "gowin")}
_BENCH_FILES = ("test_lgn_core.py", "run.py")


def core_vlnv(top: str) -> str:
    """The FuseSoC name (vendor:library:name:version) of an export with top module ``top``."""
    return f"lgn-hw:core:{top}:{__version__}"


def _check_clock(clock_mhz) -> float:
    if isinstance(clock_mhz, bool) or not isinstance(clock_mhz, (int, float)) or not 0 < clock_mhz < 2000:
        raise ValueError(f"'clock_mhz' must be a number of MHz in (0, 2000), not {clock_mhz!r}")
    return float(clock_mhz)


def _check_part(part) -> str:
    if not isinstance(part, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{2,63}", part):
        raise ValueError(f"a Vivado part must be a part name such as {DEFAULT_VIVADO_PART!r}, not {part!r}")
    return part.lower()


def check_ip_options(vivado_part, clock_mhz) -> tuple:
    """``(part or None, clock)`` checked; a ValueError names a bad one (before anything is written)."""
    return (None if vivado_part is None else _check_part(vivado_part)), _check_clock(clock_mhz)


def _yaml(data) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=100)


def write_ip(out: Path, *, netlist, core, top: str, vfile: str, testbench_words=None, tb=None,
             axis: bool = False, vivado_part=None, clock_mhz: float = DEFAULT_CLOCK_MHZ,
             seed: int = 0) -> tuple[dict, dict | None]:
    """Write the FuseSoC core, constraints, scripts (and wrapper, bench) into export folder ``out``.

    ``core`` is the :class:`~lgn_hw.hdl.LgnCore` the Verilog ``vfile`` was made from;
    ``testbench_words`` (the testbench's in_data rows) and ``tb`` (the manifest's
    ``testbench`` entry) add the simulation targets and the standalone cocotb bench.
    Returns the manifest's ``ip`` and ``axis`` entries.
    """
    from .export import render_template

    vivado, clock = check_ip_options(vivado_part, clock_mhz)
    period = f"{1000.0 / clock:.3f}"
    ipdir = out / IP_DIR
    ipdir.mkdir()
    files = [f"{top}.core", IP_DIR]

    layout = axis_entry = None
    if axis:
        layout = AxisLayout.of(netlist, core.inputs.width)
        depth = max(core.fifo_depth, core.latency) + 1
        afile = f"{axis_top(top)}.v"
        header = (f"// Generated by lgn-hw {__version__} (lgn-hw export --axis): AXI4-Stream wrapper "
                  f"{axis_top(top)} of core {top}, byte layout version {layout.to_dict()['layout_version']} "
                  "(DESIGN.md section 4.1). Do not edit.\n")
        atomic_write_text(out / afile, header + wrapper_verilog(top, layout, depth))
        files.append(afile)
        axis_entry = {"file": afile, "top": axis_top(top), "tlast_depth": depth, **layout.to_dict(),
                      "ports": [p.to_dict() for p in axis_ports(layout)]}

    # Constraints, waivers and the Yosys scripts `lgn-hw synth` runs, for the targets to read.
    values = {"top": top, "clock": CLOCK, "clock_mhz": f"{clock:g}", "period_ns": period}
    atomic_write_text(ipdir / f"{top}.xdc", render_template("clock.xdc.tmpl", **values))
    atomic_write_text(ipdir / f"{top}.sdc", render_template("clock.sdc.tmpl", **values))
    atomic_write_text(ipdir / "lint.vlt", render_template("verilator_lint.vlt", verilog=f"{top}*.v", top=top))
    shutil.copyfile(resource_dir("hdl_templates") / "vivado_project_ooc.tcl", ipdir / "vivado_project_ooc.tcl")
    synth_filesets = {}
    for name, (family, target) in OPEN_SYNTH_TARGETS.items():
        script = f"synth_{family}.ys"
        atomic_write_text(ipdir / script, render_template(
            f"{script}.tmpl", sources=f'"{vfile}"', top=top, core=top, stat_json="stat.json",
            netlist_json="netlist.json"))
        tcl = f"yosys_{family}.tcl"
        atomic_write_text(ipdir / tcl, render_template("edalize_yosys.tcl.tmpl", target=target, script=script))
        synth_filesets[name] = (family, target, script, tcl)

    if vivado is not None:
        atomic_write_text(out / VIVADO_SCRIPT, render_template(
            "vivado_ooc.tcl.tmpl", top=top, part=vivado, verilog=vfile, period_ns=period))
        files.append(VIVADO_SCRIPT)

    cocotb_entry = None
    if testbench_words is not None:
        cocotb_entry = _write_bench(out / COCOTB_DIR, netlist=netlist, core=core, top=top, vfile=vfile,
                                    words=testbench_words, layout=layout, axis=axis_entry, seed=seed)
        files.append(COCOTB_DIR)

    text = _core_file(netlist=netlist, core=core, top=top, vfile=vfile, tb=tb, axis=axis_entry,
                      vivado=vivado or DEFAULT_VIVADO_PART, synth=synth_filesets, clock=clock)
    atomic_write_text(out / f"{top}.core", text)
    entry = {
        "core": f"{top}.core",
        "vlnv": core_vlnv(top),
        "files": files,
        "targets": _targets(tb is not None, axis_entry is not None),
        "clock_mhz": clock,
        "constraints": {"xdc": f"{IP_DIR}/{top}.xdc", "sdc": f"{IP_DIR}/{top}.sdc"},
        "vivado": {"part": vivado or DEFAULT_VIVADO_PART, "script": VIVADO_SCRIPT if vivado else None,
                   "run": f"vivado -mode batch -source {VIVADO_SCRIPT}" if vivado else None},
        "quartus": {"family": DEFAULT_QUARTUS[0], "device": DEFAULT_QUARTUS[1]},
        "cocotb": cocotb_entry,
    }
    return entry, axis_entry


def ip_files(manifest) -> list[str]:
    """The top-level entries (files and folders) the ``ip`` entry of a manifest lists as the export's own."""
    entry = manifest.get("ip") if isinstance(manifest, dict) else None
    names = entry.get("files") if isinstance(entry, dict) else None
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _targets(sim: bool, axis: bool) -> list[str]:
    names = ["lint"] + (["lint_axis"] if axis else []) + (["sim"] if sim else [])
    return names + list(OPEN_SYNTH_TARGETS) + ["synth_vivado", "synth_quartus"]


def _core_file(*, netlist, core, top, vfile, tb, axis, vivado, synth, clock) -> str:
    """The CAPI2 .core text: a comment with the interface, then the YAML of filesets and targets."""
    filesets = {
        "rtl": {"files": [vfile], "file_type": "verilogSource"},
        "lint_waivers": {"files": [f"{IP_DIR}/lint.vlt"], "file_type": "vlt"},
        "vivado": {"files": [{f"{IP_DIR}/{top}.xdc": {"file_type": "xdc"}},
                             {f"{IP_DIR}/vivado_project_ooc.tcl": {"file_type": "tclSource"}}]},
        "quartus": {"files": [{f"{IP_DIR}/{top}.sdc": {"file_type": "SDC"}}]},
    }
    if axis:
        filesets["axis"] = {"files": [axis["file"]], "file_type": "verilogSource"}
    if tb:
        filesets["tb"] = {"files": [{tb["file"]: {"file_type": "verilogSource"}},
                                    {tb["inputs"]: {"file_type": "user", "copyto": tb["inputs"]}},
                                    {tb["expected"]: {"file_type": "user", "copyto": tb["expected"]}}]}
    for name, (family, target, script, tcl) in synth.items():
        # Edalize's Yosys backend runs a Tcl file in its work folder: ours runs lgn-hw synth's script there.
        filesets[name] = {"files": [{vfile: {"file_type": "user", "copyto": vfile}},
                                    {f"{IP_DIR}/{script}": {"file_type": "user", "copyto": script}},
                                    {f"{IP_DIR}/{tcl}": {"file_type": "user", "copyto": tcl}}]}

    targets = {
        "default": {"filesets": ["rtl"], "toplevel": top},
        "lint": {"description": "Verilator --lint-only -Wall with lgn-hw's waivers (as lgn-hw lint)",
                 "default_tool": "verilator", "filesets": ["rtl", "lint_waivers"], "toplevel": top,
                 "tools": {"verilator": {"mode": "lint-only", "verilator_options": ["-Wall"]}}},
    }
    if axis:
        targets["lint_axis"] = {"description": "Verilator lint of the AXI4-Stream wrapper and the core",
                                "default_tool": "verilator", "filesets": ["rtl", "axis", "lint_waivers"],
                                "toplevel": axis["top"],
                                "tools": {"verilator": {"mode": "lint-only", "verilator_options": ["-Wall"]}}}
    if tb:
        # One target, two tools: fusesoc run --target sim (Icarus) or --target sim --tool verilator.
        targets["sim"] = {"description": "the self-checking testbench over the golden vectors (PASS or $fatal)",
                          "default_tool": "icarus", "filesets": ["rtl", "tb"], "toplevel": tb_top(top),
                          "tools": {"icarus": {"iverilog_options": ["-g2012"]},
                                    "verilator": {"mode": "binary",
                                                  "verilator_options": ["--timing", "-Wno-fatal"]}}}
    for name, (family, target, script, tcl) in synth.items():
        targets[name] = {"description": f"Yosys synthesis, the script of lgn-hw synth --target {target} "
                                        "(cell counts in stat.json)",
                         "default_tool": "yosys", "filesets": [name], "toplevel": top,
                         "tools": {"yosys": {"arch": family, "yosys_template": tcl,
                                             "output_format": "json", "output_name": "netlist.json"}}}
    targets["synth_vivado"] = {"description": f"Vivado out-of-context synthesis for {vivado} at {clock:g} MHz",
                               "default_tool": "vivado", "filesets": ["rtl", "vivado"], "toplevel": top,
                               "tools": {"vivado": {"part": vivado, "pnr": "none"}}}
    targets["synth_quartus"] = {"description": f"Quartus synthesis for {DEFAULT_QUARTUS[1]} at {clock:g} MHz",
                                "default_tool": "quartus", "filesets": ["rtl", "quartus"], "toplevel": top,
                                "tools": {"quartus": {"family": DEFAULT_QUARTUS[0],
                                                      "device": DEFAULT_QUARTUS[1]}}}
    data = {
        "name": core_vlnv(top),
        "description": (f"lgn-hw logic-gate network core {top}: {netlist.num_gates} gates, "
                        f"{netlist.num_classes} classes, latency {core.latency} cycles"),
        "filesets": filesets,
        "targets": targets,
    }
    head = [
        "CAPI=2:",
        f"# FuseSoC core of the lgn-hw export {top} (lgn-hw {__version__}); see manifest.json and",
        "# docs/using-the-core.md. The core has no Verilog parameters: its widths are fixed by the netlist.",
        f"# Netlist sha256 {netlist.sha256()}.",
        "#",
        "# Ports of module " + top + " (AXI4-Stream handshakes, one sample per clock):",
    ]
    from .ports import core_ports

    for p in core_ports(netlist, in_width=core.inputs.width):
        head.append(f"#   {p.direction:<3} {p.name:<11} {p.width:>6}  {p.meaning}")
    if axis:
        head.append(f"# Module {axis['top']} (--axis) wraps it with s_axis_*/m_axis_* ports (manifest 'axis').")
    head += ["#", "#   fusesoc --cores-root . run --target lint " + core_vlnv(top), ""]
    return "\n".join(head) + _yaml(data)


def tb_top(top: str) -> str:
    return f"tb_{top}"


def _write_bench(folder: Path, *, netlist, core, top, vfile, words, layout, axis, seed) -> dict:
    """The standalone cocotb bench: tests, runner, Makefile, bench.json and the golden vectors."""
    from .export import render_template

    folder.mkdir()
    for name in _BENCH_FILES:
        shutil.copyfile(resource_dir("hdl_templates") / "cocotb" / name, folder / name)
    result = evaluate(netlist, core.inputs.netlist_bits(words))
    digits = max(1, (core.inputs.width + 3) // 4)
    inputs = [f"{int(''.join('1' if b else '0' for b in row[::-1].tolist()) or '0', 2):0{digits}x}"
              for row in words]
    vectors = {"format": VECTORS_FORMAT, "version": 1, "generator": f"lgn-hw {__version__}", "top": top,
               "in_width": core.inputs.width, "num_classes": netlist.num_classes,
               "score_width": netlist.score_width, "class_width": netlist.class_width,
               "latency": core.latency, "packet": 8, "inputs": inputs,
               "classes": [int(c) for c in result.classes],
               "scores": [[int(s) for s in row] for row in result.scores]}
    atomic_write_text(folder / "vectors.json", json.dumps(vectors) + "\n")

    w, cw = netlist.score_width, netlist.class_width
    interfaces = {"core": {
        "toplevel": top, "sources": [f"../{vfile}"], "reset_active": 1,
        "ports": {"clock": CLOCK, "reset": RESET, "in_valid": "in_valid", "in_ready": "in_ready",
                  "in_data": "in_data", "out_valid": "out_valid", "out_ready": "out_ready",
                  "result": ["out_class", "out_scores"]},
        "result_fields": [[0, cw]] + [[cw + c * w, w] for c in range(netlist.num_classes)]}}
    if axis:
        interfaces["axis"] = {
            "toplevel": axis["top"], "sources": [f"../{vfile}", f"../{axis['file']}"], "reset_active": 0,
            "ports": {"clock": AXIS_CLOCK, "reset": AXIS_RESETN, "in_valid": "s_axis_tvalid",
                      "in_ready": "s_axis_tready", "in_data": "s_axis_tdata", "in_last": "s_axis_tlast",
                      "out_valid": "m_axis_tvalid", "out_ready": "m_axis_tready", "out_last": "m_axis_tlast",
                      "result": ["m_axis_tdata"]},
            "result_fields": [[0, cw]] + [[8 * layout.score_byte(c), w] for c in range(netlist.num_classes)]}
    bench = {"format": "lgn-hw-cocotb-bench", "version": 1, "top": top, "seed": seed,
             "vectors": "vectors.json", "interfaces": interfaces}
    atomic_write_text(folder / "bench.json", json.dumps(bench, indent=1) + "\n")
    atomic_write_text(folder / "Makefile", render_template(
        "cocotb/Makefile.tmpl", top=top, core_sources=f"../{vfile}",
        axis_top=axis["top"] if axis else axis_top(top),
        axis_sources=f"../{vfile} ../{axis['file']}" if axis else f"../{vfile}"))
    return {"folder": COCOTB_DIR, "vectors": f"{COCOTB_DIR}/vectors.json", "samples": len(inputs),
            "interfaces": sorted(interfaces),
            "run": f"python {COCOTB_DIR}/run.py --sim icarus"}
