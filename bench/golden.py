"""Golden-model throughput: C kernel vs numpy backend, end to end, in one process.

A random 6-layer x 8,000-gate netlist (784 inputs, 10 classes) on 100,000 random
samples given as a (n, 784) uint8 0/1 array. End to end = evaluate() from the unpacked
array to scores and classes (packing, gate layers, popcount, argmax). Goal: 1 M samples/s.

LUT rows: the same shape with every layer a LUT-6 or LUT-4 layer (8,000 nodes each) through
the C kernel. Goal: the same order of speed as gates per LUT input, i.e. LUT-input-evals/s
(nodes x k x samples / s) within a small factor of gate-evals/s (gates x samples / s).

Run: .venv/bin/python bench/golden.py [--samples N] [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from lgn_hw.netlist import golden, random_netlist
from lgn_hw.netlist.reference import evaluate_reference

GOAL = 1e6  # samples/s


def timed(fn, repeat):
    """Best wall time, CPU time (all threads) of that run, and the result."""
    best, cpu, out = float("inf"), 0.0, None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        t, c = time.perf_counter() - t, time.process_time() - c
        if t < best:
            best, cpu = t, c
    return best, cpu, out


def startup_seconds(cache_home):
    """Time from nothing loaded to a usable kernel, with the given cache directory."""
    golden._lib, golden._lib_error = None, None
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = cache_home
    try:
        t = time.perf_counter()
        err = golden.c_backend_error()
        return time.perf_counter() - t, err
    finally:
        if old is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = old


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--lut-samples", type=int, default=20_000, help="samples of the LUT rows")
    args = p.parse_args()

    net = random_netlist(784, [8000] * 6, 10, seed=0)
    bits = np.random.default_rng(0).integers(0, 2, (args.samples, 784), dtype=np.uint8)
    n, g = args.samples, net.num_gates
    print(f"netlist: {net.depth} layers x {net.widths[0]} gates = {g} gates, "
          f"{net.num_inputs} inputs, {net.num_classes} classes; {n} samples; "
          f"{golden._num_threads()} threads")

    with tempfile.TemporaryDirectory() as tmp:
        cold, err = startup_seconds(tmp)
    if err:
        print(f"C backend unavailable: {err}")
        return 1
    warm, _ = startup_seconds(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"))
    print(f"C start-up: {cold:.2f} s compile + load (empty cache), {warm * 1e3:.1f} ms load (cached)")

    golden.evaluate(net, bits[:1000], backend="c")  # warm the thread pool
    t_c, cpu_c, res_c = timed(lambda: golden.evaluate(net, bits, backend="c"), args.repeat)
    t_np, cpu_np, res_np = timed(lambda: golden.evaluate(net, bits, backend="numpy"), 1)

    m = min(n, 2000)
    ref_scores, ref_classes = evaluate_reference(net, bits[:m])
    same = (np.array_equal(res_c.scores, res_np.scores) and np.array_equal(res_c.classes, res_np.classes)
            and np.array_equal(res_c.scores[:m], ref_scores) and np.array_equal(res_c.classes[:m], ref_classes))

    for name, t, cpu in (("C", t_c, cpu_c), ("numpy", t_np, cpu_np)):
        print(f"{name:>5}: {t * 1e3:8.1f} ms  {n / t / 1e6:6.3f} M samples/s  "
              f"{n * g / t:.3g} gate-evals/s  (CPU {cpu * 1e3:.0f} ms = "
              f"{n / cpu / 1e6:.3f} M samples per CPU-second)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (wall figures assume an idle machine)")
    print(f"C vs goal (1 M samples/s): {n / t_c / GOAL:.2f}x")
    print(f"C vs numpy backend:        {t_np / t_c:.1f}x")
    print(f"backends agree (C = numpy on all, = reference on first {m}): {same}")

    # LUT layers, against the gate netlist on the same samples.
    nl = min(n, args.lut_samples)
    lbits = bits[:nl]
    t_g, _, _ = timed(lambda: golden.evaluate(net, lbits, backend="c"), args.repeat)
    gate_rate = nl * g / t_g
    print(f"LUT layers ({nl} samples, C): gates {gate_rate:.3g} gate-evals/s "
          f"({2 * gate_rate:.3g} gate-input-evals/s)")
    for k in (6, 4):
        lnet = random_netlist(784, [8000] * 6, 10, seed=0, k=k)
        t_l, _, res_l = timed(lambda: golden.evaluate(lnet, lbits, backend="c"), args.repeat)
        ml = min(nl, 300)
        t_ln, _, res_ln = timed(lambda: golden.evaluate(lnet, lbits, backend="numpy"), 1)
        ok = (np.array_equal(res_l.scores[:ml], evaluate_reference(lnet, lbits[:ml])[0])
              and np.array_equal(res_l.scores, res_ln.scores))
        same = same and ok
        nodes = lnet.num_gates
        print(f"LUT-{k}: {t_l * 1e3:8.1f} ms  {nl * nodes / t_l:.3g} node-evals/s  "
              f"{nl * nodes * k / t_l:.3g} lut-input-evals/s  ratio to gate-evals/s "
              f"{nl * nodes * k / t_l / gate_rate:.2f}x (per node {nl * nodes / t_l / gate_rate:.2f}x); "
              f"C = numpy on all, = reference on first {ml}: {ok}")
        print(f"       numpy backend {nl * nodes * k / t_ln:.3g} lut-input-evals/s, C {t_ln / t_l:.1f}x faster")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
