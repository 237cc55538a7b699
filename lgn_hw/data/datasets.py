"""Built-in and file-based datasets, by name; :func:`load_dataset` is the one entry point.

Built in (no files, no network): ``digits`` and ``breast_cancer`` (shipped with
scikit-learn), ``monk1``/``monk2``/``monk3`` (generated from the published
rules), ``parity:N`` and ``majority:N`` (synthetic, N bits). From local files
(``data_dir``): ``mnist``, ``fashion_mnist`` (IDX files) and ``cifar10`` (the
python pickle batches).

Every split is fixed by ``split_seed`` (0 unless asked otherwise), so runs with
different training seeds are scored on the same test set. The encoder is fitted
on the training split only.
"""

from __future__ import annotations

import itertools

import numpy as np

from .dataset import Dataset, Split, split_indices
from .encoding import bits as bit_encoder
from .encoding import METHODS, fit_thermometer, onehot
from .files import find_files, read_cifar_batch, read_idx

__all__ = ["load_dataset", "DATASETS", "MONK_VALUES", "monk_label"]

#: names accepted by :func:`load_dataset` (``parity`` and ``majority`` also as ``parity:N``)
DATASETS = ("digits", "breast_cancer", "monk1", "monk2", "monk3", "parity", "majority",
            "mnist", "fashion_mnist", "cifar10")

_ALIASES = {"breast-cancer": "breast_cancer", "fashion-mnist": "fashion_mnist",
            "monk-1": "monk1", "monk-2": "monk2", "monk-3": "monk3", "cifar-10": "cifar10"}


def load_dataset(name: str, *, data_dir=None, levels: int | None = None, thresholds: str | None = None,
                 split_seed: int = 0) -> Dataset:
    """Load dataset ``name`` with fixed splits and an encoder fitted on its training split.

    ``levels`` (thermometer thresholds per feature) and ``thresholds``
    (``"uniform"``, ``"quantile"`` or ``"aligned"``, see
    :func:`~lgn_hw.data.encoding.fit_thermometer`) override the dataset's default encoding;
    they do not apply to the categorical (MONK) and bit (parity, majority) tasks.
    """
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a string, not {name!r}")
    base, _, arg = name.lower().partition(":")
    base = _ALIASES.get(base, base)
    if base not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} "
                         "(parity and majority take a bit count, e.g. parity:8)")
    if arg and base not in ("parity", "majority"):
        raise ValueError(f"dataset {base!r} takes no ':' argument, got {name!r}")
    if levels is not None and (isinstance(levels, bool) or not isinstance(levels, int) or levels < 1):
        raise ValueError(f"'levels' must be a positive integer, not {levels!r}")
    if thresholds is not None and thresholds not in METHODS:
        raise ValueError(f"'thresholds' must be one of {', '.join(METHODS)}, not {thresholds!r}")
    if base in ("parity", "majority"):
        n = 8 if not arg else _bit_count(arg, name)
        return _boolean(base, n, split_seed)
    if base.startswith("monk"):
        return _monk(int(base[-1]))
    if base == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return _tabular("digits", d.data, d.target, 10, levels or 3, thresholds or "uniform",
                        per_feature=False, split_seed=split_seed, source="scikit-learn digits (8x8, 0..16)",
                        class_names=[str(c) for c in d.target_names])
    if base == "breast_cancer":
        from sklearn.datasets import load_breast_cancer

        d = load_breast_cancer()
        return _tabular("breast_cancer", d.data, d.target, 2, levels or 8, thresholds or "quantile",
                        per_feature=True, split_seed=split_seed, source="scikit-learn breast cancer (Wisconsin)",
                        class_names=[str(c) for c in d.target_names])
    if base in ("mnist", "fashion_mnist"):
        return _mnist(base, data_dir, levels or 3, thresholds or "uniform", split_seed)
    return _cifar10(data_dir, levels or 3, thresholds or "uniform", split_seed)


