"""The netlist's input encoder in hardware: raw integer features in, input bits out.

A quantized encoder (``lgn_hw.data.encoding``; every feature has an integer
``width``) fixes, per feature ``f``, a ``width``-bit field of ``in_data``
(features packed LSB-first in order) holding the integer ``q`` the host's
``Encoder.quantize`` would compute, and the bits the feature contributes:

    thermometer   bit j = q > thresholds[j]   (signed or unsigned compare)
    onehot        bit j = q == values[j]
    bit           bit 0 = q != 0

So the bits equal ``Encoder.encode_int(q)`` exactly, and the core behind it is
the bit core unchanged. Each feature's bits are their own signal (short
Verilog lines, one small cone per feature for synthesis and simulation),
optionally registered.
"""

from __future__ import annotations

from dataclasses import dataclass

from amaranth.hdl import Cat, Const, Module, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .stage import _join, _stage

import numpy as np

__all__ = ["FeatureField", "encoder_fields", "input_width", "FeatureEncoder", "compare_reads", "encoder_is_wiring",
           "pack_features", "unpack_features", "random_features", "CoreInputs", "ENCODER_MODES", "choose_encoder"]


@dataclass(frozen=True)
class FeatureField:
    """Where feature ``index`` sits in ``in_data`` and what it compares with."""

    index: int
    kind: str  # "thermometer", "onehot" or "bit"
    offset: int  # first bit in in_data
    width: int
    signed: bool
    constants: tuple  # thresholds (thermometer) or values (onehot); () for bit

    @property
    def num_bits(self) -> int:
        return 1 if self.kind == "bit" else len(self.constants)

    def to_dict(self) -> dict:
        """The manifest's description of this field of ``in_data``."""
        return {"feature": self.index, "kind": self.kind, "lsb": self.offset,
                "width": self.width, "signed": self.signed}


def encoder_fields(encoder) -> list[FeatureField]:
    """The ``in_data`` layout of a quantized encoder (an ``Encoder`` or its file dict).

    The encoder is validated by :class:`lgn_hw.data.encoding.Encoder`; an
    unquantized one (a feature without an integer ``width``) is refused with
    the fix.
    """
    from ..data.encoding import Encoder

    enc = encoder if isinstance(encoder, Encoder) else Encoder.from_dict(encoder)
    fields, offset = [], 0
    for i, f in enumerate(enc.features):
        if not f.quantized:
            raise ValueError(
                f"encoder features[{i}] has no integer input width: the encoder is not quantized; "
                f"retrain with this version of lgn-hw or export with --encoder host")
        consts = tuple(int(v) for v in f.values) if f.kind != "bit" else ()
        fields.append(FeatureField(i, f.kind, offset, f.width, f.signed, consts))
        offset += f.width
    return fields


def input_width(encoder: dict) -> int:
    """Bits of ``in_data`` for a core with this encoder inside: the sum of the feature widths."""
    return sum(f.width for f in encoder_fields(encoder))


def pack_features(fields, q) -> np.ndarray:
    """Integer features ``q`` ``(n, features)`` as ``in_data`` bits ``(n, input_width)`` (two's complement)."""
    q = np.asarray(q, dtype=np.int64)
    if q.ndim != 2 or q.shape[1] != len(fields):
        raise ValueError(f"integer features must have shape (n, {len(fields)}), not {q.shape}")
    cols = []
    for f in fields:
        lo, hi = _range(f)
        col = q[:, f.index]
        bad = np.flatnonzero((col < lo) | (col > hi))
        if bad.size:
            raise ValueError(f"feature {f.index} of sample {int(bad[0])} is {int(col[bad[0]])}, outside "
                             f"the {'signed' if f.signed else 'unsigned'} {f.width}-bit range {lo}..{hi}")
        u = col.astype(np.uint64) & np.uint64((1 << f.width) - 1)
        cols.append(((u[:, None] >> np.arange(f.width, dtype=np.uint64)) & np.uint64(1)).astype(np.uint8))
    return np.concatenate(cols, axis=1)


def unpack_features(fields, bits) -> np.ndarray:
    """The inverse of :func:`pack_features`: ``in_data`` bits to integer features (sign-extended)."""
    bits = np.asarray(bits, dtype=np.uint8)
    width = sum(f.width for f in fields)
    if bits.ndim != 2 or bits.shape[1] != width:
        raise ValueError(f"in_data bits must have shape (n, {width}), not {bits.shape}")
    q = np.empty((len(bits), len(fields)), dtype=np.int64)
    for f in fields:
        chunk = bits[:, f.offset: f.offset + f.width].astype(np.int64)
        value = (chunk << np.arange(f.width, dtype=np.int64)).sum(axis=1)
        if f.signed:
            value = np.where(chunk[:, -1] == 1, value - (1 << f.width), value)
        q[:, f.index] = value
    return q


