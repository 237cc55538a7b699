"""Export replaces only an export, only its own files, in place and under a lock (issue 22 items 9 and 10)."""

from __future__ import annotations

import fcntl
import json
import os

import pytest

from lgn_hw.cli import main
from lgn_hw.hdl import ManifestError, export, load_export
from lgn_hw.netlist import random_netlist

from .attacks import tiny_net


def test_an_ordinary_folder_is_not_replaced(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "lgn_top.v").write_text("// my own hand-written core\n")
    (out / "manifest.json").write_text('{"project": "mine"}\n')
    with pytest.raises(ManifestError, match=r"holds files but is not an export"):
        export(tiny_net(), out, quiet=True)
    assert (out / "lgn_top.v").read_text() == "// my own hand-written core\n"
    assert (out / "manifest.json").read_text() == '{"project": "mine"}\n'
    net = tmp_path / "n.lgn.json"
    tiny_net().save(net)
    assert main(["export", str(net), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lgn-hw export: error: ") and len(err.strip().splitlines()) == 1, err
    assert (out / "lgn_top.v").read_text() == "// my own hand-written core\n"


def test_a_folder_of_other_files_is_not_an_export_either(tmp_path):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "todo.txt").write_text("x\n")
    with pytest.raises(ManifestError, match=r"holds files but is not an export"):
        export(tiny_net(), out, quiet=True)
    assert sorted(p.name for p in out.iterdir()) == ["todo.txt"]


def test_an_empty_folder_takes_an_export(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    export(tiny_net(), out, quiet=True)
    assert load_export(out).top == "lgn_top"


def test_a_hostile_old_manifest_does_not_choose_what_is_deleted(tmp_path):
    out = tmp_path / "hw"
    export(tiny_net(), out, testbench=True, quiet=True)
    for name in ("precious.txt", "notes.md", "data.csv"):
        (out / name).write_text(f"{name} of the user\n")
    data = json.loads((out / "manifest.json").read_text())
    data["verilog"] = ["lgn_top.v", "precious.txt"]
    data["netlist"] = "data.csv"
    data["testbench"]["file"] = "notes.md"
    (out / "manifest.json").write_text(json.dumps(data))
    export(random_netlist(6, [8, 6], 2, seed=5), out, quiet=True)
    for name in ("precious.txt", "notes.md", "data.csv"):
        assert (out / name).read_text() == f"{name} of the user\n"
    assert load_export(out).gates == random_netlist(6, [8, 6], 2, seed=5).num_gates


def test_re_export_keeps_the_folder_itself(tmp_path):
    """A shell (or any process) inside the folder stays in the live folder, not a deleted one."""
    out = tmp_path / "hw"
    export(tiny_net(), out, quiet=True)
    before = os.stat(out).st_ino
    export(random_netlist(6, [8, 6], 2, seed=5), out, quiet=True)
    assert os.stat(out).st_ino == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hw"]


def test_a_second_exporter_is_refused_while_one_holds_the_folder(tmp_path):
    out = tmp_path / "hw"
    export(tiny_net(), out, quiet=True)
    fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # as a running export holds it
        with pytest.raises(ManifestError, match=r"another export is writing to this folder"):
            export(random_netlist(6, [8, 6], 2, seed=5), out, quiet=True)
    finally:
        os.close(fd)
    assert load_export(out).gates == tiny_net().num_gates
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hw"]


def test_a_re_export_removes_the_old_exports_ip_files(tmp_path):
    out = tmp_path / "hw"
    export(tiny_net(), out, quiet=True, axis=True, vivado_part="xcvu9p-flgb2104-2-i", testbench=True)
    old = {p.name for p in out.iterdir()}
    assert {"lgn_top.core", "lgn_top_axis.v", "vivado_ooc.tcl", "ip"} <= old
    (out / "notes.txt").write_text("mine\n")  # not the export's: stays
    export(tiny_net(), out, quiet=True)
    now = {p.name for p in out.iterdir()}
    assert "lgn_top_axis.v" not in now and "vivado_ooc.tcl" not in now and "cocotb" not in now
    assert "notes.txt" in now and "lgn_top.core" in now
