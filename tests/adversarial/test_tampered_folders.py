"""Tampered export folders: every claim is checked, nothing is read from or written through links out.

None of these needs a simulator or a synthesizer: each attack is refused when the
folder is loaded, before any tool runs.
"""

from __future__ import annotations

import json
import os
import re

import pytest

from lgn_hw.cli import main
from lgn_hw.hdl import ManifestError
from lgn_hw.hdl.lint import lint
from lgn_hw.netlist import random_netlist
from lgn_hw.verify import verify

from .attacks import edit_manifest

OUT_OF_FOLDER = r"(must be a path inside the folder|leads out of the folder)"


def _one_line_error(capsys, command: str) -> str:
    err = capsys.readouterr().err
    assert err.startswith(f"lgn-hw {command}: error: ") and len(err.strip().splitlines()) == 1, err
    return err


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_manifest_netlist_is_confined_to_the_folder(folder, tmp_path, capsys, how):
    outside = tmp_path / "outside.lgn.json"
    random_netlist(9, [9], 3, seed=1).save(outside)
    if how == "absolute":
        edit_manifest(folder, netlist="/etc/passwd")
    elif how == "dotdot":
        edit_manifest(folder, netlist="../outside.lgn.json")
    else:
        (folder / "netlist.lgn.json").unlink()
        (folder / "netlist.lgn.json").symlink_to(outside)
    with pytest.raises(ManifestError, match=OUT_OF_FOLDER):
        verify(folder, build_dir=tmp_path / "build")
    assert main(["verify", str(folder), "--quiet"]) == 2
    assert re.search(OUT_OF_FOLDER, _one_line_error(capsys, "verify"))


def test_verilog_source_linked_out_of_the_folder_is_refused(folder, tmp_path):
    outside = tmp_path / "elsewhere.v"
    outside.write_bytes((folder / "lgn_top.v").read_bytes())
    (folder / "lgn_top.v").unlink()
    (folder / "lgn_top.v").symlink_to(outside)
    with pytest.raises(ManifestError, match=r"Verilog file 'lgn_top.v' leads out of the folder"):
        lint(folder, verilator=False)


@pytest.mark.parametrize("field, value", [
    ("latency", 1_000_000),       # would make verify wait for minutes
    ("gates", 1),                 # would make synth report "LUTs per gate" of a 1-gate core
    ("netlist_sha256", "0" * 64),
    ("latency_parts", {"input": 1, "gates": 0, "popcount": 0, "argmax": 0, "fifo": 999_999}),
])
def test_measurable_manifest_claims_are_checked(folder, capsys, field, value):
    edit_manifest(folder, **{field: value})
    message = rf"field '{field}' is .* but the netlist copy netlist\.lgn\.json and the pipeline give "
    with pytest.raises(ManifestError, match=message):
        lint(folder, verilator=False)
    for argv in (["verify", str(folder), "--quiet"], ["synth", str(folder), "--target", "xilinx-7"],
                 ["equiv", str(folder / "netlist.lgn.json"), str(folder)]):
        assert main(argv) == 2
        assert re.search(message, _one_line_error(capsys, argv[0]))


def test_verilog_ports_are_measured(folder, tmp_path):
    """The manifest and the netlist copy agree, but the Verilog's in_data is one bit wider."""
    path = folder / "lgn_top.v"
    text = path.read_text()
    assert "input [5:0] in_data;" in text
    path.write_text(text.replace("input [5:0] in_data;", "input [6:0] in_data;"))
    from lgn_hw.synth import synthesize

    with pytest.raises(ManifestError, match=r"the Verilog module 'lgn_top' has other ports than the netlist "
                                            r"copy implies: unexpected \[\('in_data', 'in', 7\)\], "
                                            r"missing \[\('in_data', 'in', 6\)\]$"):
        synthesize(folder, "xilinx-7", out_dir=tmp_path / "synth")


def test_manifest_that_is_a_folder(folder, capsys):
    (folder / "manifest.json").unlink()
    (folder / "manifest.json").mkdir()
    for command in ("lint", "verify", "synth", "equiv"):
        argv = {"lint": ["lint", str(folder)], "verify": ["verify", str(folder), "--quiet"],
                "synth": ["synth", str(folder), "--target", "xilinx-7"],
                "equiv": ["equiv", str(folder / "netlist.lgn.json"), str(folder)]}[command]
        assert main(argv) == 2
        assert "manifest.json: is a directory, not a manifest file" in _one_line_error(capsys, command)


def test_manifest_read_is_bounded(folder):
    from lgn_hw.hdl.export import MANIFEST_LIMIT

    data = (folder / "manifest.json").read_text()
    (folder / "manifest.json").write_text(data.rstrip()[:-1] + ' ' * MANIFEST_LIMIT + "}\n")
    with pytest.raises(ManifestError, match=r"manifest\.json: larger than the 16 MiB a manifest file may have"):
        lint(folder, verilator=False)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_manifest_linked_to_an_endless_device(folder):
    (folder / "manifest.json").unlink()
    (folder / "manifest.json").symlink_to("/dev/zero")
    with pytest.raises(ManifestError, match=r"manifest\.json: is a character device, not a manifest file$"):
        lint(folder, verilator=False)


def test_duplicate_manifest_keys_are_refused(folder):
    text = (folder / "manifest.json").read_text()
    (folder / "manifest.json").write_text(text.replace('"latency": ', '"latency": 1000000, "latency": ', 1))
    with pytest.raises(ManifestError, match=r"manifest\.json: duplicate key 'latency' in a JSON object$"):
        lint(folder, verilator=False)


def test_equiv_folder_linked_out_is_not_written(folder, tmp_path, capsys):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "equiv.log").write_text("precious\n")
    (folder / "equiv").symlink_to(outside, target_is_directory=True)
    assert main(["equiv", str(folder / "netlist.lgn.json"), str(folder)]) == 2
    assert "equiv: is a link, not a folder" in _one_line_error(capsys, "equiv")
    assert sorted(p.name for p in outside.iterdir()) == ["equiv.log"]
    assert (outside / "equiv.log").read_text() == "precious\n"


def test_build_dir_that_is_a_file(folder, tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("")
    assert main(["verify", str(folder), "--build-dir", str(afile), "--quiet"]) == 2
    assert "exists and is not a folder" in _one_line_error(capsys, "verify")


def test_the_manifest_stays_what_export_writes(folder):
    """Control: the untampered copy loads, and its manifest is exactly what the checks derive."""
    from lgn_hw.hdl import load_export

    exp = load_export(folder)
    data = json.loads((folder / "manifest.json").read_text())
    assert data["latency"] == exp.latency and data["gates"] == exp.gates
    assert lint(folder, verilator=False).top == "lgn_top"


@pytest.mark.yosys
@pytest.mark.abc
def test_link_planted_inside_the_equiv_folder_is_not_written_through(folder, tmp_path):
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    (folder / "equiv").mkdir()
    (folder / "equiv" / "equiv.log").symlink_to(precious)
    (folder / "equiv" / "equiv.ys").symlink_to(precious)
    for name in ("proof.ys", "dut_0.v", "design.json", "proof-yosys.log", "part0001.aig"):
        (folder / "equiv" / name).symlink_to(precious)
    assert main(["equiv", str(folder / "netlist.lgn.json"), str(folder), "--method", "both"]) == 0
    assert precious.read_text() == "keep me\n"
    log = folder / "equiv" / "equiv.log"
    assert not log.is_symlink() and "SUCCESS!" in log.read_text()
