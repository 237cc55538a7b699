"""Triton kernels for the logic op (forward and backward), for CUDA tensors.

Importing this module imports triton (the optional extra ``lgn-hw[gpu]``) and
defines the ``@triton.jit`` functions, so ``TRITON_INTERPRET=1`` must be set
before the first import to run them on CPU tensors (as the tests do).

Both kernels run on a 2-D grid of (neuron blocks, batch blocks) tiles with
masks for ragged edges. Backward scatters the input gradient with
``atomic_add`` (many neurons may read one input) and writes one partial
coefficient gradient per batch block, summed by torch (deterministic).
Outputs and input gradients are allocated feature-major (strides
``(1, batch)``), so a tile's loads and stores along the batch are
contiguous when layers are chained.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch.autograd.function import once_differentiable

__all__ = ["BLOCK_B", "BLOCK_N", "logic_op_triton"]

#: Tile size along the batch and along the neurons.
BLOCK_B = 64
BLOCK_N = 16


@triton.jit
def _forward_kernel(x_ptr, ia_ptr, ib_ptr, coef_ptr, y_ptr, batch, out_dim,
                    sx_b, sx_i, sy_b, sy_n,
                    BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr):
    rn = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    rb = tl.program_id(1) * BLOCK_B + tl.arange(0, BLOCK_B)
    mn = rn < out_dim
    mask = (rb[:, None] < batch) & mn[None, :]
    ia = tl.load(ia_ptr + rn, mask=mn, other=0)
    ib = tl.load(ib_ptr + rn, mask=mn, other=0)
    c0 = tl.load(coef_ptr + rn * 4, mask=mn, other=0.0)[None, :]
    c1 = tl.load(coef_ptr + rn * 4 + 1, mask=mn, other=0.0)[None, :]
    c2 = tl.load(coef_ptr + rn * 4 + 2, mask=mn, other=0.0)[None, :]
    c3 = tl.load(coef_ptr + rn * 4 + 3, mask=mn, other=0.0)[None, :]
    a = tl.load(x_ptr + rb[:, None] * sx_b + ia[None, :] * sx_i, mask=mask, other=0.0)
    b = tl.load(x_ptr + rb[:, None] * sx_b + ib[None, :] * sx_i, mask=mask, other=0.0)
    y = c0 + c1 * a + (c2 + c3 * a) * b
    tl.store(y_ptr + rb[:, None] * sy_b + rn[None, :] * sy_n, y, mask=mask)


@triton.jit
def _backward_kernel(g_ptr, x_ptr, ia_ptr, ib_ptr, coef_ptr, gx_ptr, gc_ptr, batch, out_dim,
                     sg_b, sg_n, sx_b, sx_i, sgx_b, sgx_i,
                     NEED_X: tl.constexpr, NEED_COEF: tl.constexpr,
                     BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr):
    rn = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    pid_b = tl.program_id(1)
    rb = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    mn = rn < out_dim
    mask = (rb[:, None] < batch) & mn[None, :]
    ia = tl.load(ia_ptr + rn, mask=mn, other=0)
    ib = tl.load(ib_ptr + rn, mask=mn, other=0)
    g = tl.load(g_ptr + rb[:, None] * sg_b + rn[None, :] * sg_n, mask=mask, other=0.0)
    a = tl.load(x_ptr + rb[:, None] * sx_b + ia[None, :] * sx_i, mask=mask, other=0.0)
    b = tl.load(x_ptr + rb[:, None] * sx_b + ib[None, :] * sx_i, mask=mask, other=0.0)
    if NEED_COEF:
        # Partial sums over this batch block; row pid_b of a (num_batch_blocks, out_dim, 4) buffer.
        part = gc_ptr + pid_b * out_dim * 4 + rn * 4
        ga = g * a
        tl.store(part, tl.sum(g, axis=0), mask=mn)
        tl.store(part + 1, tl.sum(ga, axis=0), mask=mn)
        tl.store(part + 2, tl.sum(g * b, axis=0), mask=mn)
        tl.store(part + 3, tl.sum(ga * b, axis=0), mask=mn)
    if NEED_X:
        c1 = tl.load(coef_ptr + rn * 4 + 1, mask=mn, other=0.0)[None, :]
        c2 = tl.load(coef_ptr + rn * 4 + 2, mask=mn, other=0.0)[None, :]
        c3 = tl.load(coef_ptr + rn * 4 + 3, mask=mn, other=0.0)[None, :]
        row = rb[:, None] * sgx_b
        tl.atomic_add(gx_ptr + row + ia[None, :] * sgx_i, g * (c1 + c3 * b), mask=mask)
        tl.atomic_add(gx_ptr + row + ib[None, :] * sgx_i, g * (c2 + c3 * a), mask=mask)


def _feature_major(rows: int, cols: int, like: torch.Tensor, zero: bool) -> torch.Tensor:
    """A ``(rows, cols)`` tensor stored as its contiguous transpose (not a view: in-place safe)."""
    t = torch.empty_strided((rows, cols), (1, max(rows, 1)), dtype=like.dtype, device=like.device)
    return t.zero_() if zero else t


def _grid(batch: int, out_dim: int):
    return (triton.cdiv(out_dim, BLOCK_N), triton.cdiv(batch, BLOCK_B))


class _LogicOpTriton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, idx_a, idx_b, coef):
        idx_a, idx_b, coef = idx_a.contiguous(), idx_b.contiguous(), coef.contiguous()
        batch, out_dim = x.shape[0], coef.shape[0]
        y = _feature_major(batch, out_dim, x, zero=False)
        if batch and out_dim:
            _forward_kernel[_grid(batch, out_dim)](
                x, idx_a, idx_b, coef, y, batch, out_dim,
                x.stride(0), x.stride(1), y.stride(0), y.stride(1),
                BLOCK_B=BLOCK_B, BLOCK_N=BLOCK_N)
        ctx.save_for_backward(x, idx_a, idx_b, coef)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x, idx_a, idx_b, coef = ctx.saved_tensors
        need_x, _, _, need_coef = ctx.needs_input_grad
        batch, out_dim = x.shape[0], coef.shape[0]
        grid = _grid(batch, out_dim)
        gx = _feature_major(batch, x.shape[1], x, zero=True) if need_x else None
        parts = torch.zeros(grid[1], out_dim, 4, dtype=x.dtype, device=x.device) if need_coef else None
        if (need_x or need_coef) and batch and out_dim:
            dummy = x  # never dereferenced when the matching NEED_* flag is off
            _backward_kernel[grid](
                grad_y, x, idx_a, idx_b, coef,
                gx if need_x else dummy, parts if need_coef else dummy, batch, out_dim,
                grad_y.stride(0), grad_y.stride(1), x.stride(0), x.stride(1),
                gx.stride(0) if need_x else 0, gx.stride(1) if need_x else 0,
                NEED_X=need_x, NEED_COEF=need_coef, BLOCK_B=BLOCK_B, BLOCK_N=BLOCK_N)
        return gx, None, None, (parts.sum(0) if need_coef else None)


def logic_op_triton(x: torch.Tensor, idx_a: torch.Tensor, idx_b: torch.Tensor,
                    coef: torch.Tensor) -> torch.Tensor:
    """The Triton op (arguments as ``lgn_hw.train.kernels.logic_op``, already checked)."""
    if x.is_cuda:
        with torch.cuda.device(x.device):
            return _LogicOpTriton.apply(x, idx_a, idx_b, coef)
    return _LogicOpTriton.apply(x, idx_a, idx_b, coef)
