"""Random netlists, for tests, benchmarks and examples."""

from __future__ import annotations

import numpy as np

from .model import Layer, Netlist

__all__ = ["random_netlist"]


def random_netlist(num_inputs: int, widths, num_classes: int, *, seed=0, tau: float = 1.0,
                   ops=None) -> Netlist:
    """A netlist with uniformly random connections and ops (``ops`` restricts the choice)."""
    rng = np.random.default_rng(seed)
    choices = np.arange(16) if ops is None else np.asarray(ops)
    layers, prev = [], num_inputs
    for w in widths:
        layers.append(Layer(rng.integers(0, prev, w), rng.integers(0, prev, w), rng.choice(choices, w)))
        prev = w
    return Netlist(num_inputs, tuple(layers), num_classes, tau, None, {"source": "random", "seed": seed})
