import json

import numpy as np
import pytest

from lgn_hw.cli import main
from lgn_hw.data import DataError, load_data_file, read_inputs, stratified_split
from lgn_hw.netlist import Layer, Netlist


def write_csv(path, text):
    path.write_text(text)
    return path


def fruit_csv(path, n=60, seed=0):
    """Two numeric columns, one text column and a text label that depends on them."""
    rng = np.random.default_rng(seed)
    lines = ["weight,colour,length,kind"]
    for _ in range(n):
        kind = rng.choice(["apple", "banana", "cherry"])
        w = {"apple": 150, "banana": 120, "cherry": 8}[kind] + rng.normal(0, 5)
        colour = {"apple": "red", "banana": "yellow", "cherry": "red"}[kind]
        length = {"apple": 8, "banana": 20, "cherry": 2}[kind] + rng.normal(0, 0.5)
        lines.append(f"{w:.2f},{colour},{length:.3f},{kind}")
    return write_csv(path, "\n".join(lines) + "\n")


def test_csv_with_text_label_and_text_column(tmp_path):
    d = load_data_file(fruit_csv(tmp_path / "fruit.csv"), levels=4)
    assert d.name == "fruit" and d.num_classes == 3
    assert d.info["class_names"] == ["apple", "banana", "cherry"]
    assert d.info["columns"] == ["weight", "colour", "length"] and d.info["label"] == "kind"
    assert len(d.train) + len(d.val) + len(d.test) == 60
    f = d.encoder.features
    assert [x.kind for x in f] == ["thermometer", "onehot", "thermometer"]
    assert f[1].labels == ("red", "yellow") and f[1].values == (0, 1)
    assert d.encoder.quantized and d.num_inputs == 4 + 2 + 4
    # every class is in every split (stratified), and the split is fixed by the seed
    for s in ("train", "val", "test"):
        assert set(d.split(s).y) == {0, 1, 2}
    again = load_data_file(tmp_path / "fruit.csv", levels=4)
    np.testing.assert_array_equal(d.test.x, again.test.x)
    other = load_data_file(tmp_path / "fruit.csv", levels=4, split_seed=1)
    assert not np.array_equal(d.test.x, other.test.x)


def test_encoder_is_fitted_on_the_training_split_only(tmp_path):
    lines = ["x,y"] + [f"{i},{i % 2}" for i in range(100)]
    d = load_data_file(write_csv(tmp_path / "a.csv", "\n".join(lines)), levels=1, thresholds="uniform")
    f = d.encoder.features[0]
    lo, hi = d.train.x.min(), d.train.x.max()
    assert f.offset == 0 and f.scale == 1  # integers keep their grid
    assert f.values == (int(np.floor((lo + hi) / 2)),)
    # a text category seen only outside the training split sets no bit
    lines = ["c,y"] + ["a,0", "b,1"] * 20
    d = load_data_file(write_csv(tmp_path / "b.csv", "\n".join(lines)),
                       test=write_csv(tmp_path / "bt.csv", "c,y\na,0\nz,1\n"))
    assert d.encoder.features[0].labels == ("a", "b")
    assert d.bits("test").tolist() == [[1, 0], [0, 0]]


def test_integer_labels_sort_numerically_and_label_option(tmp_path):
    text = "cls,a,b\n" + "10,1,2\n9,3,4\n10,5,6\n9,7,8\n" * 3
    d = load_data_file(write_csv(tmp_path / "c.csv", text), label="cls")
    assert d.info["class_names"] == ["9", "10"] and d.info["columns"] == ["a", "b"]


def test_stratified_split_keeps_proportions():
    y = np.array([0] * 90 + [1] * 10)
    rest, part = stratified_split(y, 0.2, seed=3)
    assert sorted(np.concatenate([rest, part])) == list(range(100))
    assert (y[part] == 0).sum() == 18 and (y[part] == 1).sum() == 2


