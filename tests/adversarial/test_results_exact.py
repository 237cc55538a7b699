"""Results that were silently wrong (issue 22 items 7 and 8): large integer labels merged through
float; predict's one-line-per-sample output broken by class names, and --out writing elsewhere."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lgn_hw.cli import main
from lgn_hw.data import load_data_file
from lgn_hw.netlist import random_netlist


def test_large_integer_csv_labels_stay_apart(tmp_path):
    lines = ["a,b,label"] + [f"{i % 7},{i % 5},{9007199254740992 + i % 2}" for i in range(40)]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    data = load_data_file(path)
    assert data.num_classes == 2
    assert data.info["class_names"] == ["9007199254740992", "9007199254740993"]


def test_large_int64_npz_labels_stay_apart(tmp_path):
    rng = np.random.default_rng(0)
    y = np.where(np.arange(40) % 2 == 0, 2**62, 2**62 + 1).astype(np.int64)
    np.savez(tmp_path / "d.npz", x_train=rng.random((40, 3)), y_train=y)
    data = load_data_file(tmp_path / "d.npz")
    assert data.num_classes == 2
    assert sorted(data.info["class_names"]) == [str(2**62), str(2**62 + 1)]


def test_labels_that_only_look_alike_stay_apart(tmp_path):
    """'1_0' is not the number 10 (Python's int() would say it is)."""
    lines = ["a,label"] + [f"{i % 3},{'10' if i % 2 else '1_0'}" for i in range(20)]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    assert load_data_file(tmp_path / "d.csv").num_classes == 2


def test_integral_float_labels_still_merge_with_integers(tmp_path):
    lines = ["a,label"] + [f"{i % 3},{'1' if i % 2 else '1.0'}" for i in range(10)] + ["1,2", "2,2.0"]
    (tmp_path / "d.csv").write_text("\n".join(lines) + "\n")
    assert load_data_file(tmp_path / "d.csv").info["class_names"] == ["1", "2"]


@pytest.fixture
def named_net(tmp_path):
    net = random_netlist(6, [8, 6], 2, seed=1)
    net.metadata["class_names"] = ["two\nlines", "a space"]
    path = tmp_path / "n.lgn.json"
    net.save(path)
    np.save(tmp_path / "x.npy", np.random.default_rng(0).integers(0, 2, (5, 6)).astype(np.uint8))
    return path


def test_predict_names_keep_one_line_per_sample(named_net, tmp_path, capsys):
    assert main(["predict", str(named_net), str(tmp_path / "x.npy"), "--names"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5
    for line in lines:
        name, end = json.JSONDecoder().raw_decode(line)
        rest = line[end:]
        assert name in ("two\nlines", "a space")
        assert all(s.isdigit() for s in rest.split())


@pytest.mark.parametrize("out", ["x.txt", "dir", "/dev/full"])
def test_predict_out_must_name_a_npy_file(named_net, tmp_path, capsys, out):
    target = out if out.startswith("/") else str(tmp_path / out)
    if out == "dir":
        (tmp_path / "dir").mkdir()
    assert main(["predict", str(named_net), str(tmp_path / "x.npy"), "--out", target]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and ".npy" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "x.txt.npy").exists() and not (tmp_path / "dir.npy").exists()


def test_predict_says_where_the_output_went(named_net, tmp_path, capsys):
    assert main(["predict", str(named_net), str(tmp_path / "x.npy"), "--out", str(tmp_path / "c.npy")]) == 0
    assert str(tmp_path / "c.npy") in capsys.readouterr().err
    assert np.load(tmp_path / "c.npy").shape == (5,)
