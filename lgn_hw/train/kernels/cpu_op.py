"""The fused CPU logic and LUT ops: one C++ extension built on first use and cached.

``logic_op_cpu`` and ``lut_op_cpu`` work feature-major: it transposes ``x`` to ``(in_dim, batch)``
(free when ``x`` already is such a view, as the output of a previous call is)
and returns ``(batch, out_dim)`` stored feature-major (strides ``(1, batch)``). The build goes to torch's extension directory (``TORCH_EXTENSIONS_DIR``,
by default ``~/.cache/torch_extensions``) and is reused across processes.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import torch
from torch.autograd.function import once_differentiable

__all__ = ["load_extension", "logic_op_cpu", "lut_op_cpu"]

logger = logging.getLogger(__name__)

_SOURCES = [Path(__file__).with_name(name) for name in ("logic_op_cpu.cpp", "adam_cpu.cpp")]
# The sources' hash in the name: builds of different versions (an upgrade, two checkouts)
# get their own directories and never overwrite or load each other's library.
_NAME = "lgn_hw_logic_op_cpu_" + hashlib.sha256(b"".join(s.read_bytes() for s in _SOURCES)).hexdigest()[:12]

_lock = threading.Lock()
# None: not tried yet; else the built module or the exception of the failed build.
_state: object = None


def _build():
    from torch.utils.cpp_extension import load

    logger.info("building the CPU logic-op extension (once, about 30 s)")
    return load(name=_NAME, sources=[str(s) for s in _SOURCES], extra_cflags=["-O3", "-fopenmp"],
                extra_ldflags=["-fopenmp"], verbose=False)


def load_extension():
    """The compiled extension, built on first call; raises KernelUnavailableError if it cannot be.

    A failed build is remembered: later calls raise at once without retrying.
    """
    from . import KernelUnavailableError

    global _state
    with _lock:
        if _state is None:
            try:
                _state = _build()
            except Exception as exc:  # noqa: BLE001 - any build failure means "unavailable"
                _state = exc
        if isinstance(_state, BaseException):
            first_line = (str(_state).strip().splitlines() or [type(_state).__name__])[0]
            raise KernelUnavailableError(f"{type(_state).__name__}: {first_line}") from _state
        return _state


class _LogicOpCPU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, idx_a, idx_b, coef):
        ext = load_extension()
        xt = x.t().contiguous()
        coef = coef.contiguous()
        idx_a = idx_a.contiguous()
        idx_b = idx_b.contiguous()
        y = ext.forward(xt, idx_a, idx_b, coef)
        ctx.save_for_backward(xt, idx_a, idx_b, coef)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        xt, idx_a, idx_b, coef = ctx.saved_tensors
        need_x, _, _, need_coef = ctx.needs_input_grad
        if not (need_x or need_coef):
            return None, None, None, None
        gyt = grad_y.t().contiguous()
        gx, gcoef = load_extension().backward(gyt, xt, idx_a, idx_b, coef, need_x, need_coef)
        return (gx if need_x else None), None, None, (gcoef if need_coef else None)


def logic_op_cpu(x: torch.Tensor, idx_a: torch.Tensor, idx_b: torch.Tensor,
                 coef: torch.Tensor) -> torch.Tensor:
    """The fused CPU op (arguments as ``lgn_hw.train.kernels.logic_op``, already checked)."""
    load_extension()
    return _LogicOpCPU.apply(x, idx_a, idx_b, coef)


class _LutOpCPU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, idx, p):
        ext = load_extension()
        xt = x.t().contiguous()
        idx = idx.contiguous()
        p = p.contiguous()
        y = ext.lut_forward(xt, idx, p)
        ctx.save_for_backward(xt, idx, p)
        return y

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_y):
        xt, idx, p = ctx.saved_tensors
        need_x, _, need_p = ctx.needs_input_grad
        if not (need_x or need_p):
            return None, None, None
        gyt = grad_y.t().contiguous()
        gx, gp = load_extension().lut_backward(gyt, xt, idx, p, need_x, need_p)
        return (gx if need_x else None), None, (gp if need_p else None)


def lut_op_cpu(x: torch.Tensor, idx: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """The fused CPU LUT op (arguments as ``lgn_hw.train.kernels.lut_op``, already checked)."""
    load_extension()
    return _LutOpCPU.apply(x, idx, p)
