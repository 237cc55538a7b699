import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from lgn_hw.cli import main
from lgn_hw.data import load_dataset
from lgn_hw.netlist import load, predict
from lgn_hw.train import ConfigError, TrainConfig, load_config, train
from lgn_hw.train.checkpoint import CheckpointError, atomic_path, load_checkpoint, save_checkpoint

# a tiny, fast task: MONK-1 (17 input bits), a small network
TINY = dict(dataset="monk1", layers=2, width=60, epochs=4, batch_size=32, lr=0.05, kernel="reference")


def test_trains_and_writes_everything(tmp_path):
    res = train(TrainConfig(**TINY), tmp_path / "run", quiet=True)
    out = tmp_path / "run"
    for name in ("checkpoint.pt", "metrics.jsonl", "best.lgn.json", "config.json", "accuracy.png", "gates.png"):
        assert (out / name).is_file(), name
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in recs] == [1, 2, 3, 4]
    assert recs[-1]["train_loss"] < recs[0]["train_loss"]  # training progresses
    net = load(out / "best.lgn.json")
    assert net.encoder is not None and net.metadata["dataset"] == "monk1"
    assert net.metadata["estimator"] == "soft" and net.metadata["epoch"] == res.best_epoch
    # the netlist takes raw features and reproduces the recorded test accuracy
    d = load_dataset("monk1")
    acc = float((predict(net, d.test.x).classes == d.test.y).mean())
    assert acc == pytest.approx(net.metadata["test_accuracy"]) == pytest.approx(res.test_accuracy)
    assert not list(out.glob(".*.tmp"))


def _params(model_state):
    return {k: v.clone() for k, v in model_state.items()}


MIXED = dict(layer_kind=["lut", "gate"], k=[4, 2])
LEARNED = dict(layer_kind="lut", k=[4, 3], connections="learned")


@pytest.mark.parametrize("stop_at, kinds", [(3, {}), (7, {}), (3, MIXED), (5, LEARNED)],
                         ids=["mid", "boundary", "mixed", "learned"])
def test_resume_matches_uninterrupted_run(tmp_path, stop_at, kinds):
    # mid-epoch (3) and exactly at an epoch boundary region (7); a LUT-4 + gate network
    cfg = TrainConfig(**dict(TINY, estimator="gumbel_st", schedule="cosine", **kinds))
    full = train(cfg, tmp_path / "full", quiet=True)

    def stop(trainer, step):
        if step == stop_at:
            trainer.request_stop()

    part = train(cfg, tmp_path / "part", quiet=True, callback=stop)
    assert part.interrupted and part.epochs_done < cfg.epochs
    resumed = train(cfg, tmp_path / "part", resume=True, quiet=True)
    assert not resumed.interrupted and resumed.epochs_done == cfg.epochs
    a = load_checkpoint(tmp_path / "full" / "checkpoint.pt")
    b = load_checkpoint(tmp_path / "part" / "checkpoint.pt")
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    strip = lambda h: [{k: v for k, v in r.items() if k != "time"} for r in h]  # noqa: E731
    assert strip(a["history"]) == strip(b["history"])
    assert load(tmp_path / "full" / "best.lgn.json") == load(tmp_path / "part" / "best.lgn.json")


def test_existing_run_needs_resume_and_same_settings(tmp_path):
    cfg = TrainConfig(**dict(TINY, epochs=1))
    train(cfg, tmp_path, quiet=True)
    with pytest.raises(CheckpointError, match="already holds a run"):
        train(cfg, tmp_path, quiet=True)
    with pytest.raises(CheckpointError, match=r"started with lr=0\.05, not 0\.1"):
        train(cfg.replace(lr=0.1), tmp_path, resume=True, quiet=True)
    more = train(cfg.replace(epochs=2), tmp_path, resume=True, quiet=True)  # epochs may grow
    assert more.epochs_done == 2
    with pytest.raises(CheckpointError, match="no checkpoint to resume from"):
        train(cfg, tmp_path / "none", resume=True, quiet=True)


