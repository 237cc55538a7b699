"""Every input is read bounded, from a regular file, and schema-checked (issue 22 item 5).

A link to ``/dev/zero`` once took all memory, a FIFO blocked forever, and JSON of
the wrong shape (a list for an object, deep nesting, strings for numbers)
crashed the report with a traceback.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from lgn_hw.cli import main
from lgn_hw.report import ReportError, build_report

needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")


@pytest.fixture
def run_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({"dataset": "monk1", "layers": 1, "width": 8, "epochs": 1}))
    (run / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "train_acc": 0.5, "val_discrete": 0.5}) + "\n")
    return run


def _one_line(capsys, command) -> str:
    err = capsys.readouterr().err
    assert err.startswith(f"lgn-hw {command}: error: ") and len(err.strip().splitlines()) == 1, err
    return err


@needs_dev_zero
@pytest.mark.parametrize("name", ["config.json", "metrics.jsonl"])
def test_report_inputs_linked_to_an_endless_device_are_refused(run_folder, name):
    (run_folder / name).unlink()
    (run_folder / name).symlink_to("/dev/zero")
    with pytest.raises(ReportError, match=rf"{name}: is a character device"):
        build_report(run_folder)


@pytest.mark.parametrize("name", ["config.json", "metrics.jsonl"])
def test_report_inputs_that_are_fifos_are_refused_without_waiting(run_folder, name):
    (run_folder / name).unlink()
    os.mkfifo(run_folder / name)
    with pytest.raises(ReportError, match=rf"{name}: is a FIFO"):
        build_report(run_folder)


@pytest.mark.parametrize("config, message", [
    ([1, 2], r"must hold a JSON object, not list"),
    ("[" * 200_000 + "]" * 200_000, r"nested too deeply|not valid JSON"),
])
def test_a_config_of_the_wrong_shape_is_one_error(run_folder, config, message):
    (run_folder / "config.json").write_text(config if isinstance(config, str) else json.dumps(config))
    with pytest.raises(ReportError, match=message):
        build_report(run_folder)


@pytest.mark.parametrize("row, message", [
    ({"epoch": "one"}, r"'epoch' must be an integer"),
    ({"epoch": 1, "train_loss": "low"}, r"'train_loss' must be a number"),
    ({"epoch": 1, "val_discrete": [0.5]}, r"'val_discrete' must be a number"),
])
def test_metrics_of_the_wrong_types_are_one_error(run_folder, capsys, row, message):
    (run_folder / "metrics.jsonl").write_text(json.dumps(row) + "\n")
    with pytest.raises(ReportError, match=message):
        build_report(run_folder)
    assert main(["report", str(run_folder), "--out", str(run_folder / "r.html")]) == 2
    _one_line(capsys, "report")


def test_a_long_run_is_drawn_from_a_bounded_number_of_epochs(run_folder):
    rows = [{"epoch": e, "train_loss": 1.0 / e, "val_discrete": 0.5, "best": e == 7777} for e in range(1, 20_001)]
    (run_folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    page = build_report(run_folder)
    table = page[page.index('id="table-loss"'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr>") <= 2_100
    assert "<td>7777</td>" in table and "<td>20000</td>" in table    # the best and the last epoch
    assert "20000 of 1" in page                                       # the run section counts them all


def test_a_frontier_of_the_wrong_shape_is_one_error_or_skipped(run_folder, tmp_path):
    bad = tmp_path / "frontier.json"
    bad.write_text(json.dumps([1, 2]))
    with pytest.raises(ReportError, match=r"must hold a JSON object, not list"):
        build_report(run_folder, frontier=bad)
    bad.write_text(json.dumps({"rows": [1, "x", {"lut6": "many", "discrete": "high"}],
                               "published": [[1], "x", ["a", "b", "c"]]}))
    assert "has no design with LUTs" in build_report(run_folder, frontier=bad)


def test_synthesis_figures_of_the_wrong_types_show_as_dashes(folder, run_folder):
    from lgn_hw.hdl import load_export
    from lgn_hw.hdl.digest import core_digest

    digest = core_digest(load_export(folder))
    (folder / "synth-xilinx-7").mkdir()
    (folder / "synth-xilinx-7" / "report.json").write_text(json.dumps(
        {"target": ["x"], "luts": "12", "fmax_mhz": "fast", "utilization": [1], "blocks": {"popcount": 3},
         "timing_met": "yes", **digest}))
    page = build_report(run_folder, [folder])
    assert 'id="table-hw-0"' in page


# -- data files ------------------------------------------------------------------------------------

@needs_dev_zero
@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_training_data_linked_to_dev_zero_is_refused(tmp_path, capsys, suffix):
    data = tmp_path / f"data{suffix}"
    data.symlink_to("/dev/zero")
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert "is a character device" in _one_line(capsys, "train")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("suffix", [".csv", ".npz"])
def test_training_data_that_is_a_fifo_is_refused_without_waiting(tmp_path, capsys, suffix):
    data = tmp_path / f"data{suffix}"
    os.mkfifo(data)
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert "is a FIFO" in _one_line(capsys, "train")


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_predict_refuses_a_fifo_without_waiting(tmp_path, capsys, suffix):
    from lgn_hw.netlist import random_netlist

    net = tmp_path / "n.lgn.json"
    random_netlist(6, [8, 6], 2, seed=1).save(net)
    data = tmp_path / f"x{suffix}"
    os.mkfifo(data)
    assert main(["predict", str(net), str(data)]) == 2
    assert "is a FIFO" in _one_line(capsys, "predict")


def test_verify_inputs_fifo_is_refused_without_waiting(folder, tmp_path, capsys):
    data = tmp_path / "x.npy"
    os.mkfifo(data)
    assert main(["verify", str(folder), "--inputs", str(data), "--quiet"]) == 2
    assert "is a FIFO" in _one_line(capsys, "verify")


def test_a_regular_npy_still_reads(tmp_path):
    from lgn_hw.data.files import read_npy

    np.save(tmp_path / "x.npy", np.arange(12, dtype=np.int16).reshape(3, 4))
    assert read_npy(tmp_path / "x.npy").tolist() == np.arange(12).reshape(3, 4).tolist()