def _bit_count(arg, name):
    try:
        n = int(arg)
    except ValueError:
        n = 0
    if not 2 <= n <= 64:
        raise ValueError(f"bit count in {name!r} must be an integer in 2..64")
    return n


def _finish(name, num_classes, train, val, test, levels, method, per_feature, info):
    enc = fit_thermometer(train.x, levels, method=method, per_feature=per_feature)
    info = dict(info, encoding=f"thermometer {method}, {levels} level(s)"
                + ("" if per_feature else ", shared thresholds"))
    return Dataset(name, num_classes, train, val, test, enc, info)


def _tabular(name, x, y, num_classes, levels, method, *, per_feature, split_seed, source, class_names,
             test_fraction=0.2, val_fraction=0.1):
    """A fixed seeded split: ``test_fraction`` of all for test, then ``val_fraction`` of the rest for validation."""
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    rest, test = split_indices(len(y), [1 - test_fraction, test_fraction], split_seed)
    tr, va = split_indices(len(rest), [1 - val_fraction, val_fraction], split_seed + 1)
    train, val = Split(x[rest[tr]], y[rest[tr]]), Split(x[rest[va]], y[rest[va]])
    return _finish(name, num_classes, train, val, Split(x[test], y[test]), levels, method, per_feature,
                   {"source": source, "class_names": class_names})


# ---------------------------------------------------------------- MONK's problems
#: number of values of the six MONK attributes (each takes the values 1..k)
MONK_VALUES = (3, 3, 2, 3, 4, 2)
_MONK_TRAIN = {1: 124, 2: 169, 3: 122}


def monk_label(problem: int, a) -> np.ndarray:
    """The published target concept of MONK-``problem`` for attribute rows ``a`` (values start at 1)."""
    a = np.asarray(a)
    a1, a2, a3, a4, a5, a6 = a.T
    if problem == 1:
        return ((a1 == a2) | (a5 == 1)).astype(np.int64)
    if problem == 2:
        return ((a == 1).sum(axis=1) == 2).astype(np.int64)
    if problem == 3:
        return (((a5 == 3) & (a4 == 1)) | ((a5 != 4) & (a2 != 3))).astype(np.int64)
    raise ValueError(f"MONK problem must be 1, 2 or 3, not {problem!r}")


def _monk(problem):
    allx = np.array(list(itertools.product(*[range(1, k + 1) for k in MONK_VALUES])), dtype=np.int64)
    ally = monk_label(problem, allx)
    rng = np.random.default_rng(1000 + problem)  # the fixed draw of the training set
    pick = np.sort(rng.choice(len(allx), size=_MONK_TRAIN[problem], replace=False))
    ytr = ally[pick].copy()
    noisy = 0
    if problem == 3:  # 5% label noise in the training set, as in the original MONK-3
        noisy = int(round(0.05 * len(pick)))
        flip = rng.choice(len(pick), size=noisy, replace=False)
        ytr[flip] = 1 - ytr[flip]
    train = Split(allx[pick], ytr)
    enc = onehot([range(1, k + 1) for k in MONK_VALUES])
    info = {"source": f"MONK-{problem} generated from its published rule", "encoding": "one-hot",
            "label_noise": noisy, "note": "validation split is the training set (too few examples to carve)"}
    return Dataset(f"monk{problem}", 2, train, train, Split(allx, ally), enc, info)


# ---------------------------------------------------------------- synthetic Boolean tasks
def _boolean(kind, n, split_seed):
    rng = np.random.default_rng(split_seed + (17 if kind == "parity" else 29) * 1000 + n)
    if n <= 13:
        x = ((np.arange(2 ** n)[:, None] >> np.arange(n)[None, :]) & 1).astype(np.float32)
    else:
        x = rng.integers(0, 2, size=(8192, n)).astype(np.float32)
    s = x.sum(axis=1)
    y = (s % 2) if kind == "parity" else (s > n / 2)
    y = y.astype(np.int64)
    tr, va, te = split_indices(len(y), [0.64, 0.16, 0.2], int(rng.integers(2 ** 31)))
    info = {"source": f"synthetic {kind} of {n} bits", "encoding": "bits"}
    return Dataset(f"{kind}:{n}", 2, Split(x[tr], y[tr]), Split(x[va], y[va]), Split(x[te], y[te]),
                   bit_encoder(n), info)


