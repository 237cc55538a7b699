"""How much memory a training run needs, from its configuration alone (before anything is allocated).

:func:`estimate_memory` adds up the parameters, their gradients, the
optimizer's state, the learned-connection softmax (a LUT layer with
``connections="learned"`` holds one logit per input slot and candidate input:
``width x k x inputs``), the activations of a training batch and of an
evaluation batch, and the training data. :func:`check_memory` refuses, with
one line naming the estimate and its biggest term, a run whose estimate
exceeds the memory of the device it would run on (``force=True`` runs it
anyway). The figures are float32 and deliberately round: the aim is to refuse
what cannot fit before the process grows into swap, not to predict the peak.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .config import TrainConfig, layer_plan

__all__ = ["MemoryEstimate", "estimate_memory", "check_memory", "device_memory", "known_inputs", "MemoryError_"]

_F32 = 4
#: gumbel estimators with per-sample noise hold a (batch, width, 2^k) table per layer
_SAMPLING = ("gumbel_soft", "gumbel_st", "reinmax")


class MemoryError_(ValueError):   # a ValueError: the CLI reports it in one line, exit 2
    """The run would need more memory than the device has."""


def _size(n: float) -> str:
    if n >= 1e18:
        return f"more than {n // 10**18} EB" if n < 10**21 else f"10^{len(str(int(n))) - 1} B"
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{int(n)} B"


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes per term (``terms``) and their sum (``total``)."""

    terms: dict

    @property
    def total(self) -> int:
        return sum(self.terms.values())

    @property
    def biggest(self) -> tuple[str, int]:
        return max(self.terms.items(), key=lambda kv: kv[1])

    def describe(self) -> str:
        name, size = self.biggest
        return f"about {_size(self.total)} (biggest: {name}, {_size(size)})"


def estimate_memory(cfg: TrainConfig, num_inputs: int | None = None, *, num_train: int = 0,
                    data_inputs: int | None = None) -> MemoryEstimate:
    """The memory ``cfg`` needs to train on ``num_inputs`` input bits (unknown: counted as 1, a lower
    bound) with ``num_train`` training samples held as bytes of ``data_inputs`` bits each."""
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"'cfg' must be a TrainConfig, not {cfg!r}")
    plan = layer_plan(cfg.layers, cfg.layer_kind, cfg.k)
    widths = cfg.width if isinstance(cfg.width, list) else [cfg.width] * cfg.layers
    batch = cfg.batch_size
    params = learned = act = 0
    prev = max(1, num_inputs or 1)
    per_sample = cfg.estimator in _SAMPLING and cfg.noise == "sample"
    for (kind, k), width in zip(plan, widths):
        if kind == "gate":
            params += width * 16
            act += batch * width * 6              # both inputs, 16 op weights folded, output, grads
        else:
            params += width * (1 << k)
            act += batch * width * (k + 3)        # k inputs gathered, output, grads
            if per_sample:
                act += batch * width * (1 << k)
            if cfg.connections == "learned":
                learned += width * k * prev
                act += 2 * batch * width * k      # the soft choice and its gradient
        prev = width
    # float32 weights, their gradients and Adam's two moments: 16 bytes a parameter; learned
    # connections also keep softmax(logits) and its gradient in the backward: 8 more.
    terms = {
        "node weights with gradients and Adam state": 4 * _F32 * params,
        "learned input choices (width x k x inputs logits a layer, with gradients, Adam state, softmax)":
            6 * _F32 * learned,
        "training activations": _F32 * act,
        "evaluation activations": _F32 * cfg.eval_batch_size * 2 * max(widths),
    }
    if num_train and data_inputs:
        terms["training data"] = num_train * data_inputs
    return MemoryEstimate(terms)


#: input features of the built-in image datasets and their default thermometer levels (bits = both)
_FEATURES = {"mnist": (784, 3), "fashion_mnist": (784, 3), "cifar10": (3072, 3), "digits": (64, 3)}


def known_inputs(cfg: TrainConfig) -> int | None:
    """The input bits of ``cfg``'s built-in dataset when they follow from its name (no file read)."""
    if cfg.data is not None:
        return None
    base = cfg.dataset.lower().partition(":")[0].replace("-", "_")
    if base not in _FEATURES:
        return None
    features, levels = _FEATURES[base]
    return features * (cfg.levels or levels)


def device_memory(device) -> int | None:
    """Bytes of memory of ``device`` (a torch device or name): the GPU's, or the machine's RAM."""
    kind = getattr(device, "type", None) or str(device).split(":")[0]
    if kind == "cuda":
        import torch

        if torch.cuda.is_available():
            index = getattr(device, "index", None)
            return torch.cuda.get_device_properties(index if index is not None else 0).total_memory
        return None
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(cfg: TrainConfig, device, num_inputs: int | None = None, *, num_train: int = 0,
                 data_inputs: int | None = None, force: bool = False) -> MemoryEstimate:
    """The estimate of ``cfg`` on ``device``; :class:`MemoryError_` (one line) when it exceeds the
    device's memory, unless ``force``."""
    est = estimate_memory(cfg, num_inputs, num_train=num_train, data_inputs=data_inputs)
    limit = device_memory(device)
    if limit is not None and est.total > limit and not force:
        kind = "GPU" if (getattr(device, "type", None) or str(device)).startswith("cuda") else "machine"
        raise MemoryError_(f"this network needs {est.describe()} of memory, more than the {_size(limit)} "
                           f"this {kind} has; choose a smaller --width or --layers (or --force to try anyway)")
    return est
