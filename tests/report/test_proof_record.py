"""`lgn-hw equiv` leaves a proof record that the run report shows, only for the core it proved."""

from __future__ import annotations

import json

import pytest

from lgn_hw.cli import main
from lgn_hw.hdl import export, load_export
from lgn_hw.hdl.digest import core_digest
from lgn_hw.netlist import random_netlist
from lgn_hw.report import _verification_section
from lgn_hw.report.records import EQUIV_RECORD


@pytest.mark.yosys
@pytest.mark.abc
def test_the_proof_record_is_shown_for_its_core_only(tmp_path, capsys):
    net = random_netlist(8, [12, 6], 2, seed=4)
    path = tmp_path / "n.lgn.json"
    net.save(path)
    hw = tmp_path / "hw"
    export(net, hw, quiet=True)
    assert main(["equiv", str(path), str(hw)]) == 0
    capsys.readouterr()
    rec = json.loads((hw / EQUIV_RECORD).read_text())
    assert rec["verdict"] == "PROVED" and rec["parts"][-1]["name"] == "output stage"
    exp = load_export(hw)
    html = _verification_section([exp], [core_digest(exp)], 40)
    assert "Equivalence proof" in html and "<b>PROVED</b>" in html
    # A record that claims another core is not shown; a re-export drops the record.
    (hw / EQUIV_RECORD).write_text(json.dumps(dict(rec, sources_sha256="0" * 64)))
    html = _verification_section([exp], [core_digest(exp)], 40)
    assert "<b>PROVED</b>" not in html and "made for another core" in html
    export(random_netlist(8, [12, 6], 2, seed=5), hw, quiet=True)
    assert not (hw / EQUIV_RECORD).exists()
