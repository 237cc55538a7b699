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

import numpy as np

__all__ = ["FeatureField", "encoder_fields", "input_width", "FeatureEncoder",
           "pack_features", "unpack_features", "random_features"]


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


def _int_constants(where, values, width, is_signed):
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if is_signed else (0, (1 << width) - 1)
    out = []
    for v in values:
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{where} must be integers on the input grid, not {v!r}")
        if not lo - 1 <= v <= hi:  # a threshold of lo - 1 is always true: allowed, it is a constant bit
            raise ValueError(f"{where} value {v} does not fit a {'signed' if is_signed else 'unsigned'} "
                             f"{width}-bit feature")
        out.append(v)
    return tuple(out)


def encoder_fields(encoder: dict) -> list[FeatureField]:
    """The ``in_data`` layout of a quantized encoder (its file dict), validated for hardware.

    Raises ``ValueError`` naming the feature when the encoder is not quantized
    (a feature without an integer ``width``) or a constant is off the grid.
    """
    if not isinstance(encoder, dict) or not isinstance(encoder.get("features"), list):
        raise ValueError(f"a hardware encoder needs the netlist's encoder dict, not {encoder!r:.60}")
    fields, offset = [], 0
    for i, fd in enumerate(encoder["features"]):
        where = f"encoder features[{i}]"
        width = fd.get("width")
        if isinstance(width, bool) or not isinstance(width, int) or not 1 <= width <= 64:
            raise ValueError(
                f"{where} has no integer input width (width={width!r}): the encoder is not quantized; "
                f"retrain with this version of lgn-hw or export with --encoder host")
        is_signed = bool(fd.get("signed", False))
        kind = fd.get("kind")
        if kind == "thermometer":
            consts = _int_constants(f"{where}.thresholds", fd.get("thresholds", ()), width, is_signed)
        elif kind == "onehot":
            consts = _int_constants(f"{where}.values", fd.get("values", ()), width, is_signed)
        elif kind == "bit":
            consts = ()
        else:
            raise ValueError(f"{where} has kind {kind!r}, not thermometer, onehot or bit")
        fields.append(FeatureField(i, kind, offset, width, is_signed, consts))
        offset += width
    if not fields:
        raise ValueError("the encoder has no features")
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
    if f.signed:
        return -(1 << (f.width - 1)), (1 << (f.width - 1)) - 1
    return 0, (1 << f.width) - 1


class FeatureEncoder(wiring.Component):
    """Raw features ``x`` (packed integer fields) to input bits ``y``; a register after it if ``registered``."""

    def __init__(self, encoder: dict, *, registered: bool = True):
        self.fields = encoder_fields(encoder)
        self.registered = bool(registered)
        self.latency = int(self.registered)
        super().__init__({
            "x": In(sum(f.width for f in self.fields)),
            "y": Out(sum(f.num_bits for f in self.fields)),
        })

    def elaborate(self, platform):
        m = Module()
        parts = []
        for f in self.fields:
            shape = signed(f.width) if f.signed else unsigned(f.width)
            q = Signal(shape, name=f"f{f.index}_q")
            m.d.comb += q.eq(self.x[f.offset: f.offset + f.width])
            if f.kind == "thermometer":
                bits = [q > Const(t, shape) if t >= _min(shape) else Const(1, 1) for t in f.constants]
            elif f.kind == "onehot":
                bits = [q == Const(v, shape) if v >= _min(shape) else Const(0, 1) for v in f.constants]
            else:
                bits = [q != 0]
            y = Signal(f.num_bits, name=f"f{f.index}_bits", reset_less=True)
            if self.registered:
                m.d.sync += y.eq(Cat(*bits))
            else:
                m.d.comb += y.eq(Cat(*bits))
            parts.append(y)
        # Group the per-feature signals so that no one assignment lists thousands of parts.
        level = 0
        while len(parts) > 64:
            groups = []
            for lo in range(0, len(parts), 64):
                chunk = Cat(*parts[lo: lo + 64])
                g = Signal(len(chunk), name=f"enc_group{level}_{len(groups)}")
                m.d.comb += g.eq(chunk)
                groups.append(g)
            parts, level = groups, level + 1
        m.d.comb += self.y.eq(Cat(*parts))
        return m


def _min(shape) -> int:
    return -(1 << (shape.width - 1)) if shape.signed else 0
