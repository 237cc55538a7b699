"""Verification speed: the native Verilator harness against the cocotb bench (issue 10 section 2).

    .venv/bin/python bench/verify.py                  # demo core + 100k-gate core (about 15 min on 2 cores)
    .venv/bin/python bench/verify.py --skip-big       # the demo core only
    .venv/bin/python bench/verify.py --random-demo    # a random 9,000-gate stand-in instead of training

The demo core is the digits demo's network (``lgn-hw demo``: the digits preset, 4 x 4000 gates,
trained here once into --work and optimised, about 9,000 gates), or with --random-demo a random
netlist of 9,000 gates, 64 inputs, 10 classes. The big core is random: 256 inputs, 4 x 25,000 gates,
10 classes. Every build starts from an empty build folder. For each core it prints

* build time of the native harness (``verilator --cc --exe --build``, C++ at the default -O level),
* samples/s checked after the build: results compared with the golden model per second of
  ``verify_native`` (golden model, files, harness; every sample goes through all four handshake
  patterns), and the harness's own rate per pattern,
* the same for the cocotb bench on Verilator (``--bench cocotb``, build cached, fewer samples),
  and the ratio native / cocotb (on the big core only with --cocotb-big),

then the goals: >= 100,000 samples/s checked on the demo core, 1,000,000 demo samples in under
60 s including the build (the build above plus a 1,000,000-sample run), and the 100k-gate core built
and checked on 100,000 samples in under 5 minutes. Wall and CPU seconds are both printed: on a
shared machine the CPU time (this process and its children) is the steadier figure.
With --opt-levels it also builds and runs the demo core at each C++ -O level.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GOAL_RATE = 100_000        # samples/s checked on the demo core
GOAL_MILLION_S = 60.0      # 1,000,000 demo samples including the build
GOAL_BIG_S = 300.0         # 100k-gate core built and checked on 100,000 samples


def cpu() -> float:
    r = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in r)


class Clock:
    """Wall and CPU seconds of a block."""

    def __enter__(self):
        self.w0, self.c0 = time.perf_counter(), cpu()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.w0, cpu() - self.c0

    def __str__(self):
        return f"{self.wall:7.1f} s wall {self.cpu:7.1f} s CPU"


def demo_netlist(work: Path, random_demo: bool):
    from lgn_hw.netlist import load, random_netlist

    if random_demo:
        return random_netlist(64, [3000, 2500, 2000, 1500], 10, seed=0), None
    from lgn_hw.commands.demo import demo_config
    from lgn_hw.data import load_dataset

    cfg = demo_config()
    data = load_dataset(cfg.dataset, levels=cfg.levels, thresholds=cfg.thresholds, split_seed=cfg.split_seed)
    path = work / "demo" / "optimized.lgn.json"
    if not path.is_file():
        from lgn_hw.netlist.opt import optimize
        from lgn_hw.train import train
        from lgn_hw.train.trainer import CHECKPOINT

        run_dir = work / "demo" / "train"
        print(f"training the demo network into {run_dir} ({cfg.layers} x {cfg.width} gates, {cfg.epochs} epochs)",
              flush=True)
        with Clock() as t:
            result = train(cfg, run_dir, resume=(run_dir / CHECKPOINT).exists(), quiet=True)
            net, _ = optimize(result.netlist)
        print(f"  trained and optimised: {t}", flush=True)
        net.save(path)
    return load(path), data.test


def export_core(net, out: Path) -> dict:
    from lgn_hw.hdl import export

    if (out / "manifest.json").is_file():
        shutil.rmtree(out)
    return export(net, out, quiet=True)


def native_run(core: Path, build: Path, samples: int, **kw):
    from lgn_hw.verify.native import verify_native

    with Clock() as t:
        res = verify_native(core, samples=samples, build_dir=build, **kw)
    if not res.passed:
        raise SystemExit(f"native verification FAILED on {core}: {res.message}")
    return res, t


def native_build(core: Path, build: Path, manifest: dict, opt=None):
    from lgn_hw.verify.native import build_native

    with Clock() as t:
        b = build_native([core / f for f in manifest["verilog"]], manifest["top"], build, opt=opt)
    return b, t


def cocotb_rate(core: Path, build: Path, samples: int):
    """cocotb on Verilator: a first small run builds (timed), the second is the timed check."""
    from lgn_hw.verify import VerifyError, verify

    try:
        with Clock() as tb:
            verify(core, sim="verilator", samples=10, build_dir=build)
        with Clock() as t:
            res = verify(core, sim="verilator", samples=samples, build_dir=build)
    except VerifyError as exc:
        return None, str(exc).splitlines()[0], None
    if not res.passed:
        return None, f"FAILED: {res.message}", tb
    return res.checked / t.wall, t, tb


def per_pattern(res) -> str:
    from lgn_hw.verify.native import PATTERNS

    return ", ".join(f"{p} {res.tests[p]['results'] / max(res.tests[p]['seconds'], 1e-9):,.0f}/s"
                     for p in PATTERNS)


def bench_core(name, core, build_root, manifest, samples, cocotb_samples, skip_cocotb, rows):
    build = Path(tempfile.mkdtemp(prefix="native-", dir=build_root))
    b, tb = native_build(core, build, manifest)
    print(f"[{name}] native build                     {tb}", flush=True)
    res, tr = native_run(core, build, samples)
    rate, rate_cpu = res.checked / tr.wall, res.checked / tr.cpu
    print(f"[{name}] native check {samples:,} samples x 4 patterns {tr}: {rate:,.0f} samples/s checked "
          f"({rate_cpu:,.0f} per CPU second)", flush=True)
    print(f"[{name}]   harness per pattern: {per_pattern(res)}", flush=True)
    cocotb = None
    if not skip_cocotb:
        cocotb, ct, cb = cocotb_rate(core, Path(tempfile.mkdtemp(prefix="cocotb-", dir=build_root)),
                                     cocotb_samples)
        if cocotb is None:
            print(f"[{name}] cocotb (Verilator): {ct}", flush=True)
        else:
            print(f"[{name}] cocotb build                     {cb}", flush=True)
            print(f"[{name}] cocotb check {cocotb_samples:,} samples x 2 tests {ct}: {cocotb:,.0f} samples/s "
                  f"checked; native / cocotb = {rate / cocotb:,.0f}x", flush=True)
    rows[name] = {"build": tb, "run": tr, "rate": rate, "rate_cpu": rate_cpu, "cocotb": cocotb,
                  "build_dir": build, "result": res}
    return rows[name]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="runs/bench_verify", help="trained demo network and exports (kept)")
    ap.add_argument("--random-demo", action="store_true", help="a random 9,000-gate core instead of the trained demo")
    ap.add_argument("--samples", type=int, default=100_000, help="samples per native check")
    ap.add_argument("--million", type=int, default=1_000_000, help="samples of the long demo run")
    ap.add_argument("--cocotb-samples", type=int, default=1_000, help="samples per cocotb check")
    ap.add_argument("--skip-big", action="store_true", help="no 100k-gate core")
    ap.add_argument("--skip-demo", action="store_true", help="no demo core (the 100k-gate core only)")
    ap.add_argument("--skip-cocotb", action="store_true", help="no cocotb runs")
    ap.add_argument("--cocotb-big", action="store_true",
                    help="also the cocotb bench on the 100k-gate core (its -O0 Verilator build takes tens of minutes)")
    ap.add_argument("--opt-levels", action="store_true", help="also time each C++ -O level on the demo core")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    build_root = Path(tempfile.mkdtemp(prefix="lgn-bench-verify-"))
    rows = {}
    try:
        demo = None
        if not args.skip_demo:
            net, test = demo_netlist(work, args.random_demo)
            kind = "random stand-in" if args.random_demo else "trained digits demo"
            print(f"demo core: {kind}, {net.num_gates} gates, {net.num_inputs} inputs, {net.num_classes} classes",
                  flush=True)
            with Clock() as t:
                manifest = export_core(net, work / "demo" / "hw")
            print(f"[demo] export                           {t}  (latency {manifest['latency']})", flush=True)
            demo = bench_core("demo", work / "demo" / "hw", build_root, manifest, args.samples,
                              args.cocotb_samples, args.skip_cocotb, rows)
            res_m, tm = native_run(work / "demo" / "hw", demo["build_dir"], args.million)
            million_wall, million_cpu = demo["build"].wall + tm.wall, demo["build"].cpu + tm.cpu
            print(f"[demo] native check {args.million:,} samples x 4 patterns {tm}: "
                  f"{res_m.checked / tm.wall:,.0f} samples/s checked", flush=True)
            if test is not None:
                np.save(work / "demo" / "test_x.npy", test.x)
                np.save(work / "demo" / "test_y.npy", test.y)
                res_t, tt = native_run(work / "demo" / "hw", demo["build_dir"], 1,
                                       inputs=work / "demo" / "test_x.npy", labels=work / "demo" / "test_y.npy")
                print(f"[demo] test split: {res_t.samples} raw-feature samples, every pattern passed, hardware "
                      f"accuracy {res_t.accuracy:.4f} {tt}", flush=True)
            if args.opt_levels:
                from lgn_hw.verify.native import OPT_LEVELS

                for opt in OPT_LEVELS:
                    build = Path(tempfile.mkdtemp(prefix=f"opt{opt}-", dir=build_root))
                    _, tb = native_build(work / "demo" / "hw", build, manifest, opt=opt)
                    res, tr = native_run(work / "demo" / "hw", build, args.samples // 4, opt=opt)
                    print(f"[demo] {opt}: build {tb}; check {res.checked / tr.cpu:,.0f} samples/s per CPU second",
                          flush=True)
                    shutil.rmtree(build, ignore_errors=True)

        big = None
        if not args.skip_big:
            from lgn_hw.netlist import random_netlist

            big_net = random_netlist(256, [25_000] * 4, 10, seed=0)
            with Clock() as t:
                big_manifest = export_core(big_net, work / "big" / "hw")
            print(f"[big] {big_net.num_gates} gates: export {t}", flush=True)
            big = bench_core("big", work / "big" / "hw", build_root, big_manifest, args.samples,
                             max(50, args.cocotb_samples // 10), args.skip_cocotb or not args.cocotb_big, rows)

        print()
        print("goals")
        ok = True

        def goal(text, value, target, better):
            nonlocal ok
            met = value >= target if better == "high" else value <= target
            ok &= met
            ratio = value / target
            print(f"  {text:<58} {value:>12,.1f}  goal {'>=' if better == 'high' else '<='} {target:,.0f}"
                  f"  ({ratio:.2f}x of goal) {'met' if met else 'NOT met'}")

        if demo is not None:
            goal("demo: samples/s checked after the build (wall)", demo["rate"], GOAL_RATE, "high")
            goal("demo: samples/s checked after the build (per CPU second)", demo["rate_cpu"], GOAL_RATE, "high")
            goal(f"demo: {args.million:,} samples incl. build, s (wall)", million_wall, GOAL_MILLION_S, "low")
            goal(f"demo: {args.million:,} samples incl. build, s (CPU)", million_cpu, GOAL_MILLION_S, "low")
        if big is not None:
            goal(f"big: build + {args.samples:,} samples, s (wall)", big["build"].wall + big["run"].wall,
                 GOAL_BIG_S, "low")
            goal(f"big: build + {args.samples:,} samples, s (CPU)", big["build"].cpu + big["run"].cpu,
                 GOAL_BIG_S, "low")
        for name, row in rows.items():
            if row["cocotb"]:
                print(f"  {name}: native / cocotb samples/s checked = {row['rate'] / row['cocotb']:,.0f}x")
        print(json.dumps({name: {"build_s": row["build"].wall, "build_cpu_s": row["build"].cpu,
                                 "run_s": row["run"].wall, "rate": row["rate"], "rate_cpu": row["rate_cpu"],
                                 "cocotb_rate": row["cocotb"]} for name, row in rows.items()}))
        return 0 if ok else 1
    finally:
        shutil.rmtree(build_root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
