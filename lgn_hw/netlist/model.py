"""The netlist: a typed, validated logic-gate network (DESIGN.md section 2).

:class:`Netlist` is the in-memory form every stage shares; :func:`load` and
:meth:`Netlist.save` read and write the ``*.lgn.json`` interchange file.
Reading validates everything and raises :class:`NetlistError` with a single
line that names the offending field and shows the bad value.

A layer is a :class:`Layer` of 2-input gates or a :class:`LutLayer` of k-input
LUT nodes (k = 2..6, the bit order of :mod:`lgn_hw.gates`); layers may mix
kinds. File version 2 adds LUT layers and quantized encoders; the writer emits
version 1 when a netlist uses neither, so version-1 files round-trip unchanged.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from .. import gates

__all__ = ["NetlistError", "PathError", "Layer", "LutLayer", "Netlist", "load", "FORMAT", "VERSION",
           "VERSIONS", "MAX_FILE_BYTES", "read_limited", "parse_json"]

FORMAT = "lgn-netlist"
#: File versions this reader knows; :data:`VERSION` is the newest.
VERSIONS = (1, 2)
VERSION = VERSIONS[-1]
_MAX_INDEX = 2**31 - 1
#: the most gates or LUT nodes a netlist file is read with, and the file bytes one node can
#: take in the format (a 6-LUT: six 10-digit indices and a 20-digit table, with separators)
MAX_NODES = 2**22
_BYTES_PER_NODE = 128
#: the largest netlist file read (512 MiB): bigger is refused before it is read
MAX_FILE_BYTES = MAX_NODES * _BYTES_PER_NODE


class NetlistError(ValueError):
    """A netlist (file or object) breaks the format; the message is one line."""


class PathError(ValueError):
    """A path to read or write is not a regular file (a device, folder, FIFO), or is too big to read."""


def _short(value, limit=60) -> str:
    try:
        text = repr(value)
    except RecursionError:  # JSON nested just below the parser's limit
        text = f"<{type(value).__name__} nested too deeply>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _fail(where: str, what: str, value) -> NetlistError:
    return NetlistError(f"{where}: {what}, got {_short(value)}")


@dataclass(frozen=True, eq=False)
class Layer:
    """One layer of gates: gate ``i`` computes ``op[i](prev[a[i]], prev[b[i]])``."""

    a: np.ndarray
    b: np.ndarray
    op: np.ndarray
    kind: ClassVar[str] = "gate"

    def __post_init__(self):
        a = np.ascontiguousarray(self.a, dtype=np.int64)
        b = np.ascontiguousarray(self.b, dtype=np.int64)
        op = np.ascontiguousarray(self.op, dtype=np.int64)
        for name, arr in (("a", a), ("b", b), ("op", op)):
            if arr.ndim != 1:
                raise NetlistError(f"layer.{name}: must be one-dimensional, got shape {arr.shape}")
            arr.setflags(write=False)
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "op", op)

    @property
    def width(self) -> int:
        return len(self.op)

    def __eq__(self, other):
        return (
            isinstance(other, Layer)
            and np.array_equal(self.a, other.a)
            and np.array_equal(self.b, other.b)
            and np.array_equal(self.op, other.op)
        )

    def to_dict(self) -> dict:
        return {"a": self.a.tolist(), "b": self.b.tolist(), "op": self.op.tolist()}


@dataclass(frozen=True, eq=False)
class LutLayer:
    """One layer of k-input LUT nodes: node ``i`` computes
    ``gates.lut_truth(tables[i], prev[inputs[i]])``.

    ``inputs`` is ``(N, k)`` ``int64``; ``tables`` is ``(N,)`` ``uint64`` (given as
    python ints or an unsigned/non-negative integer array), each below ``2**(2**k)``.
    """

    k: int
    inputs: np.ndarray
    tables: np.ndarray
    kind: ClassVar[str] = "lut"

    def __post_init__(self):
        k = self.k
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise _fail("layer.k", f"must be an integer in {gates.MIN_K}..{gates.MAX_K}", k)
        k = int(k)
        if not gates.MIN_K <= k <= gates.MAX_K:
            raise _fail("layer.k", f"must be in {gates.MIN_K}..{gates.MAX_K}", k)
        try:
            inputs = np.array(self.inputs, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise _fail("layer.inputs", f"must be rows of {k} integer indices", self.inputs) from None
        if inputs.size == 0:
            inputs = inputs.reshape(0, k)
        if inputs.ndim != 2 or inputs.shape[1] != k:
            raise NetlistError(f"layer.inputs: must have shape (N, {k}), got shape {inputs.shape}")
        tables = _tables_array("layer.tables", self.tables)
        for arr in (inputs, tables):
            arr.setflags(write=False)
        object.__setattr__(self, "k", k)
        object.__setattr__(self, "inputs", np.ascontiguousarray(inputs))
        object.__setattr__(self, "tables", tables)

    @property
    def width(self) -> int:
        return len(self.tables)

    def __eq__(self, other):
        return (
            isinstance(other, LutLayer)
            and self.k == other.k
            and np.array_equal(self.inputs, other.inputs)
            and np.array_equal(self.tables, other.tables)
        )

    def to_dict(self) -> dict:
        return {"kind": "lut", "k": self.k, "inputs": self.inputs.tolist(),
                "tables": self.tables.tolist()}

    def reads(self) -> np.ndarray:
        """How many of its inputs each node's table depends on (0 = a constant)."""
        return np.sum(gates.lut_depends(self.tables, self.k), axis=0)

    def is_constant(self) -> np.ndarray:
        """Nodes whose table is all 0 or all 1."""
        return (self.tables == 0) | (self.tables == np.uint64((1 << (1 << self.k)) - 1))

    def is_passthrough(self) -> np.ndarray:
        """Nodes whose output is one of their inputs unchanged."""
        wires = [gates.lut_pass_through(self.k, i) for i in range(self.k)]
        return np.isin(self.tables, np.array(wires, dtype=np.uint64))


