"""Gate estimators: how a neuron's 16 gate logits ``theta`` become its gate weights ``w``.

A neuron outputs ``sum_i w_i * g_i(a, b)`` over the 16 relaxed gates of
:mod:`lgn_hw.gates`; the estimator decides ``w`` (a vector over the last axis
of ``theta``). ``sg`` stops gradients (``.detach()``), ``onehot(i)`` is the
one-hot vector of op ``i``, ``G`` is i.i.d. Gumbel(0, 1) noise (see
:func:`sample_gumbel`). Training mode:

- ``soft``: ``w = softmax(theta / tau)``, the classic DLGN mixture.
- ``gumbel_soft``: ``w = softmax((theta + G) / tau)``.
- ``st``: forward ``onehot(argmax theta)``; backward as ``softmax(theta / tau)``.
- ``gumbel_st`` (Gumbel LGN): forward ``onehot(argmax(theta + G))``; backward as
  ``softmax((theta + G) / tau)``.
- ``decoupled_st``: forward ``onehot(argmax(theta / tau_f + G))``, a sample at
  forward temperature ``tau_f``; backward as ``softmax(theta / tau_b)``
  (the reported DLGN setting is ``tau_f = 0.1``, ``tau_b = 2.0``).
- ``reinmax`` (second-order straight-through, ``tau >= 1``):
  ``pi0 = softmax(theta)``; ``D = onehot(argmax(theta + G))``, an exact sample
  from ``pi0`` (Gumbel-max); ``pi1 = (D + softmax(theta / tau)) / 2``;
  ``pi1 = softmax(sg(ln pi1 - theta) + theta)``; ``pi2 = 2 pi1 - pi0 / 2``;
  ``w = pi2 - sg(pi2) + D``.

Every straight-through form is written ``w = (s - sg(s)) + hard``: ``s - sg(s)``
is exactly zero in floating point, so the forward value is *exactly* the
one-hot ``hard`` and a hard-forward estimator computes exactly the discrete
network it sampled (no gap between training and inference).

In evaluation mode every estimator returns ``onehot(argmax theta)``: the
discrete network that :func:`lgn_hw.train.to_netlist` exports. Ties go to the
lowest op code (``torch.argmax``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

__all__ = [
    "Estimator",
    "ESTIMATORS",
    "NOISE_MODES",
    "check_estimator",
    "sample_gumbel",
    "onehot_argmax",
    "gate_weights",
]

NOISE_MODES = ("neuron", "sample")


def onehot_argmax(z: torch.Tensor) -> torch.Tensor:
    """``onehot(argmax z)`` over the last axis, same dtype and device as ``z``."""
    return torch.zeros_like(z).scatter_(-1, z.argmax(dim=-1, keepdim=True), 1.0)


def _straight_through(hard: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
    # (s - sg(s)) is exactly 0.0, so the forward value is exactly `hard`.
    return (surrogate - surrogate.detach()) + hard


def sample_gumbel(shape, *, generator: torch.Generator | None = None, device=None,
                  dtype=torch.float32) -> torch.Tensor:
    """Gumbel(0, 1) noise ``G = -ln(-ln U)``.

    ``U = torch.rand(shape, generator=generator)`` is drawn on the generator's
    device (or ``device`` when there is no generator), clamped below at the
    smallest normal float, and the result is moved to ``device``. The same
    generator state therefore always gives the same noise.
    """
    if generator is not None:
        u = torch.rand(shape, generator=generator, device=generator.device, dtype=dtype)
    else:
        u = torch.rand(shape, device=device, dtype=dtype)
    u = u.clamp_min(torch.finfo(dtype).tiny)
    g = -torch.log(-torch.log(u))
    return g if device is None else g.to(device)


def _scaled(z, tau):
    # Skipping the division by 1 saves an op per layer and step; the values are identical.
    return z if tau == 1.0 else z / tau


def _soft(theta, g, tau, tau_f, tau_b):
    return torch.softmax(_scaled(theta, tau), dim=-1)


def _gumbel_soft(theta, g, tau, tau_f, tau_b):
    return torch.softmax(_scaled(theta + g, tau), dim=-1)


def _st(theta, g, tau, tau_f, tau_b):
    return _straight_through(onehot_argmax(theta), torch.softmax(_scaled(theta, tau), dim=-1))


def _gumbel_st(theta, g, tau, tau_f, tau_b):
    z = theta + g
    return _straight_through(onehot_argmax(z), torch.softmax(_scaled(z, tau), dim=-1))


def _decoupled_st(theta, g, tau, tau_f, tau_b):
    hard = onehot_argmax(_scaled(theta.detach(), tau_f) + g)
    return _straight_through(hard, torch.softmax(_scaled(theta, tau_b), dim=-1))


def _reinmax(theta, g, tau, tau_f, tau_b):
    pi0 = torch.softmax(theta, dim=-1)
    d = onehot_argmax(theta.detach() + g)  # Gumbel-max: an exact sample from pi0
    pi1 = (d + torch.softmax(_scaled(theta, tau), dim=-1)) / 2
    pi1 = torch.softmax((torch.log(pi1) - theta).detach() + theta, dim=-1)
    pi2 = 2 * pi1 - pi0 / 2
    return _straight_through(d, pi2)


@dataclass(frozen=True)
class Estimator:
    """One gate estimator: its formula, whether its forward is one-hot and whether it samples."""

    name: str
    formula: str
    hard: bool  # training-mode forward value is one-hot
    stochastic: bool  # draws Gumbel noise
    fn: Callable


ESTIMATORS = {
    e.name: e
    for e in (
        Estimator("soft", "w = softmax(theta/tau)", False, False, _soft),
        Estimator("gumbel_soft", "w = softmax((theta+G)/tau)", False, True, _gumbel_soft),
        Estimator("st", "fwd onehot(argmax theta); bwd softmax(theta/tau)", True, False, _st),
        Estimator("gumbel_st", "fwd onehot(argmax(theta+G)); bwd softmax((theta+G)/tau)",
                  True, True, _gumbel_st),
        Estimator("decoupled_st", "fwd onehot(argmax(theta/tau_f+G)); bwd softmax(theta/tau_b)",
                  True, True, _decoupled_st),
        Estimator("reinmax", "fwd D~softmax(theta); bwd through pi2 = 2 pi1 - pi0/2 (ReinMax)",
                  True, True, _reinmax),
    )
}


def _positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"'{name}' must be a positive number, not {value!r}")
    if not value > 0 or value != value or value == float("inf"):
        raise ValueError(f"'{name}' must be a positive finite number, not {value!r}")
    return float(value)


def check_estimator(name, *, tau=1.0, tau_f=0.1, tau_b=2.0, noise="neuron") -> Estimator:
    """Validate an estimator name and its temperatures; return its :class:`Estimator`."""
    if not isinstance(name, str) or name not in ESTIMATORS:
        raise ValueError(f"'estimator' must be one of {sorted(ESTIMATORS)}, not {name!r}")
    _positive("tau", tau)
    _positive("tau_f", tau_f)
    _positive("tau_b", tau_b)
    if name == "reinmax" and tau < 1:
        raise ValueError(f"'tau' must be at least 1 for the reinmax estimator, not {tau!r}")
    if noise not in NOISE_MODES:
        raise ValueError(f"'noise' must be one of {NOISE_MODES}, not {noise!r}")
    return ESTIMATORS[name]


def gate_weights(theta: torch.Tensor, estimator: str = "soft", *, training: bool = True,
                 tau: float = 1.0, tau_f: float = 0.1, tau_b: float = 2.0,
                 noise: str = "neuron", batch_size: int | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """Gate weights ``w`` from logits ``theta`` (``(..., 16)``), as the module docstring defines.

    Noise ``G`` has the shape of ``theta`` (``noise="neuron"``: one draw per
    neuron per call, shared across the batch) or ``(batch_size, *theta.shape)``
    (``noise="sample"``), in which case ``w`` has that shape too. Deterministic
    estimators and evaluation mode ignore ``noise`` and draw nothing.
    """
    est = check_estimator(estimator, tau=tau, tau_f=tau_f, tau_b=tau_b, noise=noise)
    if not training:
        return onehot_argmax(theta.detach())
    g = None
    if est.stochastic:
        shape = tuple(theta.shape)
        if noise == "sample":
            if batch_size is None or isinstance(batch_size, bool) or batch_size < 1:
                raise ValueError(f"per-sample noise needs a positive 'batch_size', not {batch_size!r}")
            shape = (int(batch_size),) + shape
        g = sample_gumbel(shape, generator=generator, device=theta.device, dtype=theta.dtype)
    return est.fn(theta, g, tau, tau_f, tau_b)
