"""Metrics users ask for: soft and discrete accuracy and their gap, unused gates, gate usage.

Definitions:

- **discrete accuracy**: accuracy of the discrete network (argmax gate per
  neuron), i.e. the model in evaluation mode, which equals its netlist.
- **soft accuracy**: accuracy of the function training optimises, i.e. the
  model's training-mode forward without gradients (``mode="train"``): the
  gate mixture for ``soft`` and ``gumbel_soft``, the sampled discrete network
  for ``gumbel_st``, ``decoupled_st`` and ``reinmax``, the argmax network for
  ``st``. Noise comes from its own generator (``seed``), so measuring never
  advances the training noise. ``mode="mixture"`` instead evaluates the
  classic DLGN relaxation ``w = softmax(theta / tau)`` for every estimator.
- **gap**: soft accuracy minus discrete accuracy.
- **unused gates**: gates (and LUT nodes) whose output reaches no class output
  in the discrete network. Backward reachability from the last layer, whose
  nodes all count as used; a used gate uses its ``a`` input only if its op
  depends on ``a`` (:data:`lgn_hw.gates.DEPENDS_ON_A`), likewise ``b``; a used
  LUT node uses the inputs its table depends on (``by_function=False``
  follows the wires regardless of the function).
- **gate histogram**: gates per op code in the discrete network (LUT nodes
  have no op code and are not counted), and its **perplexity**
  ``exp(-sum_i p_i ln p_i)`` with ``p`` the usage distribution (1 when one op
  is used everywhere, 16 when all are used equally; None without gates).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import gates
from ..netlist import Netlist
from .layers import override_noise
from .model import LogicNet

__all__ = [
    "soft_accuracy",
    "discrete_accuracy",
    "UnusedGates",
    "unused_gates",
    "GateHistogram",
    "gate_histogram",
    "perplexity",
    "Metrics",
    "evaluate_metrics",
]

SOFT_MODES = ("train", "mixture")
_PER_SAMPLE_BATCH = 256


def _as_netlist(model_or_netlist) -> Netlist:
    if isinstance(model_or_netlist, Netlist):
        return model_or_netlist
    if isinstance(model_or_netlist, LogicNet):
        from .discretize import to_netlist

        return to_netlist(model_or_netlist)
    raise TypeError(f"expected a LogicNet or a Netlist, not {type(model_or_netlist).__name__}")


def _predict(model: LogicNet, x, *, training: bool, batch_size: int) -> torch.Tensor:
    device = model.layers[0].weights.device
    x = torch.as_tensor(x)
    if x.dim() != 2 or x.shape[1] != model.num_inputs:
        raise ValueError(f"inputs must have shape (n, {model.num_inputs}), not {tuple(x.shape)}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"'batch_size' must be a positive integer, not {batch_size!r}")
    if training and any(layer.noise == "sample" for layer in model.layers):
        # Per-sample noise holds (batch, width, 16) gate weights per layer: keep chunks small.
        batch_size = min(batch_size, _PER_SAMPLE_BATCH)
    was_training = model.training
    saved_ops = [layer.last_ops for layer in model.layers]
    model.train(training)
    try:
        with torch.no_grad():
            preds = [model(x[i:i + batch_size].to(device)).argmax(dim=1).cpu()
                     for i in range(0, len(x), batch_size)]
    finally:
        model.train(was_training)
        for layer, ops in zip(model.layers, saved_ops):
            layer.last_ops = ops
    return torch.cat(preds) if preds else torch.zeros(0, dtype=torch.int64)


def _accuracy(pred: torch.Tensor, y) -> float:
    y = torch.as_tensor(y).reshape(-1).cpu()
    if len(y) != len(pred):
        raise ValueError(f"got {len(pred)} inputs but {len(y)} labels")
    if len(y) == 0:
        raise ValueError("cannot measure accuracy on zero samples")
    return float((pred == y.to(pred.dtype)).double().mean())


def discrete_accuracy(model: LogicNet, x, y, *, batch_size: int = 4096) -> float:
    """Accuracy of the discrete network (the model in evaluation mode, equal to its netlist)."""
    return _accuracy(_predict(model, x, training=False, batch_size=batch_size), y)


def soft_accuracy(model: LogicNet, x, y, *, mode: str = "train", seed: int = 0,
                  batch_size: int = 4096) -> float:
    """Accuracy of the training-mode forward (see the module docstring for ``mode``)."""
    if mode not in SOFT_MODES:
        raise ValueError(f"'mode' must be one of {SOFT_MODES}, not {mode!r}")
    gen = torch.Generator().manual_seed(int(seed))
    with override_noise(model, gen, estimator="soft" if mode == "mixture" else None):
        pred = _predict(model, x, training=True, batch_size=batch_size)
    return _accuracy(pred, y)


@dataclass(frozen=True)
class UnusedGates:
    """Unused gates per layer and in total, with the per-layer masks of used gates."""

    per_layer: tuple
    total: int
    num_gates: int
    used: tuple  # one bool array per layer

    @property
    def fraction(self) -> float:
        return self.total / self.num_gates


def unused_gates(model_or_netlist, *, by_function: bool = True) -> UnusedGates:
    """Gates of the discrete network whose output reaches no class output (see module docstring)."""
    net = _as_netlist(model_or_netlist)
    used = [None] * net.depth
    used[-1] = np.ones(net.layers[-1].width, dtype=bool)
    for i in range(net.depth - 1, 0, -1):
        layer, mask = net.layers[i], used[i]
        prev = np.zeros(net.layers[i - 1].width, dtype=bool)
        if layer.kind == "lut":
            reads = layer.inputs[mask]
            prev[reads[lut_depends(layer)[mask]] if by_function else reads.reshape(-1)] = True
        elif by_function:
            prev[layer.a[mask & gates.DEPENDS_ON_A[layer.op]]] = True
            prev[layer.b[mask & gates.DEPENDS_ON_B[layer.op]]] = True
        else:
            prev[layer.a[mask]] = True
            prev[layer.b[mask]] = True
        used[i - 1] = prev
    per_layer = tuple(int((~m).sum()) for m in used)
    return UnusedGates(per_layer, sum(per_layer), net.num_gates, tuple(used))


def lut_depends(layer) -> np.ndarray:
    """``(width, k)`` bools of a netlist LUT layer: whether each node's output depends on each
    of its inputs (entries ``j`` and ``j ^ m_i`` differ somewhere, ``m_i`` the bit of input ``i``)."""
    k = layer.k
    corners = np.array(list(itertools.product((0, 1), repeat=k)), dtype=np.uint8)  # entry order
    entries = gates.lut_truth(layer.tables[:, None], corners)  # (width, 2^k)
    j = np.arange(1 << k)
    return np.stack([(entries != entries[:, j ^ (1 << (k - 1 - i))]).any(axis=1) for i in range(k)], axis=1)


def perplexity(counts) -> float:
    """``exp`` of the entropy (nats) of the distribution proportional to ``counts``."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or np.any(counts < 0) or counts.sum() <= 0:
        raise ValueError(f"counts must be non-negative with a positive sum, not {counts!r:.60}")
    p = counts[counts > 0] / counts.sum()
    return float(math.exp(-(p * np.log(p)).sum()))