def random_features(fields, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` random integer feature rows for testing: grid edges and values next to every constant,
    then uniform draws, so that every compare of the encoder sees both outcomes."""
    q = np.empty((n, len(fields)), dtype=np.int64)
    for f in fields:
        lo, hi = _range(f)
        col = rng.integers(lo, hi, size=n, endpoint=True)
        special = [lo, hi] + [v + d for c in f.constants for v, d in ((c, 0), (c, 1)) if lo <= v + d <= hi]
        special = special[: max(0, n // 2)]
        col[: len(special)] = special
        q[:, f.index] = col
    return q


def _range(f: FeatureField) -> tuple[int, int]:
    from ..data.encoding import int_range

    return int_range(f.width, f.signed)


def compare_reads(f: FeatureField, used) -> np.ndarray:
    """Which of feature ``f``'s ``width`` bits its compares marked in ``used`` depend on.

    A thermometer bit ``q > t`` is ``q >= c`` with ``c = t + 1 = m * 2^z``, which equals
    ``floor(q / 2^z) >= m`` (signed or unsigned): it reads bits ``z .. width-1`` only
    (``z`` at most ``width - 1``; a constant off the grid reads nothing). So MNIST's
    ``q > 127`` on an 8-bit pixel reads bit 7 alone, and a core registers only the
    input bits some compare reads. One-hot matches and ``q != 0`` read every bit.
    """
    used = np.asarray(used, dtype=bool)
    reads = np.zeros(f.width, dtype=bool)
    lo, hi = _range(f)
    if f.kind != "thermometer":
        reads[:] = used.any()
        return reads
    for t, u in zip(f.constants, used):
        if not u or not lo <= t < hi:
            continue
        c = (t + 1) & ((1 << f.width) - 1)
        z = min((c & -c).bit_length() - 1 if c else f.width - 1, f.width - 1)
        reads[z:] = True
    return reads


def _single_bit(f: FeatureField, used) -> bool:
    """Every used output of feature ``f`` is one input bit or its inverse (no logic)."""
    used = np.asarray(used, dtype=bool)
    if not used.any():
        return True
    if f.kind != "thermometer":
        return f.width == 1
    alone = np.eye(len(f.constants), dtype=bool)
    return all(compare_reads(f, alone[j]).sum() <= 1 for j in np.flatnonzero(used))


def encoder_is_wiring(fields, used) -> bool:
    """Every output marked in ``used`` (one mark per encoder bit) is one input bit or its inverse."""
    used, bit = np.asarray(used, dtype=bool), 0
    for f in fields:
        if not _single_bit(f, used[bit: bit + f.num_bits]):
            return False
        bit += f.num_bits
    return True


class FeatureEncoder(wiring.Component):
    """Raw features ``x`` (packed integer fields) to input bits ``y``; a register after it if ``registered``."""

    #: The core registers the encoder's bits when a compare is a few LUT levels of its own.
    LATENCY = 1

    def __init__(self, encoder: dict, *, registered: bool | None = True, used=None):
        self.fields = encoder_fields(encoder)
        total = sum(f.num_bits for f in self.fields)
        #: which output bits are computed; the others are constant 0 (nothing reads them)
        self.used = np.ones(total, dtype=bool) if used is None else np.asarray(used, dtype=bool)
        if self.used.shape != (total,):
            raise ValueError(f"'used' must mark each of the {total} encoder bits, not shape {self.used.shape}")
        #: which bits of ``x`` the computed outputs depend on (:func:`compare_reads`)
        self.reads = np.zeros(sum(f.width for f in self.fields), dtype=bool)
        for f, used in self._fields_used():
            self.reads[f.offset: f.offset + f.width] = compare_reads(f, used)
        #: every computed output is one bit of ``x`` or its inverse: the encoder is only wires
        self.is_wiring = encoder_is_wiring(self.fields, self.used)
        # registered=None: a register only where the compares are logic of their own
        self.registered = (not self.is_wiring) if registered is None else bool(registered)
        self.latency = self.LATENCY if self.registered else 0
        super().__init__({
            "x": In(sum(f.width for f in self.fields)),
            "y": Out(sum(f.num_bits for f in self.fields)),
        })

    def _fields_used(self):
        """Each field with the marks of ``used`` for its output bits."""
        bit = 0
        for f in self.fields:
            yield f, self.used[bit: bit + f.num_bits]
            bit += f.num_bits

    def elaborate(self, platform):
        m = Module()
        parts, bit = [], 0
        for f in self.fields:
            used, bit = self.used[bit: bit + f.num_bits], bit + f.num_bits
            if not used.any():
                parts.append(Const(0, f.num_bits))
                continue
            shape = signed(f.width) if f.signed else unsigned(f.width)
            q = Signal(shape, name=f"f{f.index}_q")
            m.d.comb += q.eq(self.x[f.offset: f.offset + f.width])
            lo, hi = _range(f)
            if f.kind == "thermometer":  # off the grid: always (t < lo) or never (t >= hi) above
                bits = [Const(int(t < lo), 1) if not lo <= t < hi else q > Const(t, shape)
                        for t in f.constants]
            elif f.kind == "onehot":
                bits = [q == Const(v, shape) if lo <= v <= hi else Const(0, 1) for v in f.constants]
            else:
                bits = [q != 0]
            bits = [b if u else Const(0, 1) for b, u in zip(bits, used)]
            parts.append(_stage(m, Cat(*bits), self.registered, f"f{f.index}_bits"))
        m.d.comb += self.y.eq(_join(parts))  # the core's join tree: short lines, one cell for Icarus
        return m


ENCODER_MODES = ("host", "hw")


def choose_encoder(netlist, requested: str = "auto") -> str:
    """The encoder mode for ``requested``: ``"auto"`` is ``"hw"`` when the netlist's encoder is quantized
    (every encoder trained by this version is), else ``"host"``; ``"hw"`` and ``"host"`` stay."""
    if requested == "auto":
        from ..data.encoding import Encoder

        if netlist.encoder is not None and Encoder.from_dict(netlist.encoder).quantized:
            return "hw"
        return "host"
    if requested not in ENCODER_MODES:
        raise ValueError(f"encoder must be auto, {' or '.join(ENCODER_MODES)}, not {requested!r}")
    return requested


class CoreInputs:
    """What ``in_data`` carries for a netlist and an encoder mode, and how it maps to the netlist's bits.

    ``mode="host"``: ``in_data`` is the netlist's input bits (the host encodes).
    ``mode="hw"``: ``in_data`` is the packed integer features of the netlist's
    quantized encoder (the core encodes). Every bench, harness and host tool
    goes through this object, so the two cases are handled once::

        inputs = CoreInputs(netlist, "hw")
        words = inputs.random(1000, rng)           # (n, inputs.width) bits for in_data
        expected = evaluate(netlist, inputs.netlist_bits(words))
    """

    def __init__(self, netlist, mode: str = "host"):
        if mode not in ENCODER_MODES:
            raise ValueError(f"encoder mode must be one of {ENCODER_MODES}, not {mode!r}")
        if mode == "hw" and netlist.encoder is None:
            raise ValueError("--encoder hw needs a netlist with an encoder (this one reads bits: "
                             "export with --encoder host)")
        self.netlist = netlist
        self.mode = mode
        from ..data.encoding import Encoder

        #: the netlist's encoder, parsed once (None for a netlist that reads bits)
        self.encoder = None if netlist.encoder is None else Encoder.from_dict(netlist.encoder)
        self.fields = encoder_fields(self.encoder) if mode == "hw" else None
        self.width = sum(f.width for f in self.fields) if self.fields else netlist.num_inputs

    @property
    def count(self) -> int:
        """How many values ``in_data`` carries: raw features (encoder in the core) or input bits."""
        return len(self.fields) if self.fields is not None else self.width

    def random(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` test inputs as ``in_data`` bits: uniform bits, or integer features that hit every compare."""
        if self.fields is None:
            return rng.integers(0, 2, (n, self.width), dtype=np.uint8)
        return pack_features(self.fields, random_features(self.fields, n, rng))

    def netlist_bits(self, words) -> np.ndarray:
        """``in_data`` bits ``(n, width)`` to the netlist's input bits (what the golden model reads)."""
        words = np.asarray(words, dtype=np.uint8)
        if words.ndim != 2 or words.shape[1] != self.width:
            raise ValueError(f"in_data bits must have shape (n, {self.width}), not {words.shape}")
        if self.fields is None:
            return words
        return self.encoder.encode_int(unpack_features(self.fields, words))

    def from_raw(self, x) -> np.ndarray:
        """Raw features ``(n, features)`` to ``in_data`` bits (bits already, if the netlist has no encoder)."""
        x = np.asarray(x)
        if self.fields is not None:
            return pack_features(self.fields, self.encoder.quantize(x))
        if self.netlist.encoder is not None and x.ndim == 2 and x.shape[1] == self.encoder.num_features:
            return self.encoder.encode(x)
        bits = np.asarray(x)
        if bits.ndim != 2 or bits.shape[1] != self.width or not np.isin(bits, (0, 1)).all():
            raise ValueError(f"inputs must be raw features for the netlist's encoder or (n, {self.width}) "
                             f"bits of 0/1, not an array of shape {bits.shape}")
        return bits.astype(np.uint8)

    def manifest(self) -> dict:
        """The manifest's ``encoder`` entry."""
        if self.fields is None:
            return {"mode": "host", "in_width": self.width}
        return {"mode": "hw", "in_width": self.width, "fields": [f.to_dict() for f in self.fields]}