def _tables_array(where, tables) -> np.ndarray:
    """``tables`` as a one-dimensional ``uint64`` array, or a NetlistError naming the bad entry."""
    if isinstance(tables, np.ndarray):
        if tables.ndim != 1:
            raise NetlistError(f"{where}: must be one-dimensional, got shape {tables.shape}")
        if tables.dtype.kind == "u":
            return tables.astype(np.uint64)
        if tables.dtype.kind == "i":
            bad = np.flatnonzero(tables < 0)
            if bad.size:
                raise _fail(f"{where}[{int(bad[0])}]", "table must not be negative", int(tables[bad[0]]))
            return tables.astype(np.uint64)
        tables = tables.tolist()
    if not isinstance(tables, (list, tuple)):
        raise _fail(where, "must be a list of integers", tables)
    for j, v in enumerate(tables):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise _fail(f"{where}[{j}]", "must be an integer", v)
        if not 0 <= v < 1 << 64:
            raise _fail(f"{where}[{j}]", f"table must be in 0..2**{1 << gates.MAX_K}-1", v)
    return np.array([int(v) for v in tables], dtype=np.uint64)


@dataclass(eq=False)
class Netlist:
    """A validated logic-gate network.

    Layer 0 reads input bits ``0..num_inputs-1``; layer ``l`` reads layer
    ``l-1``. The last layer's outputs are split into ``num_classes`` consecutive
    groups of ``k`` bits; class ``c`` scores the popcount of its group.
    """

    num_inputs: int
    layers: tuple
    num_classes: int
    tau: float = 1.0
    encoder: dict | None = None
    metadata: dict = field(default_factory=dict)

    def __post_init__(self):
        self.layers = tuple(_as_layer(layer) for layer in self.layers)
        self.validate()

    # -- derived facts ---------------------------------------------------
    @property
    def widths(self) -> list[int]:
        return [layer.width for layer in self.layers]

    @property
    def num_gates(self) -> int:
        return sum(self.widths)

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def outputs_per_class(self) -> int:
        """``k``: last-layer gates per class."""
        return self.layers[-1].width // self.num_classes

    @property
    def score_width(self) -> int:
        """Bits of one class score: the bit length of ``k``."""
        return max(1, int(self.outputs_per_class).bit_length())

    @property
    def class_width(self) -> int:
        return class_width(self.num_classes)

    @property
    def has_lut_layers(self) -> bool:
        return any(isinstance(layer, LutLayer) for layer in self.layers)

    @property
    def format_version(self) -> int:
        """The file version this netlist needs: 2 with LUT layers or a quantized encoder, else 1."""
        if self.has_lut_layers:
            return 2
        if self.encoder is not None:
            from ..data.encoding import Encoder

            if Encoder.from_dict(self.encoder).quantized:  # integer-grid fields: new in version 2
                return 2
        return 1

    def op_histogram(self) -> np.ndarray:
        """Gates per op code, over the gate layers (length 16; LUT layers are not counted)."""
        counts = np.zeros(gates.NUM_OPS, dtype=np.int64)
        for layer in self.layers:
            if isinstance(layer, Layer):
                counts += np.bincount(layer.op, minlength=gates.NUM_OPS)
        return counts

    # -- validation --------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`NetlistError` unless this netlist follows DESIGN.md section 2."""
        _check_int("num_inputs", self.num_inputs, minimum=1)
        _check_int("num_classes", self.num_classes, minimum=1)
        if isinstance(self.tau, bool) or not isinstance(self.tau, (int, float, np.floating, np.integer)):
            raise _fail("tau", "must be a positive number", self.tau)
        try:
            tau = float(self.tau)
        except OverflowError:  # an int beyond float range
            tau = math.inf
        if not math.isfinite(tau) or tau <= 0:
            raise _fail("tau", "must be a positive finite number", self.tau)
        self.tau = tau
        if not self.layers:
            raise _fail("layers", "must hold at least one layer", [])
        prev = self.num_inputs
        for i, layer in enumerate(self.layers):
            where = f"layers[{i}]"
            if isinstance(layer, LutLayer):
                _validate_lut(where, layer, prev)
                prev = layer.width
                continue
            if not isinstance(layer, Layer):
                raise _fail(where, "must be a Layer or a LutLayer", layer)
            if not (len(layer.a) == len(layer.b) == len(layer.op)):
                raise NetlistError(
                    f"{where}: 'a', 'b' and 'op' must have equal lengths, "
                    f"got {len(layer.a)}, {len(layer.b)} and {len(layer.op)}"
                )
            if layer.width == 0:
                raise _fail(f"{where}.op", "a layer must have at least one gate", [])
            for name in ("a", "b"):
                idx = getattr(layer, name)
                bad = np.flatnonzero((idx < 0) | (idx >= prev))
                if bad.size:
                    j = int(bad[0])
                    raise _fail(f"{where}.{name}[{j}]", f"index must be in 0..{prev - 1}", int(idx[j]))
            bad = np.flatnonzero((layer.op < 0) | (layer.op >= gates.NUM_OPS))
            if bad.size:
                j = int(bad[0])
                raise _fail(f"{where}.op[{j}]", "op must be in 0..15", int(layer.op[j]))
            prev = layer.width
        if prev % self.num_classes:
            raise NetlistError(
                f"layers[{len(self.layers) - 1}]: width {prev} is not a multiple of "
                f"num_classes {self.num_classes}"
            )
        if self.encoder is not None:
            from ..data.encoding import Encoder  # one schema, owned by the data stage

            try:
                enc = Encoder.from_dict(self.encoder)
            except (TypeError, ValueError) as exc:
                raise NetlistError(f"encoder: {exc}") from None
            if enc.num_bits != self.num_inputs:
                raise NetlistError(
                    f"encoder: produces {enc.num_bits} bits but num_inputs is {self.num_inputs}"
                )
        if not isinstance(self.metadata, dict):
            raise _fail("metadata", "must be an object", self.metadata)

    # -- file form -----------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": self.format_version,
            "num_inputs": int(self.num_inputs),
            "layers": [layer.to_dict() for layer in self.layers],
            "num_classes": int(self.num_classes),
            "tau": float(self.tau),
            "encoder": self.encoder,
            "metadata": self.metadata,
        }

    def dumps(self) -> str:
        """The file text: one line per layer array keeps big files diff-able and compact."""
        d = self.to_dict()
        layers = d.pop("layers")
        head = json.dumps(d, indent=1, allow_nan=False)
        body = ",\n".join(
            "  {" + ", ".join(f'"{k}": {json.dumps(v)}' for k, v in layer.items()) + "}"
            for layer in layers
        )
        return head[:-2] + ',\n "layers": [\n' + body + "\n ]\n}\n"

    def save(self, path) -> Path:
        """Write the netlist file atomically (temporary file, then rename)."""
        path = Path(path)
        atomic_write_text(path, self.dumps())
        return path

    def sha256(self) -> str:
        """Digest of the canonical file text (what the manifest records)."""
        return hashlib.sha256(self.dumps().encode()).hexdigest()

    @classmethod
    def from_dict(cls, data) -> "Netlist":
        return _from_dict(data)

    def __eq__(self, other):
        return (
            isinstance(other, Netlist)
            and self.num_inputs == other.num_inputs
            and self.num_classes == other.num_classes
            and self.tau == other.tau
            and self.layers == other.layers
            and self.encoder == other.encoder
        )

    def with_layers(self, layers) -> "Netlist":
        """A copy with other layers (same classes, tau, encoder, metadata)."""
        return Netlist(self.num_inputs, tuple(layers), self.num_classes, self.tau,
                       self.encoder, dict(self.metadata))