@pytest.mark.parametrize("text, msg", [
    ("", r"a\.csv: empty file \(expected a header line naming the columns\)$"),
    ("a,b\n", r"a\.csv: no data rows after the header$"),
    ("a,b\n1,0\n2\n", r"a\.csv line 3: 1 fields, but the header has 2$"),
    ("a,b\n1,0\n,1\n", r"a\.csv line 3, column 'a': missing value ''$"),
    ("a,b\n1,0\nNA,1\n", r"a\.csv line 3, column 'a': missing value 'NA'$"),
    ("a,b\n1,0\n2,1\nx7,1\n", r"a\.csv line 4, column 'a': 'x7' is not a number \(the column is numeric\)$"),
    ("a,b\n1,0\ninf,1\n", r"a\.csv line 3, column 'a': 'inf' is not a finite number$"),
    ("a,b\n1,0\n2,0\n", r"a\.csv, column 'b': the labels hold one class only \('0'\); need at least 2$"),
    ("a,a\n1,0\n", r"a\.csv line 1: column 'a' is named twice$"),
    ("a,b\n" + "".join(f"{i},{i * 0.5}\n" for i in range(30)),
     r"a\.csv, column 'b': 30 distinct labels in 30 rows; is it the label column\? \(name it with --label\)$"),
])
def test_bad_csv_is_one_line(tmp_path, text, msg):
    with pytest.raises(DataError, match=msg):
        load_data_file(write_csv(tmp_path / "a.csv", text))


def test_missing_label_column_and_bad_test_file(tmp_path):
    p = write_csv(tmp_path / "a.csv", "a,b\n1,0\n2,1\n")
    with pytest.raises(DataError, match=r"a\.csv: no label column 'kind' \(columns: a, b\)$"):
        load_data_file(p, label="kind")
    t = write_csv(tmp_path / "t.csv", "a,b\n1,0\n2,7\n")
    with pytest.raises(DataError, match=r"t\.csv line 3, column 'b': label '7' is not one of the training classes"):
        load_data_file(p, test=t)
    with pytest.raises(DataError, match=r"no such file"):
        load_data_file(tmp_path / "none.csv")


def test_npz(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 3))
    y = np.where(x[:, 0] > 0, "pos", "neg")
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    d = load_data_file(tmp_path / "d.npz", levels=2)
    assert d.info["class_names"] == ["neg", "pos"] and len(d.test) == 10
    assert len(d.train) + len(d.val) == 80 and d.encoder.quantized
    np.savez(tmp_path / "e.npz", x_train=np.zeros((4, 2)), y_train=np.zeros(4, dtype=int))
    with pytest.raises(DataError, match=r"e\.npz, y_train: the labels hold one class only"):
        load_data_file(tmp_path / "e.npz")
    x[3, 1] = np.nan
    np.savez(tmp_path / "f.npz", x_train=x, y_train=y)
    with pytest.raises(DataError, match=r"f\.npz: x_train row 3, column 1: missing value"):
        load_data_file(tmp_path / "f.npz")
    np.savez(tmp_path / "g.npz", x_train=x)
    with pytest.raises(DataError, match=r"g\.npz: no array 'y_train'"):
        load_data_file(tmp_path / "g.npz")


def _net(encoder, metadata, num_classes=2):
    from lgn_hw.data import Encoder

    nb = Encoder.from_dict(encoder).num_bits
    layer = Layer(np.zeros(num_classes, dtype=np.int64), np.zeros(num_classes, dtype=np.int64),
                  np.full(num_classes, 3))
    return Netlist(nb, (layer,), num_classes, 1.0, encoder, metadata)


def test_read_inputs_maps_columns_text_and_labels(tmp_path):
    d = load_data_file(fruit_csv(tmp_path / "fruit.csv"), levels=2)
    net = _net(d.encoder.to_dict(), dict(d.info), 3)
    p = write_csv(tmp_path / "new.csv", "length,kind,colour,weight\n2.0,cherry,red,8\n20,banana,blue,120\n")
    got = read_inputs(p, net)  # columns found by name, the label mapped through class_names
    assert got.y.tolist() == [2, 1]
    assert got.x.tolist() == [[8, 0, 2], [120, 2, 20]]  # 'blue' is unseen: code 2, no bit
    got = read_inputs(write_csv(tmp_path / "nolabel.csv", "weight,colour,length\n8,red,2\n"), net)
    assert got.y is None and got.x.shape == (1, 3)
    with pytest.raises(DataError, match=r"no column 'length'"):
        read_inputs(write_csv(tmp_path / "bad.csv", "weight,colour\n8,red\n"), net)


