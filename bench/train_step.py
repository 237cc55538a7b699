"""Training-step time of a 6-layer x 8,000-gate logic network on CPU, and of LUT networks.

Forward + backward + Adam step at batch 256 (784 inputs, softmax-mixture gate
weights, group sum to 10 classes, cross-entropy), median over several steps
after warm-up, for each logic-op kernel; prints each time and its speed-up
against the plain-torch reference.

LUT rows (fused CPU kernel, sigmoid table entries, ``lut_op``): LUT-6 and
LUT-4 networks of 6 layers at equal node count (8,000 nodes per layer) and at
equal LUT count. A k-input node is one LUT; a trained 2-input gate network
takes about ``--gates-per-lut`` (default 2) gates per LUT after optimisation
(README: digits 4 x 1000, 2,700 optimised gates, 2,596 iCE40 LUT4 of which the
popcount takes 1,220: 1,376 LUT4 for the gate layers, 1.96 gates per LUT), so
the equal-LUT network has 8,000 / 2 = 4,000 nodes per layer. Each LUT row
prints its ratio to the gate network on the CPU kernel (``x gates``: time per
step of the gates over that of the LUTs, above 1 is faster).

    .venv/bin/python bench/train_step.py
    .venv/bin/python bench/train_step.py --torchlogix /tmp/benchvenv/bin/python

Preset rows (``--preset-only`` runs only these): the mnist preset's network
(LUT-6 1000 + 200, learned connections, 784 input bits, GroupSum tau 2, soft
estimator, the trainer's Adam at lr 0.02) at batch 64 and 256, a full training
step as the trainer runs it, against today's code in the same run (``before``:
the written-out slot choice ``hard + (soft - sg(soft))`` with its dense forward
product, ``argmax``, and ``torch.optim.Adam``'s single-tensor step). Both give
the same forward values, logits' gradients and Adam updates to the bit; the
inputs' gradients differ only in the order of ``before``'s sums, which ATen adds
with atomics from several threads (a different order from run to run). ``--threads N`` sets torch's
thread count (CPU time is the steadier figure on a shared machine).

``--torchlogix PYTHON`` also times torchlogix 0.2.2 (a peer project: LogicDense
layers, default soft "raw" parametrization, its GroupSum) on the same network
and data, run by this script in that interpreter. Keep it out of lgn-hw's venv;
a bench venv that reuses this venv's CPU torch (no CUDA torch download)::

    python -m venv /tmp/benchvenv
    /tmp/benchvenv/bin/pip download torchlogix==0.2.2 --no-deps -d /tmp/tlx
    /tmp/benchvenv/bin/pip install --no-deps /tmp/tlx/torchlogix-0.2.2-py3-none-any.whl
    echo $PWD/.venv/lib/python3.11/site-packages \
        > /tmp/benchvenv/lib/python3.11/site-packages/zz_lgn_venv.pth
    # torchlogix/circuit.py uses Python 3.12 f-string syntax: on 3.11 make
    # torchlogix/__init__.py import it inside try/except SyntaxError.

Timings are wall-clock medians: on a loaded machine they swing a lot, so
compare the ratios of one run. ``--busy N`` runs N busy-loop processes during the
measurement, to see a machine that is doing something else as well. lgn_hw makes
OpenMP threads wait passively (``OMP_WAIT_POLICY=PASSIVE``, see lgn_hw/__init__.py);
``OMP_WAIT_POLICY= python bench/train_step.py`` (empty) keeps libgomp's default.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import time

try:
    import lgn_hw  # noqa: F401  (sets the OpenMP wait policy before torch loads)
except ImportError:  # the torchlogix interpreter: it inherits the policy from this script's environment
    pass
import torch
import torch.nn.functional as F

BATCH, IN_DIM, WIDTH, DEPTH, CLASSES, TAU = 256, 784, 8000, 6, 10, 10.0


def _median_step_time(step, warmup: int, steps: int) -> tuple[float, float]:
    """Median wall-clock and process-CPU seconds per step."""
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(steps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def _data(seed: int):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(BATCH, IN_DIM, generator=g) < 0.5).float()
    y = torch.randint(0, CLASSES, (BATCH,), generator=g)
    return x, y, g


def time_lgn_hw(kernel: str, warmup: int, steps: int, seed: int, k: int | None = None,
                width: int = WIDTH) -> tuple[float, float]:
    """The gate network (``k`` None) or a LUT-k network of ``width`` nodes per layer."""
    from lgn_hw import gates
    from lgn_hw.train.kernels import logic_op, lut_op, resolve_kernel

    x, target, g = _data(seed)
    if resolve_kernel(x, kernel) != kernel:
        raise SystemExit(f"kernel {kernel!r} is not available here")
    table = torch.as_tensor(gates.COEFFS, dtype=torch.float32)
    dims = [IN_DIM] + [width] * DEPTH
    layers = []
    for i in range(DEPTH):
        if k is None:
            idx = torch.randint(0, dims[i], (2, width), generator=g)
            theta = torch.randn(width, 16, generator=g).requires_grad_()
        else:
            idx = torch.randint(0, dims[i], (width, k), generator=g)
            theta = torch.randn(width, 1 << k, generator=g).requires_grad_()
        layers.append((idx, theta))
    opt = torch.optim.Adam([theta for _, theta in layers], lr=0.01)

    def step():
        h = x
        for idx, theta in layers:
            if k is None:
                h = logic_op(h, idx[0], idx[1], torch.softmax(theta, dim=-1) @ table, kernel=kernel)
            else:
                h = lut_op(h, idx, torch.sigmoid(theta), kernel=kernel)
        scores = h.reshape(BATCH, CLASSES, -1).sum(-1) / TAU
        loss = F.cross_entropy(scores, target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return _median_step_time(step, warmup, steps)


PRESET_WIDTHS, PRESET_K, PRESET_TAU, PRESET_LR = (1000, 200), 6, 2.0, 0.02


def _today(model):
    """Today's (before this bench's preset rows) learned-connection path on ``model``'s LUT layers:
    the written-out slot choice, ``argmax`` for the inputs; kept here for the ratio."""
    from lgn_hw.train.kernels import choose_slots_reference

    def inputs(layer):
        with torch.no_grad():
            choice = layer.map_logits.argmax(dim=-1).reshape(layer.out_dim, layer.k)
            layer.idx.copy_(choice)
        return choice

    def choose(layer, x, idx):
        idx = idx.reshape(-1)
        if not layer.training:
            return x[:, idx]
        return choose_slots_reference(x, layer.map_logits, idx)

    for layer in model.layers:
        layer.inputs = inputs.__get__(layer)
        layer._choose = choose.__get__(layer)
    return model


def time_preset(batch: int, before: bool, warmup: int, steps: int, seed: int,
                device: str = "cpu") -> tuple[float, float]:
    """A training step of the mnist preset's network (see the module docstring), on ``device``
    (``"cuda"``: the Triton kernels, synchronised after each step)."""
    from lgn_hw.train import build_model
    from lgn_hw.train import optim

    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(batch, IN_DIM, generator=g) < 0.2).float()  # about MNIST's share of set top bits
    target = torch.randint(0, CLASSES, (batch,), generator=g)
    model = build_model(IN_DIM, CLASSES, layers=2, width=list(PRESET_WIDTHS), layer_kind="lut", k=PRESET_K,
                        tau=PRESET_TAU, connections="learned", kernel="cpu" if device == "cpu" else "auto",
                        seed=seed)
    if before:
        _today(model)
    model.to(device)
    x, target = x.to(device), target.to(device)
    opt = (torch.optim.Adam if before else optim.Adam)(model.parameters(), lr=PRESET_LR)
    model.train()
    sync = torch.cuda.synchronize if device != "cpu" else (lambda: None)

    def step():
        loss = F.cross_entropy(model(x), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync()

    return _median_step_time(step, warmup, steps)


def time_torchlogix(warmup: int, steps: int, seed: int) -> tuple[float, float]:
    """The same network with torchlogix's LogicDense layers (run inside the bench venv)."""
    from torchlogix.layers import GroupSum, LogicDense  # noqa: PLC0415

    x, target, _ = _data(seed)
    torch.manual_seed(seed)
    dims = [IN_DIM] + [WIDTH] * DEPTH
    model = torch.nn.Sequential(
        *[LogicDense(dims[i], WIDTH, device="cpu") for i in range(DEPTH)],
        GroupSum(CLASSES, TAU),
    )
    opt = torch.optim.Adam(model.parameters(), lr=0.01)

    def step():
        loss = F.cross_entropy(model(x), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return _median_step_time(step, warmup, steps)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--torchlogix", metavar="PYTHON",
                   help="interpreter of a separate venv with torchlogix installed")
    p.add_argument("--gates-per-lut", type=float, default=2.0,
                   help="trained gates one LUT replaces, for the equal-LUT rows (default 2, see above)")
    p.add_argument("--no-lut", action="store_true", help="time the gate network only")
    p.add_argument("--no-preset", action="store_true", help="leave out the mnist preset rows")
    p.add_argument("--preset-only", action="store_true", help="time the mnist preset rows only")
    p.add_argument("--threads", type=int, default=None, help="torch's intra-op threads (default: torch's)")
    p.add_argument("--busy", type=int, default=0, metavar="N",
                   help="run N busy-loop processes during the measurement (a loaded machine)")
    p.add_argument("--only-torchlogix", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
    try:
        return _run(args)
    finally:
        for proc in busy:
            proc.kill()


def _run(args) -> int:

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.only_torchlogix:
        print(*time_torchlogix(args.warmup, args.steps, args.seed))
        return 0
    if args.preset_only:
        _preset_rows(args)
        print(f"load average at the end {os.getloadavg()[0]:.1f} (wall-clock figures need an idle machine)")
        return 0

    print(f"{DEPTH} layers x {WIDTH} gates, batch {BATCH}, CPU threads {torch.get_num_threads()}, "
          f"median of {args.steps} steps after {args.warmup} warm-up; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY') or '(libgomp default)'}; "
          f"{args.busy} busy processes; load average {os.getloadavg()[0]:.1f}")
    times = {}
    for kernel in ("reference", "cpu"):
        times[f"lgn-hw {kernel}"] = time_lgn_hw(kernel, args.warmup, args.steps, args.seed)
    if args.torchlogix:
        out = subprocess.run([args.torchlogix, __file__, "--only-torchlogix", "--warmup",
                              str(args.warmup), "--steps", str(args.steps), "--seed", str(args.seed)],
                             check=True, capture_output=True, text=True)
        wall, cpu = out.stdout.split()[-2:]
        times["torchlogix"] = (float(wall), float(cpu))
    ref_wall, ref_cpu = times["lgn-hw reference"]
    for name, (wall, cpu) in times.items():
        print(f"{name:18s} {wall * 1e3:8.1f} ms/step {ref_wall / wall:6.2f}x vs reference   "
              f"(CPU time {cpu * 1e3:8.1f} ms/step {ref_cpu / cpu:6.2f}x)")
    if not args.no_lut:
        gate_wall, gate_cpu = times["lgn-hw cpu"]
        lut_width = CLASSES * max(1, round(WIDTH / args.gates_per_lut / CLASSES))
        print(f"LUT networks, {DEPTH} layers, cpu kernel; x gates = gate network (cpu) time / LUT time")
        for k, width, what in ((6, WIDTH, "equal nodes"), (4, WIDTH, "equal nodes"),
                               (6, lut_width, "equal LUTs"), (4, lut_width, "equal LUTs")):
            wall, cpu = time_lgn_hw("cpu", args.warmup, args.steps, args.seed, k=k, width=width)
            print(f"LUT-{k} x {width:5d} ({what:11s}) {wall * 1e3:8.1f} ms/step {gate_wall / wall:6.2f}x gates  "
                  f"(CPU time {cpu * 1e3:8.1f} ms/step {gate_cpu / cpu:6.2f}x)")
    if not args.no_preset:
        _preset_rows(args)
    print(f"load average at the end {os.getloadavg()[0]:.1f} (wall-clock figures need an idle machine)")
    return 0


def _preset_rows(args):
    w1, w2 = PRESET_WIDTHS
    print(f"mnist preset network: LUT-{PRESET_K} {w1} + {w2}, learned connections, {IN_DIM} input bits, "
          f"CPU threads {torch.get_num_threads()}, median of {args.steps} steps after {args.warmup} warm-up; "
          f"load average {os.getloadavg()[0]:.1f}; x before = before / now")
    for batch in (64, 256):
        before = time_preset(batch, True, args.warmup, args.steps, args.seed)
        now = time_preset(batch, False, args.warmup, args.steps, args.seed)
        for name, (wall, cpu) in (("before", before), ("now", now)):
            print(f"preset batch {batch:3d} {name:6s} {wall * 1e3:8.1f} ms/step {before[0] / wall:6.2f}x before  "
                  f"(CPU time {cpu * 1e3:8.1f} ms/step {before[1] / cpu:6.2f}x)  "
                  f"epoch of 60,000: {wall * math.ceil(60000 / batch):6.1f} s")


if __name__ == "__main__":
    sys.exit(main())