def _as_layer(layer):
    """A Layer or LutLayer from itself or from keyword fields (``kind="lut"`` for a LUT layer)."""
    if isinstance(layer, (Layer, LutLayer)):
        return layer
    if isinstance(layer, dict):
        fields = dict(layer)
        kind = fields.pop("kind", "gate")
        if kind == "lut":
            return LutLayer(**fields)
        if kind == "gate":
            return Layer(**fields)
        raise _fail("layer.kind", "must be 'gate' or 'lut'", kind)
    raise _fail("layer", "must be a Layer, a LutLayer or a dict of their fields", layer)


def _validate_lut(where: str, layer: LutLayer, prev: int) -> None:
    k, n = layer.k, len(layer.inputs)
    if n != len(layer.tables):
        raise NetlistError(f"{where}: 'inputs' and 'tables' must have equal lengths, "
                           f"got {n} and {len(layer.tables)}")
    if layer.width == 0:
        raise _fail(f"{where}.tables", "a layer must have at least one node", [])
    bad = np.argwhere((layer.inputs < 0) | (layer.inputs >= prev))
    if bad.size:
        j, m = (int(v) for v in bad[0])
        raise _fail(f"{where}.inputs[{j}][{m}]", f"index must be in 0..{prev - 1}",
                    int(layer.inputs[j, m]))
    if k < gates.MAX_K:
        bad = np.flatnonzero(layer.tables >> np.uint64(1 << k))
        if bad.size:
            j = int(bad[0])
            raise _fail(f"{where}.tables[{j}]",
                        f"table must be in 0..2**{1 << k}-1 ({1 << k} bits for k={k})",
                        int(layer.tables[j]))


