"""The host side of the UART protocol (:mod:`lgn_hw.synth.uart`): send samples, read classes.

Works with any object that has pyserial's ``write(bytes)`` and ``read(n)``
(``read`` returning fewer bytes on timeout), so it is tested against a fake port.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..hdl.ports import core_dims
from .uart import CMD_CLASS, CMD_SCORES, answer_bytes, in_width, score_bytes

__all__ = ["pack_sample", "frame", "ClassifyResult", "classify_samples", "BoardTimeout"]


class BoardTimeout(IOError):
    """The board did not answer in time (not programmed, wrong port, baud or export)."""


def _bits(bits, num_inputs=None) -> np.ndarray:
    bits = np.asarray(bits)
    if bits.ndim == 1:
        bits = bits[None, :]
    if bits.ndim != 2:
        raise ValueError(f"samples must be an (n, num_inputs) array of 0/1, not shape {bits.shape}")
    if num_inputs is not None and bits.shape[1] != num_inputs:
        raise ValueError(f"samples must have {num_inputs} bits each, not {bits.shape[1]}")
    if bits.size and not np.isin(bits, (0, 1)).all():
        raise ValueError("samples must hold only 0 and 1 (encode raw features first)")
    return bits.astype(np.uint8)


def pack_sample(bits) -> bytes:
    """Bit ``i`` of the sample goes to bit ``i % 8`` of byte ``i // 8``."""
    return np.packbits(_bits(bits)[0], bitorder="little").tobytes()


def frame(bits, *, scores: bool = False) -> bytes:
    """The command byte and the packed sample."""
    return bytes([CMD_SCORES if scores else CMD_CLASS]) + pack_sample(bits)


@dataclass(frozen=True)
class ClassifyResult:
    classes: np.ndarray             # (n,)
    scores: np.ndarray | None       # (n, num_classes) when asked for
    seconds: float

    @property
    def rate(self) -> float:
        """Samples per second, round trip over the serial line."""
        return len(self.classes) / self.seconds if self.seconds > 0 else float("inf")


def _read_exact(port, n: int, index: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = port.read(n - len(data))
        if not chunk:
            raise BoardTimeout(f"no answer to sample {index} (got {len(data)} of {n} bytes): is the "
                               "board programmed with this export, on this port and baud rate?")
        data += chunk
    return data


def classify_samples(port, samples, core=None, *, scores: bool = False,
                     window: int = 8, progress=None) -> ClassifyResult:
    """Send every row of ``samples`` (0/1 bits) and collect the answers in order.

    ``core`` (an :class:`~lgn_hw.hdl.ExportDir` or a Netlist; required for
    ``scores=True``) checks the sample width and gives the answer length. Up to ``window`` class frames are in flight at a
    time; with ``scores=True`` each answer is awaited before the next frame
    (answers are longer than frames, and the board buffers only one frame).
    ``progress`` is called with the number of samples answered so far.
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"'window' must be a positive integer, not {window!r}")
    if scores and core is None:
        raise ValueError("scores=True needs the core (its num_classes and score_width)")
    dims = core_dims(core) if core is not None else None
    bits = _bits(samples, in_width(core) if core is not None else None)
    if scores:
        window = 1
    answer_len = answer_bytes(core, scores) if core is not None else 1
    n = len(bits)
    classes = np.zeros(n, dtype=np.int64)
    all_scores = np.zeros((n, dims["num_classes"]), dtype=np.int64) if scores else None
    payload = [frame(row, scores=scores) for row in bits]
    inflight: deque[int] = deque()

    def collect():
        i = inflight.popleft()
        data = _read_exact(port, answer_len, i)
        classes[i] = data[0]
        if scores:
            sb = score_bytes(core)
            for c in range(dims["num_classes"]):
                all_scores[i, c] = int.from_bytes(data[1 + c * sb:1 + (c + 1) * sb], "little")
        if progress is not None:
            progress(i + 1)

    t0 = time.perf_counter()
    for i in range(n):
        port.write(payload[i])
        inflight.append(i)
        if len(inflight) >= window:
            collect()
    while inflight:
        collect()
    return ClassifyResult(classes, all_scores, time.perf_counter() - t0)
