"""Readers for dataset files the user already has: IDX (MNIST, Fashion-MNIST) and CIFAR-10 pickles.

Nothing is downloaded. The CIFAR-10 reader uses a restricted unpickler that
only rebuilds numpy arrays, dicts, lists, strings and numbers: a file that asks
for any other class or function is rejected, never executed.
"""

from __future__ import annotations

import gzip
import io
import pickle
from pathlib import Path

import numpy as np

__all__ = ["read_idx", "read_cifar_batch", "find_files", "DataFileError"]


class DataFileError(FileNotFoundError):
    """Expected dataset files are missing; the message says which and where to get them."""


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzipped when its name ends in ``.gz``) into a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _IDX_TYPES:
        raise ValueError(f"{path}: not an IDX file (magic bytes {data[:4]!r})")
    ndim = data[3]
    head = 4 + 4 * ndim
    if ndim == 0 or len(data) < head:
        raise ValueError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    count = int(np.prod(shape))
    if len(data) - head != count * dtype.itemsize:
        raise ValueError(f"{path}: IDX header says shape {shape} ({count * dtype.itemsize} bytes) "
                         f"but the file holds {len(data) - head} bytes of data")
    return np.frombuffer(data, dtype=dtype, offset=head, count=count).reshape(shape).astype(dtype.newbyteorder("="))


# (module, name) pairs the CIFAR unpickler may resolve: numpy array reconstruction only.
_SAFE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how pickle protocols < 3 written by Python 3 store bytes
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _SAFE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays, dicts and lists are allowed")


def _safe_unpickle(data: bytes):
    return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()


def read_cifar_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: ``(x, y)`` with ``x`` of shape ``(n, 3072)`` uint8 and ``y`` of shape ``(n,)``."""
    path = Path(path)
    try:
        obj = _safe_unpickle(path.read_bytes())
    except pickle.UnpicklingError as exc:
        raise ValueError(f"{path}: {exc}") from None
    except (EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise ValueError(f"{path}: not a CIFAR-10 batch ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a CIFAR-10 batch (top level is {type(obj).__name__}, not dict)")
    obj = {(k.decode() if isinstance(k, bytes) else k): v for k, v in obj.items()}
    if "data" not in obj or "labels" not in obj:
        raise ValueError(f"{path}: not a CIFAR-10 batch (keys {sorted(map(str, obj))})")
    x = np.asarray(obj["data"])
    y = np.asarray(obj["labels"], dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != 3072 or len(x) != len(y):
        raise ValueError(f"{path}: data of shape {x.shape} and {len(y)} labels; expected (n, 3072) and n")
    return x.astype(np.uint8), y


def find_files(data_dir, subdirs, names, *, dataset: str, source: str) -> list[Path]:
    """Locate ``names`` (each also tried with ``.gz``) in ``data_dir`` or one of its ``subdirs``.

    Raises :class:`DataFileError` naming the files, the places searched and the source.
    """
    if data_dir is None:
        raise DataFileError(f"{dataset} is read from local files: pass --data-dir DIR holding "
                            f"{', '.join(names)} (get them from {source})")
    data_dir = Path(data_dir)
    places = [data_dir / s for s in subdirs] + [data_dir]
    for place in places:
        found = []
        for name in names:
            for cand in (place / name, place / (name + ".gz")):
                if cand.is_file():
                    found.append(cand)
                    break
            else:
                break
        if len(found) == len(names):
            return found
    raise DataFileError(f"{dataset}: expected files {', '.join(names)} (optionally .gz) in one of "
                        f"{', '.join(str(p) for p in places)}; get them from {source}")
