"""A user's own data: CSV files with a header and NPZ archives, for training and for prediction.

:func:`load_data_file` turns a training file (and optionally a separate test
file) into a :class:`~lgn_hw.data.Dataset`: seeded, stratified splits and an
encoder fitted on the training split only (numeric columns thermometer-coded,
text columns one-hot). :func:`read_inputs` reads the same kinds of file for a
trained netlist (for ``lgn-hw predict`` and ``lgn-hw verify --inputs``): raw
features in the netlist's column order, and the labels when the file has them.

CSV: the first line names the columns; the label column is ``label`` (a
name), by default the last one. A column is numeric when most of its values
are numbers; then every value must be one. Otherwise it is a text column.
Labels may be integers or strings; the classes are the sorted distinct labels
(numerically for integers) and their names go into the netlist metadata
(``class_names``, with ``columns`` and ``label``).

NPZ: arrays ``x_train``, ``y_train`` and optionally ``x_val``, ``y_val``,
``x_test``, ``y_test`` (features numeric; images are flattened). Missing
splits are carved from the training split.

Every problem with a file is a :class:`DataError` (a ValueError) of one line
naming the file, the line (or array row) and the column.
"""

from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from .dataset import Dataset, Split
from .encoding import METHODS, Encoder, fit_thermometer, onehot
from ..netlist.model import PathError
from .files import read_data_file, read_npy, read_npz

__all__ = ["DataError", "Inputs", "load_data_file", "read_inputs", "stratified_split", "DATA_SUFFIXES"]

#: file kinds :func:`load_data_file` and :func:`read_inputs` read, by suffix
DATA_SUFFIXES = (".csv", ".tsv", ".npz")
#: values that mean "missing" in a CSV cell (compared in lower case)
_MISSING = frozenset({"", "?", "na", "n/a", "nan", "null", "none"})
#: default encoding of numeric columns (tabular data: quantile thresholds)
_LEVELS, _METHOD = 8, "quantile"


class DataError(ValueError):
    """A data file is unusable; the message is one line naming the file, row and column."""


@dataclass(frozen=True)
class Inputs:
    """Raw features ``x`` ``(n, num_features)`` (float64) read from a file, and its labels ``y`` (int64) or None."""

    x: np.ndarray
    y: np.ndarray | None
    source: str


# ---------------------------------------------------------------- CSV
@dataclass
class _Table:
    path: Path
    columns: list
    rows: list   # lists of stripped strings
    lines: list  # the file line of each row

    def col(self, name) -> int:
        return self.columns.index(name)

    def where(self, r: int, name: str) -> str:
        return f"{self.path} line {self.lines[r]}, column {name!r}"


