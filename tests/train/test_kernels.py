"""The logic op: reference semantics, the fused CPU op against the reference,
dispatch of ``kernel="auto"`` and its fallback warning. (Triton: test_kernels_triton.py.)"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from lgn_hw import gates
from lgn_hw.train import kernels
from lgn_hw.train.kernels import KernelUnavailableError, logic_op, logic_op_reference, resolve_kernel

from kernel_cases import chained_layouts, in_place_then_grad, make_case, values_and_grads

BATCHES = (1, 3, 37, 130)
OUT_DIMS = (1, 5, 257)
IN_DIMS = (2, 7, 300)


def assert_matches_reference(kernel, case, rtol=1e-5, atol=1e-5):
    got = values_and_grads(kernel, *case)
    want = values_and_grads("reference", *case)
    for name, g, w in zip(("y", "grad x", "grad coef"), got, want):
        assert g.shape == w.shape, name
        torch.testing.assert_close(g, w, rtol=rtol, atol=atol, msg=lambda m, n=name: f"{n}: {m}")


@pytest.fixture
def cpu_ext():
    """The CPU extension must build wherever there is a C++ compiler."""
    if shutil.which(os.environ.get("CXX", "c++")) is None:
        pytest.skip("no C++ compiler (set CXX or install g++): the CPU kernel cannot be built")
    kernels._cpu_op().load_extension()


@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(kernels, "_warned", set())


# --- reference --------------------------------------------------------------------------------

def test_reference_is_the_gate_table_on_bits():
    a, b = np.meshgrid([0, 1], [0, 1], indexing="ij")
    x = torch.tensor([[ai, bi] for ai, bi in zip(a.ravel(), b.ravel())], dtype=torch.float32)
    coef = torch.as_tensor(gates.COEFFS, dtype=torch.float32)
    y = logic_op_reference(x, torch.zeros(16, dtype=torch.int64), torch.ones(16, dtype=torch.int64), coef)
    want = [[gates.truth(op, ai, bi) for op in range(16)] for ai, bi in zip(a.ravel(), b.ravel())]
    assert y.tolist() == want


def test_reference_gradcheck():
    x, idx_a, idx_b, coef = make_case(5, 7, 9, dtype=torch.float64)
    x.requires_grad_()
    coef.requires_grad_()
    assert torch.autograd.gradcheck(lambda x, c: logic_op_reference(x, idx_a, idx_b, c), (x, coef))


# --- fused CPU op -----------------------------------------------------------------------------

@pytest.mark.parametrize("batch, in_dim, out_dim", list(itertools.product(BATCHES, IN_DIMS, OUT_DIMS)))
def test_cpu_matches_reference(cpu_ext, batch, in_dim, out_dim):
    assert_matches_reference("cpu", make_case(batch, in_dim, out_dim, seed=batch * in_dim + out_dim))


def test_cpu_float64_gradcheck(cpu_ext):
    x, idx_a, idx_b, coef = make_case(17, 7, 5, dtype=torch.float64)  # two batch chunks
    x.requires_grad_()
    coef.requires_grad_()
    assert torch.autograd.gradcheck(lambda x, c: logic_op(x, idx_a, idx_b, c, kernel="cpu"), (x, coef))


def test_cpu_layouts_and_chaining(cpu_ext):
    """Strided inputs (a column slice, a previous layer's transposed output) give reference results."""
    torch.testing.assert_close(chained_layouts("cpu"), chained_layouts("reference"), rtol=1e-5, atol=1e-5)


def test_cpu_partial_requires_grad(cpu_ext):
    x, idx_a, idx_b, coef = make_case(37, 7, 5)
    want_gx, want_gc = values_and_grads("reference", x, idx_a, idx_b, coef)[1:]
    grad_y = torch.randn(37, 5, generator=torch.Generator().manual_seed(1))
    xr = x.clone().requires_grad_()
    (gx,) = torch.autograd.grad(logic_op(xr, idx_a, idx_b, coef, kernel="cpu"), xr, grad_y)
    cr = coef.clone().requires_grad_()
    (gc,) = torch.autograd.grad(logic_op(x, idx_a, idx_b, cr, kernel="cpu"), cr, grad_y)
    torch.testing.assert_close((gx, gc), (want_gx, want_gc), rtol=1e-5, atol=1e-5)


def test_cpu_output_can_be_modified_in_place(cpu_ext):
    torch.testing.assert_close(in_place_then_grad("cpu"), in_place_then_grad("reference"), rtol=1e-5, atol=1e-5)


def test_cpu_empty_shapes(cpu_ext):
    x, idx_a, idx_b, coef = make_case(0, 7, 5)
    assert logic_op(x, idx_a, idx_b, coef, kernel="cpu").shape == (0, 5)
    empty = torch.zeros(0, dtype=torch.int64)
    assert logic_op(torch.rand(3, 2), empty, empty, torch.zeros(0, 4), kernel="cpu").shape == (3, 0)


# --- dispatch ---------------------------------------------------------------------------------

def test_auto_uses_cpu_for_cpu_tensors(cpu_ext, fresh_warnings, caplog):
    x, idx_a, idx_b, coef = make_case(3, 7, 5)
    with caplog.at_level(logging.WARNING):
        assert resolve_kernel(x) == "cpu"
        y = logic_op(x, idx_a, idx_b, coef)
    assert y.stride() == (1, 3)  # the CPU op's feature-major result
    assert not caplog.records
    assert resolve_kernel(x.half()) == "reference"


def test_auto_falls_back_with_one_warning_when_the_build_fails(fresh_warnings, monkeypatch, caplog):
    def broken_build():
        raise RuntimeError("Error building extension 'lgn_hw_logic_op_cpu'\nlong compiler log")

    cpu_op = kernels._cpu_op()
    monkeypatch.setattr(cpu_op, "_build", broken_build)
    monkeypatch.setattr(cpu_op, "_state", None)
    x, idx_a, idx_b, coef = make_case(3, 7, 5)
    want = logic_op_reference(x, idx_a, idx_b, coef)
    with caplog.at_level(logging.WARNING, logger="lgn_hw.train.kernels"):
        for _ in range(3):
            torch.testing.assert_close(logic_op(x, idx_a, idx_b, coef), want)
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "\n" not in message
    assert "Error building extension" in message and "reference" in message
    with pytest.raises(KernelUnavailableError, match=r"^RuntimeError: Error building extension"):
        logic_op(x, idx_a, idx_b, coef, kernel="cpu")


def test_triton_missing(fresh_warnings, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "lgn_hw.train.kernels.triton_op", None)
    x, idx_a, idx_b, coef = make_case(3, 7, 5)
    with pytest.raises(KernelUnavailableError, match=r"pip install lgn-hw\[gpu\]"):
        logic_op(x, idx_a, idx_b, coef, kernel="triton")
    fake_cuda = SimpleNamespace(dtype=torch.float32, is_cuda=True, device=torch.device("cuda"))
    with caplog.at_level(logging.WARNING, logger="lgn_hw.train.kernels"):
        assert resolve_kernel(fake_cuda) == "reference"
        assert resolve_kernel(fake_cuda) == "reference"
    assert len(caplog.records) == 1 and "pip install lgn-hw[gpu]" in caplog.records[0].getMessage()


def test_auto_picks_triton_for_cuda_tensors():
    pytest.importorskip("triton")
    fake_cuda = SimpleNamespace(dtype=torch.float32, is_cuda=True, device=torch.device("cuda"))
    assert resolve_kernel(fake_cuda) == "triton"


def test_triton_on_cpu_tensors_needs_the_interpreter(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    with pytest.raises(ValueError, match=r"^kernel='triton' needs CUDA tensors"):
        logic_op(*make_case(3, 7, 5), kernel="triton")


# --- argument checks --------------------------------------------------------------------------

@pytest.mark.parametrize("change, error, pattern", [
    (lambda c: c.update(x=c["x"][0]), ValueError, r"^'x' must be a 2-D floating tensor"),
    (lambda c: c.update(x=c["x"].long()), ValueError, r"^'x' must be a 2-D floating tensor"),
    (lambda c: c.update(idx_a=c["idx_a"].int()), ValueError, r"^'idx_a' must be a 1-D int64 tensor"),
    (lambda c: c.update(idx_b=c["idx_b"][:-1]), ValueError, r"^'idx_a' and 'idx_b' must have equal length"),
    (lambda c: c.update(coef=c["coef"][:, :3]), ValueError, r"^'coef' must have shape \(5, 4\), not \(5, 3\)"),
    (lambda c: c.update(coef=c["coef"].double()), ValueError, r"^'coef' must have the dtype of 'x'"),
    (lambda c: c.update(idx_b=c["idx_b"] + 7), ValueError, r"^connection indices must be in 0\.\.6"),
    (lambda c: c.update(idx_a=-c["idx_a"] - 1), ValueError, r"^connection indices must be in 0\.\.6"),
    (lambda c: c.update(x=c["x"].numpy()), TypeError, r"^'x' must be a torch.Tensor, not ndarray"),
    (lambda c: c.update(kernel="cuda"), ValueError, r"^'kernel' must be one of auto, reference, cpu, triton"),
])
def test_bad_arguments(change, error, pattern):
    x, idx_a, idx_b, coef = make_case(3, 7, 5)
    case = dict(x=x, idx_a=idx_a, idx_b=idx_b, coef=coef, kernel="reference")
    change(case)
    with pytest.raises(error, match=pattern):
        logic_op(case.pop("x"), case.pop("idx_a"), case.pop("idx_b"), case.pop("coef"), **case)
