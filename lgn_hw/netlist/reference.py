"""A plain, obviously-correct evaluator: one uint8 per bit, numpy fancy indexing.

It exists to cross-check the fast golden model; use :func:`lgn_hw.netlist.evaluate`.
A LUT node is evaluated by its defining rule (:func:`lgn_hw.gates.lut_truth`: the
entry index of its input bits selects one table bit), not by the golden model's mux tree.
"""

from __future__ import annotations

import numpy as np

from .. import gates

__all__ = ["evaluate_reference", "layer_reference"]


def layer_reference(layer, x):
    """One layer's output bits ``(n, width)`` from its input bits ``x`` ``(n, previous width)``."""
    if layer.kind == "lut":
        return gates.lut_truth(layer.tables[None, :], x[:, layer.inputs])
    return gates.apply_bits(layer.op[None, :], x[:, layer.a], x[:, layer.b]) & 1


def evaluate_reference(netlist, bits):
    """Return ``(scores, classes)`` for input bits of shape ``(n, num_inputs)``."""
    x = np.asarray(bits, dtype=np.uint8)
    for layer in netlist.layers:
        x = layer_reference(layer, x)
    k = netlist.outputs_per_class
    scores = x.reshape(len(x), netlist.num_classes, k).sum(axis=2, dtype=np.int64)
    return scores, scores.argmax(axis=1)