def _read_csv(path) -> _Table:
    path = Path(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        text = read_data_file(path, "CSV").decode("utf-8-sig")   # a regular file, bounded
        with io.StringIO(text, newline="") as f:
            reader = csv.reader(f, delimiter=delimiter)
            header, rows, lines = None, [], []
            for fields in reader:
                if not fields or all(not s.strip() for s in fields):
                    continue  # blank lines
                fields = [s.strip() for s in fields]
                if header is None:
                    header = fields
                    _check_header(path, header, reader.line_num)
                    continue
                if len(fields) != len(header):
                    raise DataError(f"{path} line {reader.line_num}: {len(fields)} fields, but the header "
                                    f"has {len(header)}")
                rows.append(fields)
                lines.append(reader.line_num)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a directory, not a CSV file") from None
    except PathError as exc:
        raise DataError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise DataError(f"{path}: not a readable CSV file ({exc})") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if header is None:
        raise DataError(f"{path}: empty file (expected a header line naming the columns)")
    if not rows:
        raise DataError(f"{path}: no data rows after the header")
    return _Table(path, header, rows, lines)


def _check_header(path, header, line):
    if len(header) < 2:
        raise DataError(f"{path} line {line}: the header names {len(header)} column; need at least a "
                        "feature and the label (comma-separated)")
    for i, name in enumerate(header):
        if not name:
            raise DataError(f"{path} line {line}: column {i + 1} of the header has no name")
    seen = set()
    for name in header:
        if name in seen:
            raise DataError(f"{path} line {line}: column {name!r} is named twice")
        seen.add(name)


def _number(text):
    """``text`` as a float, or None when it is not a number."""
    try:
        return float(text)
    except ValueError:
        return None


def _is_missing(text) -> bool:
    return text.lower() in _MISSING


_F32_MAX = float(np.finfo(np.float32).max)


def _numeric_column(t: _Table, name) -> np.ndarray:
    j = t.col(name)
    out = np.empty(len(t.rows), dtype=np.float64)
    for r, row in enumerate(t.rows):
        s = row[j]
        if _is_missing(s):
            raise DataError(f"{t.where(r, name)}: missing value {s!r}")
        v = _number(s)
        if v is None:
            raise DataError(f"{t.where(r, name)}: {s!r} is not a number (the column is numeric)")
        if not math.isfinite(v):
            raise DataError(f"{t.where(r, name)}: {s!r} is not a finite number")
        if abs(v) > _F32_MAX:
            raise DataError(f"{t.where(r, name)}: {s!r} is beyond the float32 range features are trained in "
                            f"(at most {_F32_MAX:.4g} in magnitude)")
        out[r] = v
    return out


def _text_column(t: _Table, name) -> list:
    j = t.col(name)
    out = []
    for r, row in enumerate(t.rows):
        if _is_missing(row[j]):
            raise DataError(f"{t.where(r, name)}: missing value {row[j]!r}")
        out.append(row[j])
    return out


def _is_numeric(t: _Table, name) -> bool:
    """Most of the column's present values are numbers (the others are then errors)."""
    j = t.col(name)
    present = [row[j] for row in t.rows if not _is_missing(row[j])]
    numbers = sum(_number(s) is not None for s in present)
    return bool(present) and 2 * numbers > len(present)


def _label_name(t: _Table, label):
    if label is None:
        return t.columns[-1]
    if label not in t.columns:
        raise DataError(f"{t.path}: no label column {label!r} (columns: {', '.join(t.columns)})")
    return label


def _class_names(labels, where) -> list:
    """Sorted distinct labels (numerically when all are integers), as strings."""
    uniq = sorted(set(labels))
    ints = [_as_int(s) for s in uniq]
    if all(i is not None for i in ints):
        names = [str(i) for i in sorted(set(ints))]
    else:
        names = uniq
    if len(names) < 2:
        raise DataError(f"{where}: the labels hold one class only ({names[0]!r}); need at least 2")
    return names


_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_NUMBER_TEXT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")


def _as_int(text):
    """The integer a label's text spells, exactly (no trip through float: 2^53 + 1 stays itself), or None.

    ``"7"``, ``"-3"`` and ``"7.0"`` or ``"7e0"`` are integers; ``"1_0"``, ``"nan"`` and ``"7.5"`` are not."""
    text = str(text).strip()
    if len(text) > 60:
        return None
    if _INT_TEXT.fullmatch(text):
        return int(text)
    if not _NUMBER_TEXT.fullmatch(text):
        return None
    d = Decimal(text)
    return int(d) if d == d.to_integral_value() and d.adjusted() < 60 else None


def _label_codes(labels, names, where_row):
    """Labels (strings) to class indices; a label outside ``names`` is an error naming its row."""
    index = {n: i for i, n in enumerate(names)}
    ints = all(_as_int(n) is not None for n in names)
    out = np.empty(len(labels), dtype=np.int64)
    for r, s in enumerate(labels):
        key = str(_as_int(s)) if ints and _as_int(s) is not None else s
        if key not in index:
            raise DataError(f"{where_row(r)}: label {s!r} is not one of the training classes "
                            f"({', '.join(names[:10])}{', ...' if len(names) > 10 else ''})")
        out[r] = index[key]
    return out


@dataclass
class _Parsed:
    """Columns of a CSV table in feature order: numeric arrays or text lists, and the label strings."""

    features: list   # names
    numeric: list    # bool per feature
    values: list     # np.ndarray (numeric) or list of str (text) per feature
    labels: list | None


def _parse(t: _Table, label_name, features, numeric, *, need_label=True) -> _Parsed:
    missing = [c for c in features if c not in t.columns]
    if missing:
        raise DataError(f"{t.path}: no column {missing[0]!r} (expected feature columns: {', '.join(features)})")
    extra = [c for c in t.columns if c not in features and c != label_name]
    if extra:
        raise DataError(f"{t.path}: column {extra[0]!r} is neither a feature nor the label {label_name!r}")
    labels = None
    if label_name in t.columns:
        labels = _text_column(t, label_name)
    elif need_label:
        raise DataError(f"{t.path}: no label column {label_name!r} (columns: {', '.join(t.columns)})")
    values = [_numeric_column(t, c) if num else _text_column(t, c) for c, num in zip(features, numeric)]
    return _Parsed(list(features), list(numeric), values, labels)


def _codes(texts, categories) -> np.ndarray:
    """Text values to their index in ``categories``; an unseen value gets ``len(categories)`` (no bit set)."""
    index = {c: i for i, c in enumerate(categories)}
    return np.array([index.get(s, len(categories)) for s in texts], dtype=np.float64)


def stratified_split(y, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(rest, part)``: ``part`` takes about ``fraction`` of every class, chosen with ``seed``.

    A class keeps at least one example in ``rest``; both index arrays are sorted.
    """
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    rest, part = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = min(int(round(fraction * len(idx))), len(idx) - 1)
        part.append(idx[:k])
        rest.append(idx[k:])
    return np.sort(np.concatenate(rest)), np.sort(np.concatenate(part))


def _check_split(path, n, test_idx) -> None:
    """A file too small to split off a test set (each class keeps one training row) is one error."""
    if len(test_idx) == 0:
        raise DataError(f"{path}: {n} rows are too few to split off a test set (a fifth of each class, "
                        "keeping one for training); give more rows or a separate test set (--test)")


def _csv_dataset(path, test, label, levels, method, split_seed) -> Dataset:
    t = _read_csv(path)
    label_name = _label_name(t, label)
    features = [c for c in t.columns if c != label_name]
    numeric = [_is_numeric(t, c) for c in features]
    p = _parse(t, label_name, features, numeric)
    names = _class_names(p.labels, f"{t.path}, column {label_name!r}")
    if len(names) > max(10, len(p.labels) // 2):
        raise DataError(f"{t.path}, column {label_name!r}: {len(names)} distinct labels in {len(p.labels)} "
                        "rows; is it the label column? (name it with --label)")
    y = _label_codes(p.labels, names, lambda r: t.where(r, label_name))
    if test is not None:
        tt = _read_csv(test)
        pt = _parse(tt, label_name, features, numeric)
        yt = _label_codes(pt.labels, names, lambda r: tt.where(r, label_name))
        train_idx = np.arange(len(y))
    else:
        train_idx, test_idx = stratified_split(y, 0.2, split_seed)
        _check_split(path, len(y), test_idx)
    tr, va = stratified_split(y[train_idx], 0.1, split_seed + 1)
    tr, va = train_idx[tr], train_idx[va]
    # the encoder sees the training split only: text categories and thresholds
    cats = [None if num else sorted(set(np.array(v, dtype=object)[tr])) for v, num in zip(p.values, numeric)]

    def matrix(parsed):
        cols = [v if num else _codes(v, c) for v, num, c in zip(parsed.values, numeric, cats)]
        return np.stack(cols, axis=1)

    x = matrix(p)
    train = Split(x[tr], y[tr])
    val = Split(x[va], y[va]) if len(va) else train
    test_split = Split(matrix(pt), yt) if test is not None else Split(x[test_idx], y[test_idx])
    encoder = _fit_mixed(train.x, numeric, cats, levels, method)
    text = [f for f, num in zip(features, numeric) if not num]
    info = {"source": f"{t.path}" + (f" (test: {test})" if test is not None else ""),
            "encoding": f"thermometer {method}, {levels} level(s)" + (f"; one-hot {', '.join(text)}" if text else ""),
            "class_names": names, "columns": features, "label": label_name}
    if not len(va):
        info["note"] = "validation split is the training set (too few examples to carve)"
    return Dataset(t.path.stem, len(names), train, val, test_split, encoder, info)


def _fit_mixed(x, numeric, cats, levels, method) -> Encoder:
    """Thermometer features for numeric columns (fitted on ``x``), one-hot features for text columns."""
    cols = [j for j, num in enumerate(numeric) if num]
    therm = iter(fit_thermometer(x[:, cols], levels, method=method).features if cols else ())
    feats = []
    for j, num in enumerate(numeric):
        if num:
            feats.append(next(therm))
        else:
            feats.append(onehot([range(len(cats[j]))], labels=[cats[j]]).features[0])
    return Encoder(tuple(feats))


# ---------------------------------------------------------------- NPZ
_NPZ_SPLITS = ("train", "val", "test")


def _npz_arrays(path) -> dict:
    try:
        return read_npz(path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}") from None


def _npz_x(path, arrays, key) -> np.ndarray:
    x = arrays[key]
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: {key} must hold numbers, not {x.dtype}")
    if x.ndim < 2 or x.shape[0] == 0 or x[0].size == 0:
        raise DataError(f"{path}: {key} must have shape (n, features) with n, features > 0, not {x.shape}")
    x = x.reshape(len(x), -1).astype(np.float64)
    bad = ~np.isfinite(x)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{path}: {key} row {r}, column {c}: {'missing value' if np.isnan(x[r, c]) else x[r, c]} "
                        "(features must be finite numbers)")
    big = np.abs(x) > _F32_MAX
    if big.any():
        r, c = np.argwhere(big)[0]
        raise DataError(f"{path}: {key} row {r}, column {c}: {x[r, c]!r} is beyond the float32 range features "
                        f"are trained in (at most {_F32_MAX:.4g} in magnitude)")
    return x


def _npz_y(path, arrays, key, n) -> list:
    y = arrays[key]
    if y.ndim != 1 or len(y) != n:
        raise DataError(f"{path}: {key} must have shape ({n},) to match x, not {y.shape}")
    if y.dtype.kind == "f":
        bad = ~np.isfinite(y) | (y != np.floor(y))
        if bad.any():
            r = int(np.flatnonzero(bad)[0])
            raise DataError(f"{path}: {key} row {r}: label {y[r]!r} is not an integer or a name")
        y = y.astype(np.int64)
    if y.dtype.kind not in "biuUS":
        raise DataError(f"{path}: {key} must hold integers or strings, not {y.dtype}")
    if y.dtype.kind == "S":
        out = []
        for r, v in enumerate(y.tolist()):
            try:
                out.append(v.decode("utf-8"))
            except UnicodeDecodeError:
                raise DataError(f"{path}: {key} row {r}: label bytes {v[:20]!r} are not UTF-8 text") from None
        return out
    return [str(v) for v in y.tolist()]


def _npz_dataset(path, test, label, levels, method, split_seed) -> Dataset:
    path = Path(path)
    if label is not None:
        raise DataError(f"{path}: --label names a CSV column; an NPZ file holds y_train")
    arrays = _npz_arrays(path)
    for need in ("x_train", "y_train"):
        if need not in arrays:
            raise DataError(f"{path}: no array {need!r} (arrays: {', '.join(sorted(arrays)) or 'none'})")
    parts = {}
    for s in _NPZ_SPLITS:
        if f"x_{s}" in arrays or f"y_{s}" in arrays:
            if f"x_{s}" not in arrays or f"y_{s}" not in arrays:
                raise DataError(f"{path}: x_{s} and y_{s} go together; the file has only one of them")
            x = _npz_x(path, arrays, f"x_{s}")
            parts[s] = (x, _npz_y(path, arrays, f"y_{s}", len(x)))
    if test is not None:
        if "test" in parts:
            raise DataError(f"{path}: holds x_test already; --test {test} would replace it")
        tarr = _npz_arrays(test)
        key = "x_test" if "x_test" in tarr else "x"
        if key not in tarr or f"y{key[1:]}" not in tarr:
            raise DataError(f"{test}: a test file needs arrays x_test and y_test (or x and y)")
        x = _npz_x(test, tarr, key)
        parts["test"] = (x, _npz_y(test, tarr, f"y{key[1:]}", len(x)))
    nf = parts["train"][0].shape[1]
    for s, (x, _) in parts.items():
        if x.shape[1] != nf:
            raise DataError(f"{path}: x_{s} has {x.shape[1]} features but x_train has {nf}")
    names = _class_names(parts["train"][1], f"{path}, y_train")
    codes = {s: _label_codes(lab, names, lambda r, s=s: f"{path}: y_{s} row {r}")
             for s, (_, lab) in parts.items()}
    x, y = parts["train"][0], codes["train"]
    train_idx = np.arange(len(y))
    if "test" not in parts:
        train_idx, test_idx = stratified_split(y, 0.2, split_seed)
        _check_split(path, len(y), test_idx)
        parts["test"] = (x[test_idx], None)
        codes["test"] = y[test_idx]
    if "val" not in parts:
        tr, va = stratified_split(y[train_idx], 0.1, split_seed + 1)
        tr, va = train_idx[tr], train_idx[va]
        parts["val"] = (x[va], None)
        codes["val"] = y[va]
    else:
        tr = train_idx
    train = Split(x[tr], y[tr])
    val = Split(parts["val"][0], codes["val"]) if len(codes["val"]) else train
    test_split = Split(parts["test"][0], codes["test"])
    encoder = fit_thermometer(train.x, levels, method=method)
    info = {"source": f"{path}" + (f" (test: {test})" if test is not None else ""),
            "encoding": f"thermometer {method}, {levels} level(s)", "class_names": names}
    return Dataset(path.stem, len(names), train, val, test_split, encoder, info)


# ---------------------------------------------------------------- entry points
def _kind(path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in DATA_SUFFIXES + (".npy",):
        raise DataError(f"{path}: unknown data file type {suffix or '(no suffix)'!r}; "
                        "expected .csv, .tsv or .npz")
    return suffix


def load_data_file(path, *, test=None, label: str | None = None, levels: int | None = None,
                   thresholds: str | None = None, split_seed: int = 0) -> Dataset:
    """A :class:`Dataset` from a CSV or NPZ file (and ``test``, a separate test file of the same kind).

    Splits are stratified and fixed by ``split_seed``: without a test file
    20% of every class is held out for test, then 10% of the rest for
    validation. ``levels`` (default 8) and ``thresholds`` (default
    ``"quantile"``) set the thermometer encoding of numeric columns; the
    encoder is fitted on the training split only and is quantized.
    """
    kind = _kind(path)
    if kind == ".npy":
        raise DataError(f"{path}: a .npy file holds no labels; train from a .csv or an .npz file "
                        "with x_train and y_train")
    if test is not None and (_kind(test) == ".npz") != (kind == ".npz"):
        raise DataError(f"{test}: the test file must be of the same kind as {path}")
    if levels is not None and (isinstance(levels, bool) or not isinstance(levels, int) or levels < 1):
        raise ValueError(f"'levels' must be a positive integer, not {levels!r}")
    if thresholds is not None and thresholds not in METHODS:
        raise ValueError(f"'thresholds' must be one of {', '.join(METHODS)}, not {thresholds!r}")
    build = _npz_dataset if kind == ".npz" else _csv_dataset
    return build(path, test, label, levels or _LEVELS, thresholds or _METHOD, split_seed)


def read_inputs(path, netlist) -> Inputs:
    """Raw features (and labels, when present) for ``netlist`` from a .csv, .tsv, .npz or .npy file.

    CSV: the netlist's feature columns (metadata ``columns``, in that
    order) or, for a netlist without them, the first ``num_features``
    columns; a label column (metadata ``label``, or the column after the
    features) gives the labels, mapped through ``class_names``. Text columns
    are mapped to their one-hot codes (an unseen value sets no bit). NPZ:
    ``x_test``/``y_test``, else ``x``/``y``. NPY: the array as it is, no labels.
    The features are rounded through float32, as in training.
    """
    kind = _kind(path)
    meta = getattr(netlist, "metadata", None) or {}
    names = meta.get("class_names")
    enc = Encoder.from_dict(netlist.encoder) if netlist.encoder is not None else None
    nf = enc.num_features if enc is not None else netlist.num_inputs
    if kind == ".npy":
        try:
            x = read_npy(path)
        except FileNotFoundError:
            raise DataError(f"{path}: no such file") from None
        except (ValueError, OSError) as exc:
            raise DataError(str(exc)) from None
        if x.ndim == 0 or x.shape[0] == 0 or x.size == 0:
            raise DataError(f"{path}: holds no samples (shape {x.shape}); expected (n, {nf}) with n >= 1")
        return Inputs(x, None, str(path))
    if kind == ".npz":
        arrays = _npz_arrays(path)
        key = "x_test" if "x_test" in arrays else "x"
        if key not in arrays:
            raise DataError(f"{path}: no array 'x_test' or 'x' (arrays: {', '.join(sorted(arrays)) or 'none'})")
        x = _npz_x(path, arrays, key)
        ykey = "y" + key[1:]
        y = None
        if ykey in arrays:
            labels = _npz_y(path, arrays, ykey, len(x))
            y = _labels_for(labels, names, netlist.num_classes, lambda r: f"{path}: {ykey} row {r}")
        return Inputs(x.astype(np.float32).astype(np.float64), y, str(path))
    t = _read_csv(path)
    features = meta.get("columns")
    label_name = meta.get("label")
    if not (isinstance(features, list) and all(isinstance(c, str) for c in features) and len(features) == nf):
        if len(t.columns) not in (nf, nf + 1):
            raise DataError(f"{path}: {len(t.columns)} columns; the netlist reads {nf} features "
                            "(plus an optional label column last)")
        features = t.columns[:nf]
        label_name = t.columns[nf] if len(t.columns) > nf else None
    numeric = [True] * nf
    cats = [None] * nf
    if enc is not None:
        for j, f in enumerate(enc.features):
            if f.labels is not None:
                numeric[j], cats[j] = False, list(f.labels)
    p = _parse(t, label_name, features, numeric, need_label=False)
    x = np.stack([v if num else _codes(v, c) for v, num, c in zip(p.values, numeric, cats)], axis=1)
    y = None
    if p.labels is not None:
        y = _labels_for(p.labels, names, netlist.num_classes, lambda r: t.where(r, label_name))
    return Inputs(x.astype(np.float32).astype(np.float64), y, str(path))


def _labels_for(labels, names, num_classes, where_row) -> np.ndarray:
    """File labels to class indices: through ``class_names`` when the netlist has them, else integers."""
    if isinstance(names, list) and len(names) == num_classes:
        return _label_codes(labels, [str(n) for n in names], where_row)
    return _label_codes(labels, [str(i) for i in range(num_classes)], where_row)
