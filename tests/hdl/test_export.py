"""Ports, manifest, pipeline options and argument checking of the export."""

import json
import re

import pytest

from lgn_hw.cli import main
from lgn_hw.hdl import (LgnCore, ManifestError, Pipeline, core_ports, export, latency_of,
                        load_manifest)
from lgn_hw.hdl.export import check_top_name, load_export
from lgn_hw.hdl.lint import split_modules
from lgn_hw.netlist import load, random_netlist


@pytest.mark.parametrize("classes, k, class_width, score_width", [
    (1, 4, 1, 3), (2, 1, 1, 1), (3, 5, 2, 3), (10, 8, 4, 4), (4, 7, 2, 3),
])
def test_ports_exactly_as_design(classes, k, class_width, score_width):
    net = random_netlist(11, [7, classes * k], classes, seed=0)
    ports = [(p.name, p.direction, p.width) for p in core_ports(net)]
    assert ports == [
        ("clk", "in", 1), ("rst", "in", 1),
        ("in_valid", "in", 1), ("in_ready", "out", 1), ("in_data", "in", 11),
        ("out_valid", "out", 1), ("out_ready", "in", 1),
        ("out_class", "out", class_width), ("out_scores", "out", classes * score_width),
    ]
    core = LgnCore(net)
    core._MustUse__silence = True
    members = {name: (m.flow.name, m.shape) for name, m in core.signature.members.items()}
    assert members == {n: ("In" if d == "in" else "Out", w) for n, d, w in ports
                       if n not in ("clk", "rst")}


def test_manifest_contents(tmp_path):
    net = random_netlist(12, [20, 9], 3, seed=1)
    manifest = export(net, tmp_path, top="my_core", pipeline=Pipeline(2, 1, False))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ip", "manifest.json", "my_core.core", "my_core.v",
                                                          "netlist.lgn.json"]  # ip/, .core: lgn_hw.hdl.ip
    on_disk = json.loads((tmp_path / "manifest.json").read_text())
    assert on_disk == manifest == load_manifest(tmp_path)
    expected = {
        "format": "lgn-hw-manifest", "version": 2, "top": "my_core", "verilog": ["my_core.v"],
        "num_inputs": 12, "num_classes": 3, "score_width": 2, "class_width": 2, "gates": 29,
        "netlist_sha256": net.sha256(),
        "pipeline": {"gate_every": 2, "popcount_every": 1, "argmax_registered": False},
        "encoder": {"mode": "host", "in_width": 12},
    }
    assert {k: manifest[k] for k in expected} == expected
    # input 1 + gates 2//2 + popcount (k=3: one full adder) 1 + argmax 0 + fifo 2
    assert manifest["latency"] == 1 + 1 + 1 + 0 + 2
    assert load(tmp_path / manifest["netlist"]) == net
    text = (tmp_path / "my_core.v").read_text()
    assert re.search(r"^module my_core\(", text, re.M)
    assert "(* src" not in text


@pytest.mark.parametrize("pipeline, layers, k, classes, latency", [
    (Pipeline(), 5, 8, 10, 1 + 1 + 1 + 4 + 2),  # default: gates every 4, popcount (3 levels) every 2
    (Pipeline(0, 0, False), 5, 8, 10, 1 + 0 + 0 + 0 + 2),
    (Pipeline(2, 1, True), 5, 8, 10, 1 + 2 + 3 + 4 + 2),
    (Pipeline(3, 2, True), 1, 1, 1, 1 + 0 + 0 + 0 + 2),
    (Pipeline(1, 2, True), 3, 9, 2, 1 + 3 + 1 + 1 + 2),  # k=9: 3 popcount levels
])
def test_latency_follows_pipeline(pipeline, layers, k, classes, latency):
    net = random_netlist(6, [13] * (layers - 1) + [k * classes], classes, seed=2)
    assert latency_of(net, pipeline)["total"] == latency
    core = LgnCore(net, pipeline)
    core._MustUse__silence = True  # only its numbers are needed here
    assert core.latency == latency and core.fifo_depth == latency + 1


