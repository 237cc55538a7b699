"""File names from an export folder are data (issue 22 item 1).

A manifest may list any string as a Verilog file; a name with a newline once
became a second Yosys command in the equivalence and synthesis scripts, and a
line of Verilator's lint configuration. Names are checked when the folder is
loaded (a plain file name of ``[A-Za-z0-9_.-]``, one line, inside the folder),
and no tool script or configuration is built from them: the stages hand the
tools copies under generated names.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

from lgn_hw.cli import main
from lgn_hw.hdl import ManifestError, load_export

from .attacks import edit_manifest

HOSTILE = [
    "evil.v\nscript evil.ys",        # a second Yosys command
    "evil.v\n!touch /tmp/owned",     # a shell command under a native Yosys
    "-evil.v",                       # an option to every tool
    "evil v.v",                      # two words on a command line
    'evil".v',                       # closes a quoted name
    "sub/evil.v",                    # not a plain name
    "evil.v;",
    "évil.v",
    ".evil.v",
]


def _plant(folder, name: str) -> None:
    """``name`` as a second Verilog file of the export: a harmless module, listed in the manifest."""
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("module evil; endmodule\n")
    edit_manifest(folder, verilog=["lgn_top.v", name])


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_file_name_is_refused_when_the_folder_is_loaded(folder, name):
    _plant(folder, name)
    with pytest.raises(ManifestError, match=r"Verilog file .* must be a plain file name"):
        load_export(folder)


@pytest.mark.parametrize("command", ["lint", "verify", "synth", "equiv"])
def test_every_stage_refuses_a_name_with_a_newline_in_one_line(folder, capsys, command):
    _plant(folder, HOSTILE[0])
    argv = {"lint": ["lint", str(folder)], "verify": ["verify", str(folder), "--quiet"],
            "synth": ["synth", str(folder), "--target", "xilinx-7"],
            "equiv": ["equiv", str(folder / "netlist.lgn.json"), str(folder)]}[command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lgn-hw {command}: error: ") and len(err.strip().splitlines()) == 1, err
    assert "must be a plain file name" in err


def test_a_hostile_netlist_name_is_refused(folder):
    shutil.copy(folder / "netlist.lgn.json", folder / "n.lgn.json\nscript x")
    edit_manifest(folder, netlist="n.lgn.json\nscript x")
    with pytest.raises(ManifestError, match=r"netlist .* must be a plain file name"):
        load_export(folder)


def test_plain_names_of_every_allowed_character_still_load(folder):
    """Control: a second source named with dots, dashes and digits is fine."""
    _plant(folder, "Core-2_b.v")
    assert [p.name for p in load_export(folder).sources] == ["lgn_top.v", "Core-2_b.v"]


def test_the_synthesis_script_names_only_generated_copies(folder, tmp_path, monkeypatch):
    """The Yosys script reads copies under generated names, never a name from the folder."""
    from lgn_hw.synth import flow

    seen = {}

    def fake_yosys(name, args, *, cwd, log_name):
        seen["script"] = (cwd / args[-1]).read_text()
        seen["cwd"] = cwd
        raise RuntimeError("stop after the script")

    monkeypatch.setattr(flow, "run_tool", fake_yosys)
    monkeypatch.setattr(flow, "find_tool", lambda name: name)
    _plant(folder, "Core-2_b.v")
    with pytest.raises(RuntimeError, match="stop after the script"):
        flow.synthesize(folder, "xilinx-7", out_dir=tmp_path / "synth", pnr=False)
    reads = [ln for ln in seen["script"].splitlines() if ln.startswith("read_verilog")]
    assert reads and "lgn_top.v" not in seen["script"] and "Core-2_b" not in seen["script"]
    names = re.findall(r'"([^"]+)"', reads[0])
    assert names == ["source_0.v", "source_1.v"]
    assert (seen["cwd"] / "source_0.v").read_bytes() == (folder / "lgn_top.v").read_bytes()


def test_the_lint_configuration_names_only_generated_copies(folder, monkeypatch):
    """Verilator's waiver file and command line name the copies, not the folder's files."""
    import subprocess

    from lgn_hw.hdl import lint as lint_module

    seen = {}

    class Done:
        returncode, stdout, stderr = 0, "Verilator 5", ""

    def fake_run(cmd, cwd=None, **kwargs):
        if "--lint-only" in cmd:
            vlt = [c for c in cmd if c.endswith(".vlt")][0]
            seen["vlt"] = (cwd / vlt if not vlt.startswith("/") else type(cwd)(vlt)).read_text()
            seen["cmd"] = cmd
        return Done()

    monkeypatch.setattr(lint_module, "find_tool", lambda name: "verilator")
    monkeypatch.setattr(subprocess, "run", fake_run)
    lint_module.lint(folder, verilator=True)
    assert "lgn_top.v" not in seen["vlt"] and "source_0.v" in seen["vlt"]
    assert not any("lgn_top.v" in c for c in seen["cmd"])


def test_a_manifest_from_before_still_names_its_files(folder):
    """The manifest keeps the names the export wrote (the copies exist only for the tools)."""
    data = json.loads((folder / "manifest.json").read_text())
    assert data["verilog"] == ["lgn_top.v"]
