"""The :class:`Dataset` object: raw features and labels in train/val/test splits, plus the fitted encoder."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .encoding import Encoder

__all__ = ["Split", "Dataset", "split_indices"]


@dataclass(frozen=True)
class Split:
    """Raw features ``x`` (``(n, num_features)``, float32) and labels ``y`` (``(n,)``, int64)."""

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self):
        x = np.ascontiguousarray(self.x, dtype=np.float32)
        y = np.ascontiguousarray(self.y, dtype=np.int64)
        if x.ndim != 2 or y.ndim != 1 or len(x) != len(y):
            raise ValueError(f"a split needs x of shape (n, f) and y of shape (n,), not {x.shape} and {y.shape}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class Dataset:
    """A classification task: splits of raw features, the number of classes, and the encoder.

    The encoder was fitted on the training split only; ``bits(split)`` gives
    the network's input bits for a split.
    """

    name: str
    num_classes: int
    train: Split
    val: Split
    test: Split
    encoder: Encoder
    info: dict = field(default_factory=dict)

    @property
    def num_features(self) -> int:
        return self.train.x.shape[1]

    @property
    def num_inputs(self) -> int:
        """Input bits of the network (the encoder's output width)."""
        return self.encoder.num_bits

    def split(self, name: str) -> Split:
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', not {name!r}")
        return getattr(self, name)

    def bits(self, name: str) -> np.ndarray:
        """Encoded input bits (``(n, num_inputs)``, uint8) of split ``name``."""
        return self.encoder.encode(self.split(name).x)

    def describe(self) -> str:
        return (f"{self.name}: {self.num_features} features -> {self.num_inputs} bits, "
                f"{self.num_classes} classes, train/val/test {len(self.train)}/{len(self.val)}/{len(self.test)}")


def split_indices(n: int, fractions, seed: int) -> list[np.ndarray]:
    """Shuffle ``range(n)`` with ``seed`` and cut it into parts of the given fractions (the last gets the rest)."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    out, start = [], 0
    for frac in fractions[:-1]:
        stop = start + int(round(frac * n))
        out.append(np.sort(perm[start:stop]))
        start = stop
    out.append(np.sort(perm[start:]))
    return out
