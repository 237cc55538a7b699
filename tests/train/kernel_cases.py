"""Test cases shared by the kernel tests (test_kernels.py, test_kernels_triton.py).

Nothing from lgn_hw.train.kernels is imported at module level: the Triton test
imports this file before it knows whether TRITON_INTERPRET is set.
"""

from __future__ import annotations

import torch


def make_case(batch, in_dim, out_dim, dtype=torch.float32, seed=0):
    """Inputs in [0, 1], coefficients of random gate mixtures, and indices with repeats:
    every third neuron reads one input twice, and input 0 feeds many neurons."""
    from lgn_hw import gates

    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, in_dim, generator=g, dtype=dtype)
    w = torch.softmax(torch.randn(out_dim, 16, generator=g, dtype=dtype) * 3, dim=-1)
    coef = w @ torch.as_tensor(gates.COEFFS, dtype=dtype)
    idx_a = torch.randint(0, in_dim, (out_dim,), generator=g)
    idx_b = torch.randint(0, in_dim, (out_dim,), generator=g)
    idx_b[::3] = idx_a[::3]
    idx_a[1::4] = 0
    return x, idx_a, idx_b, coef


def values_and_grads(kernel, x, idx_a, idx_b, coef, seed=1):
    """``logic_op`` output and its gradients to ``x`` and ``coef`` for a fixed random upstream gradient."""
    from lgn_hw.train.kernels import logic_op

    x = x.detach().clone().requires_grad_()
    coef = coef.detach().clone().requires_grad_()
    y = logic_op(x, idx_a, idx_b, coef, kernel=kernel)
    grad_y = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed), dtype=y.dtype)
    return (y, *torch.autograd.grad(y, (x, coef), grad_y))


def chained_layouts(kernel):
    """Two chained ``logic_op`` layers on a contiguous and on a strided (column-slice) input:
    for each input, the output and the input gradient of ``y.square().sum()``. The second
    layer reads the first one's output, feature-major for the fast kernels."""
    from lgn_hw.train.kernels import logic_op

    x, ia1, ib1, c1 = make_case(37, 300, 257)
    _, ia2, ib2, c2 = make_case(37, 257, 5, seed=3)
    x_wide = torch.rand(37, 600, generator=torch.Generator().manual_seed(4))[:, ::2]
    outs = []
    for kernel_input in (x, x_wide):
        xi = kernel_input.clone().requires_grad_()
        y = logic_op(logic_op(xi, ia1, ib1, c1, kernel=kernel), ia2, ib2, c2, kernel=kernel)
        (gx,) = torch.autograd.grad(y.square().sum(), xi)
        outs.append((y, gx))
    return outs


def in_place_then_grad(kernel):
    """The output doubled in place, and the gradient to ``coef`` through it (autograd must allow it)."""
    from lgn_hw.train.kernels import logic_op

    x, idx_a, idx_b, coef = make_case(37, 7, 5)
    c = coef.clone().requires_grad_()
    y = logic_op(x, idx_a, idx_b, c, kernel=kernel)
    y.mul_(2)
    (gc,) = torch.autograd.grad(y.sum(), c)
    return y, gc
