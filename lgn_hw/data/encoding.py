"""Encoders from raw features to input bits, stored in the netlist's ``encoder`` field.

The file form is::

    {"type": "features", "features": [
        {"kind": "thermometer", "thresholds": [0.25, 0.5, 0.75]},
        {"kind": "onehot", "values": [1, 2, 3]},
        {"kind": "bit"}
    ]}

Feature ``f`` contributes its bits in order, features in order. A thermometer
feature with thresholds ``t`` gives bits ``x > t[j]`` (``t`` strictly
increasing); a one-hot feature gives ``x == values[j]``; a bit feature gives
``x != 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Encoder", "Feature", "fit_thermometer", "fit_onehot", "onehot", "bits"]

_KINDS = ("thermometer", "onehot", "bit")


@dataclass(frozen=True)
class Feature:
    kind: str
    values: tuple = ()  # thresholds (thermometer) or categories (onehot)

    @property
    def num_bits(self) -> int:
        return 1 if self.kind == "bit" else len(self.values)

    def to_dict(self) -> dict:
        if self.kind == "thermometer":
            return {"kind": "thermometer", "thresholds": list(self.values)}
        if self.kind == "onehot":
            return {"kind": "onehot", "values": list(self.values)}
        return {"kind": "bit"}


def _finite(v) -> bool:
    try:
        return math.isfinite(v)
    except OverflowError:  # an int beyond float range
        return False


def _numbers(where, value):
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{where} must be a non-empty list of numbers, not {value!r:.60}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not _finite(v):
            raise ValueError(f"{where} must hold finite numbers, not {v!r}")
    return tuple(float(v) for v in value)


@dataclass(frozen=True)
class Encoder:
    features: tuple

    @property
    def num_features(self) -> int:
        return len(self.features)

    @property
    def num_bits(self) -> int:
        return sum(f.num_bits for f in self.features)

    @classmethod
    def thermometer(cls, thresholds) -> "Encoder":
        """One thermometer feature per row of ``thresholds``."""
        return cls(tuple(Feature("thermometer", tuple(float(t) for t in row)) for row in thresholds))

    @classmethod
    def from_dict(cls, data) -> "Encoder":
        if not isinstance(data, dict) or data.get("type") != "features":
            raise ValueError(f"must be an object with type 'features', not {data!r:.60}")
        feats = data.get("features")
        if not isinstance(feats, list) or not feats:
            raise ValueError(f"'features' must be a non-empty list, not {feats!r:.60}")
        out = []
        for i, fd in enumerate(feats):
            where = f"features[{i}]"
            if not isinstance(fd, dict) or fd.get("kind") not in _KINDS:
                raise ValueError(f"{where} must have a kind in {_KINDS}, not {fd!r:.60}")
            kind = fd["kind"]
            if kind == "thermometer":
                t = _numbers(f"{where}.thresholds", fd.get("thresholds"))
                if any(x >= y for x, y in zip(t, t[1:])):
                    raise ValueError(f"{where}.thresholds must be strictly increasing, not {list(t)!r:.60}")
                out.append(Feature(kind, t))
            elif kind == "onehot":
                v = _numbers(f"{where}.values", fd.get("values"))
                if len(set(v)) != len(v):
                    raise ValueError(f"{where}.values must be distinct, not {list(v)!r:.60}")
                out.append(Feature(kind, v))
            else:
                out.append(Feature(kind))
        return cls(tuple(out))

    def to_dict(self) -> dict:
        return {"type": "features", "features": [f.to_dict() for f in self.features]}

    def encode(self, x) -> np.ndarray:
        """Raw features ``(n, num_features)`` to bits ``(n, num_bits)`` as uint8."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(
                f"raw inputs must have shape (n, {self.num_features}), not {x.shape}"
            )
        cols = []
        kinds = {f.kind for f in self.features}
        if kinds == {"thermometer"} and len({f.num_bits for f in self.features}) == 1:
            t = np.array([f.values for f in self.features])  # (F, L): one vectorised compare
            return (x[:, :, None] > t[None]).reshape(len(x), -1).astype(np.uint8)
        for j, f in enumerate(self.features):
            col = x[:, j : j + 1]
            if f.kind == "thermometer":
                cols.append(col > np.array(f.values)[None])
            elif f.kind == "onehot":
                cols.append(col == np.array(f.values)[None])
            else:
                cols.append(col != 0)
        return np.concatenate(cols, axis=1).astype(np.uint8)


def _strict_levels(cands, levels: int) -> tuple:
    """``levels`` strictly increasing thresholds from candidate values.

    Duplicates (a feature with few distinct values) are dropped and the list is
    padded above the largest candidate, so every feature keeps ``levels`` bits
    (the padded bits are constant 0 for the data the thresholds were fitted on).
    """
    uniq = sorted({float(c) for c in cands})
    top = uniq[-1] if uniq else 0.0
    while len(uniq) < levels:
        top += 1.0
        uniq.append(top)
    return tuple(uniq[:levels])


def fit_thermometer(x, levels: int, *, method: str = "uniform", per_feature: bool = True) -> Encoder:
    """Fit a thermometer encoder with ``levels`` thresholds per feature on training data ``x``.

    ``method="uniform"`` spaces the thresholds evenly between the minimum and the
    maximum; ``method="quantile"`` puts them at the ``j / (levels + 1)`` quantiles.
    With ``per_feature=False`` all features share one set of thresholds fitted on
    all values (natural for image pixels).
    """
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f"'levels' must be a positive integer, not {levels!r}")
    if method not in ("uniform", "quantile"):
        raise ValueError(f"'method' must be 'uniform' or 'quantile', not {method!r}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"training data must have shape (n, num_features) with n, num_features > 0, not {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("training data must be finite (found NaN or infinity)")
    q = np.arange(1, levels + 1) / (levels + 1)

    def fit(col):
        if method == "uniform":
            lo, hi = float(col.min()), float(col.max())
            return _strict_levels(lo + (hi - lo) * q, levels)
        return _strict_levels(np.quantile(col, q), levels)

    if per_feature:
        rows = [fit(x[:, j]) for j in range(x.shape[1])]
    else:
        rows = [fit(x.ravel())] * x.shape[1]
    return Encoder(tuple(Feature("thermometer", r) for r in rows))


def fit_onehot(x) -> Encoder:
    """A one-hot encoder with the categories seen in each column of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"training data must have shape (n, num_features) with n, num_features > 0, not {x.shape}")
    return onehot([np.unique(x[:, j]) for j in range(x.shape[1])])


def onehot(values_per_feature) -> Encoder:
    """A one-hot encoder from the list of categories of each feature."""
    feats = []
    for i, values in enumerate(values_per_feature):
        v = _numbers(f"values_per_feature[{i}]", [float(t) for t in values])
        if len(set(v)) != len(v):
            raise ValueError(f"values_per_feature[{i}] must be distinct, not {list(v)!r:.60}")
        feats.append(Feature("onehot", v))
    if not feats:
        raise ValueError("'values_per_feature' must not be empty")
    return Encoder(tuple(feats))


def bits(num_features: int) -> Encoder:
    """The identity encoder: each feature is one bit (``x != 0``)."""
    if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
        raise ValueError(f"'num_features' must be a positive integer, not {num_features!r}")
    return Encoder(tuple(Feature("bit") for _ in range(num_features)))
