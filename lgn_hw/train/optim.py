"""Adam and AdamW whose CPU step is one fused pass, bit-identical to torch's.

``torch.optim.Adam`` on CPU defaults to its single-tensor path: eight
elementwise ops per parameter, four of them allocating a temporary the size of
the parameter. With learned connections most parameters are input-choice logits
(the mnist preset holds 5.9 M of them), and that path took a third of a training
step. :class:`Adam` and :class:`AdamW` run the same arithmetic, op for op and
rounding for rounding, in one pass (``adam_cpu.cpp`` in the CPU extension), so a
run gives the same parameters to the bit as with ``torch.optim``
(``tests/train/test_optim.py``). ``fused=True`` in torch is fast too but rounds
differently; it is not used.

The fast pass covers dense float32/float64 CPU parameters with ``amsgrad``,
``maximize``, ``capturable``, ``differentiable``, ``foreach`` and ``fused`` off;
weight decay runs as torch's own op before it. Anything else, or a CPU extension
that does not build, takes torch's step. The state (``step``, ``exp_avg``,
``exp_avg_sq``) and ``state_dict()`` are torch's, so checkpoints are interchangeable.
"""

from __future__ import annotations

import math

import torch

__all__ = ["Adam", "AdamW"]


def _extension():
    from .kernels import KernelUnavailableError
    from .kernels.cpu_op import load_extension

    try:
        return load_extension()
    except KernelUnavailableError:
        return None


def _plain(group) -> bool:
    return not any(group.get(k) for k in ("amsgrad", "maximize", "capturable", "differentiable", "foreach", "fused"))


def _fast(p) -> bool:
    g = p.grad
    return (p.device.type == "cpu" and p.dtype in (torch.float32, torch.float64) and not g.is_sparse
            and g.dtype == p.dtype and p.is_contiguous() and g.is_contiguous())


class _OnePass:
    """The step shared by :class:`Adam` and :class:`AdamW` (``decoupled`` weight decay or not)."""

    decoupled = False

    @torch.no_grad()
    def step(self, closure=None):
        groups = self.param_groups
        ext = _extension() if all(_plain(g) for g in groups) else None
        if ext is None or not all(_fast(p) for g in groups for p in g["params"] if p.grad is not None):
            return super().step(closure)
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in groups:
            beta1, beta2 = (float(b) for b in group["betas"])
            lr, wd, eps = float(group["lr"]), group["weight_decay"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:  # as torch.optim.Adam._init_group
                    state["step"] = torch.tensor(0.0, dtype=torch.float64 if torch.get_default_dtype()
                                                 == torch.float64 else torch.float32)
                    state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                grad = p.grad
                state["step"] += 1
                step = state["step"].item()
                if wd != 0:
                    if group.get("decoupled_weight_decay", self.decoupled):
                        p.mul_(1 - lr * wd)
                    else:
                        grad = grad.add(p, alpha=wd)
                bias_correction1 = 1 - beta1 ** step
                bias_correction2 = 1 - beta2 ** step
                step_size = lr / bias_correction1
                ext.adam_step(p, grad, state["exp_avg"], state["exp_avg_sq"], 1 - beta1, beta2, 1 - beta2,
                              bias_correction2 ** 0.5, eps, -step_size)
        return loss


class Adam(_OnePass, torch.optim.Adam):
    """``torch.optim.Adam`` with the one-pass CPU step (see the module docstring)."""


class AdamW(_OnePass, torch.optim.AdamW):
    """``torch.optim.AdamW`` with the one-pass CPU step (see the module docstring)."""

    decoupled = True
