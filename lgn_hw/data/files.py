"""Readers for dataset files the user already has: IDX (MNIST, Fashion-MNIST) and CIFAR-10 pickles.

Nothing is downloaded. The CIFAR-10 reader uses a restricted unpickler that
only rebuilds numpy arrays, dicts, lists, strings and numbers: a file that asks
for any other class or function is rejected, never executed.
"""

from __future__ import annotations

import gzip
import io
import math
import pickle
import zipfile
import zlib
from pathlib import Path

import numpy as np
from numpy.lib import format as npformat

__all__ = ["read_idx", "read_npy", "read_npz", "read_data_file", "MAX_DATA_BYTES", "read_cifar_batch", "find_files", "DataFileError", "MAX_IDX_BYTES"]


class DataFileError(FileNotFoundError):
    """Expected dataset files are missing; the message says which and where to get them."""


_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
#: the most data one IDX file may declare (the largest IDX dataset, EMNIST ByClass, holds 0.55 GB)
MAX_IDX_BYTES = 1 << 30
#: deflate expands one byte to at most 1032: a .gz file cannot legitimately hold more
_DEFLATE_RATIO = 1032
_CHUNK = 1 << 20


def _read_exactly(f, n: int) -> bytes:
    """``n`` bytes from stream ``f``, in chunks; fewer bytes in the stream is a truncated file."""
    parts, left = [], n
    while left:
        chunk = f.read(min(left, _CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def read_idx(path, *, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (gzipped when its name ends in ``.gz``) into a numpy array.

    The header is read first and bounds everything after it: the data it
    declares must fit in ``max_bytes`` and, for a plain file, in the file (for
    a .gz file, in 1032 times its compressed size), and the stream is read
    only up to that size, so a gzip bomb is refused after at most one chunk
    more than the header declares.
    """
    path = Path(path)
    try:
        return _read_idx(path, max_bytes)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise ValueError(f"{path}: corrupt gzip file ({type(exc).__name__}: {exc})") from None


def _read_idx(path, max_bytes):
    size = path.stat().st_size
    gz = path.suffix == ".gz"
    with (gzip.open if gz else open)(path, "rb") as f:
        magic = f.read(4)
        if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
            raise ValueError(f"{path}: not an IDX file (magic bytes {magic!r})")
        ndim = magic[3]
        dims = f.read(4 * ndim)
        if ndim == 0 or len(dims) < 4 * ndim:
            raise ValueError(f"{path}: truncated IDX header")
        shape = tuple(int.from_bytes(dims[4 * i: 4 * i + 4], "big") for i in range(ndim))
        dtype = np.dtype(_IDX_TYPES[magic[2]])
        count = math.prod(shape)
        need = count * dtype.itemsize
        head = 4 + 4 * ndim
        can_hold = size * _DEFLATE_RATIO if gz else size - head
        if need > max_bytes:
            raise ValueError(f"{path}: IDX header declares shape {shape} ({need} bytes), more than the "
                             f"limit ({max_bytes} bytes)")
        if need > can_hold and gz:
            raise ValueError(f"{path}: IDX header declares shape {shape} ({need} bytes), more than a "
                             f"{size}-byte .gz file can hold ({can_hold} bytes)")
        if need > can_hold:
            raise ValueError(f"{path}: IDX header says shape {shape} ({need} bytes) "
                             f"but the file holds {can_hold} bytes of data")
        data = _read_exactly(f, need)
        if len(data) < need:
            raise ValueError(f"{path}: IDX header says shape {shape} ({need} bytes) "
                             f"but the file holds {len(data)} bytes of data")
        if f.read(1):
            raise ValueError(f"{path}: IDX header says shape {shape} ({need} bytes) "
                             f"but the file holds more data than that")
    return np.frombuffer(data, dtype=dtype, count=count).reshape(shape).astype(dtype.newbyteorder("="))


def _npy_header(f, where):
    """``(shape, fortran_order, dtype)`` of the .npy stream ``f``, positioned at the data."""
    try:
        version = npformat.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = npformat.read_array_header_2_0(f)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, EOFError) as exc:
        raise ValueError(f"{where}: not a .npy array ({exc})") from None
    if dtype.hasobject:
        raise ValueError(f"{where}: holds Python objects (dtype {dtype}); only plain number or "
                         "string arrays are read")
    return shape, fortran, dtype


def _check_npy_size(where, shape, dtype, available: int):
    need = math.prod(shape) * dtype.itemsize
    if need != available:
        raise ValueError(f"{where}: the .npy header declares shape {shape} of {dtype} ({need} bytes) "
                         f"but the file holds {available} bytes of data")


#: the largest data file (.csv, .npy, .npz) read: bigger is refused before it is read
MAX_DATA_BYTES = 4 << 30


def read_data_file(path, what: str) -> bytes:
    """The bytes of the data file ``path``: a regular file (a device such as ``/dev/zero``, a FIFO or a
    folder is refused, also behind a link, without waiting or reading) of at most :data:`MAX_DATA_BYTES`.
    ``FileNotFoundError`` when missing, :class:`~lgn_hw.netlist.model.PathError` (a ``ValueError``) else."""
    from ..netlist.model import read_limited

    return read_limited(path, MAX_DATA_BYTES, what)


def read_npy(path) -> np.ndarray:
    """A .npy file as an array, its header checked against the file size before anything is allocated.

    Arrays of Python objects (pickles) are refused; so is anything but a regular file (:func:`read_data_file`).
    """
    path = Path(path)
    f = io.BytesIO(read_data_file(path, ".npy"))
    shape, fortran, dtype = _npy_header(f, path)
    _check_npy_size(path, shape, dtype, len(f.getbuffer()) - f.tell())
    f.seek(0)
    return npformat.read_array(f, allow_pickle=False)


def read_npz(path) -> dict:
    """The arrays of a .npz archive by name, each member's header checked before it is read.

    A member may declare no more data than its uncompressed size in the
    archive, which in turn may be at most 1032 times its compressed size.
    """
    path = Path(path)
    try:
        zf = zipfile.ZipFile(io.BytesIO(read_data_file(path, ".npz")))
    except zipfile.BadZipFile:
        raise ValueError(f"{path}: not an .npz (zip) archive") from None
    out = {}
    with zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            where = f"{path}: member {info.filename}"
            if info.file_size > max(info.compress_size, 1) * _DEFLATE_RATIO:
                raise ValueError(f"{where}: claims {info.file_size} bytes from {info.compress_size} "
                                 "compressed, more than deflate can expand")
            try:
                with zf.open(info) as f:
                    shape, _, dtype = _npy_header(f, where)
                    _check_npy_size(where, shape, dtype, info.file_size - f.tell())
                with zf.open(info) as f:
                    out[info.filename[:-4]] = npformat.read_array(f, allow_pickle=False)
            except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
                raise ValueError(f"{where}: corrupt archive member ({exc})") from None
    return out


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


#: a CIFAR-10 python batch is 31 MB (10,000 images); refuse files far beyond that before reading them
MAX_CIFAR_BATCH_BYTES = 1 << 27


def read_cifar_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 python batch: ``(x, y)`` with ``x`` of shape ``(n, 3072)`` uint8 and ``y`` of shape ``(n,)``."""
    path = Path(path)
    size = path.stat().st_size
    if size > MAX_CIFAR_BATCH_BYTES:
        raise ValueError(f"{path}: {size} bytes, more than a CIFAR-10 batch can be (limit {MAX_CIFAR_BATCH_BYTES})")
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
