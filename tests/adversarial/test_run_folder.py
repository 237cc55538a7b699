"""The output folder of a training run (issue 15, items 7 and 12): one run at a time, a previous
run is never lost without being asked, and a damaged checkpoint or a bad --out is one line."""

from __future__ import annotations

import pytest
import torch

from lgn_hw.cli import main
from lgn_hw.train import TrainConfig, train
from lgn_hw.train.checkpoint import CHECKPOINT_KEYS, OPTIONAL_KEYS, CheckpointError, RunFolderError, load_checkpoint, \
    save_checkpoint

TINY = dict(dataset="monk1", layers=2, width=60, epochs=1, batch_size=32, lr=0.05, kernel="reference")
TINY_ARGS = ["--dataset", "monk1", "--layers", "2", "--width", "60", "--epochs", "1", "--batch-size", "32",
             "--lr", "0.05", "--kernel", "reference", "--no-preset", "--quiet"]


def cli_error(capsys, argv) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lgn-hw train: error: "), err
    return lines[0]


def test_a_second_training_into_the_same_folder_refuses_while_the_first_runs(tmp_path, capsys):
    out = tmp_path / "run"
    seen = []

    def second_run(trainer, step):
        if step == 1:  # the first run holds the folder now
            seen.append(cli_error(capsys, ["train", "--out", str(out)] + TINY_ARGS))
            with pytest.raises(RunFolderError, match=r"another training is writing to this folder"):
                train(TrainConfig(**TINY), out, resume=True, quiet=True)

    first = train(TrainConfig(**TINY), out, quiet=True, callback=second_run)
    assert first.epochs_done == 1 and (out / "best.lgn.json").is_file()
    assert seen and seen[0].endswith("another training is writing to this folder; "
                                     "wait for it to end or choose another --out"), seen


def test_the_lock_is_released_when_a_run_ends(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="not a multiple of the 2 classes"):
        train(TrainConfig(**dict(TINY, width=61)), out, quiet=True)
    assert not out.exists()  # the failed run leaves nothing behind
    train(TrainConfig(**TINY), out, quiet=True)  # neither the failed run nor its lock is in the way
    train(TrainConfig(**dict(TINY, epochs=2)), out, resume=True, quiet=True)


@pytest.mark.parametrize("left", ["best.lgn.json", "metrics.jsonl", "checkpoint.pt"])
def test_a_folder_holding_a_previous_run_is_refused_unless_asked(tmp_path, capsys, left):
    out = tmp_path / "run"
    train(TrainConfig(**TINY), out, quiet=True)
    for name in {"best.lgn.json", "metrics.jsonl", "checkpoint.pt", "config.json"} - {left}:
        (out / name).unlink()
    before = (out / left).read_bytes()
    line = cli_error(capsys, ["train", "--out", str(out)] + TINY_ARGS)
    assert line.endswith(f"already holds a run ({left}, accuracy.png, gates.png); continue it with --resume, "
                         "replace it with --overwrite or choose another --out"), line
    assert (out / left).read_bytes() == before  # nothing was touched
    assert main(["train", "--out", str(out), "--overwrite"] + TINY_ARGS) == 0
    assert sorted(p.name for p in out.iterdir()) == ["accuracy.png", "best.lgn.json", "checkpoint.pt",
                                                     "config.json", "gates.png", "metrics.jsonl"]


def test_resume_and_overwrite_exclude_each_other(tmp_path):
    with pytest.raises(ValueError, match=r"^resume and overwrite exclude each other"):
        train(TrainConfig(**TINY), tmp_path, resume=True, overwrite=True, quiet=True)


def test_out_that_is_a_file(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    line = cli_error(capsys, ["train", "--out", str(tmp_path / "afile")] + TINY_ARGS)
    assert line.endswith("afile: is not a directory (the output folder of the run)"), line
    line = cli_error(capsys, ["train", "--out", str(tmp_path / "afile" / "sub")] + TINY_ARGS)
    assert line.endswith("afile/sub: Not a directory"), line


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("finished")
    train(TrainConfig(**TINY), out, quiet=True)
    return out


def _tampered(finished_run, tmp_path, change) -> str:
    out = tmp_path / "run"
    out.mkdir()
    state = load_checkpoint(finished_run / "checkpoint.pt")
    change(state)
    torch.save(state, out / "checkpoint.pt")  # not save_checkpoint: that one is for good states
    return str(out)


def _wrong_shape(state):
    key = next(k for k in state["model"] if k.endswith("weights") or k.endswith("logits"))
    state["model"][key] = torch.zeros(3, 3)


@pytest.mark.parametrize("change, message", [
    (_wrong_shape, r"checkpoint\.pt: does not fit this run \(Error\(s\) in loading state_dict"),
    (lambda s: s["optimizer"].pop("state"), r"checkpoint\.pt: does not fit this run \("),
    (lambda s: s.pop("optimizer"), r"checkpoint\.pt: damaged checkpoint, 'optimizer' is missing$"),
    (lambda s: s.update(generators=[]), r"does not fit this run \(0 generator states for \d+ generators\)$"),
    (lambda s: s.update(torch_rng="seed"), r"checkpoint\.pt: does not fit this run \("),
    (lambda s: s.update(step_in_epoch=10**6), r"position epoch 1 step 1000000 is outside the run"),
    (lambda s: s.update(config=[1]), r"damaged checkpoint, 'config' is not a table of settings$"),
])
def test_a_damaged_checkpoint_is_one_line_on_resume(finished_run, tmp_path, capsys, change, message):
    out = _tampered(finished_run, tmp_path, change)
    line = cli_error(capsys, ["train", "--resume", "--out", out, "--epochs", "2", "--quiet"])
    assert __import__("re").search(message, line), line


def test_checkpoint_keys_are_what_the_trainer_saves(finished_run):
    state = load_checkpoint(finished_run / "checkpoint.pt")
    assert set(state) == {"format", *CHECKPOINT_KEYS, *OPTIONAL_KEYS}
    save_checkpoint(state, finished_run / "copy.pt")
    with pytest.raises(CheckpointError, match="'best' is missing"):
        state.pop("best")
        save_checkpoint(state, finished_run / "copy.pt")
        load_checkpoint(finished_run / "copy.pt")
