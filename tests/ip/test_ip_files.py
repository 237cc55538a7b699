"""What every export carries for FPGA engineers (lgn_hw.hdl.ip), checked without the tools:
the FuseSoC core's filesets and targets, the Vivado out-of-context script (run in Tcl with
Vivado's commands stubbed), the constraints, the AXI4-Stream layout and the option checks."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import yaml

from lgn_hw.hdl import export, load_export
from lgn_hw.hdl.axis import AXIS_LAYOUT_VERSION, AxisLayout
from lgn_hw.hdl.ip import DEFAULT_VIVADO_PART, OPEN_SYNTH_TARGETS, core_vlnv
from lgn_hw.netlist import random_netlist
from lgn_hw.synth.targets import get_target


def read_core(path) -> dict:
    text = path.read_text()
    assert text.startswith("CAPI=2:\n")
    return yaml.safe_load(text)


def test_every_export_carries_a_core_file_with_lint_and_synthesis_targets(tmp_path):
    net = random_netlist(12, [20, 9], 3, seed=1)
    manifest = export(net, tmp_path, top="my_core", quiet=True)
    core = read_core(tmp_path / "my_core.core")
    assert core["name"] == core_vlnv("my_core") == manifest["ip"]["vlnv"]
    assert re.fullmatch(r"lgn-hw:core:my_core:\d+\.\d+\.\d+", core["name"])
    assert set(core["targets"]) == {"default", *manifest["ip"]["targets"]}
    assert "sim" not in core["targets"]          # no testbench, no vectors to simulate
    assert core["filesets"]["rtl"]["files"] == ["my_core.v"]
    for target in core["targets"].values():
        assert target["toplevel"] == "my_core"
        for fileset in target["filesets"]:
            for entry in core["filesets"][fileset]["files"]:
                name = entry if isinstance(entry, str) else next(iter(entry))
                assert (tmp_path / name).is_file(), name
    assert manifest["axis"] is None and manifest["ip"]["vivado"]["script"] is None
    load_export(tmp_path)   # the new entries do not disturb the reader


def test_open_synthesis_targets_run_lgn_hw_synths_own_scripts(tmp_path):
    net = random_netlist(12, [20, 9], 3, seed=1)
    export(net, tmp_path, top="my_core", quiet=True)
    core = read_core(tmp_path / "my_core.core")
    for name, (family, target) in OPEN_SYNTH_TARGETS.items():
        assert get_target(target).family == family
        yosys = core["targets"][name]["tools"]["yosys"]
        tcl = (tmp_path / "ip" / yosys["yosys_template"]).read_text()
        script = re.search(r"^yosys script (\S+)$", tcl, re.M).group(1)
        text = (tmp_path / "ip" / script).read_text()
        assert get_target(target).yosys_script == f"{script}.tmpl"
        assert 'read_verilog -sv "my_core.v"' in text and "-top my_core" in text


def test_the_vivado_flow_runs_in_tcl_with_vivados_commands_stubbed(tmp_path):
    tkinter = pytest.importorskip("tkinter", reason="Python without Tcl (tkinter)")
    net = random_netlist(12, [20, 9], 3, seed=1)
    manifest = export(net, tmp_path, top="my_core", vivado_part="XCVU9P-flgb2104-2-i", clock_mhz=250, quiet=True)
    assert manifest["ip"]["vivado"] == {"part": "xcvu9p-flgb2104-2-i", "script": "vivado_ooc.tcl",
                                        "run": "vivado -mode batch -source vivado_ooc.tcl"}
    tcl = tkinter.Tcl()
    calls = []
    tcl.createcommand("record", lambda *args: calls.append(args))
    for cmd in ("read_verilog", "read_xdc", "synth_design", "opt_design", "place_design", "route_design",
                "report_utilization", "report_timing_summary", "write_checkpoint", "get_timing_paths"):
        tcl.eval(f"proc {cmd} {{args}} {{ record {cmd} {{*}}$args }}")
    tcl.eval("proc get_property {name obj} { return 0.250 }")
    tcl.eval("rename puts _puts; proc puts {args} { record puts {*}$args }")
    tcl.eval(f"source {{{tmp_path / 'vivado_ooc.tcl'}}}")
    names = [c[0] for c in calls]
    assert names[:3] == ["read_verilog", "read_xdc", "synth_design"]
    assert names.index("route_design") < names.index("report_timing_summary")
    read = dict((c[0], c[-1]) for c in calls if c[0].startswith("read_"))
    assert read["read_verilog"] == str(tmp_path / "my_core.v")
    xdc = read["read_xdc"]
    assert xdc == str(tmp_path / "ip" / "my_core.xdc")
    assert re.search(r"^create_clock -period 4\.000 -name clk \[get_ports clk\]$", open(xdc).read(), re.M)
    synth = next(c for c in calls if c[0] == "synth_design")
    assert synth[1:] == ("-top", "my_core", "-part", "xcvu9p-flgb2104-2-i", "-mode", "out_of_context")
    assert calls[-1][-1] == "lgn-hw: my_core on xcvu9p-flgb2104-2-i: WNS 0.250 ns, fmax 266.7 MHz"
    assert (tmp_path / "vivado_ooc").is_dir()


def test_quartus_and_vivado_targets_name_parts_and_constraints(tmp_path):
    net = random_netlist(12, [20, 9], 3, seed=1)
    export(net, tmp_path, top="my_core", clock_mhz=125, quiet=True)
    core = read_core(tmp_path / "my_core.core")
    assert core["targets"]["synth_vivado"]["tools"]["vivado"]["part"] == DEFAULT_VIVADO_PART
    quartus = core["targets"]["synth_quartus"]["tools"]["quartus"]
    assert quartus["family"] and quartus["device"]
    sdc = (tmp_path / "ip" / "my_core.sdc").read_text()
    assert re.search(r"^create_clock -name clk -period 8\.000 \[get_ports clk\]$", sdc, re.M)
    hook = (tmp_path / "ip" / "vivado_project_ooc.tcl").read_text()
    assert "-mode out_of_context" in hook


@pytest.mark.parametrize("kwargs, message", [
    ({"vivado_part": "xc7a35t; exec rm -rf /"}, r"^a Vivado part must be a part name such as"),
    ({"vivado_part": "[exec id]"}, r"^a Vivado part must be a part name"),
    ({"clock_mhz": 0}, r"^'clock_mhz' must be a number of MHz in \(0, 2000\), not 0$"),
    ({"clock_mhz": "fast"}, r"^'clock_mhz' must be a number"),
])
def test_bad_ip_options_are_refused_before_anything_is_written(tmp_path, kwargs, message):
    net = random_netlist(6, [8], 2, seed=1)
    with pytest.raises(ValueError, match=message):
        export(net, tmp_path / "hw", quiet=True, **kwargs)
    assert not (tmp_path / "hw").exists()


def test_axis_layout_packs_class_then_byte_aligned_scores():
    lay = AxisLayout(in_width=6272, num_classes=10, score_width=4, class_width=4)
    assert (lay.s_width, lay.m_width, lay.class_bytes, lay.score_bytes) == (6272, 88, 1, 1)
    word = lay.pack_result(7, list(range(10)))
    assert word.to_bytes(lay.m_bytes, "little") == bytes([7, *range(10)])
    assert lay.unpack_result(word) == (7, tuple(range(10)))
    wide = AxisLayout(in_width=17, num_classes=300, score_width=9, class_width=9)
    assert (wide.s_width, wide.class_bytes, wide.score_bytes, wide.m_bytes) == (24, 2, 2, 602)
    assert wide.unpack_result(wide.pack_result(299, [511] * 300)) == (299, (511,) * 300)
    assert lay.to_dict()["layout_version"] == AXIS_LAYOUT_VERSION


def test_axis_entry_and_bench_vectors_match_the_golden_model(trained_export):
    manifest = json.loads((trained_export / "manifest.json").read_text())
    axis = manifest["axis"]
    assert axis["top"] == "monk_core_axis" and (trained_export / axis["file"]).is_file()
    ports = {p["name"]: (p["dir"], p["width"]) for p in axis["ports"]}
    assert ports["s_axis_tdata"] == ("in", 8 * -(-manifest["encoder"]["in_width"] // 8))
    assert ports["m_axis_tdata"] == ("out", axis["m_tdata_bits"]) and axis["m_tdata_bits"] % 8 == 0
    text = (trained_export / axis["file"]).read_text()
    assert re.search(r"^module monk_core_axis\(", text, re.M) and "monk_core core (" in text
    assert not re.search(r"^module monk_core\(", text, re.M)    # the core itself stays in monk_core.v

    exp = load_export(trained_export)
    vectors = json.loads((trained_export / "cocotb" / "vectors.json").read_text())
    bits = np.array([[(int(h, 16) >> i) & 1 for i in range(exp.in_width)] for h in vectors["inputs"]],
                    dtype=np.uint8)
    from lgn_hw.netlist import evaluate

    result = evaluate(exp.netlist, exp.inputs.netlist_bits(bits))
    assert vectors["classes"] == result.classes.tolist()
    assert vectors["scores"] == result.scores.tolist()
    assert vectors["latency"] == exp.latency and len(vectors["inputs"]) == 80
