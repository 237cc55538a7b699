"""``lgn-hw verify DIR``: simulate an exported core and check it against the golden model."""

from __future__ import annotations

import sys
import time

from ..cli import MAX_SAMPLES, UsageError, count, seed
from ..verify import SIMULATORS, SimulatorNotFound, VerifyError, verify


def register(sub):
    p = sub.add_parser(
        "verify", help="check an exported core in simulation against the golden model",
        description="Build the core that 'lgn-hw export' wrote to DIR with Icarus Verilog or "
        "Verilator and run the cocotb bench on it: samples with random gaps on in_valid and "
        "random backpressure on out_ready, every class and score compared in order with the "
        "golden model, then a full-rate run that checks one sample per clock and the manifest "
        "latency. Exits 1 on any mismatch or protocol error.")
    p.add_argument("dir", metavar="DIR", help="export folder (with manifest.json)")
    p.add_argument("--netlist", metavar="NETLIST",
                   help="reference netlist (default: DIR/netlist.lgn.json)")
    p.add_argument("--sim", choices=SIMULATORS, default="icarus",
                   help="simulator (default: %(default)s)")
    p.add_argument("--samples", type=count(MAX_SAMPLES), default=1000, metavar="N",
                   help="random samples (default: %(default)s)")
    p.add_argument("--seed", type=seed, default=0, help="seed of samples and handshakes (default: %(default)s)")
    p.add_argument("--inputs", metavar="NPY",
                   help="check these input bits (an (n, num_inputs) .npy of 0/1) instead of random ones")
    p.add_argument("--gap-prob", type=float, default=0.3, metavar="P",
                   help="chance of a gap on in_valid per cycle (default: %(default)s)")
    p.add_argument("--stall-prob", type=float, default=0.3, metavar="P",
                   help="chance of out_ready low per cycle (default: %(default)s)")
    p.add_argument("--build-dir", metavar="DIR", help="build cache (default: DIR/sim_build)")
    p.add_argument("--waves", action="store_true", help="record a waveform in the run folder")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.set_defaults(func=run)


def run(args) -> int:
    for name in ("gap_prob", "stall_prob"):
        value = getattr(args, name)
        if not 0.0 <= value < 1.0:
            raise UsageError(f"--{name.replace('_', '-')} must be in [0, 1), not {value}")
    if not args.quiet:
        print(f"building and simulating {args.dir} with {args.sim} ...", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        result = verify(args.dir, args.netlist, sim=args.sim, samples=args.samples, seed=args.seed,
                        inputs=args.inputs, build_dir=args.build_dir, gap_prob=args.gap_prob,
                        stall_prob=args.stall_prob, waves=args.waves)
    except (SimulatorNotFound, ValueError, TypeError) as exc:  # ManifestError is a ValueError
        raise UsageError(str(exc)) from None
    except VerifyError as exc:
        print(f"lgn-hw verify: {exc}", file=sys.stderr)
        print("FAIL")
        return 1
    print(result.summary())
    if not args.quiet:
        print(f"run folder  {result.run_dir}  ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
        if result.waveform:
            print(f"waveform    {result.waveform}", file=sys.stderr)
    return 0 if result.passed else 1