@dataclass(frozen=True)
class GateHistogram:
    """Chosen gates per op code: ``counts`` over all layers, ``per_layer`` ``(depth, 16)`` (zero
    rows for LUT layers); ``perplexity`` is None when the network has no gates."""

    counts: np.ndarray
    per_layer: np.ndarray
    perplexity: float | None

    def as_dict(self) -> dict:
        """``{gate name: count}`` over all layers."""
        return {name: int(c) for name, c in zip(gates.NAMES, self.counts)}


def gate_histogram(model_or_netlist) -> GateHistogram:
    """Histogram of the discrete network's gates and its perplexity."""
    net = _as_netlist(model_or_netlist)
    per_layer = np.stack([np.bincount(layer.op, minlength=gates.NUM_OPS) if layer.kind == "gate"
                          else np.zeros(gates.NUM_OPS, dtype=np.int64) for layer in net.layers])
    counts = per_layer.sum(axis=0)
    return GateHistogram(counts, per_layer, perplexity(counts) if counts.sum() else None)


@dataclass(frozen=True)
class Metrics:
    """Everything :func:`evaluate_metrics` measures, JSON-ready through :meth:`to_dict`."""

    soft_accuracy: float
    discrete_accuracy: float
    unused_gates: UnusedGates
    histogram: GateHistogram

    @property
    def gap(self) -> float:
        return self.soft_accuracy - self.discrete_accuracy

    def to_dict(self) -> dict:
        return {
            "soft_accuracy": self.soft_accuracy,
            "discrete_accuracy": self.discrete_accuracy,
            "gap": self.gap,
            "unused_gates": self.unused_gates.total,
            "unused_gates_per_layer": list(self.unused_gates.per_layer),
            "num_gates": self.unused_gates.num_gates,
            "gate_histogram": self.histogram.as_dict(),
            "gate_perplexity": self.histogram.perplexity,
        }


def evaluate_metrics(model: LogicNet, x, y, *, soft_mode: str = "train", seed: int = 0,
                     batch_size: int = 4096, netlist: Netlist | None = None) -> Metrics:
    """Soft and discrete accuracy on ``(x, y)``, unused gates and the gate histogram.

    ``netlist``: ``to_netlist(model)`` when the caller already has it (built here otherwise).
    """
    net = _as_netlist(model if netlist is None else netlist)
    return Metrics(
        soft_accuracy(model, x, y, mode=soft_mode, seed=seed, batch_size=batch_size),
        discrete_accuracy(model, x, y, batch_size=batch_size),
        unused_gates(net),
        gate_histogram(net),
    )
