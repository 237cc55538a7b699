"""Encoders from raw features to input bits, stored in the netlist's ``encoder`` field.

The file form is::

    {"type": "features", "features": [
        {"kind": "thermometer", "thresholds": [63, 127, 191], "width": 8, "signed": false,
         "scale": 1, "offset": 0},
        {"kind": "onehot", "values": [0, 1, 2], "width": 2, "signed": false,
         "labels": ["red", "green", "blue"]},
        {"kind": "bit", "width": 1}
    ]}

Feature ``f`` contributes its bits in order, features in order.

A *quantized* feature (one with a ``width``) works on the integer grid the
hardware sees: the raw value ``x`` becomes ``q = clip(floor((x - offset) *
scale + 0.5), range)``, the range being that of ``width`` bits, two's
complement when ``signed``. Thermometer bit ``j`` is ``q > thresholds[j]``
(integers, strictly increasing; a threshold at or above the top of the range
gives a constant 0 bit), one-hot bit ``j`` is ``q == values[j]`` (integer
codes; ``labels`` names them for text columns, whose strings the host maps to
their index before sending) and a bit feature is ``q != 0``. Thermometer
features carry ``scale`` and ``offset``; the others use scale 1, offset 0.
:meth:`Encoder.quantize` and :meth:`Encoder.encode_int` are the two halves,
and ``encode(x) == encode_int(quantize(x))`` exactly.

An *unquantized* feature (no ``width``, older files) compares the raw value
itself: ``x > t[j]``, ``x == values[j]``, ``x != 0``. Those files still read
and behave as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Encoder", "Feature", "METHODS", "align_thresholds", "fit_thermometer", "fit_onehot", "onehot", "bits", "int_range", "MAX_WIDTH"]

_KINDS = ("thermometer", "onehot", "bit")
#: how :func:`fit_thermometer` places thresholds
METHODS = ("uniform", "quantile", "aligned")
#: widest integer input of one feature
MAX_WIDTH = 32
#: float features get the smallest width in this range that resolves their thresholds
_FLOAT_WIDTHS = range(8, 17)
#: ... where "resolves" means the closest two thresholds lie this many grid steps apart
_STEPS_PER_GAP = 8
_INT_LIMIT = 2 ** 62  # thresholds and codes stay well inside int64


def int_range(width: int, signed: bool) -> tuple[int, int]:
    """The smallest and largest value of a ``width``-bit integer (two's complement when ``signed``)."""
    if signed:
        return -(1 << (width - 1)), (1 << (width - 1)) - 1
    return 0, (1 << width) - 1


def _width_for(lo: int, hi: int) -> tuple[int, bool]:
    """The fewest bits (and signedness) whose range holds ``lo..hi``."""
    signed = lo < 0
    width = 1
    while True:
        a, b = int_range(width, signed)
        if a <= lo and hi <= b:
            return width, signed
        width += 1


@dataclass(frozen=True)
class Feature:
    """One raw feature: its kind, thresholds or category values, and the integer grid when quantized."""

    kind: str
    values: tuple = ()  # thresholds (thermometer) or categories (onehot)
    width: int | None = None  # bits of the quantized input; None: unquantized
    signed: bool = False
    scale: float = 1.0
    offset: float = 0.0
    labels: tuple | None = None  # onehot: the text of each value

    @property
    def num_bits(self) -> int:
        return 1 if self.kind == "bit" else len(self.values)

    @property
    def quantized(self) -> bool:
        return self.width is not None

    @property
    def range(self) -> tuple[int, int]:
        """Smallest and largest quantized value (only for quantized features)."""
        if self.width is None:
            raise ValueError("an unquantized feature has no integer range")
        return int_range(self.width, self.signed)

    def to_dict(self) -> dict:
        q = self.quantized
        if self.kind == "thermometer":
            d = {"kind": "thermometer", "thresholds": list(self.values)}
            if q:
                d.update(width=self.width, signed=self.signed, scale=_plain(self.scale),
                         offset=_plain(self.offset))
        elif self.kind == "onehot":
            d = {"kind": "onehot", "values": list(self.values)}
            if q:
                d.update(width=self.width, signed=self.signed)
        else:
            d = {"kind": "bit"}
            if q:
                d["width"] = 1
        if self.labels is not None:
            d["labels"] = list(self.labels)
        return d


def _plain(v: float):
    """``v`` as an int when it is a whole number (``1`` rather than ``1.0`` in files)."""
    return int(v) if float(v).is_integer() and abs(v) < 2 ** 53 else float(v)


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


def _integers(where, value):
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"{where} must be a non-empty list of integers, not {value!r:.60}")
    for v in value:
        if isinstance(v, bool) or not isinstance(v, int) or abs(v) >= _INT_LIMIT:
            raise ValueError(f"{where} of a quantized feature must hold integers below 2**62, not {v!r:.40}")
    return tuple(value)


