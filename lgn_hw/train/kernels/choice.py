"""Learned connections' slot choice as one autograd function (:func:`choose_slots`).

The written-out form (:func:`~lgn_hw.train.kernels.reference.choose_slots_reference`)
computes ``soft = x @ softmax(W).T`` in the forward only to subtract it again:
a dense ``(batch, in_dim) x (in_dim, slots)`` product whose value is exactly
zero, and autograd keeps ``softmax(W)`` (the size of ``W``) from the forward to
the backward. :func:`choose_slots` forwards the gather alone and computes in the
backward what autograd computes there, with the same ATen calls on the same
operands (``softmax(W)``, the product ``g.T @ x`` and the softmax backward), so the
logits' gradient is the reference's to the bit (``tests/train/test_learned_connections.py``).
The inputs' gradient, the gather's backward, sums each input's slots in slot order
(the CPU extension's ``slot_scatter``): the reference's accumulating ``index_put_`` adds
with atomics from several CPU threads, and made two runs of one seed differ.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

__all__ = ["choose_slots"]


class _ChooseSlots(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, logits, idx):
        ctx.save_for_backward(x, logits, idx)
        return x[:, idx]

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, logits, idx = ctx.saved_tensors
        need_x, need_logits, _ = ctx.needs_input_grad
        gx = glogits = None
        if need_x:  # the gather's backward, summing in slot order (deterministic)
            gx = _scatter(grad, idx, x)
        if need_logits:  # d/dW sum(grad * (x @ softmax(W).T)), as autograd computes it
            probs = torch.softmax(logits, dim=-1)
            gprobs = grad.t().mm(x.to(probs.dtype))
            glogits = torch._softmax_backward_data(gprobs, probs, -1, logits.dtype)
        return gx, glogits, None


def _scatter(grad, idx, x):
    """``gx[:, idx[s]] += grad[:, s]`` in slot order: the CPU extension's pass, else ``index_add_``
    along the first axis of the transposes (serial over the slots). ATen's accumulating
    ``index_put_`` (autograd's backward of ``x[:, idx]``) adds with atomics from several threads
    on CPU, so its sums vary from run to run."""
    if x.device.type == "cpu" and grad.dtype in (torch.float32, torch.float64):
        from . import KernelUnavailableError
        from .cpu_op import load_extension

        try:
            return load_extension().slot_scatter(grad.t().contiguous(), idx.contiguous(), x.shape[1])
        except KernelUnavailableError:
            pass
    return x.new_zeros(x.shape[1], x.shape[0]).index_add_(0, idx, grad.t()).t()


def choose_slots(x: torch.Tensor, logits: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """``(batch, slots)`` values ``x[:, idx]``, with the straight-through gradients of
    :func:`~lgn_hw.train.kernels.reference.choose_slots_reference`: ``x`` gets the gather's,
    ``logits`` (``(slots, in_dim)``) that of ``softmax(logits) @ x``. ``idx`` is the argmax of each
    row of ``logits`` (int64, ``(slots,)``); ``x`` reaches the logits' gradient detached."""
    return _ChooseSlots.apply(x, logits, idx)
