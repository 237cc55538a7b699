"""Verification and synthesis records name the core they checked (issue 22 items 2 and 3).

A record carries the hashes of the exact Verilog sources and netlist it
checked; the report shows it only while the folder still holds that core, and
reads only regular files inside the folder. A re-export drops the records of
the old core.
"""

from __future__ import annotations

import json
import re

import pytest

from lgn_hw.hdl import export, load_export
from lgn_hw.hdl.digest import core_digest
from lgn_hw.netlist import random_netlist
from lgn_hw.report import build_report
from lgn_hw.report.records import write_verify_record
from lgn_hw.verify.run import VerifyResult

from .attacks import tiny_net

VCD = """$timescale 1ps $end
$scope module lgn_top $end
$var wire 1 ! clk $end
$var wire 1 " in_valid $end
$upscope $end
$enddefinitions $end
#0
0!
1"
#5
1!
#10
0!
#15
1!
"""


@pytest.fixture
def run_folder(tmp_path):
    """The smallest run folder the report reads: a config and one epoch."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"dataset": "monk1", "layers": 1, "width": 8, "epochs": 1}))
    (run / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "train_acc": 0.5, "val_discrete": 0.5}) + "\n")
    return run


def _passing(sim="verilator", samples=1_000_000, waveform=None) -> VerifyResult:
    return VerifyResult(sim=sim, samples=samples, checked=samples, mismatches=0, cycles=samples,
                        throughput=1.0, latency=3, expected_latency=3, passed=True, message=None,
                        waveform=waveform, bench="native")


def _verification(page: str) -> str:
    return page[page.index("id='verification'"):]


def _fabricate(folder, **extra) -> None:
    record = {"format": "lgn-hw-verify", "version": 1, "sim": "verilator", "bench": "native",
              "samples": 1000000, "checked": 1000000, "mismatches": 0, "passed": True, "tests": {},
              **extra}
    (folder / "verify-verilator.json").write_text(json.dumps(record))


def test_a_fabricated_record_without_hashes_is_not_shown(folder, run_folder):
    _fabricate(folder)
    page = _verification(build_report(run_folder, [folder]))
    assert "PASS" not in page and "1000000" not in page
    assert re.search(r"verify-verilator\.json.*names no core|not shown", page)


def test_a_fabricated_record_with_wrong_hashes_is_not_shown(folder, run_folder):
    _fabricate(folder, sources_sha256="0" * 64, netlist_sha256="0" * 64)
    page = _verification(build_report(run_folder, [folder]))
    assert "PASS" not in page and "1000000" not in page


def test_a_record_of_the_core_in_the_folder_is_shown(folder, run_folder):
    """Control: the record verify writes for this very core shows as PASS."""
    exp = load_export(folder)
    write_verify_record(folder, _passing(), core=core_digest(exp), seed=0, gap_prob=0.3, stall_prob=0.3)
    page = _verification(build_report(run_folder, [folder]))
    assert "PASS" in page and "1000000" in page


def test_a_record_made_before_the_core_changed_is_hidden(folder, run_folder, tmp_path):
    exp = load_export(folder)
    write_verify_record(folder, _passing(), core=core_digest(exp), seed=0, gap_prob=0.3, stall_prob=0.3)
    text = (folder / "lgn_top.v").read_text()
    (folder / "lgn_top.v").write_text(text + "\n// edited\n")
    page = _verification(build_report(run_folder, [folder]))
    assert "PASS" not in page and "1000000" not in page


def test_a_record_of_another_reference_netlist_is_hidden(folder, run_folder):
    exp = load_export(folder)
    other = random_netlist(6, [8, 6], 2, seed=99)
    write_verify_record(folder, _passing(), core=core_digest(exp, other), seed=0, gap_prob=0.3, stall_prob=0.3)
    page = _verification(build_report(run_folder, [folder]))
    assert "PASS" not in page


def test_the_record_is_not_written_when_the_core_changed_during_the_run(folder):
    """Re-exporting while verify runs: the result belongs to the old core, so no record lands beside the new."""
    core = core_digest(load_export(folder))
    export(random_netlist(6, [8, 6], 2, seed=5), folder, quiet=True)
    with pytest.raises(ValueError, match=r"changed while it was verified"):
        write_verify_record(folder, _passing(), core=core, seed=0, gap_prob=0.3, stall_prob=0.3)
    assert not list(folder.glob("verify-*.json"))


def test_a_waveform_outside_the_folder_is_never_read(folder, run_folder, tmp_path):
    outside = tmp_path / "secret.vcd"
    outside.write_text(VCD)
    exp = load_export(folder)
    write_verify_record(folder, _passing(), core=core_digest(exp), seed=0, gap_prob=0.3, stall_prob=0.3)
    record = json.loads((folder / "verify-verilator.json").read_text())
    for wave in (str(outside), "../secret.vcd"):
        record["waveform"] = wave
        (folder / "verify-verilator.json").write_text(json.dumps(record))
        page = _verification(build_report(run_folder, [folder]))
        assert "id=\"waveform\"" not in page and "secret" not in page.replace("secret.vcd", "")
        assert "PASS" in page   # the record itself still holds


def test_the_waveform_is_kept_inside_the_folder(folder, run_folder, tmp_path):
    """verify's waveform lies in the build cache: the record keeps a copy in the folder and draws it."""
    wave = tmp_path / "dump.vcd"
    wave.write_text(VCD)
    exp = load_export(folder)
    write_verify_record(folder, _passing(sim="icarus", waveform=wave), core=core_digest(exp), seed=0,
                        gap_prob=0.3, stall_prob=0.3)
    record = json.loads((folder / "verify-icarus.json").read_text())
    assert record["waveform"] == "verify-icarus.vcd" and (folder / "verify-icarus.vcd").is_file()
    page = _verification(build_report(run_folder, [folder]))
    assert 'id="waveform"' in page


def test_a_fabricated_synthesis_report_is_not_shown(folder, run_folder):
    (folder / "synth-xilinx-7").mkdir()
    (folder / "synth-xilinx-7" / "report.json").write_text(json.dumps(
        {"format": "lgn-hw-synth-report", "version": 1, "target": "xilinx-7", "luts": 123456, "ffs": 1,
         "fmax_mhz": 999.0, "netlist_sha256": load_export(folder).netlist.sha256()}))
    page = build_report(run_folder, [folder])
    hw = page[page.index("id='hardware'"):page.index("id='verification'")]
    assert "123456" not in hw and "999" not in hw


def test_a_synthesis_report_linked_out_of_the_folder_is_not_read(folder, run_folder, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "report.json").write_text(json.dumps({"luts": 424242}))
    (folder / "synth-xilinx-7").symlink_to(outside, target_is_directory=True)
    page = build_report(run_folder, [folder])
    assert "424242" not in page


def test_re_export_drops_the_old_cores_records(tmp_path):
    out = tmp_path / "hw"
    export(tiny_net(), out, quiet=True)
    exp = load_export(out)
    write_verify_record(out, _passing(), core=core_digest(exp), seed=0, gap_prob=0.3, stall_prob=0.3)
    (out / "synth-xilinx-7").mkdir()
    (out / "synth-xilinx-7" / "report.json").write_text("{}")
    (out / "verify-notes.txt").write_text("the user's, not a record\n")
    export(random_netlist(6, [8, 6], 2, seed=5), out, quiet=True)
    names = sorted(p.name for p in out.iterdir())
    assert [n for n in names if n.startswith(("verify-", "synth-"))] == ["verify-notes.txt"], names