def test_atomic_writes_leave_old_file_on_failure(tmp_path):
    path = tmp_path / "c.pt"
    save_checkpoint({"format": "lgn-hw-checkpoint", "x": torch.ones(3)}, path)
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half a checkp")
            raise RuntimeError("crash while writing")
    assert torch.equal(load_checkpoint(path, required=("x",))["x"], torch.ones(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]
    path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(path)


# ---------------------------------------------------------------- configuration
def test_config_file_and_flags(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[train]\ndataset = "monk1"\nlayers = 2\nwidth = 60\nepochs = 1\nlr = 0.05\nkernel = "reference"\n')
    assert load_config(cfg)["width"] == 60
    rc = main(["train", "--config", str(cfg), "--out", str(tmp_path / "r"), "--epochs", "2", "--quiet"])
    assert rc == 0
    saved = json.loads((tmp_path / "r" / "config.json").read_text())
    assert saved["epochs"] == 2 and saved["width"] == 60 and saved["dataset"] == "monk1"


def test_lut_layers_from_a_config_file_and_flags(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[train]\ndataset = "monk1"\nlayers = 2\nwidth = 60\nepochs = 1\nlr = 0.05\n'
                   'layer_kind = ["lut", "gate"]\nk = [4, 2]\n')
    assert main(["train", "--config", str(cfg), "--out", str(tmp_path / "r"), "--quiet"]) == 0
    net = load(tmp_path / "r" / "best.lgn.json")
    assert [layer.kind for layer in net.layers] == ["lut", "gate"] and net.layers[0].k == 4
    assert (tmp_path / "r" / "gates.png").is_file()
    rc = main(["train", "--config", str(cfg), "--out", str(tmp_path / "s"), "--layer-kind", "lut", "--k", "6"])
    assert rc == 0 and "nodes          120 (" in capsys.readouterr().out
    net = load(tmp_path / "s" / "best.lgn.json")
    assert [(layer.kind, layer.k) for layer in net.layers] == [("lut", 6), ("lut", 6)]
    assert not (tmp_path / "s" / "gates.png").exists()  # no gates to count
    d = load_dataset("monk1")
    acc = float((predict(net, d.test.x).classes == d.test.y).mean())
    assert acc == pytest.approx(net.metadata["test_accuracy"])


def test_checkpoint_without_newer_settings_resumes(tmp_path):
    """A run checkpointed before layer_kind and k existed resumes with their defaults."""
    cfg = TrainConfig(**dict(TINY, epochs=1))
    train(cfg, tmp_path, quiet=True)
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    for key in ("layer_kind", "k"):
        del state["config"][key]
    save_checkpoint(state, tmp_path / "checkpoint.pt")
    assert train(cfg.replace(epochs=2), tmp_path, resume=True, quiet=True).epochs_done == 2


@pytest.mark.parametrize("text, msg", [
    ("widht = 3\n", r"unknown key 'widht'"),
    ("layers = 2\nlayer_kind = ['lut']\n", r"'layer_kind' lists 1 kinds but 'layers' is 2"),
    ("layer_kind = 'lut'\nk = 8\n", r"'k' must be an integer in 2\.\.6 or a list of them, not 8"),
    ("k = '6'\n", r"'k' must be int or list, not '6'"),
    ("lr = 'fast'\n", r"'lr' must be float, not 'fast'"),
    ("epochs = 0\n", r"'epochs' must be at least 1, not 0"),
    ("layers = 2\nwidth = [10, 20, 30]\n", r"'width' lists 3 widths but 'layers' is 2"),
    ("optimizer = 'sgd'\n", r"'optimizer' must be one of adam, adamw, not 'sgd'"),
    ("lr = \n", r"not valid TOML"),
    ("[train]\nlr = 0.1\n[other]\nx = 1\n", r"unknown key 'other' beside the \[train\] table"),
])
def test_config_errors(tmp_path, capsys, text, msg):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    rc = main(["train", "--config", str(cfg), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert __import__("re").search(msg, err), err


def test_config_dataclass_errors():
    with pytest.raises(ConfigError, match=r"unknown configuration key 'bogus'"):
        TrainConfig().replace(bogus=1)
    with pytest.raises(ConfigError, match=r"'lr' must be a positive finite number"):
        TrainConfig(lr=-1.0)


def test_cli_errors(tmp_path, capsys):
    assert main(["train", "--dataset", "iris", "--out", str(tmp_path)]) == 2
    assert "unknown dataset 'iris'" in capsys.readouterr().err
    assert main(["train", "--dataset", "mnist", "--out", str(tmp_path)]) == 2
    assert "--data-dir" in capsys.readouterr().err
    assert main(["train", "--dataset", "digits", "--width", "55", "--out", str(tmp_path)]) == 2
    assert "not a multiple of the 10 classes" in capsys.readouterr().err
    assert main(["train", "--resume", "--out", str(tmp_path / "none")]) == 2
    assert "no checkpoint" in capsys.readouterr().err


def test_cli_train_prints_summary(tmp_path, capsys):
    rc = main(["train", "--dataset", "parity:4", "--layers", "2", "--width", "40", "--epochs", "2",
               "--kernel", "reference", "--out", str(tmp_path), "--quiet"])
    assert rc == 0 and capsys.readouterr().out == ""
    rc = main(["train", "--resume", "--epochs", "3", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "epochs         3 of 3" in out and "best.lgn.json" in out


@pytest.mark.slow
def test_ctrl_c_saves_and_resumes(tmp_path):
    """A real SIGINT: the process saves a checkpoint, exits 130, and --resume finishes the run."""
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "lgn_hw", "train", "--dataset", "monk1", "--layers", "2", "--width", "60",
           "--epochs", "400", "--batch-size", "8", "--kernel", "reference", "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "metrics.jsonl").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "--resume" in stdout
    state = load_checkpoint(out / "checkpoint.pt")
    assert 0 < state["epoch"] < 400
    assert not list(out.glob(".*.tmp"))
    rc = main(["train", "--resume", "--epochs", str(state["epoch"] + 1), "--out", str(out), "--quiet"])
    assert rc == 0
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == state["epoch"] + 1


def test_two_runs_of_one_seed_give_the_same_netlist(tmp_path):
    # learned connections big enough that the second layer's input gradient (128 x 360 slots
    # over 120 inputs) is summed by several threads: ATen's accumulating index_put_ summed it
    # in a varying order, and two runs on a loaded machine differed
    cfg = TrainConfig(**dict(TINY, layer_kind="lut", k=6, width=[120, 60], connections="learned",
                             batch_size=128, epochs=3, kernel="auto"))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        runs = [train(cfg, tmp_path / f"run{i}", quiet=True) for i in range(2)]
    finally:
        torch.set_num_threads(before)
    a, b = (load_checkpoint(tmp_path / f"run{i}" / "checkpoint.pt") for i in range(2))
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    for s, t in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert all(torch.equal(s[k], t[k]) for k in s)
    assert runs[0].netlist == runs[1].netlist