def test_pipeline_dict_and_spec_round_trip():
    p = Pipeline(3, 0, False)
    assert Pipeline.from_dict(p.to_dict()) == p
    assert Pipeline.parse(str(p)) == p
    assert Pipeline.parse("gates=2") == Pipeline(2, Pipeline().popcount_every, True)
    assert Pipeline() == Pipeline(4, 2, True)
    assert Pipeline.parse("") == Pipeline()
    q = Pipeline(2, 1, True, lut_size=6, stream="stall")
    assert Pipeline.from_dict(q.to_dict()) == q and Pipeline.parse(str(q)) == q
    assert str(q) == "gates=2,popcount=1,argmax=1,lut=6,stream=stall"
    assert Pipeline.parse("lut=6,stream=stall") == Pipeline(lut_size=6, stream="stall")
    # The defaults of the newer fields are left out, so a default core's manifest is as before,
    # and a manifest from before them reads as the adder tree and the FIFO.
    assert Pipeline().to_dict() == {"gate_every": 4, "popcount_every": 2, "argmax_registered": True}
    old = Pipeline.from_dict({"gate_every": 4, "popcount_every": 2, "argmax_registered": True})
    assert (old.lut_size, old.stream) == (0, "fifo")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"gate_every": -1}, ValueError, r"^'gate_every' must be a non-negative integer, not -1$"),
    ({"popcount_every": 1.5}, TypeError, r"^'popcount_every' must be a non-negative integer, not 1\.5$"),
    ({"argmax_registered": 1}, TypeError, r"^'argmax_registered' must be a bool, not 1$"),
    ({"lut_size": 7}, ValueError, r"^'lut_size' must be 0 \(no LUT shaping\) or a LUT size from 3 to 6, not 7$"),
    ({"lut_size": "6"}, TypeError, r"^'lut_size' must be a non-negative integer, not '6'$"),
    ({"stream": "credit"}, ValueError, r"^'stream' must be one of 'fifo', 'stall', not 'credit'$"),
])
def test_pipeline_rejects_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        Pipeline(**kwargs)


@pytest.mark.parametrize("spec, match", [
    ("gates", r"^pipeline spec items must be"),
    ("speed=3", r"^pipeline spec items must be"),
    ("gates=two", r"^pipeline spec: gates needs an integer, not 'two'$"),
    ("argmax=2", r"^pipeline spec: argmax must be 0 or 1, not 2$"),
    ("stream=wait", r"^'stream' must be one of 'fifo', 'stall', not 'wait'$"),
    ("lut=x", r"^pipeline spec: lut needs an integer, not 'x'$"),
])
def test_pipeline_spec_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        Pipeline.parse(spec)


@pytest.mark.parametrize("name", ["1core", "my-core", "module", "", "a b", "top$"])
def test_top_name_must_be_an_identifier(name):
    with pytest.raises(ValueError, match=r"^top module name must be a Verilog identifier"):
        check_top_name(name)


def test_export_argument_errors(tmp_path):
    net = random_netlist(4, [4], 2, seed=3)
    with pytest.raises(TypeError, match=r"^'netlist' must be a Netlist"):
        export({"num_inputs": 4}, tmp_path)
    with pytest.raises(TypeError, match=r"^'pipeline' must be a Pipeline, not 'gates=1'$"):
        export(net, tmp_path, pipeline="gates=1")
    with pytest.raises(ValueError, match=r"^'testbench_samples' must be at least 1, not 0$"):
        export(net, tmp_path, testbench=True, testbench_samples=0)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"exists and is not a folder"):
        export(net, tmp_path / "file")


def _write_manifest(folder, **changes):
    data = json.loads((folder / "manifest.json").read_text())
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    (folder / "manifest.json").write_text(json.dumps(data))


