"""Training checkpoints, written atomically (:func:`lgn_hw.netlist.model.atomic_path`):
a crash or Ctrl-C at any moment leaves either the old checkpoint or the new one."""

from __future__ import annotations

from pathlib import Path

import torch

from ..netlist.model import atomic_path

__all__ = ["atomic_path", "save_checkpoint", "load_checkpoint", "CheckpointError", "RunFolderError",
           "CHECKPOINT_KEYS", "OPTIONAL_KEYS"]

#: what a checkpoint holds beside its "format" (the trainer's state, checked before a resume)
CHECKPOINT_KEYS = ("config", "model", "optimizer", "scheduler", "generators", "torch_rng", "epoch",
                   "step_in_epoch", "epoch_accum", "history", "best", "elapsed")
#: what a checkpoint holds since a later version (an older one resumes without): the --shift
#: generator's state (an empty tensor when the run does not shift)
OPTIONAL_KEYS = ("shift_rng",)


class CheckpointError(ValueError):
    """A checkpoint cannot be read or does not fit the run."""


class RunFolderError(CheckpointError):
    """The output folder of a run is no folder, is in use by another run, or holds a previous run."""


def save_checkpoint(state: dict, path) -> Path:
    """``torch.save(state)`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_checkpoint(path, required=CHECKPOINT_KEYS) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors, numbers, strings only);
    a missing ``required`` key (by default the trainer's whole state) is a :class:`CheckpointError`."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint to resume from")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path}: cannot read checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != "lgn-hw-checkpoint":
        raise CheckpointError(f"{path}: not an lgn-hw checkpoint")
    missing = [key for key in required if key not in state]
    if missing:
        raise CheckpointError(f"{path}: damaged checkpoint, {missing[0]!r} is missing")
    if "config" in required and not isinstance(state["config"], dict):
        raise CheckpointError(f"{path}: damaged checkpoint, 'config' is not a table of settings")
    return state
