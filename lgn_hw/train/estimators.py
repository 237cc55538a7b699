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

**Table entries** (:class:`lgn_hw.train.LutLayer`): each of a k-input node's
``2^k`` table entries is a Bernoulli variable with one logit ``theta`` (its
probability of being 1 is ``sigmoid(theta)``); :func:`table_probs` gives the
entry value ``p`` the node interpolates. Every estimator above applies as its
two-class case: a categorical over logits ``(0, theta)`` (entry 0, entry 1)
has ``softmax(.)_1 = sigmoid(theta)``, and the Gumbel pair ``(G0, G1)`` enters
only through ``L = G1 - G0``, which is Logistic(0, 1) noise (drawn directly,
see :func:`sample_logistic`); ``[z > 0]`` is ``argmax`` with ties to entry 0.
Training mode:

- ``soft``: ``p = sigmoid(theta / tau)``;
- ``gumbel_soft``: ``p = sigmoid((theta + L) / tau)``;
- ``st``: forward ``[theta > 0]``; backward as ``sigmoid(theta / tau)``;
- ``gumbel_st``: forward ``[theta + L > 0]``; backward as ``sigmoid((theta + L) / tau)``;
- ``decoupled_st``: forward ``[theta / tau_f + L > 0]``; backward as ``sigmoid(theta / tau_b)``;
- ``reinmax``: ``pi0 = sigmoid(theta)``; ``D = [theta + L > 0]`` (a sample
  from ``pi0``); ``pi1 = (D + sigmoid(theta / tau)) / 2``;
  ``pi1 = sigmoid(sg(logit(pi1) - theta) + theta)``; ``pi2 = 2 pi1 - pi0 / 2``;
  ``p = pi2 - sg(pi2) + D``.

In evaluation mode every estimator returns ``[theta > 0]``, the table the
netlist holds (``theta = 0`` gives 0, as ``sigmoid(0) = 0.5`` is not above 1/2).
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
    "sample_logistic",
    "table_probs",
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


def sample_logistic(shape, *, generator: torch.Generator | None = None, device=None,
                    dtype=torch.float32) -> torch.Tensor:
    """Logistic(0, 1) noise ``L = ln U - ln(1 - U)``, distributed as ``G1 - G0`` for two
    independent Gumbel(0, 1) draws (one uniform instead of two).

    ``U`` is drawn as in :func:`sample_gumbel` (on the generator's device,
    clamped below at the smallest normal float; ``U < 1`` always).
    """
    if generator is not None:
        u = torch.rand(shape, generator=generator, device=generator.device, dtype=dtype)
    else:
        u = torch.rand(shape, device=device, dtype=dtype)
    u = u.clamp_min(torch.finfo(dtype).tiny)
    noise = torch.log(u) - torch.log1p(-u)
    return noise if device is None else noise.to(device)


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


def _bit(z):
    return (z > 0).to(z.dtype)


def _t_soft(theta, noise, tau, tau_f, tau_b):
    return torch.sigmoid(_scaled(theta, tau))


def _t_gumbel_soft(theta, noise, tau, tau_f, tau_b):
    return torch.sigmoid(_scaled(theta + noise, tau))


def _t_st(theta, noise, tau, tau_f, tau_b):
    return _straight_through(_bit(theta.detach()), torch.sigmoid(_scaled(theta, tau)))


def _t_gumbel_st(theta, noise, tau, tau_f, tau_b):
    z = theta + noise
    return _straight_through(_bit(z.detach()), torch.sigmoid(_scaled(z, tau)))


def _t_decoupled_st(theta, noise, tau, tau_f, tau_b):
    hard = _bit(_scaled(theta.detach(), tau_f) + noise)
    return _straight_through(hard, torch.sigmoid(_scaled(theta, tau_b)))


def _t_reinmax(theta, noise, tau, tau_f, tau_b):
    pi0 = torch.sigmoid(theta)
    d = _bit(theta.detach() + noise)  # the logistic trick: an exact sample from pi0
    pi1 = (d + torch.sigmoid(_scaled(theta, tau))) / 2
    pi1 = torch.sigmoid((torch.log(pi1) - torch.log1p(-pi1) - theta).detach() + theta)
    pi2 = 2 * pi1 - pi0 / 2
    return _straight_through(d, pi2)


@dataclass(frozen=True)
class Estimator:
    """One estimator: its formulas for gates (``fn``) and for table entries (``table_fn``),
    whether its forward is one-hot (0/1 entries) and whether it samples."""

    name: str
    formula: str
    hard: bool  # training-mode forward value is one-hot (table entries: 0 or 1)
    stochastic: bool  # draws Gumbel (table entries: logistic) noise
    fn: Callable
    table_formula: str
    table_fn: Callable


ESTIMATORS = {
    e.name: e
    for e in (
        Estimator("soft", "w = softmax(theta/tau)", False, False, _soft,
                  "p = sigmoid(theta/tau)", _t_soft),
        Estimator("gumbel_soft", "w = softmax((theta+G)/tau)", False, True, _gumbel_soft,
                  "p = sigmoid((theta+L)/tau)", _t_gumbel_soft),
        Estimator("st", "fwd onehot(argmax theta); bwd softmax(theta/tau)", True, False, _st,
                  "fwd [theta>0]; bwd sigmoid(theta/tau)", _t_st),
        Estimator("gumbel_st", "fwd onehot(argmax(theta+G)); bwd softmax((theta+G)/tau)",
                  True, True, _gumbel_st,
                  "fwd [theta+L>0]; bwd sigmoid((theta+L)/tau)", _t_gumbel_st),
        Estimator("decoupled_st", "fwd onehot(argmax(theta/tau_f+G)); bwd softmax(theta/tau_b)",
                  True, True, _decoupled_st,
                  "fwd [theta/tau_f+L>0]; bwd sigmoid(theta/tau_b)", _t_decoupled_st),
        Estimator("reinmax", "fwd D~softmax(theta); bwd through pi2 = 2 pi1 - pi0/2 (ReinMax)",
                  True, True, _reinmax,
                  "fwd D=[theta+L>0]; bwd through pi2 = 2 pi1 - pi0/2 (ReinMax)", _t_reinmax),
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
    g = _noise(sample_gumbel, est, theta, noise, batch_size, generator)
    return est.fn(theta, g, tau, tau_f, tau_b)


def _noise(sample, est, theta, noise, batch_size, generator):
    if not est.stochastic:
        return None
    shape = tuple(theta.shape)
    if noise == "sample":
        if batch_size is None or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"per-sample noise needs a positive 'batch_size', not {batch_size!r}")
        shape = (int(batch_size),) + shape
    return sample(shape, generator=generator, device=theta.device, dtype=theta.dtype)


def table_probs(theta: torch.Tensor, estimator: str = "soft", *, training: bool = True,
                tau: float = 1.0, tau_f: float = 0.1, tau_b: float = 2.0,
                noise: str = "neuron", batch_size: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Table entry values ``p`` from entry logits ``theta`` (any shape), as the module docstring defines.

    Noise ``L`` is logistic (:func:`sample_logistic`), with the shape rules of
    :func:`gate_weights`: one draw per entry per call, or per sample
    (``(batch_size, *theta.shape)``) with ``noise="sample"``. Evaluation mode
    returns ``[theta > 0]`` and draws nothing.
    """
    est = check_estimator(estimator, tau=tau, tau_f=tau_f, tau_b=tau_b, noise=noise)
    if not training:
        return _bit(theta.detach())
    l = _noise(sample_logistic, est, theta, noise, batch_size, generator)
    return est.table_fn(theta, l, tau, tau_f, tau_b)