@pytest.mark.parametrize("changes, match", [
    ({"format": "other"}, r"format must be 'lgn-hw-manifest', got 'other'$"),
    ({"version": 3}, r"unsupported version 3, this reader knows 1, 2"),
    ({"latency": None}, r"missing field 'latency'$"),
    ({"num_inputs": "8"}, r"field 'num_inputs' must be int, got '8'$"),
    ({"class_width": 3}, r"class_width 3 does not fit num_classes 2 \(expected 1\)$"),
    ({"verilog": ["gone.v"]}, r"lists 'gone.v', which is missing"),
    ({"pipeline": {"gate_every": -2}}, r"field 'pipeline': 'gate_every' must be"),
    ({"top": "9x"}, r"field 'top': top module name must be"),
])
def test_load_manifest_errors(tmp_path, changes, match):
    export(random_netlist(4, [6], 2, seed=4), tmp_path)
    _write_manifest(tmp_path, **changes)
    with pytest.raises(ManifestError, match=match):
        load_manifest(tmp_path)


def test_load_manifest_missing_folder_and_file(tmp_path):
    with pytest.raises(ManifestError, match=r"no such export folder"):
        load_manifest(tmp_path / "nope")
    with pytest.raises(ManifestError, match=r"manifest.json: missing"):
        load_manifest(tmp_path)


def test_cli_export_and_errors(tmp_path, capsys):
    src = tmp_path / "net.lgn.json"
    random_netlist(8, [10, 6], 3, seed=5).save(src)
    out = tmp_path / "out"
    assert main(["export", str(src), "--out", str(out), "--top", "core",
                 "--pipeline", "gates=2,popcount=0", "--no-argmax-reg"]) == 0
    text = capsys.readouterr().out
    assert "latency     4 cycles" in text and "core.v" in text
    manifest = load_manifest(out)
    assert manifest["pipeline"] == {"gate_every": 2, "popcount_every": 0, "argmax_registered": False}
    assert main(["export", str(src), "--out", str(out), "--top", "wire"]) == 2
    assert "top module name must be a Verilog identifier" in capsys.readouterr().err
    assert main(["export", str(src), "--out", str(out), "--gate-every", "-1"]) == 2
    assert "'gate_every' must be a non-negative integer, not -1" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.lgn.json"), "--out", str(out)]) == 2
    assert "no such netlist file" in capsys.readouterr().err


def test_cli_export_stall_stream_and_counters(tmp_path, capsys):
    src = tmp_path / "net.lgn.json"
    net = random_netlist(8, [10, 30], 3, seed=5)
    net.save(src)
    out = tmp_path / "out"
    assert main(["export", str(src), "--out", str(out), "--no-opt", "--stream", "stall",
                 "--lut-size", "6"]) == 0
    text = capsys.readouterr().out
    # k = 10: 3 adder levels, a register after 2; no FIFO in the latency
    assert "pipeline    gates=4,popcount=2,argmax=1,lut=6,stream=stall" in text
    assert "latency     4 cycles  input 1 + gates 0 + popcount 1 + argmax 2\n" in text
    manifest = load_export(out).manifest
    assert manifest["pipeline"] == {"gate_every": 4, "popcount_every": 2, "argmax_registered": True,
                                    "lut_size": 6, "stream": "stall"}
    assert manifest["fifo_depth"] == 0 and "fifo" not in manifest["latency_parts"]
    assert set(split_modules((out / "lgn_top.v").read_text())) == {
        "lgn_top", "lgn_top.layer0", "lgn_top.layer1", "lgn_top.popcount", "lgn_top.argmax",
        "lgn_top.popcount.c0", "lgn_top.popcount.c1", "lgn_top.popcount.c2"}  # no FIFO; a module per class
    for argv, err in ((["--lut-size", "7"], "'lut_size' must be 0 (no LUT shaping) or a LUT size from 3 to 6, not 7"),
                      (["--fmax", "50", "--target", "ecp5-25k", "--stream", "stall"],
                       "--fmax picks the pipeline: give it without")):
        assert main(["export", str(src), "--out", str(out), *argv]) == 2
        assert err in capsys.readouterr().err