def class_width(num_classes: int) -> int:
    """Bits of a class index (DESIGN.md section 3: ``max(1, ceil(log2 num_classes))``)."""
    return max(1, math.ceil(math.log2(num_classes)))


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


def _check_output(path: Path) -> None:
    """Refuse to replace anything but a regular file (or a new path): never a device node,
    a FIFO or a folder, whoever runs this (root included)."""
    try:
        mode = path.stat().st_mode  # follows links: a link to /dev/full is refused too
    except (FileNotFoundError, NotADirectoryError):  # a new path (or a dangling link, which
        mode = None                                    # the rename replaces); parents: below
    if mode is not None and not stat.S_ISREG(mode):
        raise PathError(f"{path}: is {_kind(mode)}; refusing to replace it (give a new or regular file path)")
    for parent in (path.parent, *path.parent.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise PathError(f"{path}: cannot write there, {parent} is not a directory")
            break


@contextmanager
def locked_folder(path, error, busy: str):
    """Hold folder ``path`` (created if missing) under an exclusive lock while the body runs.

    Another holder makes it raise ``error(f"{path}: {busy}")`` at once. A folder this call
    created is removed again if the body fails while it is still empty. Yields the ``Path``.
    The run folder (``lgn_hw.train``) and the export folder (``lgn_hw.hdl``) are held so."""
    import fcntl

    path = Path(path)
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            created = False
            raise error(f"{path}: {busy}") from None
        yield path
    except BaseException:
        if created:
            try:
                path.rmdir()  # only if still empty
            except OSError:
                pass
        raise
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success it is fsynced, given normal
    permissions (umask) and renamed to ``path``, so a crash or Ctrl-C at any moment
    leaves either the old file or the new one, never a half-written file.

    ``path`` must be new or a regular file: a device node, FIFO or folder there is
    refused with :class:`PathError` (before anything is written, and again before the
    rename) instead of being replaced.
    """
    path = Path(path)
    _check_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600
        _check_output(path)  # nothing else appeared there meanwhile
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash never leaves a half-written file."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def read_limited(path, limit: int, what: str) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    A folder, device (``/dev/zero``), FIFO or socket, also behind a link, is refused
    with one line before anything is read, and so is a file bigger than ``limit``
    (the message says the limit): reading never runs away with the memory.
    ``what`` names the file in messages ("netlist", "config", ...).
    """
    path = Path(path)
    try:  # O_NONBLOCK: opening a FIFO does not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such {what} file") from None
    except NotADirectoryError:
        raise FileNotFoundError(f"{path}: no such {what} file (a parent is not a directory)") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PathError(f"{path}: is {_kind(st.st_mode)}, not a {what} file")
        too_big = f"{path}: larger than the {_size(limit)} a {what} file may have"
        if st.st_size > limit:
            raise PathError(f"{too_big} ({st.st_size} bytes)")
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        data = f.read(limit + 1)  # the file may grow after fstat
    if len(data) > limit:
        raise PathError(too_big)
    return data


def _unique_keys(error, where):
    def hook(pairs):
        obj = {}
        for key, value in pairs:
            if key in obj:
                raise error(f"{where}: duplicate key {_short(key)} in a JSON object")
            obj[key] = value
        return obj

    return hook


def _no_constant(error, where):
    def hook(name):
        raise error(f"{where}: {name} is not a number JSON allows")

    return hook


def parse_json(text, where: str, error=ValueError):
    """Parse JSON text strictly: a duplicate key in an object, NaN or Infinity, bad syntax or
    nesting too deep for the parser raise ``error`` with one line that starts with ``where``."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys(error, where),
                          parse_constant=_no_constant(error, where))
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise error(f"{where}: JSON nested too deeply") from None


def _check_int(where, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise _fail(where, "must be an integer", value)
    if value < minimum:
        raise _fail(where, f"must be at least {minimum}", value)
    if value > _MAX_INDEX:
        raise _fail(where, f"must be at most {_MAX_INDEX}", value)


def _int_list(where, value) -> np.ndarray:
    if not isinstance(value, list):
        raise _fail(where, "must be a list of integers", value)
    for j, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int):
            raise _fail(f"{where}[{j}]", "must be an integer", v)
        if not -_MAX_INDEX <= v <= _MAX_INDEX:
            raise _fail(f"{where}[{j}]", "is out of range", v)
    return np.array(value, dtype=np.int64)


_KEYS = {"format", "version", "num_inputs", "layers", "num_classes", "tau", "encoder", "metadata"}
_REQUIRED = ("format", "version", "num_inputs", "layers", "num_classes")


def _from_dict(data) -> Netlist:
    if not isinstance(data, dict):
        raise _fail("netlist", "must be a JSON object", data)
    for key in _REQUIRED:
        if key not in data:
            raise NetlistError(f"{key}: missing required field")
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise _fail(unknown[0], "unknown field", data[unknown[0]])
    if data["format"] != FORMAT:
        raise _fail("format", f"must be {FORMAT!r}", data["format"])
    version = data["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version not in VERSIONS:
        raise _fail("version", f"unsupported version, this reader knows {' and '.join(map(str, VERSIONS))}",
                    version)
    layers_data = data["layers"]
    if not isinstance(layers_data, list):
        raise _fail("layers", "must be a list of layers", layers_data)
    layers = [_layer_from_dict(f"layers[{i}]", ld) for i, ld in enumerate(layers_data)]
    tau = data.get("tau", 1.0)
    metadata = data.get("metadata", {})
    if metadata is None:
        metadata = {}
    net = Netlist(
        num_inputs=data["num_inputs"],
        layers=tuple(layers),
        num_classes=data["num_classes"],
        tau=tau,
        encoder=data.get("encoder"),
        metadata=metadata,
    )
    if net.format_version > version:
        what = "LUT layers" if net.has_lut_layers else "a quantized encoder"
        raise _fail("version", f"a netlist with {what} must be version {net.format_version}", version)
    return net


_GATE_KEYS = ("a", "b", "op")
_LUT_KEYS = ("k", "inputs", "tables")


def _layer_from_dict(where, ld):
    if not isinstance(ld, dict):
        raise _fail(where, "must be an object with 'a', 'b' and 'op' (or a LUT layer)", ld)
    kind = ld.get("kind", "gate")
    if kind not in ("gate", "lut"):
        raise _fail(f"{where}.kind", "must be 'gate' or 'lut'", kind)
    keys = _GATE_KEYS if kind == "gate" else _LUT_KEYS
    for key in keys:
        if key not in ld:
            raise NetlistError(f"{where}.{key}: missing required field")
    extra = sorted(set(ld) - set(keys) - {"kind"})
    if extra:
        raise _fail(f"{where}.{extra[0]}", "unknown field", ld[extra[0]])
    if kind == "gate":
        return Layer(**{key: _int_list(f"{where}.{key}", ld[key]) for key in keys})
    k = ld["k"]
    if isinstance(k, bool) or not isinstance(k, int):
        raise _fail(f"{where}.k", f"must be an integer in {gates.MIN_K}..{gates.MAX_K}", k)
    if not gates.MIN_K <= k <= gates.MAX_K:
        raise _fail(f"{where}.k", f"must be in {gates.MIN_K}..{gates.MAX_K}", k)
    rows = ld["inputs"]
    if not isinstance(rows, list):
        raise _fail(f"{where}.inputs", f"must be a list of rows of {k} indices", rows)
    for j, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != k:
            raise _fail(f"{where}.inputs[{j}]", f"must be a list of {k} indices (k={k})", row)
    inputs = np.array([_int_list(f"{where}.inputs[{j}]", row) for j, row in enumerate(rows)],
                      dtype=np.int64).reshape(len(rows), k)
    tables = ld["tables"]
    if not isinstance(tables, list):
        raise _fail(f"{where}.tables", "must be a list of integers", tables)
    for j, t in enumerate(tables):
        if isinstance(t, bool) or not isinstance(t, int):
            raise _fail(f"{where}.tables[{j}]", "must be an integer", t)
        if not 0 <= t < 1 << (1 << k):
            raise _fail(f"{where}.tables[{j}]",
                        f"table must be in 0..2**{1 << k}-1 ({1 << k} bits for k={k})", t)
    return LutLayer(k, inputs, tables)


def loads(text: str) -> Netlist:
    """Parse netlist file text."""
    data = parse_json(text, "netlist", NetlistError)
    try:
        return _from_dict(data)
    except RecursionError:
        raise NetlistError("netlist: JSON nested too deeply") from None


def load(path) -> Netlist:
    """Read and validate a ``*.lgn.json`` file (at most :data:`MAX_FILE_BYTES`, a regular file)."""
    path = Path(path)
    try:
        raw = read_limited(path, MAX_FILE_BYTES, "netlist")
    except (FileNotFoundError, PathError) as exc:
        raise NetlistError(str(exc)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NetlistError(f"netlist: not UTF-8 text (byte {exc.start})") from None
    return loads(text)
