"""``lgn-hw report``: the page of a tiny real run, opened in headless Chromium."""

from __future__ import annotations

import json

import pytest

from lgn_hw.cli import main


def _cells(page, table_id):
    return page.eval_on_selector(f"#{table_id}", "t => Array.from(t.tBodies[0].rows).map("
                                 "r => Array.from(r.cells).map(c => c.textContent))")


@pytest.mark.browser
@pytest.mark.yosys
@pytest.mark.integration
def test_report_in_chromium(tiny_run, page, tmp_path):
    from lgn_hw.netlist import load
    from lgn_hw.train.metrics import unused_gates

    synth = tiny_run["synth"]
    assert synth is not None, "Yosys ran: the report has its synthesis"
    rows = [json.loads(line) for line in (tiny_run["run"] / "metrics.jsonl").read_text().splitlines()]
    # a frontier file in bench/frontier.py's format, of this run's own numbers
    frontier = tmp_path / "frontier.json"
    frontier.write_text(json.dumps({"dataset": "monk1", "published": [], "rows": [
        {"design": "tiny", "estimator": "soft", "discrete": rows[-1]["test_discrete"], "lut6": synth["luts"],
         "ff": synth["ffs"], "fmax_mhz": None, "latency_cycles": synth["latency_cycles"], "encoder_inside": False}]}))
    out = tmp_path / "report.html"
    assert main(["report", str(tiny_run["run"]), "--export", str(tiny_run["hw"]), "--out", str(out),
                 "--frontier", str(frontier)]) == 0
    page.set_content(out.read_text(), wait_until="load")

    charts = page.eval_on_selector_all(
        "svg.chart", "svgs => svgs.map(s => [s.id, Array.from(s.querySelectorAll('path')).filter("
        "p => (p.getAttribute('d') || '').trim().length > 0).length, s.querySelectorAll('title').length, "
        "s.getBoundingClientRect().width])")
    ids = [c[0] for c in charts]
    for want in ("chart-accuracy", "chart-gap", "chart-loss", "chart-lr", "chart-layers", "chart-ops",
                 "chart-hw-luts-0", "chart-frontier"):
        assert want in ids, ids
    for chart_id, paths, titles, width in charts:
        assert paths > 0 and titles > 0 and width > 100, (chart_id, paths, titles, width)

    acc = _cells(page, "table-accuracy")
    assert [int(r[0]) for r in acc] == [r["epoch"] for r in rows]
    head = page.eval_on_selector("#table-accuracy", "t => Array.from(t.tHead.rows[0].cells).map(c => c.textContent)")
    col = head.index("validation (discrete)")
    assert [float(r[col]) for r in acc] == [round(r["val_discrete"], 4) for r in rows]
    loss = _cells(page, "table-loss")
    assert [float(r[1]) for r in loss] == [float(f"{r['train_loss']:.5f}") for r in rows]

    net = load(tiny_run["run"] / "best.lgn.json")
    layers = _cells(page, "table-layers")
    assert [int(r[2]) for r in layers] == net.widths
    assert [int(r[3]) for r in layers] == list(unused_gates(net).per_layer)

    hw = _cells(page, "table-hw-0")
    assert [hw[0][0], int(hw[0][2]), int(hw[0][3])] == [synth["target"], synth["luts"], synth["ffs"]]

    assert [int(c) for c in _cells(page, "table-frontier")[0][3:5]] == [synth["luts"], synth["ffs"]]

    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot of the report: {shot}")
    assert shot.stat().st_size > 10_000
    assert page.requests == [] and page.errors == [], (page.requests, page.errors)


def test_report_refuses_a_folder_without_a_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "config.json: cannot read" in err, err


def test_report_refuses_an_export_folder_without_manifest(tiny_run, tmp_path, capsys):
    assert main(["report", str(tiny_run["run"]), "--export", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2
    assert "not an export folder (no manifest.json)" in capsys.readouterr().err
