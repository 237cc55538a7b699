"""The .core file of a trained export through FuseSoC and Edalize: accepted (core show), linted
(Verilator), simulated (Icarus, Verilator), synthesized (Yosys, with the same counts as lgn-hw
synth run by the same Yosys), and the Vivado and Quartus projects Edalize writes checked as far
as can be without those tools."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lgn_hw.synth import synthesize
from lgn_hw.synth.report import parse_stat, split_cells
from lgn_hw.synth.targets import get_target
from lgn_hw.tools import verilator_env

pytest.importorskip("fusesoc", reason="FuseSoC is not installed: pip install fusesoc edalize (requirements.lock)")
pytestmark = [pytest.mark.slow, pytest.mark.integration]

VLNV = "lgn-hw:core:monk_core"


def fusesoc(export: Path, build: Path, *args, env=None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "fusesoc"
    cmd = [str(exe) if exe.exists() else "fusesoc", "--cores-root", str(export), *args]
    return subprocess.run(cmd, cwd=build, capture_output=True, text=True, timeout=600,
                          env=env or verilator_env())


def run_target(export, tmp_path, target, *extra, env=None):
    proc = fusesoc(export, tmp_path, "run", "--build-root", str(tmp_path / "build"), "--target", target,
                   *extra, VLNV, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    work = next((tmp_path / "build").glob(f"*/{target}-*"))
    return proc, work


def test_fusesoc_accepts_the_core_and_lists_its_targets(trained_export, tmp_path):
    proc = fusesoc(trained_export, tmp_path, "core", "show", VLNV)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((trained_export / "manifest.json").read_text())
    for target in manifest["ip"]["targets"]:
        assert f"\n{target} " in proc.stdout
    assert manifest["ip"]["vlnv"] in proc.stdout


@pytest.mark.verilator
@pytest.mark.parametrize("target", ["lint", "lint_axis"])
def test_lint_target_runs_verilator(trained_export, tmp_path, target):
    _, work = run_target(trained_export, tmp_path, target)
    vc = next(work.glob("*.vc")).read_text()
    assert "lint.vlt" in vc and ("monk_core_axis" in vc) == (target == "lint_axis")
    assert "VERILATOR_OPTIONS := -Wall" in (work / "config.mk").read_text()


@pytest.mark.verilator
def test_lint_target_fails_on_a_width_bug(trained_export, tmp_path):
    folder = shutil.copytree(trained_export, tmp_path / "hw", ignore=shutil.ignore_patterns("cocotb"))
    text = (folder / "monk_core.v").read_text()
    start = text.index("module monk_core(")
    end = text.index("endmodule", start)
    (folder / "monk_core.v").write_text(text[:end] + "  wire [3:0] lint_probe = in_valid;\n" + text[end:])
    proc = fusesoc(folder, tmp_path, "run", "--build-root", str(tmp_path / "build"), "--target", "lint", VLNV)
    assert proc.returncode != 0
    assert "WIDTHEXPAND" in proc.stdout + proc.stderr


@pytest.mark.parametrize("tool", [pytest.param("icarus", marks=pytest.mark.icarus),
                                  pytest.param("verilator", marks=pytest.mark.verilator)])
def test_sim_target_passes(trained_export, tmp_path, tool):
    proc, work = run_target(trained_export, tmp_path, "sim", "--tool", tool)
    assert work.name == f"sim-{tool}"
    assert "PASS: 80 samples" in proc.stdout


def _lut_sites(target, stat, core):
    tgt = get_target(target)
    cells, _ = split_cells(stat, core)
    return sum(n * (1 if tgt.classify(c) == "lut" else 0) + n * tgt.lut_sites(c) for c, n in cells.items())


@pytest.mark.yosys
@pytest.mark.skipif(shutil.which("yosys") is None,
                    reason="Edalize's Yosys backend runs 'yosys' with Tcl from PATH (Debian: apt-get install "
                           "yosys; the YoWASP build has no Tcl)")
def test_open_synthesis_through_edalize_counts_what_lgn_hw_synth_counts(trained_export, tmp_path, monkeypatch):
    _, work = run_target(trained_export, tmp_path, "synth_xilinx7")
    through_edalize = _lut_sites("xilinx-7", parse_stat((work / "stat.json").read_text()), "monk_core")
    monkeypatch.setenv("YOSYS", shutil.which("yosys"))   # the same Yosys for lgn-hw synth
    report = synthesize(trained_export, "xilinx-7", out_dir=tmp_path / "lgn-synth")
    assert report["tools"]["yosys"] == shutil.which("yosys")
    assert through_edalize == report["lut_sites"] > 0


def _tcl_calls(script: Path, cwd: Path) -> list[tuple]:
    """Every command ``script`` runs, with the tool's own commands recorded instead of run."""
    tkinter = pytest.importorskip("tkinter", reason="Python without Tcl (tkinter)")
    tcl = tkinter.Tcl()
    calls = []
    tcl.createcommand("record", lambda *args: calls.append(args))
    tcl.eval("rename unknown _unknown; proc unknown {args} { record {*}$args; return [lindex $args 0] }")
    old = os.getcwd()
    try:
        os.chdir(cwd)
        tcl.eval(f"source {{{script}}}")
    finally:
        os.chdir(old)
    return calls


