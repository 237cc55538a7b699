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
from lgn_hw.train.kernels import (KernelUnavailableError, logic_op, logic_op_reference, lut_op,
                                  lut_op_reference, resolve_kernel)

from kernel_cases import (chained_layouts, in_place_then_grad, lut_chained_layouts, lut_in_place_then_grad,
                          lut_partial_grads, lut_values_and_grads, make_case, make_lut_case, values_and_grads)

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


# --- LUT op: reference semantics, fused CPU op against the reference -------------------------

def entry_index(bits):
    """The contract's entry index of input bits ``(..., k)``: input 0 is the most significant bit."""
    k = bits.shape[-1]
    return (bits.long() << torch.arange(k - 1, -1, -1)).sum(-1)


@pytest.mark.parametrize("k", range(2, 7))
def test_lut_reference_on_bits_is_the_table_entry(k):
    x = torch.tensor(list(itertools.product([0, 1], repeat=k)), dtype=torch.float64)  # j = 0, 1, ...
    p = torch.rand(3, 1 << k, dtype=torch.float64, generator=torch.Generator().manual_seed(k))
    idx = torch.stack([torch.arange(k), torch.arange(k).flip(0), torch.arange(k).roll(1)])
    y = lut_op_reference(x, idx, p)
    for n in range(3):
        assert torch.equal(y[:, n], p[n, entry_index(x[:, idx[n]])])


@pytest.mark.parametrize("k", [2, 3, 6])
def test_lut_reference_is_the_multilinear_interpolation(k):
    """Continuous inputs: the sum over entries of p_j times the product written in the contract."""
    x, idx, p = make_lut_case(11, 9, 4, k, dtype=torch.float64)
    want = torch.zeros(11, 4, dtype=torch.float64)
    for j in range(1 << k):
        corner = torch.ones(11, 4, dtype=torch.float64)
        for i in range(k):
            xi = x[:, idx[:, i]]
            corner = corner * (xi if (j >> (k - 1 - i)) & 1 else 1 - xi)
        want += p[:, j] * corner
    torch.testing.assert_close(lut_op_reference(x, idx, p), want, rtol=1e-12, atol=1e-12)


def test_lut_k2_equals_the_gate_op():
    """A gate is a 2-LUT: table = its truth table (f00, f01, f10, f11), the same soft output."""
    x, idx_a, idx_b, _ = make_case(13, 7, 16, dtype=torch.float64)
    coef = torch.as_tensor(gates.COEFFS, dtype=torch.float64)
    tables = torch.tensor([gates.truth_table(op) for op in range(16)], dtype=torch.float64)
    torch.testing.assert_close(lut_op_reference(x, torch.stack([idx_a, idx_b], 1), tables),
                               logic_op_reference(x, idx_a, idx_b, coef), rtol=1e-12, atol=1e-12)


LUT_SHAPES = [(1, 2, 1), (3, 7, 5), (37, 300, 257), (130, 7, 33), (17, 40, 3)]


@pytest.mark.parametrize("k", range(2, 7))
@pytest.mark.parametrize("batch, in_dim, out_dim", LUT_SHAPES)
def test_lut_cpu_matches_reference(cpu_ext, batch, in_dim, out_dim, k):
    case = make_lut_case(batch, in_dim, out_dim, k, seed=batch + in_dim + out_dim + k)
    got = lut_values_and_grads("cpu", *case)
    want = lut_values_and_grads("reference", *case)
    for name, g, w in zip(("y", "grad x", "grad p"), got, want):
        assert g.shape == w.shape, name
        torch.testing.assert_close(g, w, rtol=1e-5, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}")


@pytest.mark.parametrize("k", [2, 6])
def test_lut_cpu_float64_gradcheck(cpu_ext, k):
    x, idx, p = make_lut_case(40, 7, 3, k, dtype=torch.float64)  # two batch chunks, several passes
    x.requires_grad_()
    p.requires_grad_()
    assert torch.autograd.gradcheck(lambda x, p: lut_op(x, idx, p, kernel="cpu"), (x, p))


def test_lut_cpu_layouts_chaining_partial_grads_and_in_place(cpu_ext):
    torch.testing.assert_close(lut_chained_layouts("cpu"), lut_chained_layouts("reference"), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(lut_in_place_then_grad("cpu"), lut_in_place_then_grad("reference"),
                               rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(lut_partial_grads("cpu"), lut_partial_grads("reference"), rtol=1e-5, atol=1e-5)


def test_lut_cpu_empty_shapes(cpu_ext):
    x, idx, p = make_lut_case(0, 7, 5, 3)
    assert lut_op(x, idx, p, kernel="cpu").shape == (0, 5)
    y = lut_op(torch.rand(3, 2), torch.zeros(0, 4, dtype=torch.int64), torch.zeros(0, 16), kernel="cpu")
    assert y.shape == (3, 0)


@pytest.mark.parametrize("change, error, pattern", [
    (lambda c: c.update(x=c["x"][0]), ValueError, r"^'x' must be a 2-D floating tensor"),
    (lambda c: c.update(idx=c["idx"].int()), ValueError, r"^'idx' must be a 2-D int64 tensor \(out_dim, k\)"),
    (lambda c: c.update(idx=c["idx"][:, :1], p=c["p"][:, :2]), ValueError, r"with k in 2\.\.6, not torch.int64 \(5, 1\)$"),
    (lambda c: c.update(p=c["p"][:, :4]), ValueError, r"^'p' must have shape \(5, 8\), not \(5, 4\)$"),
    (lambda c: c.update(p=c["p"].double()), ValueError, r"^'p' must have the dtype of 'x'"),
    (lambda c: c.update(idx=c["idx"] + 7), ValueError, r"^connection indices must be in 0\.\.6"),
    (lambda c: c.update(p=c["p"].numpy()), TypeError, r"^'p' must be a torch.Tensor, not ndarray$"),
    (lambda c: c.update(kernel="cuda"), ValueError, r"^'kernel' must be one of auto, reference, cpu, triton"),
])
def test_lut_bad_arguments(change, error, pattern):
    x, idx, p = make_lut_case(3, 7, 5, 3)
    case = dict(x=x, idx=idx, p=p, kernel="reference")
    change(case)
    with pytest.raises(error, match=pattern):
        lut_op(case.pop("x"), case.pop("idx"), case.pop("p"), **case)


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
