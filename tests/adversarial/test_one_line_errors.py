"""One line, exit 2, not a traceback or a riddle (issue 22 item 13)."""

from __future__ import annotations

import re
import shlex

import numpy as np
import pytest

from lgn_hw.cli import main
from lgn_hw.hdl import Pipeline


def _one_line(capsys, argv, pattern) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"lgn-hw {argv[0]}: error: "), err
    assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


def _difflogic_state(**changes):
    import torch

    gen = torch.Generator().manual_seed(0)
    state = {"0.weights": torch.randn(8, 16, generator=gen), "0.indices": torch.randint(0, 6, (2, 8), generator=gen),
             "1.weights": torch.randn(4, 16, generator=gen), "1.indices": torch.randint(0, 8, (2, 4), generator=gen),
             "num_classes": 2}
    state.update(changes)
    return state


@pytest.mark.parametrize("change, pattern", [
    ("bool", r"0\.weights: a logic layer's weight must hold real numbers, not torch\.bool"),
    ("complex", r"0\.weights: a logic layer's weight must hold real numbers, not torch\.complex64"),
    ("classes", r"num_classes: must be one number, got shape \(3,\)"),
    ("negative", r"0\.indices: connection index a\[0\] is -1; indices must not be negative"),
])
def test_import_of_odd_tensors_is_one_line(tmp_path, capsys, change, pattern):
    import torch

    state = _difflogic_state()
    if change == "bool":
        state["0.weights"] = state["0.weights"] > 0
    elif change == "complex":
        state["0.weights"] = state["0.weights"].to(torch.complex64)
    elif change == "classes":
        state["num_classes"] = torch.tensor([2, 2, 2])
    else:
        state["0.indices"][0, 0] = -1
    torch.save(state, tmp_path / "m.pt")
    _one_line(capsys, ["import", "--from", "difflogic", str(tmp_path / "m.pt"), str(tmp_path / "o.lgn.json")],
              pattern)


def test_a_csv_value_beyond_float32_names_its_line_and_column(tmp_path, capsys):
    rows = "".join(f"{i % 3},{'1.7e308' if i == 5 else i % 4},{i % 2}\n" for i in range(30))
    (tmp_path / "d.csv").write_text("a,b,label\n" + rows)
    _one_line(capsys, ["train", "--data", str(tmp_path / "d.csv"), "--out", str(tmp_path / "r"), "--quiet"],
              r"d\.csv line 7, column 'b': '1\.7e308' is beyond the float32 range")


def test_npz_byte_labels_that_are_not_text_are_one_line(tmp_path, capsys):
    y = np.array([b"\xff\xfe" if i % 2 else b"a" for i in range(20)], dtype="S2")
    np.savez(tmp_path / "d.npz", x_train=np.random.default_rng(0).random((20, 3)), y_train=y)
    _one_line(capsys, ["train", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "r"), "--quiet"],
              r"y_train row 1: label bytes .* are not UTF-8 text")


def test_npz_non_ascii_text_labels_read(tmp_path):
    from lgn_hw.data import load_data_file

    y = np.array([("é" if i % 2 else "a").encode() for i in range(20)], dtype="S2")
    np.savez(tmp_path / "d.npz", x_train=np.random.default_rng(0).random((20, 3)), y_train=y)
    assert load_data_file(tmp_path / "d.npz").info["class_names"] == ["a", "é"]


def test_an_npz_too_small_to_split_is_one_line(tmp_path, capsys):
    np.savez(tmp_path / "d.npz", x_train=np.random.default_rng(0).random((2, 3)), y_train=np.array([0, 1]))
    _one_line(capsys, ["train", "--data", str(tmp_path / "d.npz"), "--out", str(tmp_path / "r"), "--quiet"],
              r"2 rows are too few to split off a test set")


def test_an_empty_npy_is_one_line(tmp_path, capsys):
    from lgn_hw.netlist import random_netlist

    random_netlist(6, [8, 6], 2, seed=1).save(tmp_path / "n.lgn.json")
    np.save(tmp_path / "x.npy", np.zeros((0, 6), dtype=np.uint8))
    _one_line(capsys, ["predict", str(tmp_path / "n.lgn.json"), str(tmp_path / "x.npy")], r"holds no samples")


def test_demo_refuses_unknown_simulators_before_training(tmp_path, capsys):
    _one_line(capsys, ["demo", "--sims", "bogus", "--out", str(tmp_path / "d"), "--quick"],
              r"--sims must list simulators of icarus, verilator, not 'bogus'")
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize("spec, pattern", [("gates=1,gates=2", r"gives gates twice"),
                                           (",", r"empty item"), ("gates=1,,popcount=1", r"empty item")])
def test_pipeline_specs_that_say_two_things_are_refused(spec, pattern):
    with pytest.raises(ValueError, match=pattern):
        Pipeline.parse(spec)


def test_the_printed_bench_command_is_shell_quoted(tmp_path, capsys):
    from lgn_hw.netlist import random_netlist

    random_netlist(6, [8, 6], 2, seed=1).save(tmp_path / "n.lgn.json")
    out = tmp_path / "my core; rm -rf x"
    assert main(["export", str(tmp_path / "n.lgn.json"), "--out", str(out), "--testbench", "--quiet"]) == 0
    line = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("run bench")][0]
    assert shlex.split(line[len("run bench"):])[:2] == ["cd", str(out)]