def test_vivado_target_writes_an_out_of_context_project(trained_export, tmp_path):
    # Setting up writes Edalize's project files; building them needs Vivado, which is not here.
    _, work = run_target(trained_export, tmp_path, "synth_vivado", "--setup")
    (project,) = [p for p in work.glob("*.tcl") if not p.stem.endswith(("_synth", "_run", "_pgm", "_netlist"))]
    calls = _tcl_calls(project, work)
    assert ("set_property", "part", "xcvu9p-flgb2104-2-i", "current_project") in calls
    assert ("set_property", "top", "monk_core", "current_fileset") in calls
    reads = {c[0]: work / c[1] for c in calls if c[0] in ("read_verilog", "read_xdc")}
    assert reads["read_verilog"].name == "monk_core.v" and reads["read_verilog"].is_file()
    assert "create_clock -period 4.000 -name clk" in reads["read_xdc"].read_text()
    ooc = [c for c in calls if c[:3] == ("set_property", "-name", "STEPS.SYNTH_DESIGN.ARGS.MORE OPTIONS")]
    assert ooc and ooc[0][4:] == ("-mode out_of_context", "-objects", "get_runs")
    assert "synth" in (work / "Makefile").read_text()


def test_quartus_target_writes_a_project_with_the_device_and_clock(trained_export, tmp_path):
    _, work = run_target(trained_export, tmp_path, "synth_quartus", "--setup")
    (project,) = work.glob("*.tcl")
    calls = _tcl_calls(project, work)
    assigned = {c[2]: c[3] for c in calls if c[0] == "set_global_assignment"}
    assert assigned["FAMILY"] == "Cyclone V" and assigned["DEVICE"] == "5CSEMA5F31C6"
    assert assigned["TOP_LEVEL_ENTITY"] == "monk_core"
    assert (work / assigned["VERILOG_FILE"]).is_file()
    assert "create_clock -name clk -period 4.000" in (work / assigned["SDC_FILE"]).read_text()


@pytest.mark.skipif(shutil.which("vivado") is None,
                    reason="Vivado is not installed: its out-of-context run is not tested here (the script "
                           "runs in Tcl with Vivado's commands stubbed in test_ip_files.py)")
def test_vivado_out_of_context_flow_runs(trained_export, tmp_path):
    folder = shutil.copytree(trained_export, tmp_path / "hw")
    proc = subprocess.run(["vivado", "-mode", "batch", "-source", "vivado_ooc.tcl"], cwd=folder,
                          capture_output=True, text=True, timeout=3600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "fmax" in proc.stdout and (folder / "vivado_ooc" / "utilization.rpt").is_file()


@pytest.mark.skipif(shutil.which("quartus_sh") is None, reason="Quartus is not installed: its target is "
                    "checked above as far as Edalize's project files go")
def test_quartus_target_builds(trained_export, tmp_path):
    run_target(trained_export, tmp_path, "synth_quartus")
