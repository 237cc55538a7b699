"""``lgn-hw verify DIR``: simulate an exported core and check it against the golden model."""

from __future__ import annotations

import sys
import time

from ..cli import MAX_SAMPLES, UsageError, count, seed
from ..hdl.digest import core_digest
from ..hdl.export import load_export
from ..tools import SIMULATORS, ToolNotFound
from ..verify import VerifyError, verify

BENCHES = ("native", "cocotb")


def register(sub):
    p = sub.add_parser(
        "verify", help="check an exported core in simulation against the golden model",
        description="Build the core that 'lgn-hw export' wrote to DIR with Icarus Verilog or "
        "Verilator and stream samples through it: random gaps on in_valid and random "
        "backpressure on out_ready, every class and score compared in order with the golden "
        "model, and a full-rate run that checks one sample per clock and the manifest latency. "
        "On Verilator the native C++ harness does it (about 1000x faster); the cocotb bench "
        "(--bench cocotb, the only one on Icarus) adds waveforms. Exits 1 on any mismatch or "
        "protocol error.")
    p.add_argument("dir", metavar="DIR", help="export folder (with manifest.json)")
    p.add_argument("--netlist", metavar="NETLIST",
                   help="reference netlist (default: the export's netlist copy)")
    p.add_argument("--sim", choices=SIMULATORS, default="icarus",
                   help="simulator (default: %(default)s)")
    p.add_argument("--samples", type=count(MAX_SAMPLES), default=1000, metavar="N",
                   help="random samples (default: %(default)s)")
    p.add_argument("--seed", type=seed, default=0, help="seed of samples and handshakes (default: %(default)s)")
    p.add_argument("--bench", choices=BENCHES,
                   help="native (Verilator only; the default there) or cocotb (the default on Icarus)")
    p.add_argument("--inputs", metavar="FILE",
                   help="check this test set instead of random samples: a .npy of raw features "
                   "(n, features) when the netlist carries an encoder, else input bits (n, num_inputs) "
                   "of 0/1; or a .csv/.tsv/.npz like the training data (its label column gives the labels)")
    p.add_argument("--labels", metavar="NPY",
                   help="class labels (n,) of --inputs: also report the accuracy the hardware reached")
    p.add_argument("--gap-prob", type=float, default=0.3, metavar="P",
                   help="chance of a gap on in_valid per cycle (default: %(default)s)")
    p.add_argument("--stall-prob", type=float, default=0.3, metavar="P",
                   help="chance of out_ready low per cycle (default: %(default)s)")
    p.add_argument("--build-dir", metavar="CACHE",
                   help="build cache folder (default: $XDG_CACHE_HOME/lgn-hw, else ~/.cache/lgn-hw; "
                        "builds are never taken from the export folder)")
    p.add_argument("--waves", action="store_true", help="record a waveform in the run folder")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(func=run)


def run(args) -> int:
    for name in ("gap_prob", "stall_prob"):
        value = getattr(args, name)
        if not 0.0 <= value < 1.0:
            raise UsageError(f"--{name.replace('_', '-')} must be in [0, 1), not {value}")
    bench = args.bench or ("native" if args.sim == "verilator" else "cocotb")
    if bench == "native" and args.sim != "verilator":
        raise UsageError(f"--bench native runs on Verilator only, not {args.sim}: use --sim verilator "
                         "or --bench cocotb")
    if bench == "native" and args.waves:
        raise UsageError("--waves needs the cocotb bench: add --bench cocotb")
    if args.labels and not args.inputs:
        raise UsageError("--labels needs --inputs (the test set they label)")
    if not args.quiet:
        print(f"building and simulating {args.dir} with {args.sim} ({bench} bench) ...",
              file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        export = load_export(args.dir)
        # The core as loaded: the record names these bytes, and none is written if they change meanwhile.
        core = core_digest(export, export.reference(args.netlist))
        if bench == "native":
            from ..verify.native import verify_native

            result = verify_native(export, args.netlist, samples=args.samples, seed=args.seed,
                                   inputs=args.inputs, labels=args.labels, build_dir=args.build_dir,
                                   gap_prob=args.gap_prob, stall_prob=args.stall_prob)
        else:
            result = _verify_cocotb(export, args)
    except (ToolNotFound, ValueError, TypeError) as exc:  # ManifestError, CacheError are ValueErrors
        raise UsageError(str(exc)) from None
    except VerifyError as exc:
        print(f"lgn-hw verify: {exc}", file=sys.stderr)
        print("FAIL")
        return 1
    _record(args.dir, result, core=core, seed=args.seed, gap_prob=args.gap_prob, stall_prob=args.stall_prob,
            inputs=args.inputs)
    print(result.summary())
    if not args.quiet:
        print(f"run folder  {result.run_dir}  ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        if result.waveform:
            print(f"waveform    {result.waveform}", file=sys.stderr)
    return 0 if result.passed else 1


def _record(export_dir, result, **settings) -> None:
    """The run's record in the export folder (``verify-<sim>.json``, read by ``lgn-hw report``)."""
    import logging

    from ..report.records import write_verify_record

    try:
        write_verify_record(export_dir, result, **settings)
    except (OSError, ValueError) as exc:  # a read-only or re-exported folder must not hide the result
        logging.getLogger(__name__).warning("no verification record in %s: %s", export_dir, exc)


def _verify_cocotb(export, args):
    """The cocotb bench; a test set (raw features or bits) is turned into bits first."""
    if not args.inputs:
        return verify(export, args.netlist, sim=args.sim, samples=args.samples, seed=args.seed,
                      build_dir=args.build_dir, gap_prob=args.gap_prob, stall_prob=args.stall_prob,
                      waves=args.waves)
    import dataclasses

    from ..verify.native import load_test_set

    net = export.reference(args.netlist)
    words, labels = load_test_set(net, args.inputs, args.labels, mode=export.encoder)
    result = verify(export, net, sim=args.sim, seed=args.seed, inputs=words,
                    build_dir=args.build_dir, gap_prob=args.gap_prob, stall_prob=args.stall_prob,
                    waves=args.waves)
    if labels is not None and result.passed:   # the hardware matched the golden model on every sample
        from ..netlist import evaluate

        accuracy = float((evaluate(net, export.inputs.netlist_bits(words)).classes == labels).mean())
        result = dataclasses.replace(result, accuracy=accuracy)
    return result
