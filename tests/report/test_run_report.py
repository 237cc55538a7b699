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
@pytest.mark.icarus
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
    hw = tiny_run["hw"]
    assert main(["verify", str(hw), "--samples", "8", "--waves", "--quiet"]) == 0   # Icarus, cocotb bench
    record = json.loads((hw / "verify-icarus.json").read_text())
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

    syn = _cells(page, "table-hw-0")
    assert [syn[0][0], int(syn[0][2]), int(syn[0][3])] == [synth["target"], synth["luts"], synth["ffs"]]

    ver = _cells(page, "table-verify-0")
    assert [ver[0][0], int(ver[0][2]), int(ver[0][3]), int(ver[0][4]), ver[0][-1]] == \
        ["icarus", record["samples"], record["checked"], 0, "PASS"]
    assert ver[0][5] == "stream_random, full_throughput"
    assert "the drawing reads VCD" in page.inner_text("#verification")   # Icarus records FST
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


def _simulated_vcd(export_dir, path, cycles):
    """A VCD of the exported core in Amaranth's simulator: gaps on in_valid, backpressure on out_ready."""
    from amaranth.sim import Simulator

    from lgn_hw.hdl.core import LgnCore
    from lgn_hw.netlist import load

    net = load(export_dir / "netlist.lgn.json")
    dut = LgnCore(net)
    sim = Simulator(dut)
    sim.add_clock(1e-8)

    async def bench(ctx):
        for i in range(cycles + 4):
            ctx.set(dut.in_valid, i % 3 != 2)
            ctx.set(dut.out_ready, i % 5 != 4)
            ctx.set(dut.in_data, (i * 2654435761) % (1 << net.num_inputs))
            await ctx.tick()

    sim.add_testbench(bench)
    with sim.write_vcd(str(path)):
        sim.run()


@pytest.mark.browser
def test_waveform_in_chromium(tiny_run, page, tmp_path):
    from lgn_hw.report.waves import read_vcd, waveform_svg

    vcd = tmp_path / "core.vcd"
    _simulated_vcd(tiny_run["hw"], vcd, 30)
    wave = read_vcd(vcd, cycles=24)
    assert len(wave.edges) == 24 and wave.values["out_valid"].count(1) > 0
    page.set_content(f"<!DOCTYPE html><html><body>{waveform_svg(wave)}</body></html>", wait_until="load")
    drawn = page.eval_on_selector("#waveform", "s => [s.dataset.cycles, s.querySelectorAll('g.cycle').length, "
                                  "Array.from(s.querySelectorAll('path.sig')).map(p => p.getAttribute('d'))]")
    assert drawn[0] == "24" and drawn[1] == 24
    clk = drawn[2][0]
    assert clk.count("M") == 24 and all(d.strip() for d in drawn[2])   # one clock period per cycle
    text = page.eval_on_selector("#waveform", "s => s.textContent")
    for name in ("clk", "in_valid", "in_ready", "out_valid", "out_ready", "out_class", "out_scores", "in_data[0]"):
        assert name in text
    tip = page.eval_on_selector("#waveform", "s => s.querySelectorAll('g.cycle')[9].querySelector('title').textContent")
    assert f"out_valid {wave.values['out_valid'][9]}" in tip, tip
    assert page.requests == [] and page.errors == [], (page.requests, page.errors)
