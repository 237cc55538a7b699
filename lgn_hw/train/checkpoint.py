"""Training checkpoints, written atomically (:func:`lgn_hw.netlist.model.atomic_path`):
a crash or Ctrl-C at any moment leaves either the old checkpoint or the new one."""

from __future__ import annotations

from pathlib import Path

import torch

from ..netlist.model import atomic_path

__all__ = ["atomic_path", "save_checkpoint", "load_checkpoint", "CheckpointError"]


class CheckpointError(ValueError):
    """A checkpoint cannot be read or does not fit the run."""


def save_checkpoint(state: dict, path) -> Path:
    """``torch.save(state)`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)
    return Path(path)


def load_checkpoint(path) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (tensors, numbers, strings only)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no checkpoint to resume from")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a damaged file
        raise CheckpointError(f"{path}: cannot read checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict) or state.get("format") != "lgn-hw-checkpoint":
        raise CheckpointError(f"{path}: not an lgn-hw checkpoint")
    return state