# ---------------------------------------------------------------- file-based datasets
_MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
_MNIST_SOURCES = {
    "mnist": ("MNIST", ("mnist", "MNIST/raw", "MNIST"), "https://yann.lecun.com/exdb/mnist/ "
              "(or any mirror, e.g. torchvision's MNIST/raw folder)"),
    "fashion_mnist": ("Fashion-MNIST", ("fashion-mnist", "fashion_mnist", "FashionMNIST/raw", "FashionMNIST"),
                      "https://github.com/zalandoresearch/fashion-mnist (data/fashion)"),
}


def _mnist(base, data_dir, levels, method, split_seed):
    label, subdirs, source = _MNIST_SOURCES[base]
    paths = find_files(data_dir, subdirs, _MNIST_FILES, dataset=label, source=source)
    xtr, ytr, xte, yte = (read_idx(p) for p in paths)
    for xs, ys, p in ((xtr, ytr, paths[0]), (xte, yte, paths[2])):
        if xs.ndim != 3 or ys.ndim != 1 or len(xs) != len(ys):
            raise ValueError(f"{p}: images of shape {xs.shape} do not match {ys.shape} labels")
    for ys, p in ((ytr, paths[1]), (yte, paths[3])):
        bad = np.flatnonzero((ys < 0) | (ys > 9))
        if len(bad):
            raise ValueError(f"{p}: label {ys[bad[0]]} at index {bad[0]} is outside 0..9")
    xtr = xtr.reshape(len(xtr), -1)
    xte = xte.reshape(len(xte), -1)
    tr, va = split_indices(len(ytr), [1 - 1 / 12, 1 / 12], split_seed)
    return _finish(base, 10, Split(xtr[tr], ytr[tr]), Split(xtr[va], ytr[va]), Split(xte, yte),
                   levels, method, False, {"source": f"{label} IDX files in {paths[0].parent}",
                                           "class_names": list(_CLASS_NAMES[base])})


def mnist_training_images(data_dir) -> int:
    """How many training images the MNIST files in ``data_dir`` hold (60,000 for the official set)."""
    label, subdirs, source = _MNIST_SOURCES["mnist"]
    paths = find_files(data_dir, subdirs, _MNIST_FILES, dataset=label, source=source)
    return len(read_idx(paths[1]))


#: the published class names of the file-based datasets, by label
_CLASS_NAMES = {
    "mnist": tuple(str(i) for i in range(10)),
    "fashion_mnist": ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                      "Bag", "Ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
}
_CIFAR_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)


def _cifar10(data_dir, levels, method, split_seed):
    paths = find_files(data_dir, ("cifar-10-batches-py",), _CIFAR_FILES, dataset="CIFAR-10",
                       source="https://www.cs.toronto.edu/~kriz/cifar.html (CIFAR-10 python version, "
                       "cifar-10-python.tar.gz, unpacked)")
    paths = [p for p in paths]
    if any(p.suffix == ".gz" for p in paths):
        raise ValueError("CIFAR-10 batches must be unpacked (data_batch_1 ... test_batch), not .gz files")
    parts = [read_cifar_batch(p) for p in paths[:5]]
    xtr = np.concatenate([p[0] for p in parts])
    ytr = np.concatenate([p[1] for p in parts])
    xte, yte = read_cifar_batch(paths[5])
    tr, va = split_indices(len(ytr), [0.9, 0.1], split_seed)
    return _finish("cifar10", 10, Split(xtr[tr], ytr[tr]), Split(xtr[va], ytr[va]), Split(xte, yte),
                   levels, method, False, {"source": f"CIFAR-10 batches in {paths[0].parent}",
                                           "class_names": list(_CLASS_NAMES["cifar10"])})
