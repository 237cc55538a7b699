"""The golden model: evaluates a netlist on input bits, giving class scores and predictions.

Every hardware result in lgn-hw is checked against :func:`evaluate`.

Three interchangeable backends compute the same thing, bit for bit:

``"c"``
    A small generic C kernel (``_golden.c``: the netlist arrays and the gate table's
    algebraic normal form :data:`lgn_hw.gates.ANF` are passed in as data), compiled once
    with the system C compiler into a shared library cached under
    ``~/.cache/lgn-hw/`` (or ``$XDG_CACHE_HOME/lgn-hw``) and loaded with :mod:`ctypes`.
    Blocks of 256 samples (one 256-bit word per wire); the sample range is split over
    threads (ctypes releases the GIL). Building takes well under a second, once.
    A LUT layer's node is a mux tree whose leaves are gates of its last two inputs
    (each 4-bit nibble of a table is a gate op).
``"numpy"``
    The same bit-parallel scheme with ``uint64`` words and numpy bitwise operations
    (LUT nodes by :func:`lgn_hw.gates.lut_apply_bits`); used when no C compiler works.
``"reference"``
    :func:`lgn_hw.netlist.reference.evaluate_reference`, one byte per bit; the cross-check.

``"auto"`` (the default) picks ``"c"`` when it can be built, else ``"numpy"`` (logging
one warning).
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import gates
from .reference import evaluate_reference

__all__ = ["Result", "evaluate", "predict", "pack_bits", "unpack_bits", "BACKENDS",
           "c_backend_error"]

log = logging.getLogger(__name__)

#: Valid values of ``backend=``.
BACKENDS = ("auto", "c", "numpy", "reference")

_BAD_VALUES = "input bits must be 0 or 1; pass raw features to predict() to encode them"


@dataclass(frozen=True)
class Result:
    """Per-sample class scores (popcounts, ``(n, num_classes)``) and predicted classes (``(n,)``)."""

    scores: np.ndarray
    classes: np.ndarray


# -- input validation -------------------------------------------------------------------

def _check_bits(netlist, bits, *, check_values: bool = True) -> np.ndarray:
    """Return ``bits`` as a 2-D ``uint8`` array of shape ``(n, num_inputs)``.

    A 1-D array is one sample. Booleans and 0/1 integers or floats are accepted; any
    other value raises :class:`ValueError`. With ``check_values=False`` a ``bool``,
    ``uint8`` or ``int8`` array is reinterpreted without looking at its values (the C
    kernel checks them while packing, for free).
    """
    bits = np.asarray(bits)
    if bits.ndim == 1:
        bits = bits[None, :]
    if bits.ndim != 2 or bits.shape[1] != netlist.num_inputs:
        raise ValueError(f"input bits must have shape (n, {netlist.num_inputs}), not {bits.shape}")
    if bits.dtype in (np.bool_, np.uint8, np.int8):
        if check_values and bits.dtype != np.bool_ and bits.size and bits.view(np.uint8).max() > 1:
            raise ValueError(_BAD_VALUES)
        return bits.view(np.uint8)
    if not np.issubdtype(bits.dtype, np.integer) and not np.issubdtype(bits.dtype, np.floating):
        raise TypeError(f"input bits must be 0/1 numbers or booleans, not dtype {bits.dtype}")
    if bits.size and not np.all((bits == 0) | (bits == 1)):
        raise ValueError(_BAD_VALUES)
    return bits.astype(np.uint8)


# -- bit packing ----------------------------------------------------------------------

def pack_bits(bits) -> np.ndarray:
    """Pack 0/1 bits ``(n, m)`` into words ``(m, ceil(n / 64))`` of ``uint64``.

    Column ``i`` of ``bits`` becomes row ``i``; sample ``s`` is bit ``s % 64`` of word
    ``s // 64``. Padding bits are 0. :func:`unpack_bits` inverts it.
    """
    bits = np.asarray(bits)
    if bits.ndim != 2:
        raise ValueError(f"bits must be two-dimensional (n, m), not shape {bits.shape}")
    n, m = bits.shape
    nwords = -(-n // 64)
    packed = np.packbits(bits.T != 0, axis=1, bitorder="little")  # (m, ceil(n / 8))
    out = np.zeros((m, nwords * 8), dtype=np.uint8)
    out[:, : packed.shape[1]] = packed
    return out.view("<u8").astype(np.uint64, copy=False)


def unpack_bits(words, n: int) -> np.ndarray:
    """Inverse of :func:`pack_bits`: words ``(m, nwords)`` to 0/1 ``uint8`` bits ``(n, m)``."""
    words = np.ascontiguousarray(words, dtype="<u8")
    if words.ndim != 2:
        raise ValueError(f"words must be two-dimensional (m, nwords), not shape {words.shape}")
    if not 0 <= n <= 64 * words.shape[1]:
        raise ValueError(f"n must be in 0..{64 * words.shape[1]} for {words.shape[1]} words, not {n}")
    return np.unpackbits(words.view(np.uint8), axis=1, count=n, bitorder="little").T


# -- numpy backend ----------------------------------------------------------------------

_NUMPY_CHUNK = 2048  # samples per chunk: a layer of 8,000 gates is 2 MB of words, cache-sized


def _evaluate_numpy(netlist, bits):
    n, num_classes = len(bits), netlist.num_classes
    k = netlist.outputs_per_class
    scores = np.empty((n, num_classes), dtype=np.int64)
    for s in range(0, n, _NUMPY_CHUNK):
        chunk = bits[s: s + _NUMPY_CHUNK]
        x = pack_bits(chunk)
        for layer in netlist.layers:
            if layer.kind == "lut":
                x = _lut_layer_numpy(layer, x)
            else:
                x = gates.apply_bits(layer.op[:, None], x[layer.a], x[layer.b])
        out = unpack_bits(x, len(chunk))  # (m, num_outputs)
        scores[s: s + len(chunk)] = out.reshape(len(chunk), num_classes, k).sum(axis=2)
    return scores, scores.argmax(axis=1)


def _lut_layer_numpy(layer, x):
    """One LUT layer on words ``x`` ``(m, nwords)``, nodes in blocks that bound the mux tree's
    temporaries (``2**k`` words per node and word column) to a few MB."""
    n, nwords = layer.width, x.shape[1]
    step = max(1, (1 << 18) // ((1 << layer.k) * max(1, nwords)))
    out = np.empty((n, nwords), dtype=x.dtype)
    for s in range(0, n, step):
        idx = layer.inputs[s: s + step]                       # (nodes, k)
        out[s: s + step] = gates.lut_apply_bits(layer.tables[s: s + step, None], layer.k,
                                                np.moveaxis(x[idx], 1, 0))
    return out


# -- C backend --------------------------------------------------------------------------

_SOURCE = Path(__file__).with_name("_golden.c")
_ABI = 2
_lock = threading.Lock()
_lib = None          # the loaded ctypes library, once built
_lib_error = None    # why it could not be built, once tried and failed
_pool = None         # (ThreadPoolExecutor, its size, the pid that made it)


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lgn-hw"


def _machine_id() -> str:
    """What a ``-march=native`` build depends on: architecture and CPU model and flags."""
    parts = [platform.machine(), platform.system()]
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "flags", "Features", "CPU part")):
                    parts.append(line.strip())
                if len(parts) >= 5:
                    break
    except OSError:
        parts.append(platform.processor())
    return "\n".join(parts)


def _compiler_version(cc: str) -> str:
    try:
        return subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


_FLAG_SETS = (
    ["-O3", "-march=native", "-shared", "-fPIC", "-std=gnu11"],
    ["-O3", "-shared", "-fPIC", "-std=gnu11"],
)


def _compile(cc: str, flags: list, target: Path) -> None:
    """Compile the kernel to ``target`` via a private temporary file and a rename, so that
    concurrent builders (parallel test workers) never see a half-written library."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".golden-", suffix=".so")
    os.close(fd)
    try:
        proc = subprocess.run([cc, *flags, "-o", tmp, str(_SOURCE)],
                              capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"{cc} {' '.join(flags)}: {proc.stderr.strip()[-500:]}")
        os.chmod(tmp, 0o755)
        os.replace(tmp, target)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RuntimeError(f"{cc} {' '.join(flags)}: {exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def _open(target: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(target))
    if lib.lgn_golden_abi() != _ABI:
        raise RuntimeError(f"{target}: unexpected ABI version {lib.lgn_golden_abi()}")
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    lib.lgn_golden_eval.argtypes = [ptr, i64, i64, i64, i64, ptr, ptr, ptr, ptr, ptr, ptr,
                                    ptr, ptr, i64, ptr, ptr]
    lib.lgn_golden_eval.restype = ctypes.c_int
    lib.lgn_golden_block.restype = ctypes.c_int
    return lib


def _build() -> ctypes.CDLL:
    """Compile (or reuse the cached build of) ``_golden.c`` and load it."""
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if not cc:
        raise RuntimeError("no C compiler found (install gcc, or set CC)")
    try:
        cache = _cache_dir()
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        cache = Path(tempfile.gettempdir()) / f"lgn-hw-{os.getuid()}"
        cache.mkdir(parents=True, exist_ok=True)
    source, version, machine = _SOURCE.read_bytes(), _compiler_version(cc), _machine_id()
    errors = []
    for flags in _FLAG_SETS:  # -march=native first, then portable
        key = hashlib.sha256(b"\0".join(
            [source, " ".join([cc] + flags).encode(), version.encode(), machine.encode()]
        )).hexdigest()[:24]
        target = cache / f"golden-{key}.so"
        try:
            lib = None
            if target.exists():
                try:
                    lib = _open(target)
                except OSError:  # a damaged cache entry: build it again
                    target.unlink(missing_ok=True)
            if lib is None:
                _compile(cc, flags, target)
                lib = _open(target)
        except (RuntimeError, OSError) as exc:
            errors.append(str(exc))
            continue
        log.debug("golden model C kernel: %s (%s)", target, " ".join(flags))
        return lib
    raise RuntimeError("compiling the golden-model kernel failed: " + " | ".join(errors))


def _load_c():
    """The C library, building it on first use; None (with one warning) if impossible."""
    global _lib, _lib_error
    with _lock:
        if _lib is None and _lib_error is None:
            try:
                _lib = _build()
            except (RuntimeError, OSError, AttributeError) as exc:
                _lib_error = str(exc)
                log.warning("golden model: C backend unavailable, using the slower numpy "
                            "backend: %s", _lib_error)
    return _lib


def c_backend_error() -> str | None:
    """None if the C backend works here, else why not (tries to build it)."""
    _load_c()
    return _lib_error


def _num_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def _evaluate_c(lib, netlist, bits):
    n, ni, num_classes = bits.shape[0], bits.shape[1], netlist.num_classes
    scores = np.empty((n, num_classes), dtype=np.int64)
    classes = np.empty(n, dtype=np.int64)
    if n == 0:
        return scores, classes
    if bits.strides[1] != 1 or bits.strides[0] < ni:
        bits = np.ascontiguousarray(bits)
    layers = netlist.layers
    widths = np.array([layer.width for layer in layers], dtype=np.int64)
    kinds = np.array([layer.k if layer.kind == "lut" else 0 for layer in layers], dtype=np.int64)
    gl = [layer for layer in layers if layer.kind == "gate"]
    ll = [layer for layer in layers if layer.kind == "lut"]

    def cat(arrays, dtype):  # one element when there are none: a valid pointer
        return np.concatenate([np.ravel(x).astype(dtype) for x in arrays] or [np.zeros(1, dtype)])

    a = cat([layer.a for layer in gl], np.int32)
    b = cat([layer.b for layer in gl], np.int32)
    op = cat([layer.op for layer in gl], np.uint8)
    lin = cat([layer.inputs for layer in ll], np.int32)
    ltab = cat([layer.tables for layer in ll], np.uint64)
    anf = np.ascontiguousarray(gates.ANF, dtype=np.uint8)
    stride = bits.strides[0]

    def run(lo, hi):
        return lib.lgn_golden_eval(
            bits.ctypes.data + lo * stride, stride, hi - lo, ni, len(widths),
            widths.ctypes.data, kinds.ctypes.data, a.ctypes.data, b.ctypes.data, op.ctypes.data,
            anf.ctypes.data, lin.ctypes.data, ltab.ctypes.data, num_classes, scores.ctypes.data + lo * num_classes * 8, classes.ctypes.data + lo * 8)

    block = lib.lgn_golden_block()
    nblocks = -(-n // block)
    threads = min(_num_threads(), nblocks // 2) if nblocks >= 4 else 1
    if threads <= 1:
        codes = [run(0, n)]
    else:
        # ctypes releases the GIL during the call, so plain threads run the kernel in
        # parallel; each gets a contiguous range of whole blocks.
        global _pool
        with _lock:
            # A pool inherited through fork() has no threads behind it: make a new one.
            if _pool is None or _pool[1] < threads or _pool[2] != os.getpid():
                _pool = (ThreadPoolExecutor(threads, thread_name_prefix="lgn-golden"), threads,
                         os.getpid())
            pool = _pool[0]
        edges = [min(n, (nblocks * t // threads) * block) for t in range(threads + 1)]
        futures = [pool.submit(run, lo, hi) for lo, hi in zip(edges[:-1], edges[1:]) if hi > lo]
        codes = [f.result() for f in futures]
    if any(c == 1 for c in codes):
        raise ValueError(_BAD_VALUES)
    if any(c != 0 for c in codes):
        raise MemoryError("golden model: the C kernel could not allocate its buffers")
    return scores, classes


# -- public API -------------------------------------------------------------------------

def evaluate(netlist, bits, *, backend: str = "auto") -> Result:
    """Evaluate ``netlist`` on ``bits`` (``(n, num_inputs)`` of 0/1; 1-D is one sample).

    ``backend`` is one of :data:`BACKENDS`; all give identical results. ``"c"`` raises
    :class:`RuntimeError` if the kernel cannot be built; ``"auto"`` falls back to numpy.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, not {backend!r}")
    if backend in ("auto", "c"):
        lib = _load_c()
        if lib is not None:
            return Result(*_evaluate_c(lib, netlist, _check_bits(netlist, bits, check_values=False)))
        if backend == "c":
            raise RuntimeError(f"golden model C backend unavailable: {_lib_error}")
        backend = "numpy"
    bits = _check_bits(netlist, bits)
    if backend == "numpy":
        return Result(*_evaluate_numpy(netlist, bits))
    return Result(*evaluate_reference(netlist, bits))


def _check_finite(inputs) -> None:
    x = np.asarray(inputs)
    if x.dtype.kind not in "fc":
        return
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        at = tuple(int(i) for i in bad[0])
        where = f"row {at[0]} column {at[1]}" if len(at) == 2 else f"index {at}"
        raise ValueError(f"raw input {where} is {x[at]}: features must be finite numbers")


def predict(netlist, inputs, *, backend: str = "auto") -> Result:
    """Like :func:`evaluate`, but raw features go through the netlist's encoder first
    (NaN or infinite features are a ``ValueError`` naming the first such row and column)."""
    if netlist.encoder is not None:
        from ..data.encoding import Encoder

        _check_finite(inputs)

        inputs = Encoder.from_dict(netlist.encoder).encode(inputs)
    return evaluate(netlist, inputs, backend=backend)
