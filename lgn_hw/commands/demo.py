"""``lgn-hw demo``: the main job on digits, from data to a verified Verilog core, with a summary.

Train (``lgn_hw.train``), discretize and optimise the best netlist
(``lgn_hw.netlist``), export pipelined Verilog (``lgn_hw.hdl.export``), verify
it on Icarus and Verilator against the golden model on test-set samples
(``lgn_hw.verify.verify``) and, when the synthesis stage works here, estimate
its size (``lgn_hw.synth.synthesize``). Exit status 1 when any verification fails.
The last line printed is the path of the run's report page (``lgn_hw.report``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from ..cli import MAX_SAMPLES, UsageError, count

log = logging.getLogger(__name__)

#: --quick: a tiny network for a smoke test of every stage
QUICK = dict(dataset="digits", layers=2, width=200, estimator="soft", epochs=2, batch_size=32,
             lr=0.02, tau=4.0)


def register(sub):
    p = sub.add_parser(
        "demo", help="train on digits, export, verify on Icarus and Verilator, summarize",
        description="The whole pipeline on scikit-learn's digits: train a 4 x 4000-gate network "
        "(3 thermometer levels per pixel), keep the best discrete netlist, optimise it, export "
        "pipelined Verilog, verify the core on Icarus and Verilator against the golden model on "
        "test-set samples, prove it equal to the netlist for every input (ABC), estimate its size with "
        "Yosys, and print a summary. Re-running with the "
        "same --out reuses the finished training run. Exits 1 if verification fails.")
    p.add_argument("--out", default="runs/demo", help="output directory (default runs/demo)")
    p.add_argument("--quick", action="store_true",
                   help="a tiny network trained for 2 epochs: every stage in well under a minute")
    p.add_argument("--epochs", type=int, help="override the number of training epochs")
    p.add_argument("--estimator", help="another gate estimator (default soft), with its measured "
                   "defaults (lgn_hw/train/presets.py)")
    p.add_argument("--samples", type=count(MAX_SAMPLES),
                   help="test-set samples streamed through each simulator (default: the whole test "
                        "split; 100 with --quick)")
    p.add_argument("--sims", default="icarus,verilator",
                   help="comma-separated simulators to verify on (default icarus,verilator)")
    p.add_argument("--target", default="ecp5-85k",
                   help="synthesis target for the estimate (default ecp5-85k, where the 4 x 4000 digits core fits)")
    p.add_argument("--no-synth", action="store_true", help="skip the synthesis estimate")
    p.add_argument("--no-prove", action="store_true",
                   help="skip the formal proof that the core equals the netlist (lgn-hw equiv; needs ABC)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def demo_config(*, quick=False, epochs=None, estimator=None):
    """The demo's :class:`TrainConfig`: the measured digits preset (4 x 4000 gates, 3 thermometer
    levels per pixel), or :data:`QUICK`; another estimator brings its own measured defaults."""
    from ..train import TrainConfig
    from ..train.presets import estimator_defaults, preset_config

    over = {} if epochs is None else {"epochs": epochs}
    if not quick:
        return preset_config("digits", estimator, **over)
    settings = dict(QUICK)
    if estimator is not None and estimator != settings["estimator"]:
        settings.update(estimator_defaults(estimator), estimator=estimator)
    return TrainConfig(**settings, **over)


def _stage(name, rows, t0):
    dt = time.perf_counter() - t0
    rows.append((name, dt))
    log.info("%s took %.1f s", name, dt)


def run(args) -> int:
    from ..train import train
    from ..train.checkpoint import CheckpointError
    from ..train.trainer import CHECKPOINT

    out = Path(args.out)
    sims = [s.strip() for s in args.sims.split(",") if s.strip()]
    from ..tools import SIMULATORS

    bad = [s for s in sims if s not in SIMULATORS]
    if bad or not sims:   # refused before minutes of training, not after
        raise UsageError(f"--sims must list simulators of {', '.join(SIMULATORS)}, not {args.sims!r}")
    try:
        cfg = demo_config(quick=args.quick, epochs=args.epochs, estimator=args.estimator)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    times, summary, failed = [], {}, False
    say = (lambda *a: None) if args.quiet else print

    # 1. train (resumes, or reuses a finished run, in the same --out)
    t0 = time.perf_counter()
    run_dir = out / "train"
    say(f"[1/6] training {cfg.layers} x {cfg.width} gates on {cfg.dataset} ({cfg.estimator}, {cfg.epochs} epochs)")
    try:
        result = train(cfg, run_dir, resume=(run_dir / CHECKPOINT).exists(), quiet=args.quiet)
    except CheckpointError as exc:
        raise UsageError(f"{exc} (use another --out for different settings)") from None
    if result.interrupted or result.netlist is None:
        say("training interrupted; run the demo again to continue")
        return 130
    _stage("train", times, t0)
    net = result.netlist

    from ..data import load_dataset

    data = load_dataset(cfg.dataset, levels=cfg.levels, thresholds=cfg.thresholds, split_seed=cfg.split_seed)
    test_bits = data.bits("test")
    summary.update(soft=result.best["test_soft"], discrete=result.test_accuracy, gates=net.num_gates,
                   unused=result.best["unused_gates"], epoch=result.best_epoch)

    # 2. optimise the netlist (same function, fewer gates)
    t0 = time.perf_counter()
    say(f"[2/6] optimising the netlist ({net.num_gates} gates)")
    from ..netlist import evaluate
    from ..netlist.opt import optimize

    hw_net, _report = optimize(net)
    before, after = evaluate(net, test_bits), evaluate(hw_net, test_bits)
    if not (np.array_equal(before.scores, after.scores) and np.array_equal(before.classes, after.classes)):
        raise RuntimeError("the optimised netlist disagrees with the trained one on the test set")
    hw_net.save(out / "optimized.lgn.json")
    summary["hw_gates"] = hw_net.num_gates
    _stage("optimise", times, t0)

    # 3. export Verilog
    t0 = time.perf_counter()
    say(f"[3/6] exporting Verilog ({hw_net.num_gates} gates)")
    from ..hdl import export, load_export
    from ..hdl.encoder import choose_encoder

    # The encoder goes into the core when it is quantized (every one trained here is): the
    # FPGA then reads raw pixels, and the synthesis estimate counts the encoder's LUTs too.
    manifest = export(hw_net, out / "hw", encoder=choose_encoder(hw_net), quiet=args.quiet)
    hw = load_export(out / "hw")
    from ..hdl.digest import core_digest

    hw_core = core_digest(hw, hw_net)   # what the verification records name
    summary["latency"] = manifest["latency"]
    summary["encoder"] = (f"in the core: in_data carries {hw.inputs.count} raw features, {hw.in_width} bits"
                          if hw.encoder == "hw" else f"on the host: in_data carries {hw.in_width} input bits")
    _stage("export", times, t0)

    # 4. verify on each simulator against the golden model, on the test split's raw features:
    #    Verilator through the native harness, Icarus through the cocotb bench.
    from ..report.records import write_verify_record
    from ..tools import ToolNotFound
    from ..verify import VerifyError, verify
    from ..verify.native import verify_native

    n = args.samples or (100 if args.quick else len(data.test))
    raw, labels = data.test.x[:n], data.test.y[:n]
    summary["verify"] = {}
    for i, sim in enumerate(sims):
        t0 = time.perf_counter()
        bench = "native harness" if sim == "verilator" else "cocotb bench"
        say(f"[4/6] verifying on {sim} ({bench}, {len(raw)} test samples, random gaps and backpressure)")
        try:
            if sim == "verilator":
                res = verify_native(hw, hw_net, inputs=raw, labels=labels, seed=i)
            else:
                res = verify(hw, hw_net, sim=sim, inputs=hw.inputs.from_raw(raw), seed=i)
        except ToolNotFound as exc:
            summary["verify"][sim] = f"skipped: {exc}"
            continue
        except (VerifyError, ValueError) as exc:
            summary["verify"][sim] = f"FAILED: {exc}"
            failed = True
            continue
        write_verify_record(out / "hw", res, core=hw_core, seed=i, gap_prob=0.3, stall_prob=0.3)  # verify()'s defaults
        if res.passed:
            summary["verify"][sim] = (f"passed ({res.samples} test samples, random handshakes and full rate: "
                                      f"{res.checked} results checked; {res.throughput:.2f} results/cycle, "
                                      f"latency {res.latency}"
                                      + (f"; hardware accuracy {res.accuracy:.4f}" if res.accuracy is not None
                                         else "") + ")")
        else:
            summary["verify"][sim] = f"FAILED: {res.message}"
            failed = True
        _stage(f"verify ({sim})", times, t0)
    if not any(v.startswith("passed") for v in summary["verify"].values()):
        failed = True

    # 5. the formal proof: the core equals the netlist for every input (lgn_hw.verify.proof)
    t0 = time.perf_counter()
    if args.no_prove:
        summary["prove"] = "skipped (--no-prove)"
    else:
        from ..verify import prove_parts

        say("[5/6] proving the core equal to the netlist for every input (lgn-hw equiv)")
        try:
            proof = prove_parts(hw_net, hw, jobs=2)
            from ..report.records import write_equiv_record

            write_equiv_record(out / "hw", proof, core=hw_core)
        except (ToolNotFound, VerifyError, ValueError, RuntimeError) as exc:
            summary["prove"] = f"skipped ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        else:
            done = sum(p.status == "proved" for p in proof.parts)
            summary["prove"] = (f"{proof.verdict} ({done} of {len(proof.parts)} parts, {proof.seconds:.0f} s)"
                                + (f": {proof.detail}" if proof.detail else ""))
            failed = failed or proof.verdict != "PROVED"
        _stage("prove", times, t0)

    # 6. synthesis estimate, when the synthesis stage works here
    t0 = time.perf_counter()
    if args.no_synth:
        summary["synth"] = "skipped (--no-synth)"
    else:
        say(f"[6/6] synthesis estimate for {args.target}")
        summary["synth"] = _synth(out / "hw", args.target, hw_net.num_gates)
        _stage("synth", times, t0)

    _print_summary(summary, cfg, times, out, print)
    from ..report import write_report

    print(write_report(run_dir, out / "report.html", exports=[out / "hw"]))  # the last line: the page to open
    return 1 if failed else 0


def _synth(export_dir, target, gates):
    from ..synth import synthesize

    pnr = gates <= 3000  # place and route only where a small core fits quickly
    try:
        rep = synthesize(export_dir, target, pnr=pnr)
    except Exception as exc:  # a missing or failing tool must not hide the verified core
        return f"skipped ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    parts = [f"{rep.get('luts')} LUTs", f"{rep.get('ffs')} FFs"]
    enc = (rep.get("blocks") or {}).get("encoder")
    if enc:  # the whole design is counted; say what the encoder inside it costs
        parts[0] += f" (encoder {enc['luts']})"
    if rep.get("fmax_mhz"):
        parts.append(f"fmax {rep['fmax_mhz']:.1f} MHz")
    elif not pnr:
        parts.append(f"Yosys only; for fmax: lgn-hw synth {export_dir} --target {target} "
                     f"(place and route, minutes)")
    return f"{target}: " + ", ".join(parts)


def _print_summary(s, cfg, times, out, say):
    say("")
    say("summary")
    say(f"  dataset              {cfg.dataset} ({cfg.layers} x {cfg.width} gates, {cfg.estimator})")
    say(f"  test accuracy        {s['discrete']:.4f} discrete (netlist), {s['soft']:.4f} soft  "
        f"(best epoch {s['epoch']})")
    say(f"  gates                {s['gates']} trained, {s['unused']} unused, {s['hw_gates']} after optimisation")
    say(f"  encoder              {s['encoder']}")
    say(f"  latency              {s['latency']} cycles")
    for sim, text in s["verify"].items():
        say(f"  verify {sim:<13} {text}")
    say(f"  equivalence proof    {s['prove']}")
    say(f"  synthesis            {s['synth']}")
    say("  time                 " + ", ".join(f"{n} {t:.0f} s" for n, t in times)
        + f"; total {sum(t for _, t in times):.0f} s")
    say(f"  files                {out}/train/best.lgn.json, {out}/hw/")
