"""The plain-torch logic and LUT ops: the ground truth every kernel is tested against.

A neuron ``j`` reads two inputs ``a = x[:, idx_a[j]]`` and ``b = x[:, idx_b[j]]``
and outputs ``c0 + c1*a + c2*b + c3*a*b`` with its four coefficients
``coef[j] = w[j] @ lgn_hw.gates.COEFFS`` (the relaxation of DESIGN.md section 1,
mixed by the neuron's gate weights ``w``).

A LUT node ``n`` reads ``k`` inputs ``x_i = x[:, idx[n, i]]`` and outputs the
multilinear interpolation of its table values ``p[n, j]`` (entry index ``j``
with input 0 as the most significant bit, /work/coord/CONTRACTS.md):
``sum_j p[n, j] prod_i (x_i if bit k-1-i of j else 1 - x_i)``.
"""

from __future__ import annotations

import torch

__all__ = ["logic_op_reference", "lut_op_reference", "choose_slots_reference"]


def logic_op_reference(x: torch.Tensor, idx_a: torch.Tensor, idx_b: torch.Tensor,
                       coef: torch.Tensor) -> torch.Tensor:
    """``y[:, j] = c0 + c1*a + c2*b + c3*a*b``; autograd gives every gradient."""
    a = x[:, idx_a]
    b = x[:, idx_b]
    c0, c1, c2, c3 = coef.unbind(dim=1)
    return c0 + c1 * a + c2 * b + c3 * a * b


def lut_op_reference(x: torch.Tensor, idx: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """``y[:, n]`` = the interpolation of table ``p[n]`` (``(out_dim, 2^k)``, or per sample
    ``(batch, out_dim, 2^k)``) at ``x[:, idx[n]]``; autograd gives every gradient.

    Evaluated by Shannon expansion, least significant input first: the entry
    pairs ``(2m, 2m+1)`` differ only in input ``k-1``, so ``lo + x_{k-1} (hi - lo)``
    halves the table; ``k`` halvings leave the value.
    """
    v = p
    for i in reversed(range(idx.shape[1])):
        xi = x[:, idx[:, i]].unsqueeze(-1)
        lo, hi = v[..., 0::2], v[..., 1::2]
        v = lo + xi * (hi - lo)
    return v.squeeze(-1)


def choose_slots_reference(x: torch.Tensor, logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Learned connections, written out: ``(batch, slots)`` values ``x[:, idx]`` (``idx`` the
    argmax of each slot's ``logits`` row) whose backward is that of ``x[:, idx]`` for ``x`` and of
    ``softmax(logits) @ x`` for ``logits``: ``hard + (soft - sg(soft))``, whose second term is
    exactly zero. Autograd gives every gradient; the forward computes the dense ``soft``."""
    hard = x[:, idx]
    soft = x.detach() @ torch.softmax(logits, dim=-1).to(x.dtype).t()
    return hard + (soft - soft.detach())
