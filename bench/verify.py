"""Verification speed: the native Verilator harness against the cocotb bench (issue 10 section 2).

    .venv/bin/python bench/verify.py                  # demo core + 100k-gate core (about 10 min on 2 free cores)
    .venv/bin/python bench/verify.py --skip-big       # the demo core only
    .venv/bin/python bench/verify.py --random-demo    # a random 9,000-gate stand-in instead of training

The demo core is the digits demo's network (``lgn-hw demo``: the digits preset, 4 x 4000 gates,
trained here once into --work and optimised, about 9,000 gates), or with --random-demo a random
netlist of 9,000 gates, 64 inputs, 10 classes. The big core is random: 256 inputs, 4 x 25,000 gates,
10 classes. Both are exported with the default pipeline. Every build starts from an empty build
folder (nothing cached, not even Verilator's runtime objects). Per core it prints

* the native harness build: ``verilator`` and the C++ compile (``make``), wall and CPU seconds;
* the check: ``verify_native`` end to end, split into its stages (random stimulus, golden model
  and packing, which run while the harness builds; writing the files; the harness itself). Every
  sample goes through all four handshake patterns (full rate with the latency check, random
  ``in_valid`` gaps, random ``out_ready`` backpressure, both), so a run of N samples checks 4 N
  results; "results/s" counts those, as the cocotb bench's figure does (2 results per sample);
* the cocotb bench on Verilator (``--bench cocotb``): its build, then results checked per second,
  and the ratio native / cocotb (on the big core only with --cocotb-big);

then the goals with their ratios: >= 100,000 results/s checked after the build on the demo core
(a second run, build reused), 1,000,000 demo samples in under 60 s including the build (one
``verify_native`` call on an empty build folder), the 100k-gate core built and checked on 100,000
samples in under 5 minutes (the same). Wall and CPU seconds (this process and its children) are both
printed, with the load average: on a shared machine the CPU time is the steadier figure.
With --opt-levels it also builds and runs the demo core at each C++ -O level.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # measure the checkout it is in

GOAL_RATE = 100_000        # results/s checked on the demo core, after the build
GOAL_MILLION_S = 60.0      # 1,000,000 demo samples including the build
GOAL_BIG_S = 300.0         # 100k-gate core built and checked on 100,000 samples


def cpu() -> float:
    r = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in r)


def load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


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
    """verify_native, timed; returns (result, clock, stage timings)."""
    from lgn_hw.verify.native import verify_native

    timings = {}
    with Clock() as t:
        res = verify_native(core, samples=samples, build_dir=build, timings=timings, **kw)
    if not res.passed:
        raise SystemExit(f"native verification FAILED on {core}: {res.message}")
    return res, t, timings


def describe(name: str, res, t, timings) -> None:
    from lgn_hw.verify.native import PATTERNS

    b = timings["build"]
    if not b.reused:
        steps = b.steps
        print(f"[{name}]   build: verilator {steps['verilate']['wall']:.1f} s wall {steps['verilate']['cpu']:.1f} s CPU, "
              f"C++ compile {steps['compile']['wall']:.1f} s wall {steps['compile']['cpu']:.1f} s CPU "
              f"(Verilator runtime objects {'cached' if steps['runtime_cached'] else 'compiled too'})", flush=True)
    print(f"[{name}]   stages: stimulus {timings['stimulus']:.2f} s, golden model {timings['golden']:.2f} s, packing "
          f"{timings['pack']:.2f} s (all while the harness builds), then waiting for the build {timings['build_wait']:.1f} s, files "
          f"{timings['files']:.2f} s, harness {timings['harness']:.1f} s wall {timings['harness_cpu']:.1f} s CPU", flush=True)
    print(f"[{name}]   harness per pattern (samples/s, one thread each): "
          + ", ".join(f"{p} {res.tests[p]['results'] / max(res.tests[p]['seconds'], 1e-9):,.0f}" for p in PATTERNS),
          flush=True)


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


def cocotb_row(name, core, build_root, samples, row) -> None:
    rate, t, tb = cocotb_rate(core, Path(tempfile.mkdtemp(prefix="cocotb-", dir=build_root)), samples)
    if rate is None:
        print(f"[{name}] cocotb (Verilator): {t}", flush=True)
        return
    row["cocotb"] = rate
    print(f"[{name}] cocotb build                              {tb}", flush=True)
    print(f"[{name}] cocotb check {samples:,} samples x 2 tests     {t}: {rate:,.0f} results/s; "
          f"native / cocotb = {row['rate'] / rate:,.0f}x", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="runs/bench_verify", help="trained demo network and exports (kept)")
    ap.add_argument("--random-demo", action="store_true", help="a random 9,000-gate core instead of the trained demo")
    ap.add_argument("--samples", type=int, default=100_000, help="samples of the rate run and of the big core")
    ap.add_argument("--million", type=int, default=1_000_000, help="samples of the demo run that includes the build")
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
    rows, goals = {}, []
    print(f"{os.cpu_count()} CPUs, {load()}", flush=True)
    try:
        if not args.skip_demo:
            net, test = demo_netlist(work, args.random_demo)
            kind = "random stand-in" if args.random_demo else "trained digits demo"
            print(f"demo core: {kind}, {net.num_gates} gates, {net.num_inputs} inputs, {net.num_classes} classes",
                  flush=True)
            core = work / "demo" / "hw"
            with Clock() as t:
                manifest = export_core(net, core)
            print(f"[demo] export                                    {t}  (latency {manifest['latency']})", flush=True)
            build = Path(tempfile.mkdtemp(prefix="native-", dir=build_root))
            res_m, tm, tim_m = native_run(core, build, args.million)
            print(f"[demo] build + check {args.million:,} samples, one call {tm}: {res_m.checked:,} results",
                  flush=True)
            describe("demo", res_m, tm, tim_m)
            res, tr, tim = native_run(core, build, args.samples)
            row = rows["demo"] = {"build_wall": tim_m["build"].seconds, "million_wall": tm.wall,
                                  "million_cpu": tm.cpu, "rate": res.checked / tr.wall,
                                  "rate_cpu": res.checked / tr.cpu, "cocotb": None}
            print(f"[demo] check {args.samples:,} samples (build reused)      {tr}: {row['rate']:,.0f} results/s "
                  f"({row['rate_cpu']:,.0f} per CPU second; {args.samples / tr.wall:,.0f} samples/s through 4 patterns)",
                  flush=True)
            describe("demo", res, tr, tim)
            goals += [("demo: results/s checked after the build (wall)", row["rate"], GOAL_RATE, "high"),
                      ("demo: results/s checked after the build (per CPU second)", row["rate_cpu"], GOAL_RATE, "high"),
                      (f"demo: {args.million:,} samples incl. the build, s (wall)", tm.wall, GOAL_MILLION_S, "low"),
                      (f"demo: {args.million:,} samples incl. the build, s (CPU)", tm.cpu, GOAL_MILLION_S, "low")]
            if test is not None:
                np.save(work / "demo" / "test_x.npy", test.x)
                np.save(work / "demo" / "test_y.npy", test.y)
                res_t, tt, _ = native_run(core, build, 1, inputs=work / "demo" / "test_x.npy",
                                          labels=work / "demo" / "test_y.npy")
                print(f"[demo] test split: {res_t.samples} raw-feature samples, every pattern passed, hardware "
                      f"accuracy {res_t.accuracy:.4f} {tt}", flush=True)
            if not args.skip_cocotb:
                cocotb_row("demo", core, build_root, args.cocotb_samples, row)
            if args.opt_levels:
                from lgn_hw.verify.native import OPT_LEVELS

                for opt in OPT_LEVELS:
                    b = Path(tempfile.mkdtemp(prefix=f"opt{opt}-", dir=build_root))
                    r, t, tm_o = native_run(core, b, args.samples // 4, opt=opt)
                    print(f"[demo] {opt}: build {tm_o['build'].seconds:.1f} s wall; harness "
                          f"{r.checked / tm_o['harness_cpu']:,.0f} results per CPU second", flush=True)
                    shutil.rmtree(b, ignore_errors=True)

        if not args.skip_big:
            from lgn_hw.netlist import random_netlist

            big_net = random_netlist(256, [25_000] * 4, 10, seed=0)
            core = work / "big" / "hw"
            with Clock() as t:
                export_core(big_net, core)
            print(f"[big] {big_net.num_gates} gates: export {t}", flush=True)
            build = Path(tempfile.mkdtemp(prefix="native-", dir=build_root))
            res, tb, tim = native_run(core, build, args.samples)
            after = tb.wall - tim["build"].seconds
            row = rows["big"] = {"build_wall": tim["build"].seconds, "total_wall": tb.wall, "total_cpu": tb.cpu,
                                 "rate": res.checked / after, "cocotb": None}
            print(f"[big] build + check {args.samples:,} samples, one call {tb}: {res.checked:,} results, "
                  f"{row['rate']:,.0f} results/s after the build", flush=True)
            describe("big", res, tb, tim)
            goals += [(f"big: build + {args.samples:,} samples, s (wall)", tb.wall, GOAL_BIG_S, "low"),
                      (f"big: build + {args.samples:,} samples, s (CPU)", tb.cpu, GOAL_BIG_S, "low")]
            if args.cocotb_big and not args.skip_cocotb:
                cocotb_row("big", core, build_root, max(50, args.cocotb_samples // 10), row)

        print()
        print(f"goals ({load()})")
        for text, value, target, better in goals:
            met = value >= target if better == "high" else value <= target
            print(f"  {text:<60} {value:>12,.1f}  goal {'>=' if better == 'high' else '<='} {target:,.0f}"
                  f"  ({value / target:.2f}x of goal) {'met' if met else 'NOT met'}")
        for name, row in rows.items():
            if row["cocotb"]:
                print(f"  {name}: native / cocotb results/s checked = {row['rate'] / row['cocotb']:,.0f}x")
        print(json.dumps(rows))
        return 0
    finally:
        shutil.rmtree(build_root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
