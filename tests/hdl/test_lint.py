"""`lgn-hw lint`: pyverilog parse, port check against the manifest, Verilator -Wall clean."""

import json

import pytest

from lgn_hw.cli import main
from lgn_hw.hdl import ManifestError, Pipeline, export
from lgn_hw.hdl.lint import LintError, lint, split_modules
from lgn_hw.netlist import random_netlist


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lint")
    export(random_netlist(10, [17, 23, 30], 10, seed=7), folder, top="lint_top")
    return folder


@pytest.mark.parametrize("pipeline", [Pipeline(), Pipeline(0, 0, False), Pipeline(2, 3, True)])
@pytest.mark.verilator  # tests/conftest.py skips it, with the reason, without Verilator
def test_lint_clean(tmp_path, pipeline):
    # k=7 (odd lanes in the adder tree), 3 classes, odd widths.
    export(random_netlist(9, [13, 11, 21], 3, seed=8), tmp_path, pipeline=pipeline)
    report = lint(tmp_path)
    assert report.top == "lgn_top"
    assert report.verilator and not report.skipped
    assert [p[0] for p in report.ports] == ["clk", "rst", "in_valid", "in_ready", "in_data",
                                            "out_valid", "out_ready", "out_class", "out_scores"]


def test_one_module_per_block(exported):
    modules = split_modules((exported / "lint_top.v").read_text())
    assert set(modules) == {"lint_top", "lint_top.layer0", "lint_top.layer1", "lint_top.layer2",
                            "lint_top.popcount", "lint_top.argmax", "lint_top.fifo"}


def test_port_mismatch_is_reported(exported, tmp_path):
    for f in exported.iterdir():
        if f.is_file():   # not ip/ (FuseSoC support files)
            (tmp_path / f.name).write_bytes(f.read_bytes())
    data = json.loads((tmp_path / "manifest.json").read_text())
    data["num_inputs"] += 1
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    # The manifest's claim is checked against the netlist copy when the export is loaded.
    with pytest.raises(ManifestError, match=r"field 'num_inputs' is 11 but the netlist copy netlist\.lgn\.json "
                                            r"and the pipeline give 10$"):
        lint(tmp_path, verilator=False)


def test_slang_finds_what_a_parser_cannot(exported, tmp_path):
    """An undeclared name parses (pyverilog accepts it) but does not elaborate."""
    for f in exported.iterdir():
        if f.is_file():   # not ip/ (FuseSoC support files)
            (tmp_path / f.name).write_bytes(f.read_bytes())
    src = tmp_path / "lint_top.v"
    text = src.read_text()
    at = text.index("endmodule", text.index("module \\lint_top.layer1"))
    src.write_text(text[:at] + "  wire probe = no_such_net;\n" + text[at:])
    with pytest.raises(LintError, match=r"^slang: lint_top\.v:\d+:\d+: error: use of undeclared identifier 'no_such_net'"):
        lint(tmp_path, verilator=False)
    report = lint(exported, verilator=False)
    assert report.slang and "lint_top.layer1" in report.parsed


def test_big_modules_are_left_to_verilator(exported):
    report = lint(exported, verilator=False, parse_limit=1)
    assert report.parsed == ["lint_top"] and len(report.skipped) == 6


@pytest.mark.verilator  # tests/conftest.py skips it, with the reason, without Verilator
def test_cli_lint(exported, tmp_path, capsys):
    assert main(["lint", str(exported)]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["lint", str(tmp_path / "none")]) == 2
    assert "no such export folder" in capsys.readouterr().err