# ---------------------------------------------------------------- the CLI: train --data, predict
_SMALL = ["--layers", "2", "--width", "30", "--epochs", "3", "--levels", "2", "--kernel", "reference"]


def test_train_and_predict_a_csv_with_a_text_label(tmp_path, capsys):
    data = fruit_csv(tmp_path / "fruit.csv", n=90)
    assert main(["train", "--data", str(data), "--out", str(tmp_path / "r"), *_SMALL]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines()[0].startswith("settings       ")
    assert "the defaults, then flags data=" in out.splitlines()[0]
    # not a terminal: one line per epoch, no carriage-return redraws
    assert "\r" not in err and [line.split(":")[1].split()[:2] for line in err.splitlines()] == \
        [["epoch", "1/3"], ["epoch", "2/3"], ["epoch", "3/3"]]
    net = json.loads((tmp_path / "r" / "best.lgn.json").read_text())
    assert net["metadata"]["class_names"] == ["apple", "banana", "cherry"]
    assert net["metadata"]["columns"] == ["weight", "colour", "length"] and net["metadata"]["label"] == "kind"
    assert net["encoder"]["features"][1]["labels"] == ["red", "yellow"]
    assert main(["predict", str(tmp_path / "r" / "best.lgn.json"), str(data), "--names"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 90 and {line.split()[0] for line in out.splitlines()} <= {
        "apple", "banana", "cherry"}
    assert err.startswith("accuracy ") and err.endswith(" of 90)\n")


@pytest.mark.parametrize("text, msg", [
    ("a,b\n1,0\n,1\n", "bad.csv line 3, column 'a': missing value ''"),
    ("a,b\n1,0\n2\n", "bad.csv line 3: 1 fields, but the header has 2"),
    ("", "bad.csv: empty file"),
])
def test_bad_data_is_one_line_and_writes_nothing(tmp_path, capsys, text, msg):
    bad = write_csv(tmp_path / "bad.csv", text)
    assert main(["train", "--data", str(bad), "--out", str(tmp_path / "r"), *_SMALL]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and msg in err and err.startswith("lgn-hw train: error: ")
    assert not (tmp_path / "r").exists()


def test_data_option_errors(tmp_path, capsys):
    data = fruit_csv(tmp_path / "fruit.csv", n=30)
    assert main(["train", "--data", str(data), "--label", "size", "--out", str(tmp_path / "r"), *_SMALL]) == 2
    assert "no label column 'size' (columns: weight, colour, length, kind)" in capsys.readouterr().err
    assert main(["train", "--data", str(data), "--dataset", "monk1", "--out", str(tmp_path / "r")]) == 2
    assert "give --dataset or --data, not both" in capsys.readouterr().err
    assert main(["train", "--test", str(data), "--out", str(tmp_path / "r")]) == 2
    assert "'test' goes with 'data'" in capsys.readouterr().err


def test_read_inputs_npz_and_npy(tmp_path):
    d = load_data_file(fruit_csv(tmp_path / "fruit.csv"), levels=2)
    net = _net(d.encoder.to_dict(), dict(d.info), 3)
    np.savez(tmp_path / "t.npz", x_test=d.test.x, y_test=np.array(d.info["class_names"])[d.test.y])
    got = read_inputs(tmp_path / "t.npz", net)
    np.testing.assert_array_equal(got.x, d.test.x)
    np.testing.assert_array_equal(got.y, d.test.y)
    np.save(tmp_path / "x.npy", d.test.x)
    assert read_inputs(tmp_path / "x.npy", net).y is None
    with pytest.raises(DataError, match=r"unknown data file type '\.txt'"):
        read_inputs(tmp_path / "x.txt", net)


def test_default_width_fits_the_classes_of_a_data_file(tmp_path):
    from lgn_hw.cli import build_parser
    from lgn_hw.commands.train import _fit_width, resolve_config

    def fit(*argv):
        args = build_parser().parse_args(["train", "--out", "r", "--data", "f.csv", *argv])
        cfg, summary = resolve_config(args)
        return _fit_width(args, cfg, summary, 3)

    cfg, summary = fit("--layers", "2")
    assert cfg.width == [4000, 3999] and summary.endswith("; last layer 3999 wide (a multiple of the 3 classes)")
    assert fit("--layers", "2", "--width", "4000")[0].width == 4000  # given: kept (and refused later)
