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


def make_lut_case(batch, in_dim, out_dim, k, dtype=torch.float32, seed=0):
    """Inputs in [0, 1] (a few exactly 0 or 1), table values in [0, 1], and indices with repeats:
    every third node reads its first input twice, and input 0 feeds many nodes."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, in_dim, generator=g, dtype=dtype)
    x[::5, ::3] = x[::5, ::3].round()
    p = torch.rand(out_dim, 1 << k, generator=g, dtype=dtype)
    idx = torch.randint(0, in_dim, (out_dim, k), generator=g)
    idx[::3, 1] = idx[::3, 0]
    idx[1::4, -1] = 0
    return x, idx, p


def lut_values_and_grads(kernel, x, idx, p, seed=1):
    """``lut_op`` output and its gradients to ``x`` and ``p`` for a fixed random upstream gradient."""
    from lgn_hw.train.kernels import lut_op

    x = x.detach().clone().requires_grad_()
    p = p.detach().clone().requires_grad_()
    y = lut_op(x, idx, p, kernel=kernel)
    grad_y = torch.randn(y.shape, generator=torch.Generator().manual_seed(seed), dtype=y.dtype)
    return (y, *torch.autograd.grad(y, (x, p), grad_y))


def lut_chained_layouts(kernel):
    """A gate layer, a LUT-6 and a LUT-3 layer chained, on a contiguous and on a strided input:
    for each input, the output and the input gradient of ``y.square().sum()``."""
    from lgn_hw.train.kernels import logic_op, lut_op

    x, ia, ib, c = make_case(37, 300, 20)
    _, idx6, p6 = make_lut_case(1, 20, 6, 6, seed=3)
    _, idx3, p3 = make_lut_case(1, 6, 5, 3, seed=4)
    x_wide = torch.rand(37, 600, generator=torch.Generator().manual_seed(5))[:, ::2]
    outs = []
    for kernel_input in (x, x_wide):
        xi = kernel_input.clone().requires_grad_()
        h = logic_op(xi, ia, ib, c, kernel=kernel)
        y = lut_op(lut_op(h, idx6, p6, kernel=kernel), idx3, p3, kernel=kernel)
        (gx,) = torch.autograd.grad(y.square().sum(), xi)
        outs.append((y, gx))
    return outs


def lut_in_place_then_grad(kernel):
    """The LUT output doubled in place, and the gradient to ``p`` through it."""
    from lgn_hw.train.kernels import lut_op

    x, idx, p = make_lut_case(37, 7, 5, 4)
    pr = p.clone().requires_grad_()
    y = lut_op(x, idx, pr, kernel=kernel)
    y.mul_(2)
    (gp,) = torch.autograd.grad(y.sum(), pr)
    return y, gp


def lut_partial_grads(kernel):
    """The gradient to ``x`` with ``p`` fixed, and to ``p`` with ``x`` fixed."""
    from lgn_hw.train.kernels import lut_op

    x, idx, p = make_lut_case(37, 7, 5, 5)
    grad_y = torch.randn(37, 5, generator=torch.Generator().manual_seed(1))
    xr = x.clone().requires_grad_()
    (gx,) = torch.autograd.grad(lut_op(xr, idx, p, kernel=kernel), xr, grad_y)
    pr = p.clone().requires_grad_()
    (gp,) = torch.autograd.grad(lut_op(x, idx, pr, kernel=kernel), pr, grad_y)
    return gx, gp
