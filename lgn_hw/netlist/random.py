"""Random netlists, for tests, benchmarks and examples."""

from __future__ import annotations

import numpy as np

from .. import gates
from .model import Layer, LutLayer, Netlist

__all__ = ["random_netlist", "mutant"]


def random_netlist(num_inputs: int, widths, num_classes: int, *, seed=0, tau: float = 1.0,
                   ops=None, k=None, sparse: float = 0.0) -> Netlist:
    """A netlist with uniformly random connections and ops (``ops`` restricts the gates' choice).

    ``k`` picks the layer kinds: None (the default) makes every layer a gate layer,
    an int in 2..6 every layer a LUT layer of that k, and a sequence one entry per
    layer (None for a gate layer), e.g. ``k=[6, None, 4]`` for a mixed netlist.
    LUT tables are uniformly random, except that a fraction ``sparse`` of the LUT
    nodes (like trained networks, rich in wires and gates) get a random function
    of at most 3 of their inputs (0 inputs: a constant).
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
            tables = np.atleast_1d(gates.lut_from_entries(entries))
            if sparse:
                for j in np.flatnonzero(rng.random(w) < sparse):
                    tables[j] = _reads_few(rng, kk)
            layers.append(LutLayer(kk, rng.integers(0, prev, (w, kk)), tables))
        prev = w
    meta = {"source": "random", "seed": seed}
    return Netlist(num_inputs, tuple(layers), num_classes, tau, None, meta)


def _reads_few(rng, k: int) -> int:
    """A k-input table of a random function of at most 3 of its inputs."""
    few = int(rng.integers(0, min(3, k) + 1))
    small = int(rng.integers(0, 1 << (1 << few)))
    return gates.lut_rewire(small, few, [int(i) for i in rng.permutation(k)[:few]], k)


def mutant(net: Netlist, bits, *, layer: int = 0) -> tuple[Netlist, int]:
    """``net`` with one node of layer ``layer`` changed so that its outputs differ on ``bits``.

    For mutation tests: a gate gets the complement of its op (its output always
    flips); a LUT node gets one table bit flipped, the entry its inputs spell most
    often on ``bits`` (its output flips on those samples). Returns the mutant and
    the first sample whose class or scores change; raises ValueError if no single
    node of the layer changes any.
    """
    from .golden import evaluate
    from .reference import layer_reference

    bits = np.asarray(bits, dtype=np.uint8)
    if not 0 <= layer < net.depth:
        raise ValueError(f"'layer' must be in 0..{net.depth - 1}, not {layer!r}")
    x = bits
    for lay in net.layers[:layer]:
        x = layer_reference(lay, x)
    want = evaluate(net, bits)
    target = net.layers[layer]
    for i in range(target.width):
        if target.kind == "lut":
            seen = np.bincount(gates.lut_index(x[:, target.inputs[i]]), minlength=1 << target.k)
            tables = target.tables.copy()
            tables[i] ^= np.uint64(1 << ((1 << target.k) - 1 - int(seen.argmax())))
            changed = LutLayer(target.k, target.inputs, tables)
        else:
            op = target.op.copy()
            op[i] = gates.NUM_OPS - 1 - op[i]
            changed = Layer(target.a, target.b, op)
        cand = net.with_layers(list(net.layers[:layer]) + [changed] + list(net.layers[layer + 1:]))
        got = evaluate(cand, bits)
        differs = (got.classes != want.classes) | (got.scores != want.scores).any(axis=1)
        if differs.any():
            return cand, int(np.flatnonzero(differs)[0])
    raise ValueError(f"no single-node change in layer {layer} changes the outputs on these {len(bits)} samples")
