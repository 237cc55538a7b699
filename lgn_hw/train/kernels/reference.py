"""The plain-torch logic op: the ground truth every kernel is tested against.

A neuron ``j`` reads two inputs ``a = x[:, idx_a[j]]`` and ``b = x[:, idx_b[j]]``
and outputs ``c0 + c1*a + c2*b + c3*a*b`` with its four coefficients
``coef[j] = w[j] @ lgn_hw.gates.COEFFS`` (the relaxation of DESIGN.md section 1,
mixed by the neuron's gate weights ``w``).
"""

from __future__ import annotations

import torch

__all__ = ["logic_op_reference"]


def logic_op_reference(x: torch.Tensor, idx_a: torch.Tensor, idx_b: torch.Tensor,
                       coef: torch.Tensor) -> torch.Tensor:
    """``y[:, j] = c0 + c1*a + c2*b + c3*a*b``; autograd gives every gradient."""
    a = x[:, idx_a]
    b = x[:, idx_b]
    c0, c1, c2, c3 = coef.unbind(dim=1)
    return c0 + c1 * a + c2 * b + c3 * a * b
