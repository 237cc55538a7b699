"""Export is all or nothing: an interrupted re-export leaves the previous export whole (issue 15 item 8)."""

from __future__ import annotations

import json
import re

import pytest

from lgn_hw.hdl import Pipeline, export
from lgn_hw.netlist import Netlist, random_netlist


def _header_latency(path) -> int:
    """The latency the generated Verilog's first line states."""
    return int(re.search(r"latency (\d+) cycles", path.read_text().splitlines()[0]).group(1))


def test_ctrl_c_during_a_re_export_keeps_the_old_export(tmp_path, monkeypatch):
    out = tmp_path / "hw"
    net = random_netlist(8, [10, 8, 6], 2, seed=3)
    old = export(net, out, pipeline=Pipeline(gate_every=1, popcount_every=1), quiet=True)
    (out / "synth-ice40-hx8k").mkdir()
    (out / "synth-ice40-hx8k" / "report.json").write_text("{}")    # a result of the user's

    def interrupted(self, path):   # Ctrl-C after the new Verilog is written, before the rest
        raise KeyboardInterrupt

    monkeypatch.setattr(Netlist, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export(net, out, pipeline=Pipeline(gate_every=0, popcount_every=0), quiet=True)
    monkeypatch.undo()

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["latency"] == old["latency"] == _header_latency(out / "lgn_top.v")
    from lgn_hw.hdl import load_export

    assert load_export(out).latency == old["latency"]
    assert (out / "synth-ice40-hx8k" / "report.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hw"]     # no half-written sibling left


def test_re_export_keeps_the_users_files_and_drops_the_old_exports(tmp_path):
    out = tmp_path / "hw"
    net = random_netlist(8, [10, 6], 2, seed=4)
    export(net, out, top="first", testbench=True, quiet=True)
    (out / "notes.txt").write_text("mine\n")
    manifest = export(net, out, top="second", quiet=True)
    names = sorted(p.name for p in out.iterdir())
    # the first export's testbench, cocotb/ bench and first.core are gone; ip/ is the second's
    assert names == sorted(["second.v", "second.core", "ip", "manifest.json", "netlist.lgn.json", "notes.txt"])
    assert manifest["latency"] == _header_latency(out / "second.v")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hw"]


def test_re_export_into_the_current_folder(tmp_path, monkeypatch):
    """``--out .``: the sibling folder is made beside the named folder, not inside it."""
    (tmp_path / "hw").mkdir()
    monkeypatch.chdir(tmp_path / "hw")
    export(random_netlist(8, [10, 6], 2, seed=4), ".", quiet=True)
    assert (tmp_path / "hw" / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hw"]
