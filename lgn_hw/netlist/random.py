"""Random netlists, for tests, benchmarks and examples."""

from __future__ import annotations

import numpy as np

from .. import gates
from .model import Layer, LutLayer, Netlist

__all__ = ["random_netlist"]


def random_netlist(num_inputs: int, widths, num_classes: int, *, seed=0, tau: float = 1.0,
                   ops=None, k=None) -> Netlist:
    """A netlist with uniformly random connections and ops (``ops`` restricts the gates' choice).

    ``k`` picks the layer kinds: None (the default) makes every layer a gate layer,
    an int in 2..6 every layer a LUT layer of that k, and a sequence one entry per
    layer (None for a gate layer), e.g. ``k=[6, None, 4]`` for a mixed netlist.
    LUT tables are uniformly random.
    """
    widths = list(widths)
    kinds = [k] * len(widths) if k is None or isinstance(k, (int, np.integer)) else list(k)
    if len(kinds) != len(widths):
        raise ValueError(f"'k' must give one entry per layer ({len(widths)}), not {k!r}")
    for kk in kinds:
        if kk is not None:
            gates.check_k(kk, minimum=gates.MIN_K)
    rng = np.random.default_rng(seed)
    choices = np.arange(16) if ops is None else np.asarray(ops)
    layers, prev = [], num_inputs
    for w, kk in zip(widths, kinds):
        if kk is None:
            layers.append(Layer(rng.integers(0, prev, w), rng.integers(0, prev, w), rng.choice(choices, w)))
        else:
            entries = rng.integers(0, 2, (w, 1 << kk), dtype=np.uint8)
            layers.append(LutLayer(kk, rng.integers(0, prev, (w, kk)),
                                   np.atleast_1d(gates.lut_from_entries(entries))))
        prev = w
    meta = {"source": "random", "seed": seed}
    return Netlist(num_inputs, tuple(layers), num_classes, tau, None, meta)