@pytest.mark.parametrize("gate_every", [0, 1])
def test_verilog_lines_bounded_and_layer_ports_named(tmp_path, gate_every):
    # Runs of ~500 gates of one op: before the layers were cut into cells of at most 64 gates
    # joined by a bounded tree, a run was one line of ~9,000 characters and the layer's ports
    # were the cells crossing the boundary (`\port$9$1`, ...).
    net = random_netlist(256, [8000, 40], 10, seed=3)
    export(net, tmp_path, pipeline=Pipeline(gate_every=gate_every), quiet=True)
    text = (tmp_path / "lgn_top.v").read_text()
    assert max(len(line) for line in text.splitlines()) < 4000
    headers = dict(re.findall(r"^module \\lgn_top\.(layer\d+)\s*\((.*?)\);", text, re.M))
    assert sorted(headers) == ["layer0", "layer1"]
    for name, ports in headers.items():
        got = {p.strip() for p in ports.split(",")}
        assert got - {"clk", "rst"} == {"x", "y"}, (name, got)


def _module_ports(text):
    """``{module: [port names]}`` from the headers Yosys writes (``module \\lgn_top.argmax (a, b);``)."""
    return {name.lstrip("\\"): [p.strip() for p in ports.split(",")]
            for name, ports in re.findall(r"^module\s+(\S+)\s*\((.*?)\);", text, re.M | re.S)}


def _quantized_netlist():
    """The demo-like random net behind a quantized encoder of three 8-bit features."""
    from lgn_hw.netlist.model import Netlist

    features = [{"kind": "thermometer", "thresholds": list(range(10, 250, 15)), "width": 8,
                 "signed": False, "scale": 1.0, "offset": 0.0} for _ in range(3)]
    net = random_netlist(48, [60, 50, 40], 10, seed=4)
    return Netlist(net.num_inputs, net.layers, net.num_classes, net.tau,
                   {"type": "features", "features": features}, {})


@pytest.mark.parametrize("encoder", ["host", "hw"])
@pytest.mark.parametrize("pipeline", [Pipeline(), Pipeline(gate_every=1, popcount_every=1),
                                      Pipeline(gate_every=0, popcount_every=0, argmax_registered=False)])
def test_every_module_port_is_declared(tmp_path, encoder, pipeline):
    # Before, Amaranth named every port that did not match one signal of the block `\port$<cell>$<bit>`:
    # the argmax read ten of them (one per class score) and the FIFO two (class and scores).
    export(_quantized_netlist(), tmp_path, pipeline=pipeline, encoder=encoder, quiet=True)
    modules = _module_ports((tmp_path / "lgn_top.v").read_text())
    blocks = {"popcount": {"x", "scores"}, "argmax": {"scores", "cls", "scores_out"},
              "encoder": {"x", "y"}, **{f"layer{i}": {"x", "y"} for i in range(3)}}
    assert {f"lgn_top.{b}" for b in blocks if b != "encoder" or encoder == "hw"} <= set(modules)
    for module, ports in modules.items():
        assert all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", p) for p in ports), (module, ports)
        block = module.rpartition(".")[2]
        if block in blocks:
            assert set(ports) - {"clk", "rst"} <= blocks[block], (module, ports)
            assert "x" in ports or "scores" in ports, (module, ports)


def test_wide_registers_keep_lines_short(tmp_path):
    # A 10,000-bit input register and an 8,200-bit gate layer register: Yosys writes a register's
    # initial value as one literal, so they were lines of 2,530 and 2,081 characters (6,278 on a
    # 100k-gate core). The longest lines left are gate cells (64 gates over 5-digit indices).
    net = random_netlist(10_000, [8200, 20], 10, seed=0)
    export(net, tmp_path, pipeline=Pipeline(gate_every=1), quiet=True)
    text = (tmp_path / "lgn_top.v").read_text()
    assert max(len(line) for line in text.splitlines()) < 2000
    widths = [int(w) + 1 for w in re.findall(r"^\s*reg \[(\d+):0\]", text, re.M)]
    assert 2048 in widths and max(widths) == 2048
