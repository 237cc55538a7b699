"""Kernels for the soft logic op ``y[:, j] = c0 + c1*a + c2*b + c3*a*b`` and the soft LUT op.

``logic_op`` (2-input gates) and ``lut_op`` (k-input tables, the multilinear
interpolation of :func:`lut_op_reference`) are the entry points; ``kernel``
picks the implementation:

- ``"reference"``: plain torch (gather and arithmetic), the ground truth;
- ``"cpu"``: a fused C++ op built on first use with ``torch.utils.cpp_extension``;
- ``"triton"``: Triton kernels for CUDA tensors (``pip install lgn-hw[gpu]``);
  with ``TRITON_INTERPRET=1`` set before first use they also run on CPU tensors;
- ``"auto"``: ``"triton"`` for CUDA tensors when triton imports, ``"cpu"`` for
  CPU tensors when it builds, else the reference with one warning (logged once).

Every kernel is differentiable with respect to ``x`` and ``coef`` (``p`` for ``lut_op``). The fast
kernels return ``y`` stored feature-major (strides ``(1, batch)``, not a view)
rather than row-major: the next layer then reads contiguous rows without a
copy. Use ``.reshape()`` or ``.contiguous()`` where row-major memory matters.
"""

from __future__ import annotations

import logging
import os

import torch

from ... import gates
from .choice import choose_slots
from .reference import choose_slots_reference, logic_op_reference, lut_op_reference

__all__ = ["KERNELS", "LUT_K", "KernelUnavailableError", "choose_slots", "choose_slots_reference", "logic_op",
           "logic_op_reference", "lut_op", "lut_op_reference", "resolve_kernel"]

logger = logging.getLogger(__name__)

KERNELS = ("auto", "reference", "cpu", "triton")
#: inputs a LUT node may have
LUT_K = range(gates.MIN_K, gates.MAX_K + 1)

#: dtypes the fast kernels implement; other floating dtypes use the reference.
_FAST_DTYPES = (torch.float32, torch.float64)

# Fallback reasons already logged, so "auto" warns once per reason per process.
_warned: set[str] = set()


class KernelUnavailableError(RuntimeError):
    """The requested kernel cannot run here (missing package or failed build)."""


def _check(x, idx_a, idx_b, coef):
    for name, t in (("x", x), ("idx_a", idx_a), ("idx_b", idx_b), ("coef", coef)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"'{name}' must be a torch.Tensor, not {type(t).__name__}")
    if x.dim() != 2 or not x.is_floating_point():
        raise ValueError(f"'x' must be a 2-D floating tensor (batch, in_dim), not {x.dtype} {tuple(x.shape)}")
    for name, idx in (("idx_a", idx_a), ("idx_b", idx_b)):
        if idx.dim() != 1 or idx.dtype != torch.int64:
            raise ValueError(f"'{name}' must be a 1-D int64 tensor, not {idx.dtype} {tuple(idx.shape)}")
    out_dim = idx_a.shape[0]
    if idx_b.shape[0] != out_dim:
        raise ValueError(f"'idx_a' and 'idx_b' must have equal length, not {out_dim} and {idx_b.shape[0]}")
    if tuple(coef.shape) != (out_dim, 4):
        raise ValueError(f"'coef' must have shape ({out_dim}, 4), not {tuple(coef.shape)}")
    if coef.dtype != x.dtype:
        raise ValueError(f"'coef' must have the dtype of 'x' ({x.dtype}), not {coef.dtype}")
    for name, t in (("idx_a", idx_a), ("idx_b", idx_b), ("coef", coef)):
        if t.device != x.device:
            raise ValueError(f"'{name}' is on {t.device} but 'x' is on {x.device}")
    if out_dim:
        in_dim = x.shape[1]
        lo = torch.minimum(idx_a.min(), idx_b.min())
        hi = torch.maximum(idx_a.max(), idx_b.max())
        if lo < 0 or hi >= in_dim:
            raise ValueError(f"connection indices must be in 0..{in_dim - 1}, not {int(lo)}..{int(hi)}")


def _check_lut(x, idx, p):
    for name, t in (("x", x), ("idx", idx), ("p", p)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"'{name}' must be a torch.Tensor, not {type(t).__name__}")
    if x.dim() != 2 or not x.is_floating_point():
        raise ValueError(f"'x' must be a 2-D floating tensor (batch, in_dim), not {x.dtype} {tuple(x.shape)}")
    if idx.dim() != 2 or idx.dtype != torch.int64 or idx.shape[1] not in LUT_K:
        raise ValueError(f"'idx' must be a 2-D int64 tensor (out_dim, k) with k in {LUT_K[0]}..{LUT_K[-1]}, "
                         f"not {idx.dtype} {tuple(idx.shape)}")
    out_dim, k = idx.shape
    if tuple(p.shape) != (out_dim, 1 << k):
        raise ValueError(f"'p' must have shape ({out_dim}, {1 << k}), not {tuple(p.shape)}")
    if p.dtype != x.dtype:
        raise ValueError(f"'p' must have the dtype of 'x' ({x.dtype}), not {p.dtype}")
    for name, t in (("idx", idx), ("p", p)):
        if t.device != x.device:
            raise ValueError(f"'{name}' is on {t.device} but 'x' is on {x.device}")
    if idx.numel():
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= x.shape[1]:
            raise ValueError(f"connection indices must be in 0..{x.shape[1] - 1}, not {lo}..{hi}")


