"""The Triton kernels against the reference, run by Triton's interpreter on CPU tensors.

``TRITON_INTERPRET=1`` only takes effect if it is set before the ``@triton.jit``
functions are defined, and another test may already have imported them in this
process; so ``test_triton_interpreted`` runs the checks below in a fresh pytest
subprocess with the variable set, and they skip everywhere else.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
import torch

from kernel_cases import (chained_layouts, in_place_then_grad, lut_chained_layouts, lut_in_place_then_grad,
                          lut_partial_grads, lut_values_and_grads, make_case, make_lut_case, values_and_grads)

_INNER = "LGN_HW_TRITON_INNER"

# (batch, in_dim, out_dim): every size of test_kernels.py, none dividing the tiles
# (the interpreter runs each tile in Python, so not their full product).
SHAPES = [(1, 2, 1), (3, 7, 5), (37, 300, 257), (130, 7, 257), (130, 300, 5),
          (3, 2, 257), (37, 7, 1), (1, 300, 5)]
# (batch, in_dim, out_dim, k) for the LUT kernels: every k, ragged tiles on both axes.
LUT_SHAPES = [(1, 2, 1, 2), (37, 300, 37, 2), (3, 7, 5, 3), (130, 40, 11, 4), (37, 7, 9, 5),
              (37, 300, 5, 6), (1, 6, 3, 6)]


@pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                    reason="triton is not installed: pip install lgn-hw[gpu]")
def test_triton_interpreted(tmp_path):
    env = dict(os.environ, TRITON_INTERPRET="1", **{_INNER: "1"})
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-k", "not test_triton_interpreted", "--rootdir", str(tmp_path), "--override-ini", "addopts="],
        env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout, proc.stdout[-2000:]
    assert "deselected" in proc.stdout  # the checks below ran, not this test again


if os.environ.get(_INNER) == "1":  # only in the subprocess: nothing to skip or report elsewhere

    def test_blocks_do_not_divide_the_shapes():
        from lgn_hw.train.kernels import triton_op

        assert 130 % triton_op.BLOCK_B and 37 % triton_op.BLOCK_B and 257 % triton_op.BLOCK_N

    @pytest.mark.parametrize("batch, in_dim, out_dim", SHAPES)
    def test_triton_matches_reference(batch, in_dim, out_dim):
        case = make_case(batch, in_dim, out_dim, seed=batch * in_dim + out_dim)
        got = values_and_grads("triton", *case)
        want = values_and_grads("reference", *case)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)

    def test_triton_float64_gradcheck():
        from lgn_hw.train.kernels import logic_op

        x, idx_a, idx_b, coef = make_case(3, 3, 2, dtype=torch.float64)
        x.requires_grad_()
        coef.requires_grad_()
        assert torch.autograd.gradcheck(lambda x, c: logic_op(x, idx_a, idx_b, c, kernel="triton"), (x, coef))

    def test_triton_layouts_and_partial_grads():
        from lgn_hw.train.kernels import logic_op

        torch.testing.assert_close(chained_layouts("triton"), chained_layouts("reference"), rtol=1e-5, atol=1e-5)
        x = make_case(37, 300, 257)[0]
        _, ia2, ib2, c2 = make_case(37, 257, 5, seed=3)
        outs = {}
        cr = c2.clone().requires_grad_()
        for kernel in ("triton", "reference"):
            (gc,) = torch.autograd.grad(logic_op(x[:, :257], ia2, ib2, cr, kernel=kernel).sum(), cr)
            outs[kernel] = gc
        torch.testing.assert_close(outs["triton"], outs["reference"], rtol=1e-5, atol=1e-5)

    def test_triton_output_can_be_modified_in_place():
        torch.testing.assert_close(in_place_then_grad("triton"), in_place_then_grad("reference"),
                                   rtol=1e-5, atol=1e-5)

    def test_auto_stays_on_the_cpu_path_for_cpu_tensors():
        from lgn_hw.train.kernels import resolve_kernel

        assert resolve_kernel(torch.zeros(2, 2)) in ("cpu", "reference")

    def test_lut_blocks_do_not_divide_the_shapes():
        from lgn_hw.train.kernels import triton_op

        assert 37 % triton_op.LUT_BLOCK_B and 130 % triton_op.LUT_BLOCK_B
        for k in range(2, 7):
            assert 37 % triton_op.lut_blocks(k)[1] and 5 % triton_op.lut_blocks(k)[1]

    @pytest.mark.parametrize("batch, in_dim, out_dim, k", LUT_SHAPES)
    def test_lut_triton_matches_reference(batch, in_dim, out_dim, k):
        case = make_lut_case(batch, in_dim, out_dim, k, seed=batch + in_dim + out_dim + k)
        got = lut_values_and_grads("triton", *case)
        want = lut_values_and_grads("reference", *case)
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)

    def test_lut_triton_float64_gradcheck():
        from lgn_hw.train.kernels import lut_op

        x, idx, p = make_lut_case(3, 5, 2, 3, dtype=torch.float64)
        x.requires_grad_()
        p.requires_grad_()
        assert torch.autograd.gradcheck(lambda x, p: lut_op(x, idx, p, kernel="triton"), (x, p))

    def test_lut_triton_layouts_partial_grads_and_in_place():
        torch.testing.assert_close(lut_chained_layouts("triton"), lut_chained_layouts("reference"),
                                   rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(lut_in_place_then_grad("triton"), lut_in_place_then_grad("reference"),
                                   rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(lut_partial_grads("triton"), lut_partial_grads("reference"), rtol=1e-5, atol=1e-5)
