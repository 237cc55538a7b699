"""``--resume`` is bit-identical also with ``--shift`` (issue 22 item 6): the shift generator's state
is in the checkpoint. And a run that died before its first checkpoint does not block a rerun (item 11)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lgn_hw.data.dataset import Split
from lgn_hw.data.datasets import _finish
from lgn_hw.train import TrainConfig, train
from lgn_hw.train.checkpoint import load_checkpoint


def _tiny_mnist():
    """A 28 x 28 image dataset named mnist (the shift needs one): 96 random images, 2 classes."""
    rng = np.random.default_rng(0)

    def split(n):
        y = rng.integers(0, 2, n)
        x = rng.integers(0, 256, (n, 784)).astype(np.uint8)
        x[y == 1, :392] //= 4          # something to learn
        return Split(x, y)

    return _finish("mnist", 2, split(96), split(32), split(32), 1, "uniform", False, {"source": "test"})


@pytest.mark.parametrize("stop_at", [3, 6])   # mid-epoch and at the end of the first epoch (6 steps)
def test_resume_with_shift_matches_the_uninterrupted_run(tmp_path, stop_at):
    data = _tiny_mnist()
    cfg = TrainConfig(dataset="mnist", layers=2, width=40, epochs=3, batch_size=16, lr=0.05, shift=2,
                      kernel="reference")
    train(cfg, tmp_path / "full", quiet=True, dataset=data)

    def stop(trainer, step):
        if step == stop_at:
            trainer.request_stop()

    part = train(cfg, tmp_path / "part", quiet=True, dataset=data, callback=stop)
    assert part.interrupted
    train(cfg, tmp_path / "part", resume=True, quiet=True, dataset=data)
    a = load_checkpoint(tmp_path / "full" / "checkpoint.pt")
    b = load_checkpoint(tmp_path / "part" / "checkpoint.pt")
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k
    strip = lambda h: [{k: v for k, v in r.items() if k != "time"} for r in h]  # noqa: E731
    assert strip(a["history"]) == strip(b["history"])


def test_a_run_that_died_before_its_first_checkpoint_does_not_block_a_rerun(tmp_path, capsys):
    """Two SIGTERMs (or an out-of-memory kill) in the first epoch leave only config.json behind."""
    from lgn_hw.cli import main

    cfg = TrainConfig(dataset="monk1", layers=2, width=60, epochs=1, batch_size=32, lr=0.05, kernel="reference")
    out = tmp_path / "run"

    def die(trainer, step):
        raise KeyboardInterrupt   # what the second SIGTERM raises

    with pytest.raises(KeyboardInterrupt):
        train(cfg, out, quiet=True, callback=die)
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]
    argv = ["train", "--dataset", "monk1", "--no-preset", "--layers", "2", "--width", "60", "--epochs", "1",
            "--batch-size", "32", "--lr", "0.05", "--kernel", "reference", "--quiet", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    assert (out / "checkpoint.pt").is_file() and (out / "best.lgn.json").is_file()