def _warn_once(reason: str) -> None:
    if reason not in _warned:
        _warned.add(reason)
        logger.warning("lgn_hw logic_op: %s; using the slower torch reference", reason)


def _triton_op():
    try:
        from . import triton_op
    except ImportError as exc:
        raise KernelUnavailableError(
            f"kernel='triton' needs triton ({exc}); install it with: pip install lgn-hw[gpu]") from exc
    return triton_op


def _cpu_op():
    try:
        from . import cpu_op
    except ImportError as exc:  # pragma: no cover - only in a broken install
        raise KernelUnavailableError(f"kernel='cpu' cannot be imported ({exc})") from exc
    return cpu_op


def resolve_kernel(x: torch.Tensor, kernel: str = "auto") -> str:
    """The kernel ``logic_op(x, ..., kernel=kernel)`` runs: never ``"auto"``.

    Resolving ``"auto"`` may build the CPU extension; a fallback to the
    reference is logged once per reason.
    """
    if kernel not in KERNELS:
        raise ValueError(f"'kernel' must be one of {', '.join(KERNELS)}, not {kernel!r}")
    if kernel != "auto":
        return kernel
    if x.dtype not in _FAST_DTYPES:
        return "reference"
    if x.is_cuda:
        try:
            _triton_op()
        except KernelUnavailableError:
            _warn_once("triton is not installed (pip install lgn-hw[gpu])")
            return "reference"
        return "triton"
    if x.device.type == "cpu":
        try:
            _cpu_op().load_extension()
        except KernelUnavailableError as exc:
            _warn_once(f"the CPU extension did not build ({exc})")
            return "reference"
        return "cpu"
    return "reference"


def logic_op(x: torch.Tensor, idx_a: torch.Tensor, idx_b: torch.Tensor, coef: torch.Tensor,
             *, kernel: str = "auto") -> torch.Tensor:
    """Soft output of ``out_dim`` gates on ``x``: ``(batch, in_dim) -> (batch, out_dim)``.

    ``y[:, j] = c0 + c1*a + c2*b + c3*a*b`` with ``a = x[:, idx_a[j]]``,
    ``b = x[:, idx_b[j]]`` and ``(c0, c1, c2, c3) = coef[j]`` (usually gate
    weights ``w @ lgn_hw.gates.COEFFS``). Differentiable in ``x`` and ``coef``.
    """
    _check(x, idx_a, idx_b, coef)
    kind = resolve_kernel(x, kernel)
    if kind == "reference":
        return logic_op_reference(x, idx_a, idx_b, coef)
    module = _fast_module(x, kind)
    return (module.logic_op_cpu if kind == "cpu" else module.logic_op_triton)(x, idx_a, idx_b, coef)


def lut_op(x: torch.Tensor, idx: torch.Tensor, p: torch.Tensor, *, kernel: str = "auto") -> torch.Tensor:
    """Soft output of ``out_dim`` k-input LUT nodes on ``x``: ``(batch, in_dim) -> (batch, out_dim)``.

    Node ``n`` reads ``x[:, idx[n, 0]], ..., x[:, idx[n, k-1]]`` (``idx`` is
    ``(out_dim, k)``, k in 2..6) and outputs the multilinear interpolation of
    its table values ``p[n]`` (``(out_dim, 2^k)``, usually
    :func:`lgn_hw.train.estimators.table_probs` of its logits) at them, as
    :func:`lut_op_reference` defines. Differentiable in ``x`` and ``p``.
    """
    _check_lut(x, idx, p)
    kind = resolve_kernel(x, kernel)
    if kind == "reference":
        return lut_op_reference(x, idx, p)
    module = _fast_module(x, kind)
    return (module.lut_op_cpu if kind == "cpu" else module.lut_op_triton)(x, idx, p)


def _fast_module(x, kind):
    """The module implementing the resolved fast ``kind`` for ``x`` (checks dtype and device)."""
    if x.dtype not in _FAST_DTYPES:
        raise ValueError(f"kernel={kind!r} supports float32 and float64, not {x.dtype}")
    if kind == "cpu":
        if x.device.type != "cpu":
            raise ValueError(f"kernel='cpu' needs CPU tensors, not {x.device}")
        return _cpu_op()
    triton_op = _triton_op()
    if not x.is_cuda and os.environ.get("TRITON_INTERPRET") != "1":
        raise ValueError(f"kernel='triton' needs CUDA tensors (or TRITON_INTERPRET=1 set before "
                         f"first use), not {x.device}")
    return triton_op
