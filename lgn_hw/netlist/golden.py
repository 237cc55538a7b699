"""The golden model: evaluates a netlist on input bits, giving class scores and predictions.

Every hardware result in lgn-hw is checked against :func:`evaluate`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reference import evaluate_reference

__all__ = ["Result", "evaluate", "predict"]


@dataclass(frozen=True)
class Result:
    """Per-sample class scores (popcounts, ``(n, num_classes)``) and predicted classes (``(n,)``)."""

    scores: np.ndarray
    classes: np.ndarray


def _check_bits(netlist, bits) -> np.ndarray:
    bits = np.asarray(bits)
    if bits.ndim == 1:
        bits = bits[None, :]
    if bits.ndim != 2 or bits.shape[1] != netlist.num_inputs:
        raise ValueError(f"input bits must have shape (n, {netlist.num_inputs}), not {bits.shape}")
    if bits.dtype != np.bool_:
        if not np.issubdtype(bits.dtype, np.integer) and not np.issubdtype(bits.dtype, np.floating):
            raise TypeError(f"input bits must be 0/1 numbers or booleans, not dtype {bits.dtype}")
        if bits.size and (bits.min() < 0 or bits.max() > 1 or not np.all(bits == np.round(bits))):
            raise ValueError("input bits must be 0 or 1; pass raw features to predict() to encode them")
    return bits.astype(np.uint8, copy=False)


def evaluate(netlist, bits) -> Result:
    """Evaluate ``netlist`` on ``bits`` (``(n, num_inputs)`` of 0/1)."""
    bits = _check_bits(netlist, bits)
    scores, classes = evaluate_reference(netlist, bits)
    return Result(scores, classes)


def predict(netlist, inputs) -> Result:
    """Like :func:`evaluate`, but raw features go through the netlist's encoder first."""
    if netlist.encoder is not None:
        from ..data.encoding import Encoder

        inputs = Encoder.from_dict(netlist.encoder).encode(inputs)
    return evaluate(netlist, inputs)
