"""Hostile command-line inputs (issue 15, items 9-12): each gives one line on stderr and exit
status 2, never a traceback, never a replaced device node, never a read that eats the memory."""

from __future__ import annotations

import json
import os
import stat

import pytest

from lgn_hw.cli import main
from lgn_hw.netlist import NetlistError, load, random_netlist
from lgn_hw.netlist.model import MAX_FILE_BYTES, PathError, atomic_write_text, loads, parse_json


@pytest.fixture
def net_file(tmp_path):
    return random_netlist(6, [8, 4], 2, seed=3).save(tmp_path / "n.lgn.json")


def one_line_error(capsys, argv, pattern=None) -> str:
    """Run the CLI; assert exit status 2 and a single ``lgn-hw CMD: error: ...`` line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"lgn-hw {argv[0]}: error: "), err
    if pattern is not None:
        import re

        assert re.search(pattern, lines[0]), lines[0]
    return lines[0]


# -- item 9: outputs that are not regular files ----------------------------------------------
def test_a_fifo_output_is_refused_not_replaced(tmp_path, net_file, capsys):
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    one_line_error(capsys, ["optimize", str(net_file), str(fifo)], r"is a FIFO; refusing to replace it")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_device_output_is_refused_also_behind_a_link(tmp_path, net_file, capsys):
    link = tmp_path / "link.lgn.json"
    link.symlink_to("/dev/full")
    for target in ("/dev/full", str(link)):
        one_line_error(capsys, ["optimize", str(net_file), target], r"is a character device; refusing")
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode) and link.is_symlink()


def test_a_directory_output_is_refused(tmp_path, net_file, capsys):
    (tmp_path / "somedir").mkdir()
    one_line_error(capsys, ["optimize", str(net_file), str(tmp_path / "somedir")], r"is a directory; refusing")


def test_an_output_under_a_file_is_refused(tmp_path, net_file, capsys):
    (tmp_path / "afile").write_text("x")
    one_line_error(capsys, ["optimize", str(net_file), str(tmp_path / "afile" / "sub" / "o.lgn.json")],
                   r"afile is not a directory$")


def test_the_writer_still_replaces_a_regular_file_and_writes_new_paths(tmp_path):
    path = tmp_path / "new" / "f.txt"
    atomic_write_text(path, "one")
    atomic_write_text(path, "two")
    assert path.read_text() == "two"
    with pytest.raises(PathError, match=r"is a directory; refusing to replace it"):
        atomic_write_text(tmp_path / "new", "x")


# -- item 11: bounded reads of netlists and configs ------------------------------------------
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.parametrize("argv", [["info", "{zero}"], ["train", "--out", "{tmp}/run", "--config", "{zero}"]])
def test_a_link_to_dev_zero_is_refused_before_reading(tmp_path, capsys, argv):
    zero = tmp_path / "zero"
    zero.symlink_to("/dev/zero")
    argv = [a.format(zero=zero, tmp=tmp_path) for a in argv]
    one_line_error(capsys, argv, r"zero: is a character device, not a (netlist|config) file$")


def test_a_fifo_netlist_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "n.lgn.json"
    os.mkfifo(fifo)
    with pytest.raises(NetlistError, match=r"is a FIFO, not a netlist file$"):
        load(fifo)


def test_a_netlist_file_beyond_the_limit_is_refused_unread(tmp_path):
    big = tmp_path / "big.lgn.json"
    with open(big, "wb") as f:  # sparse: takes no disk space
        f.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(NetlistError, match=r"larger than the 512 MiB a netlist file may have \(\d+ bytes\)$"):
        load(big)


def test_a_config_beyond_the_limit_is_refused(tmp_path):
    from lgn_hw.train.config import ConfigError, load_config

    cfg = tmp_path / "c.toml"
    cfg.write_text("epochs = 1\n" + "#" * (1 << 20) + "\n")
    with pytest.raises(ConfigError, match=r"c\.toml: larger than the 1 MiB a config file may have"):
        load_config(cfg)


# -- item 10: duplicate JSON keys --------------------------------------------------------------
def test_a_duplicate_key_in_a_netlist_is_an_error_naming_it(net_file):
    text = net_file.read_text()
    assert '"num_classes": 2' in text
    dup = text.replace('"num_classes": 2', '"num_classes": 2, "num_classes": 1')
    with pytest.raises(NetlistError, match=r"^netlist: duplicate key 'num_classes' in a JSON object$"):
        loads(dup)
    nested = text.replace('"metadata": {', '"metadata": {"seed": 1, "seed": 2, ', 1)
    with pytest.raises(NetlistError, match=r"^netlist: duplicate key 'seed'"):
        loads(nested)


def test_parse_json_is_strict():
    assert parse_json('{"a": [1, {"b": 2}]}', "x") == {"a": [1, {"b": 2}]}
    for text, message in (('{"a": 1, "a": 1}', r"^x: duplicate key 'a'"), ("[Infinity]", r"^x: Infinity is not"),
                          ("{", r"^x: not valid JSON")):
        with pytest.raises(ValueError, match=message):
            parse_json(text, "x")
    assert json.loads('{"a": 1, "a": 2}') == {"a": 2}  # what the stdlib does alone


# -- item 12: argument ranges: one seed range for every subcommand, bounded --samples ---------
def _argparse_error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize("argv", [
    ["train", "--out", "o", "--seed", str(10**20)],
    ["train", "--out", "o", "--split-seed", "-1"],
    ["export", "n.lgn.json", "--out", "o", "--seed", "1e3"],
    ["verify", "d", "--seed", str(2**31)],
    ["synth", "d", "--seed", str(2**40)],
])
def test_seeds_out_of_range_are_refused_by_every_subcommand(capsys, argv):
    line = _argparse_error(capsys, argv)
    flag = next(a for a in argv if a.endswith("seed"))
    assert line.endswith(f"argument {flag}: must be an integer in 0..2147483647, not {argv[-1]!r}"), line


@pytest.mark.parametrize("argv", [["verify", "d"], ["export", "n.lgn.json", "--out", "o"]])
@pytest.mark.parametrize("samples", ["1e10", "10000000000", "0"])
def test_samples_beyond_the_limit_are_refused(capsys, argv, samples):
    line = _argparse_error(capsys, argv + ["--samples", samples])
    assert line.endswith(f"argument --samples: must be an integer in 1..1048576, not {samples!r}"), line


def test_a_seed_in_a_config_file_is_checked_too(tmp_path):
    from lgn_hw.train.config import ConfigError, TrainConfig

    with pytest.raises(ConfigError, match=r"^'seed' must be an integer in 0\.\.2147483647, not 10{20}$"):
        TrainConfig(seed=10**20)


# -- item 12: closed pipes and OS errors -------------------------------------------------------
def test_a_closed_pipe_ends_info_quietly(net_file):
    import subprocess
    import sys

    # 20000 layer lines: far more than a pipe holds, so writing surely meets the closed pipe
    big = random_netlist(6, [8] * 20000, 2, seed=1).save(net_file.parent / "big.lgn.json")
    proc = subprocess.run(["bash", "-c", f"{sys.executable} -m lgn_hw info {big} | head -1; "
                                         "echo status ${PIPESTATUS[0]} >&2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.stdout.startswith("netlist") and len(proc.stdout.splitlines()) == 1
    assert proc.stderr == "status 141\n", proc.stderr  # no traceback, no "Exception ignored"


def test_os_errors_are_one_line(tmp_path, net_file, capsys, monkeypatch):
    # what a read-only folder gives a user who is not root (root may write anywhere)
    from lgn_hw.netlist import Netlist

    target = tmp_path / "ro" / "o.lgn.json"

    def refuse(self, path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(Netlist, "save", refuse)
    one_line_error(capsys, ["optimize", str(net_file), str(target)], r"o\.lgn\.json: Permission denied$")


# -- items 10, 12: imported models -------------------------------------------------------------
@pytest.mark.parametrize("text", ["hello\n", "x = 1\ny = 2\n", "{\"state_dict\": {}}\n"])
def test_importing_a_text_file_is_one_line(tmp_path, capsys, text):
    model = tmp_path / "model.pt"
    model.write_text(text)
    one_line_error(capsys, ["import", "--from", "difflogic", str(model), str(tmp_path / "o.lgn.json")],
                   r"model\.pt: cannot read as saved tensors")


def _difflogic_state(first_columns=16):
    import torch

    gen = torch.Generator().manual_seed(0)
    return {"0.weights": torch.randn(8, first_columns, generator=gen),
            "0.indices": torch.randint(0, 6, (2, 8), generator=gen),
            "1.weights": torch.randn(4, 16, generator=gen),
            "1.indices": torch.randint(0, 8, (2, 4), generator=gen), "num_classes": 2}


@pytest.mark.parametrize("columns", [15, 17, 4])
def test_a_first_layer_of_the_wrong_shape_is_an_error_not_dropped(tmp_path, capsys, columns):
    import torch

    from lgn_hw.netlist.importers import from_difflogic

    assert from_difflogic(_difflogic_state()).depth == 2
    with pytest.raises(NetlistError, match=rf"^0\.weights: a logic layer's weight must have shape \(out_dim, 16\), "
                                           rf"got \(8, {columns}\)$"):
        from_difflogic(_difflogic_state(columns))
    torch.save(_difflogic_state(columns), tmp_path / "m.pt")
    one_line_error(capsys, ["import", "--from", "difflogic", str(tmp_path / "m.pt"), str(tmp_path / "o.lgn.json")],
                   r"0\.weights: a logic layer's weight must have shape")


def test_a_torchlogix_layer_of_the_wrong_shape_is_an_error():
    import torch

    from lgn_hw.netlist.importers import from_torchlogix

    state = {"0.weight": torch.randn(8, 3), "0.connections.indices": torch.randint(0, 6, (2, 8)),
             "1.weight": torch.randn(4, 16), "1.connections.indices": torch.randint(0, 8, (2, 4)),
             "head.weight": torch.randn(3, 7)}  # no connections: another module's weight, ignored
    with pytest.raises(NetlistError, match=r"^0\.weight: a logic layer's weight must have shape "
                                           r"\(out_dim, 16 or 4\), got \(8, 3\)$"):
        from_torchlogix(state, num_classes=2)
    state["0.weight"] = torch.randn(8, 16)
    assert from_torchlogix(state, num_classes=2).depth == 2


# -- item 10: predict on NaN or infinite raw features --------------------------------------------
@pytest.mark.parametrize("value, shown", [(float("nan"), "nan"), (float("inf"), "inf"), (-float("inf"), "-inf")])
def test_predict_refuses_non_finite_features(tmp_path, capsys, value, shown):
    import numpy as np

    from lgn_hw.data.encoding import fit_thermometer
    from lgn_hw.netlist import Netlist, predict

    x = np.random.default_rng(0).normal(size=(20, 3))
    enc = fit_thermometer(x, 2)
    base = random_netlist(enc.num_bits, [8, 4], 2, seed=1)
    net = Netlist(base.num_inputs, base.layers, 2, encoder=enc.to_dict())
    x[7, 2] = value
    with pytest.raises(ValueError, match=rf"^raw input row 7 column 2 is {shown}: features must be finite numbers$"):
        predict(net, x)
    np.save(tmp_path / "x.npy", x)
    one_line_error(capsys, ["predict", str(net.save(tmp_path / "n.lgn.json")), str(tmp_path / "x.npy")],
                   rf"row 7 column 2 is {shown}")


# -- item 12: a netlist far too wide to export ---------------------------------------------------
def test_exporting_a_billion_inputs_is_refused_early(tmp_path, net_file, capsys):
    d = json.loads(net_file.read_text())
    d["num_inputs"] = 10**9  # valid as a netlist: the gates read only the first inputs
    wide = tmp_path / "wide.lgn.json"
    wide.write_text(json.dumps(d))
    assert load(wide).num_inputs == 10**9
    one_line_error(capsys, ["export", str(wide), "--out", str(tmp_path / "hw")],
                   r"num_inputs 1000000000 is more than the 1048576 input bits an exported core may have$")
    assert not (tmp_path / "hw").exists()



def test_a_duplicate_key_in_a_config_is_an_error_naming_it(tmp_path):
    from lgn_hw.train.config import ConfigError, load_config

    cfg = tmp_path / "c.toml"
    cfg.write_text("[train]\nlr = 0.1\nepochs = 2\nlr = 0.2\n")
    with pytest.raises(ConfigError, match=r"c\.toml: not valid TOML \(duplicate key 'lr' at line 4\)$"):
        load_config(cfg)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_predict_out_is_written_by_the_safe_writer(tmp_path, net_file, capsys):
    import numpy as np

    bits = np.random.default_rng(0).integers(0, 2, (5, 6), dtype=np.uint8)
    np.save(tmp_path / "x.npy", bits)
    (tmp_path / "full.npy").symlink_to("/dev/full")
    one_line_error(capsys, ["predict", str(net_file), str(tmp_path / "x.npy"), "--out", str(tmp_path / "full.npy")],
                   r"full\.npy: is a character device; refusing to replace it")
    assert (tmp_path / "full.npy").is_symlink()
    assert main(["predict", str(net_file), str(tmp_path / "x.npy"), "--out", str(tmp_path / "c.npy")]) == 0
    assert np.load(tmp_path / "c.npy").shape == (5,)   # (a name without .npy is refused: issue 22 item 8)
