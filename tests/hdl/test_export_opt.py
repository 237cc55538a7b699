"""`lgn-hw export` optimises by default and keeps the function; --no-opt keeps the netlist as is."""

import json
from pathlib import Path

from lgn_hw.cli import main
from lgn_hw.netlist import evaluate, load
from lgn_hw.netlist.equiv import check_equivalent

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "example.lgn.json"


def test_export_optimises_by_default(tmp_path, capsys):
    assert main(["export", str(EXAMPLE), "--out", str(tmp_path / "opt"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "optimised   540 ->" in out
    original = load(EXAMPLE)
    manifest = json.loads((tmp_path / "opt" / "manifest.json").read_text())
    exported = load(tmp_path / "opt" / "netlist.lgn.json")
    assert manifest["gates"] == exported.num_gates < original.num_gates
    assert manifest["netlist_sha256"] == exported.sha256()
    assert check_equivalent(original, exported, num_random=5000)


def test_export_no_opt_keeps_netlist(tmp_path):
    assert main(["export", str(EXAMPLE), "--out", str(tmp_path / "raw"), "--no-opt", "--quiet"]) == 0
    original = load(EXAMPLE)
    exported = load(tmp_path / "raw" / "netlist.lgn.json")
    assert exported == original
    bits = (evaluate(original, [[0] * 64]).scores, evaluate(exported, [[0] * 64]).scores)
    assert (bits[0] == bits[1]).all()
