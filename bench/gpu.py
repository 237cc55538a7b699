"""The GPU path on a CUDA machine: the Triton kernels' correctness and the mnist preset's step time.

1. Correctness on CUDA tensors: the Triton logic and LUT ops (values and the
   gradients to ``x`` and to the coefficients / table values) against the
   plain-torch reference, on the shapes of ``tests/train/test_kernels_triton.py``
   (none divides the tiles), in float32 (``rtol = atol = 1e-5``) and a float64
   ``gradcheck``; the learned connections' slot choice (``choose_slots``) against
   its written-out formula; and two identical training steps of the preset's
   network giving identical parameters.
2. Time: a training step of the mnist preset's network (``bench/train_step.py``'s
   preset rows: LUT-6 1000 + 200, learned connections) at batch 64, 256 and
   1024 on CUDA (Triton kernels) against the CPU path in the same run, plus the
   epoch of 60,000 images it implies.

    .venv/bin/python bench/gpu.py            # needs a CUDA device and triton (pip install lgn-hw[gpu])
    .venv/bin/python bench/gpu.py --no-cpu   # CUDA rows only

Without a CUDA device (or without triton) it says so and exits with status 0,
having checked nothing: the CPU path has its own tests and bench.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys

import lgn_hw  # noqa: F401  (sets the OpenMP wait policy before torch loads)
import torch

from train_step import time_preset

# (batch, in_dim, out_dim) and (batch, in_dim, out_dim, k): tests/train/test_kernels_triton.py's shapes
SHAPES = [(1, 2, 1), (3, 7, 5), (37, 300, 257), (130, 7, 257), (130, 300, 5), (3, 2, 257), (37, 7, 1),
          (1, 300, 5), (1024, 784, 8000)]
LUT_SHAPES = [(1, 2, 1, 2), (37, 300, 37, 2), (3, 7, 5, 3), (130, 40, 11, 4), (37, 7, 9, 5), (37, 300, 5, 6),
              (1, 6, 3, 6), (256, 784, 1000, 6)]


def no_gpu_reason() -> str | None:
    """Why this bench cannot run here, or None."""
    if not torch.cuda.is_available():
        return f"no CUDA device (torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA)"
    if importlib.util.find_spec("triton") is None:
        return "triton is not installed: pip install lgn-hw[gpu]"
    return None


def _grads(fn, inputs, seed=1):
    inputs = [t.detach().clone().requires_grad_() if t.is_floating_point() else t for t in inputs]
    y = fn(*inputs)
    up = torch.randn(y.shape, generator=torch.Generator(device=y.device).manual_seed(seed), device=y.device,
                     dtype=y.dtype)
    return (y, *torch.autograd.grad(y, [t for t in inputs if t.is_floating_point()], up))


def check_kernels(dev) -> list[str]:
    """The correctness checks of the module docstring; returns the failures."""
    from lgn_hw import gates
    from lgn_hw.train.kernels import choose_slots, choose_slots_reference, logic_op, lut_op

    failures = []

    def compare(name, got, want, **tol):
        try:
            torch.testing.assert_close(got, want, **(tol or dict(rtol=1e-5, atol=1e-5)))
        except AssertionError as exc:
            failures.append(f"{name}: {str(exc).splitlines()[0]}")

    g = torch.Generator(device=dev).manual_seed(0)
    coeffs = torch.as_tensor(gates.COEFFS, dtype=torch.float32, device=dev)
    for batch, in_dim, out_dim in SHAPES:
        x = torch.rand(batch, in_dim, generator=g, device=dev)
        coef = torch.softmax(torch.randn(out_dim, 16, generator=g, device=dev) * 3, -1) @ coeffs
        ia = torch.randint(0, in_dim, (out_dim,), generator=g, device=dev)
        ib = torch.randint(0, in_dim, (out_dim,), generator=g, device=dev)
        ib[::3] = ia[::3]
        args = (x, ia, ib, coef)
        compare(f"logic_op {batch}x{in_dim}->{out_dim}",
                _grads(lambda x, a, b, c: logic_op(x, a, b, c, kernel="triton"), args),
                _grads(lambda x, a, b, c: logic_op(x, a, b, c, kernel="reference"), args))
    for batch, in_dim, out_dim, k in LUT_SHAPES:
        x = torch.rand(batch, in_dim, generator=g, device=dev)
        p = torch.rand(out_dim, 1 << k, generator=g, device=dev)
        idx = torch.randint(0, in_dim, (out_dim, k), generator=g, device=dev)
        compare(f"lut_op {batch}x{in_dim}->{out_dim} k={k}",
                _grads(lambda x, i, p: lut_op(x, i, p, kernel="triton"), (x, idx, p)),
                _grads(lambda x, i, p: lut_op(x, i, p, kernel="reference"), (x, idx, p)))
    x = torch.rand(3, 3, generator=g, device=dev, dtype=torch.float64, requires_grad=True)
    coef = torch.rand(2, 4, generator=g, device=dev, dtype=torch.float64, requires_grad=True)
    ia, ib = torch.tensor([0, 2], device=dev), torch.tensor([1, 2], device=dev)
    if not torch.autograd.gradcheck(lambda x, c: logic_op(x, ia, ib, c, kernel="triton"), (x, coef)):
        failures.append("logic_op float64 gradcheck")
    x = torch.rand(3, 5, generator=g, device=dev, dtype=torch.float64, requires_grad=True)
    p = torch.rand(2, 8, generator=g, device=dev, dtype=torch.float64, requires_grad=True)
    idx = torch.tensor([[0, 1, 2], [4, 4, 3]], device=dev)
    if not torch.autograd.gradcheck(lambda x, p: lut_op(x, idx, p, kernel="triton"), (x, p)):
        failures.append("lut_op float64 gradcheck")
    x = torch.rand(64, 1000, generator=g, device=dev)
    logits = torch.randn(1200, 1000, generator=g, device=dev)
    sel = logits.argmax(1)
    got = _grads(lambda x, w: choose_slots(x, w, sel), (x, logits))
    want = _grads(lambda x, w: choose_slots_reference(x, w, sel), (x, logits))
    compare("choose_slots", got, want)
    return failures


def check_repeatable(dev) -> list[str]:
    """Two runs of the preset network's first steps from one seed: the same parameters."""
    import torch.nn.functional as F

    from lgn_hw.train import build_model, optim

    states = []
    for _ in range(2):
        model = build_model(784, 10, layers=2, width=[1000, 200], layer_kind="lut", k=6, tau=2.0,
                            connections="learned", seed=0).to(dev)
        opt = optim.Adam(model.parameters(), lr=0.02)
        g = torch.Generator().manual_seed(1)
        for _ in range(5):
            x = (torch.rand(256, 784, generator=g) < 0.2).float().to(dev)
            y = torch.randint(0, 10, (256,), generator=g).to(dev)
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()
        states.append(model.state_dict())
    diff = [k for k, v in states[0].items() if not torch.equal(v, states[1][k])]
    return [f"two runs differ in {', '.join(diff)} (atomic adds in a CUDA backward)"] if diff else []


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-cpu", action="store_true", help="leave out the CPU rows")
    args = p.parse_args(argv)
    reason = no_gpu_reason()
    if reason is not None:
        print(f"bench/gpu.py: nothing to do: {reason}. Run it on a machine with a CUDA GPU.")
        return 0
    dev = torch.device("cuda")
    print(f"{torch.cuda.get_device_name(dev)}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    failures = check_kernels(dev)
    print(f"Triton kernels on CUDA: {'all match the reference' if not failures else 'FAILED'}")
    for f in failures:
        print(f"  {f}")
    repeat = check_repeatable(dev)
    print(f"two runs of one seed on CUDA: {'identical' if not repeat else repeat[0]}")
    print(f"mnist preset network step, CPU threads {torch.get_num_threads()}, median of {args.steps} steps")
    for batch in (64, 256, 1024):
        rows = {"cuda": time_preset(batch, False, args.warmup, args.steps, args.seed, device="cuda")}
        if not args.no_cpu:
            rows["cpu"] = time_preset(batch, False, args.warmup, max(3, args.steps // 4), args.seed)
        for name, (wall, _) in rows.items():
            ratio = f"{rows['cpu'][0] / wall:6.1f}x cpu" if "cpu" in rows else ""
            print(f"batch {batch:4d} {name:4s} {wall * 1e3:8.2f} ms/step {ratio}  "
                  f"epoch of 60,000: {wall * math.ceil(60000 / batch):6.1f} s")
    return 1 if failures or repeat else 0


if __name__ == "__main__":
    sys.exit(main())
