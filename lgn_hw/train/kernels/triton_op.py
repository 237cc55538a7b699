"""Triton kernels for the logic op and the LUT op (forward and backward), for CUDA tensors.

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

The LUT kernels (k inputs, ``E = 2^k`` table values) work on the same grid
with 3-D ``(batch, node, entry)`` tiles: the corner weights
``c_j = prod_i (x_i if bit k-1-i of j else 1 - x_i)`` are built input by
input, ``y = sum_j c_j p_j``; backward gives ``dp_j = sum_b g c_j`` and
``dx_i = g sum_j c_j (p[j | m_i] - p[j & ~m_i])`` (``m_i`` the bit of input
``i``; pairs of entries differing in bit ``m_i`` have corner weights summing
to the product over the other inputs). The node block shrinks as ``E`` grows.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch.autograd.function import once_differentiable

__all__ = ["BLOCK_B", "BLOCK_N", "LUT_BLOCK_B", "lut_blocks", "logic_op_triton", "lut_op_triton"]

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


#: Batch tile of the LUT kernels; the node tile is :func:`lut_blocks`.
LUT_BLOCK_B = 32


def lut_blocks(k: int) -> tuple[int, int]:
    """``(batch tile, node tile)`` of the LUT kernels for k-input nodes: about 2,048 to 4,096 tile entries."""
    return LUT_BLOCK_B, max(2, 2048 // (LUT_BLOCK_B << k))


@triton.jit
def _corner_weights(x_ptr, idx_ptr, rn, rb, mn, mask, sx_b, sx_i, like,
                    K: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr):
    """``(BLOCK_B, BLOCK_N, 2^K)`` corner weights of the nodes ``rn`` at the samples ``rb``."""
    re = tl.arange(0, 1 << K)
    c = tl.zeros((BLOCK_B, BLOCK_N, 1 << K), dtype=like.dtype.element_ty) + 1.0
    for i in tl.static_range(K):
        ii = tl.load(idx_ptr + rn * K + i, mask=mn, other=0)
        xi = tl.load(x_ptr + rb[:, None] * sx_b + ii[None, :] * sx_i, mask=mask, other=0.0)[:, :, None]
        bit = ((re >> (K - 1 - i)) & 1)[None, None, :]
        c = c * tl.where(bit == 1, xi, 1.0 - xi)
    return c


@triton.jit
def _lut_forward_kernel(x_ptr, idx_ptr, p_ptr, y_ptr, batch, out_dim, sx_b, sx_i, sy_b, sy_n,
                        K: tl.constexpr, BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr):
    rn = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    rb = tl.program_id(1) * BLOCK_B + tl.arange(0, BLOCK_B)
    mn = rn < out_dim
    mask = (rb[:, None] < batch) & mn[None, :]
    c = _corner_weights(x_ptr, idx_ptr, rn, rb, mn, mask, sx_b, sx_i, p_ptr, K, BLOCK_B, BLOCK_N)
    re = tl.arange(0, 1 << K)
    t = tl.load(p_ptr + rn[:, None] * (1 << K) + re[None, :], mask=mn[:, None], other=0.0)
    y = tl.sum(c * t[None, :, :], axis=2)
    tl.store(y_ptr + rb[:, None] * sy_b + rn[None, :] * sy_n, y, mask=mask)


@triton.jit
def _lut_backward_kernel(g_ptr, x_ptr, idx_ptr, p_ptr, gx_ptr, gp_ptr, batch, out_dim,
                         sg_b, sg_n, sx_b, sx_i, sgx_b, sgx_i,
                         K: tl.constexpr, NEED_X: tl.constexpr, NEED_P: tl.constexpr,
                         BLOCK_B: tl.constexpr, BLOCK_N: tl.constexpr):
    E: tl.constexpr = 1 << K
    rn = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    pid_b = tl.program_id(1)
    rb = pid_b * BLOCK_B + tl.arange(0, BLOCK_B)
    mn = rn < out_dim
    mask = (rb[:, None] < batch) & mn[None, :]
    re = tl.arange(0, E)
    g = tl.load(g_ptr + rb[:, None] * sg_b + rn[None, :] * sg_n, mask=mask, other=0.0)
    c = _corner_weights(x_ptr, idx_ptr, rn, rb, mn, mask, sx_b, sx_i, p_ptr, K, BLOCK_B, BLOCK_N)
    if NEED_P:
        # Partial sums over this batch block; row pid_b of a (num_batch_blocks, out_dim, E) buffer.
        part = gp_ptr + pid_b * out_dim * E + rn[:, None] * E + re[None, :]
        tl.store(part, tl.sum(g[:, :, None] * c, axis=0), mask=mn[:, None])
    if NEED_X:
        row = rb[:, None] * sgx_b
        for i in tl.static_range(K):
            m: tl.constexpr = 1 << (K - 1 - i)
            base = p_ptr + rn[:, None] * E
            hi = tl.load(base + (re | m)[None, :], mask=mn[:, None], other=0.0)
            lo = tl.load(base + (re - (re & m))[None, :], mask=mn[:, None], other=0.0)
            gxi = g * tl.sum(c * (hi - lo)[None, :, :], axis=2)
            ii = tl.load(idx_ptr + rn * K + i, mask=mn, other=0)
            tl.atomic_add(gx_ptr + row + ii[None, :] * sgx_i, gxi, mask=mask)


def _lut_grid(batch: int, out_dim: int, k: int):
    block_b, block_n = lut_blocks(k)
    return (triton.cdiv(out_dim, block_n), triton.cdiv(batch, block_b)), block_b, block_n


class _LutOpTriton(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, idx, p):
        idx, p = idx.contiguous(), p.contiguous()
        (batch, out_dim), k = (x.shape[0], p.shape[0]), idx.shape[1]
        y = _feature_major(batch, out_dim, x, zero=False)
        if batch and out_dim:
            grid, block_b, block_n = _lut_grid(batch, out_dim, k)
            _lut_forward_kernel[grid](x, idx, p, y, batch, out_dim,
                                      x.stride(0), x.stride(1), y.stride(0), y.stride(1),
                                      K=k, BLOCK_B=block_b, BLOCK_N=block_n)
        ctx.save_for_backward(x, idx, p)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        x, idx, p = ctx.saved_tensors
        need_x, _, need_p = ctx.needs_input_grad
        (batch, out_dim), k = (x.shape[0], p.shape[0]), idx.shape[1]
        grid, block_b, block_n = _lut_grid(batch, out_dim, k)
        gx = _feature_major(batch, x.shape[1], x, zero=True) if need_x else None
        parts = torch.zeros(grid[1], out_dim, 1 << k, dtype=x.dtype, device=x.device) if need_p else None
        if (need_x or need_p) and batch and out_dim:
            dummy = x  # never dereferenced when the matching NEED_* flag is off
            _lut_backward_kernel[grid](
                grad_y, x, idx, p, gx if need_x else dummy, parts if need_p else dummy, batch, out_dim,
                grad_y.stride(0), grad_y.stride(1), x.stride(0), x.stride(1),
                gx.stride(0) if need_x else 0, gx.stride(1) if need_x else 0,
                K=k, NEED_X=need_x, NEED_P=need_p, BLOCK_B=block_b, BLOCK_N=block_n)
        return gx, None, (parts.sum(0) if need_p else None)


def lut_op_triton(x: torch.Tensor, idx: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """The Triton LUT op (arguments as ``lgn_hw.train.kernels.lut_op``, already checked)."""
    if x.is_cuda:
        with torch.cuda.device(x.device):
            return _LutOpTriton.apply(x, idx, p)
    return _LutOpTriton.apply(x, idx, p)