def _grid_fields(where, fd, kind) -> dict:
    """The validated ``width``/``signed``/``scale``/``offset`` of a quantized feature dict."""
    width = fd["width"]
    if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= MAX_WIDTH:
        raise ValueError(f"{where}.width must be an integer in 1..{MAX_WIDTH}, not {width!r:.40}")
    signed = fd.get("signed", False)
    if not isinstance(signed, bool):
        raise ValueError(f"{where}.signed must be true or false, not {signed!r:.40}")
    if kind == "bit" and (width != 1 or signed):
        raise ValueError(f"{where}: a bit feature has width 1, unsigned, not width {width!r}")
    out = {"width": width, "signed": signed}
    if kind == "thermometer":
        scale, offset = fd.get("scale", 1), fd.get("offset", 0)
        for name, v in (("scale", scale), ("offset", offset)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not _finite(v):
                raise ValueError(f"{where}.{name} must be a finite number, not {v!r:.40}")
        if not scale > 0:
            raise ValueError(f"{where}.scale must be positive, not {scale!r}")
        out.update(scale=float(scale), offset=float(offset))
    else:
        for name in ("scale", "offset"):
            if name in fd:
                raise ValueError(f"{where}: only thermometer features take {name!r}")
    return out


@dataclass(frozen=True)
class Encoder:
    features: tuple

    @property
    def num_features(self) -> int:
        return len(self.features)

    @property
    def num_bits(self) -> int:
        return sum(f.num_bits for f in self.features)

    @property
    def quantized(self) -> bool:
        """True when every feature works on an integer grid (has a ``width``)."""
        return all(f.quantized for f in self.features)

    @property
    def widths(self) -> tuple:
        """Bits of each feature's integer input (quantized encoders only)."""
        self._require_quantized()
        return tuple(f.width for f in self.features)

    @property
    def signed(self) -> tuple:
        """Signedness of each feature's integer input (quantized encoders only)."""
        self._require_quantized()
        return tuple(f.signed for f in self.features)

    @classmethod
    def thermometer(cls, thresholds) -> "Encoder":
        """One unquantized thermometer feature per row of ``thresholds``."""
        return cls(tuple(Feature("thermometer", tuple(float(t) for t in row)) for row in thresholds))

    @classmethod
    def from_dict(cls, data) -> "Encoder":
        if not isinstance(data, dict) or data.get("type") != "features":
            raise ValueError(f"must be an object with type 'features', not {data!r:.60}")
        feats = data.get("features")
        if not isinstance(feats, list) or not feats:
            raise ValueError(f"'features' must be a non-empty list, not {feats!r:.60}")
        return cls(tuple(_feature_from_dict(f"features[{i}]", fd) for i, fd in enumerate(feats)))

    def to_dict(self) -> dict:
        return {"type": "features", "features": [f.to_dict() for f in self.features]}

    # -- evaluation ---------------------------------------------------------
    def _require_quantized(self):
        if not self.quantized:
            bad = next(i for i, f in enumerate(self.features) if not f.quantized)
            raise ValueError(f"the encoder is not quantized (feature {bad} has no integer width)")

    def _raw(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"raw inputs must have shape (n, {self.num_features}), not {x.shape}")
        return x

    def _grid(self):
        """Per-feature arrays: scale, offset, smallest and largest integer."""
        f = self.features
        lo, hi = zip(*(g.range for g in f))
        return (np.array([g.scale for g in f]), np.array([g.offset for g in f]),
                np.array(lo, dtype=np.int64), np.array(hi, dtype=np.int64))

    def quantize(self, x) -> np.ndarray:
        """Raw features ``(n, num_features)`` to the integers ``(n, num_features)`` (int64) the hardware reads.

        ``q = clip(floor((x - offset) * scale + 0.5), range of width bits)``
        per feature. Raises ValueError for an unquantized encoder or
        non-finite inputs.
        """
        self._require_quantized()
        x = self._raw(x)
        if not np.all(np.isfinite(x)):
            r, c = np.argwhere(~np.isfinite(x))[0]
            raise ValueError(f"raw inputs must be finite, not {float(x[r, c])!r} (row {r}, feature {c})")
        scale, offset, lo, hi = self._grid()
        v = np.floor((x - offset) * scale + 0.5)
        return np.clip(v, lo, hi).astype(np.int64)

    def encode_int(self, q) -> np.ndarray:
        """Quantized inputs ``(n, num_features)`` (integers in each feature's range) to bits ``(n, num_bits)``."""
        self._require_quantized()
        q = np.asarray(q)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != self.num_features:
            raise ValueError(f"quantized inputs must have shape (n, {self.num_features}), not {q.shape}")
        if q.dtype.kind not in "iu":
            if q.dtype.kind == "b":
                q = q.astype(np.int64)
            elif q.dtype.kind == "f" and np.all(np.isfinite(q)) and np.all(q == np.floor(q)):
                q = q.astype(np.int64)
            else:
                raise ValueError(f"quantized inputs must be integers, not {q.dtype}")
        q = q.astype(np.int64, copy=False)
        if q.size:
            _, _, lo, hi = self._grid()
            bad = (q < lo) | (q > hi)
            if bad.any():
                r, c = np.argwhere(bad)[0]
                f = self.features[c]
                raise ValueError(f"quantized input {int(q[r, c])} (row {r}, feature {c}) is outside the "
                                 f"{f.width}-bit {'signed' if f.signed else 'unsigned'} range {f.range}")
        return self._compare(q)

    def encode(self, x) -> np.ndarray:
        """Raw features ``(n, num_features)`` to bits ``(n, num_bits)`` as uint8."""
        x = self._raw(x)
        if self.quantized:
            return self._compare(self.quantize(x))
        if any(f.quantized for f in self.features):  # a mix: each quantized feature on its own grid
            cols = []
            for j, f in enumerate(self.features):
                sub = Encoder((f,))
                cols.append(sub.encode(x[:, j:j + 1]))
            return np.concatenate(cols, axis=1)
        return self._compare(x)

    def _compare(self, x) -> np.ndarray:
        """Bits from inputs ``x``: integers for a quantized encoder, raw floats otherwise."""
        kinds = {f.kind for f in self.features}
        if kinds == {"thermometer"} and len({f.num_bits for f in self.features}) == 1:
            t = np.array([f.values for f in self.features], dtype=x.dtype)  # (F, L): one vectorised compare
            return (x[:, :, None] > t[None]).reshape(len(x), -1).astype(np.uint8)
        cols = []
        for j, f in enumerate(self.features):
            col = x[:, j: j + 1]
            if f.kind == "thermometer":
                cols.append(col > np.array(f.values, dtype=x.dtype)[None])
            elif f.kind == "onehot":
                cols.append(col == np.array(f.values, dtype=x.dtype)[None])
            else:
                cols.append(col != 0)
        return np.concatenate(cols, axis=1).astype(np.uint8)


def _feature_from_dict(where, fd) -> Feature:
    if not isinstance(fd, dict) or fd.get("kind") not in _KINDS:
        raise ValueError(f"{where} must have a kind in {_KINDS}, not {fd!r:.60}")
    kind = fd["kind"]
    grid = _grid_fields(where, fd, kind) if "width" in fd else {}
    if not grid:
        extra = sorted({"signed", "scale", "offset"} & set(fd))
        if extra:
            raise ValueError(f"{where}: {extra[0]!r} needs 'width' (the quantized form)")
    labels = None
    if "labels" in fd:
        if kind != "onehot":
            raise ValueError(f"{where}: only onehot features take 'labels'")
        labels = fd["labels"]
        if not isinstance(labels, list) or not all(isinstance(s, str) for s in labels):
            raise ValueError(f"{where}.labels must be a list of strings, not {labels!r:.60}")
        labels = tuple(labels)
    if kind == "bit":
        return Feature(kind, **grid)
    key = "thresholds" if kind == "thermometer" else "values"
    v = _integers(f"{where}.{key}", fd.get(key)) if grid else _numbers(f"{where}.{key}", fd.get(key))
    if kind == "thermometer":
        if any(a >= b for a, b in zip(v, v[1:])):
            raise ValueError(f"{where}.thresholds must be strictly increasing, not {list(v)!r:.60}")
    else:
        if len(set(v)) != len(v):
            raise ValueError(f"{where}.values must be distinct, not {list(v)!r:.60}")
        if grid:
            lo, hi = int_range(grid["width"], grid["signed"])
            out = [c for c in v if not lo <= c <= hi]
            if out:
                raise ValueError(f"{where}.values: {out[0]} does not fit in {grid['width']} "
                                 f"{'signed' if grid['signed'] else 'unsigned'} bits")
        if labels is not None and len(labels) != len(v):
            raise ValueError(f"{where}: {len(labels)} labels for {len(v)} values")
    return Feature(kind, v, labels=labels, **grid)


# ---------------------------------------------------------------- fitting
def _strict_levels(cands, levels: int, step=1) -> tuple:
    """``levels`` strictly increasing thresholds from candidate values.

    Duplicates (a feature with few distinct values) are dropped and the list is
    padded above the largest candidate in steps of ``step``, so every feature
    keeps ``levels`` bits (the padded bits are constant 0 for the data the
    thresholds were fitted on).
    """
    uniq = sorted(set(cands))
    top = uniq[-1] if uniq else 0
    while len(uniq) < levels:
        top += step
        uniq.append(top)
    return tuple(uniq[:levels])


def _is_integral(v: np.ndarray) -> bool:
    return bool(np.all(v == np.floor(v))) and float(np.max(np.abs(v))) < 2 ** 31


def _grid_for(col: np.ndarray, thresholds) -> tuple[int, bool, float, float]:
    """The integer grid (width, signed, scale, offset) of training values ``col`` for float ``thresholds``.

    Integer data (every value whole, range in 16 bits) keeps its values: scale
    1, offset 0, the fewest bits that hold its range (MNIST pixels: 8,
    unsigned). Other data maps its range onto ``0 .. 2**W - 1`` with the
    smallest ``W`` in 8..16 that puts the closest two thresholds at least
    :data:`_STEPS_PER_GAP` grid steps apart.
    """
    lo, hi = float(col.min()), float(col.max())
    if _is_integral(col):
        width, signed = _width_for(int(lo), int(hi))
        if width <= 16:
            return width, signed, 1.0, 0.0
    if hi == lo:  # a constant float feature: one grid step per unit around it
        return 8, False, 1.0, lo
    inner = sorted({float(t) for t in thresholds if lo <= t <= hi})
    gap = min((b - a for a, b in zip(inner, inner[1:])), default=hi - lo)
    for width in _FLOAT_WIDTHS:
        scale = ((1 << width) - 1) / (hi - lo)
        if gap * scale >= _STEPS_PER_GAP:
            break
    return width, False, scale, lo


def align_thresholds(ints, width: int, signed: bool) -> tuple:
    """Integer thresholds moved to the coarsest power-of-two grid that keeps them apart.

    A threshold ``t`` with ``t + 1`` a multiple of ``2**s`` makes ``q > t`` a
    function of the top ``width - s`` bits of ``q`` only (``q > 127`` on 8 bits
    is the top bit itself, ``q > 191`` the AND of the top two), so the
    hardware compare is a wire or one small LUT instead of a full-width
    comparator. Each threshold goes to the nearest such value (ties upward)
    for the largest ``s`` at which the thresholds stay distinct and strictly
    inside the grid (``lo <= t < hi``); thresholds already off the grid (a
    constant bit) stay where they are. ``s = 0`` is the identity.
    """
    lo, hi = int_range(width, signed)
    inner = [t for t in ints if lo <= t < hi]
    for s in range(width - 1, 0, -1):
        step = 1 << s
        moved = [((t + 1 + step // 2) // step) * step - 1 for t in inner]
        if len(set(moved)) == len(moved) and all(lo <= t < hi for t in moved):
            it = iter(moved)
            return tuple(next(it) if lo <= t < hi else t for t in ints)
    return tuple(ints)


def _quantized_feature(col: np.ndarray, thresholds, levels: int, aligned: bool = False) -> Feature:
    width, signed, scale, offset = _grid_for(col, thresholds)
    # x > t  ~  q > floor((t - offset) * scale): exact for integer data (scale 1, offset 0).
    # A threshold off the grid is a constant bit: clip it to one step below / the top of the grid
    # (a padded threshold far above a tiny range would otherwise be an integer beyond int64).
    lo, hi = int_range(width, signed)
    ints = [int(min(max(math.floor((t - offset) * scale), lo - 1), hi)) for t in thresholds]
    if aligned:
        ints = list(align_thresholds(sorted(set(ints)), width, signed))
    return Feature("thermometer", _strict_levels(ints, levels), width, signed, float(scale), float(offset))


def fit_thermometer(x, levels: int, *, method: str = "uniform", per_feature: bool = True,
                    quantized: bool = True) -> Encoder:
    """Fit a thermometer encoder with ``levels`` thresholds per feature on training data ``x``.

    ``method="uniform"`` spaces the thresholds evenly between the minimum and the
    maximum; ``method="quantile"`` puts them at the ``j / (levels + 1)`` quantiles;
    ``method="aligned"`` (quantized only) starts from the uniform ones and moves
    them onto the coarsest power-of-two grid that keeps them distinct
    (:func:`align_thresholds`), so each hardware compare reads only the top
    bits of the integer input (MNIST, 2 levels: 63 and 191 instead of 85 and 170).
    With ``per_feature=False`` all features share one set of thresholds (and
    one integer grid) fitted on all values (natural for image pixels).
    ``quantized=True`` (the default) puts the encoder on an integer grid
    (see the module docstring): integer thresholds, and for float data a
    scale and offset; ``quantized=False`` keeps float thresholds on raw values.
    """
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
        raise ValueError(f"'levels' must be a positive integer, not {levels!r}")
    if method not in METHODS:
        raise ValueError(f"'method' must be one of {', '.join(METHODS)}, not {method!r}")
    if method == "aligned" and not quantized:
        raise ValueError("method 'aligned' works on the integer grid: it needs quantized=True")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"training data must have shape (n, num_features) with n, num_features > 0, not {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("training data must be finite (found NaN or infinity)")
    q = np.arange(1, levels + 1) / (levels + 1)

    def fit(col):
        if method in ("uniform", "aligned"):
            lo, hi = float(col.min()), float(col.max())
            t = _strict_levels([float(v) for v in lo + (hi - lo) * q], levels)
        else:
            t = _strict_levels([float(v) for v in np.quantile(col, q)], levels)
        if not quantized:
            return Feature("thermometer", t)
        return _quantized_feature(col, t, levels, aligned=method == "aligned")

    if per_feature:
        feats = [fit(x[:, j]) for j in range(x.shape[1])]
    else:
        feats = [fit(x.ravel())] * x.shape[1]
    return Encoder(tuple(feats))


def fit_onehot(x, *, quantized: bool = True) -> Encoder:
    """A one-hot encoder with the categories seen in each column of ``x``."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"training data must have shape (n, num_features) with n, num_features > 0, not {x.shape}")
    return onehot([np.unique(x[:, j]) for j in range(x.shape[1])], quantized=quantized)


def onehot(values_per_feature, *, quantized: bool = True, labels=None) -> Encoder:
    """A one-hot encoder from the list of categories of each feature.

    Quantized (the default), the categories must be integers (codes); the
    width holds them and one more above the largest, so an input just past
    the last category matches none. ``labels`` (one list of strings or None
    per feature) names the codes of text columns.
    """
    feats = []
    values_per_feature = list(values_per_feature)
    if labels is not None and len(labels) != len(values_per_feature):
        raise ValueError(f"'labels' must give one entry per feature ({len(values_per_feature)}), not {len(labels)}")
    for i, values in enumerate(values_per_feature):
        v = _numbers(f"values_per_feature[{i}]", [float(t) for t in values])
        if len(set(v)) != len(v):
            raise ValueError(f"values_per_feature[{i}] must be distinct, not {list(v)!r:.60}")
        lab = None if labels is None or labels[i] is None else tuple(str(s) for s in labels[i])
        if lab is not None and len(lab) != len(v):
            raise ValueError(f"labels[{i}] names {len(lab)} values, not {len(v)}")
        if not quantized:
            feats.append(Feature("onehot", v, labels=lab))
            continue
        if not _is_integral(np.array(v)):
            raise ValueError(f"values_per_feature[{i}] of a quantized one-hot feature must be integers, "
                             f"not {list(v)!r:.60}")
        codes = tuple(int(c) for c in v)
        width, signed = _width_for(min(codes) - 1 if min(codes) < 0 else 0, max(codes) + 1)
        feats.append(Feature("onehot", codes, width, signed, labels=lab))
    if not feats:
        raise ValueError("'values_per_feature' must not be empty")
    return Encoder(tuple(feats))


def bits(num_features: int, *, quantized: bool = True) -> Encoder:
    """The identity encoder: each feature is one bit (``x != 0``; quantized: ``round(x)`` clipped to 0..1)."""
    if isinstance(num_features, bool) or not isinstance(num_features, int) or num_features < 1:
        raise ValueError(f"'num_features' must be a positive integer, not {num_features!r}")
    f = Feature("bit", width=1) if quantized else Feature("bit")
    return Encoder(tuple(f for _ in range(num_features)))
