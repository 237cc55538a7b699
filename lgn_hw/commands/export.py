"""``lgn-hw export NETLIST --out DIR``: Verilog core, manifest and (optionally) a testbench."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from ..cli import MAX_SAMPLES, UsageError, count, seed
from ..hdl import Pipeline, check_top_name, export
from ..hdl.encoder import choose_encoder
from ..hdl.export import check_exportable
from ..hdl.ip import DEFAULT_CLOCK_MHZ, check_ip_options
from ..netlist import load


def register(sub):
    p = sub.add_parser(
        "export", help="generate the Verilog core of a netlist",
        description="Generate synthesizable Verilog (via Amaranth) for a netlist: a pipelined core "
        "with a valid/ready stream interface, plus manifest.json (ports, widths, latency) and a "
        "copy of the netlist (optimised unless --no-opt; the manifest and the copy describe what "
        "was exported). With --testbench also a self-checking Icarus testbench.")
    p.add_argument("netlist", help="a *.lgn.json netlist file")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--top", default="lgn_top", help="top module name (default: %(default)s)")
    p.add_argument("--pipeline", metavar="SPEC",
                   help="register placement as one string, e.g. 'gates=2,popcount=1,argmax=1' "
                        "(the options below override single items)")
    p.add_argument("--gate-every", type=int, metavar="K",
                   help="a register after every K gate layers; 0: combinational "
                        f"(default {Pipeline().gate_every})")
    p.add_argument("--popcount-every", type=int, metavar="R",
                   help="a register after every R adder-tree levels; 0: combinational "
                        f"(default {Pipeline().popcount_every})")
    p.add_argument("--no-argmax-reg", action="store_true", help="leave the argmax tree combinational")
    p.add_argument("--lut-size", type=int, metavar="K",
                   help="shape the core for K-input LUTs: the popcount becomes counters of K-input "
                        "functions and the argmax compares with them where that pays (6 for "
                        "Xilinx 7: fewer LUTs there; LUT4 targets do better with the default 0, "
                        "carry-chain adders); same registers and latency")
    p.add_argument("--stream", choices=("fifo", "stall"),
                   help="output stage: 'fifo' (the default) a free-running datapath into an output "
                        "FIFO; 'stall' no FIFO, the pipeline advances when out_ready | ~out_valid "
                        "(fewer LUTs; in_ready then depends combinationally on out_ready)")
    p.add_argument("--fmax", type=float, metavar="MHZ",
                   help="pick the pipeline instead: the placement with the fewest FFs whose core "
                        "reaches MHZ on --target, found by synthesizing, placing and routing "
                        "candidates (10-15 runs; the record goes to DIR/fmax-search.json)")
    p.add_argument("--target", metavar="TARGET",
                   help="the device --fmax aims at (a target with place and route, e.g. ecp5-25k)")
    p.add_argument("--no-opt", action="store_true",
                   help="export the netlist as trained; by default it is first optimised (dead, "
                        "constant, wire and duplicate gates removed; the function is unchanged "
                        "and checked against the original with the golden model)")
    p.add_argument("--encoder", choices=("auto", "hw", "host"), default="auto",
                   help="where raw features become input bits: 'hw' builds the netlist's encoder into "
                        "the core (in_data carries each feature's integer, see manifest.json "
                        "'encoder'), 'host' keeps bit inputs (the host encodes); 'auto' (the default) "
                        "is hw when the netlist has a quantized encoder, else host")
    p.add_argument("--testbench", action="store_true",
                   help="also write tb_<top>.v and its hex files, the .core's simulation targets and a "
                        "standalone cocotb bench (cocotb/, runs without lgn-hw)")
    p.add_argument("--axis", action="store_true",
                   help="also write <top>_axis.v: the core with AXI4-Stream ports (s_axis_*, m_axis_*, "
                        "aclk, aresetn; byte layout in manifest.json 'axis' and docs/using-the-core.md)")
    p.add_argument("--vivado", metavar="PART",
                   help="also write vivado_ooc.tcl: Vivado out-of-context synthesis, place and route and "
                        "reports for PART (e.g. xcvu9p-flgb2104-2-i), the way published LUT counts are made")
    p.add_argument("--clock", type=float, default=DEFAULT_CLOCK_MHZ, metavar="MHZ",
                   help="the clock of the constraints written for Vivado and Quartus (ip/<top>.xdc, "
                        "ip/<top>.sdc; default %(default)g)")
    p.add_argument("--samples", type=count(MAX_SAMPLES), default=200, metavar="N",
                   help="testbench samples (default: %(default)s)")
    p.add_argument("--seed", type=seed, default=0, help="testbench seed (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def pipeline_from_args(args) -> Pipeline:
    """The Pipeline the options describe (shared by commands that export)."""
    try:
        base = Pipeline.parse(args.pipeline) if args.pipeline else Pipeline()
        values = base.to_dict()
        if args.gate_every is not None:
            values["gate_every"] = args.gate_every
        if args.popcount_every is not None:
            values["popcount_every"] = args.popcount_every
        if args.no_argmax_reg:
            values["argmax_registered"] = False
        if args.lut_size is not None:
            values["lut_size"] = args.lut_size
        if args.stream is not None:
            values["stream"] = args.stream
        return Pipeline.from_dict(values)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _check_fmax_args(args) -> None:
    from ..synth.targets import get_target

    if args.fmax is None:
        raise UsageError("--target goes with --fmax (the device the clock goal is for)")
    if args.target is None:
        raise UsageError("--fmax needs --target (the device to reach the clock on)")
    if (args.pipeline or args.gate_every is not None or args.popcount_every is not None or args.no_argmax_reg
            or args.lut_size is not None or args.stream is not None):
        raise UsageError("--fmax picks the pipeline: give it without --pipeline, --gate-every, "
                         "--popcount-every, --no-argmax-reg, --lut-size or --stream")
    if not 0 < args.fmax < 2000:
        raise UsageError(f"--fmax must be a number of MHz in (0, 2000), not {args.fmax:g}")
    try:
        tgt = get_target(args.target)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not tgt.has_pnr:
        raise UsageError(f"--fmax needs a target with place and route; {tgt.name} has none here")


def _pick(net, args, encoder):
    from ..synth.fmax import FmaxNotReached, pick_pipeline
    from ..tools import ToolFailed, ToolNotFound

    print(f"fmax goal   {args.fmax:g} MHz on {args.target}: synthesizing candidate pipelines")
    try:
        choice = pick_pipeline(net, args.target, args.fmax, encoder=encoder,
                               progress=lambda text: print(f"  {text}", flush=True))
    except (FmaxNotReached, ToolNotFound, ToolFailed) as exc:
        raise UsageError(str(exc)) from None
    return choice


def _optimized(net):
    """``net`` optimised, after checking with the golden model that its scores are unchanged."""
    from ..netlist.equiv import check_equivalent
    from ..netlist.opt import optimize

    out, report = optimize(net)
    result = check_equivalent(net, out, num_random=20_000)
    if not result:  # never expected: the passes are proved per rule; refuse rather than export it
        raise RuntimeError(f"optimiser bug, export with --no-opt: {result.describe()}")
    b, a = report.before, report.after
    print(f"optimised   {b.total} -> {a.total} gates ({b.logic} -> {a.logic} logic), "
          f"{'all' if result.exhaustive else result.vectors} input vectors checked equal")
    return out


def run(args) -> int:
    try:
        top = check_top_name(args.top)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    pipeline = pipeline_from_args(args)
    try:
        check_ip_options(args.vivado, args.clock)
    except ValueError as exc:
        raise UsageError(str(exc).replace("'clock_mhz'", "--clock").replace("a Vivado part", "--vivado")) from None
    if args.fmax is not None or args.target is not None:
        _check_fmax_args(args)
    try:
        net = check_exportable(load(args.netlist))  # before the optimiser spends memory on it
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    t0 = time.perf_counter()
    if not args.no_opt:
        net = _optimized(net)
    encoder = choose_encoder(net, args.encoder)
    choice = None
    if args.fmax is not None:
        choice = _pick(net, args, encoder)
        pipeline = choice.pipeline
    try:
        manifest = export(net, args.out, top=top, pipeline=pipeline,
                          encoder=encoder, testbench=args.testbench,
                          testbench_samples=args.samples, seed=args.seed, quiet=args.quiet,
                          axis=args.axis, vivado_part=args.vivado, clock_mhz=args.clock)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    seconds = time.perf_counter() - t0
    files = list(manifest["verilog"]) + ["manifest.json", manifest["netlist"]]
    if choice is not None:
        from ..synth.fmax import write_choice

        write_choice(choice, Path(args.out) / "fmax-search.json")
        files.append("fmax-search.json")
    if manifest["testbench"]:
        tb = manifest["testbench"]
        files += [tb["file"], tb["inputs"], tb["expected"]]
    ip = manifest["ip"]
    files += [f + "/" if f in ("ip", "cocotb") else f for f in ip["files"]]
    print(f"exported    {args.netlist} -> {args.out}  ({seconds:.1f} s)")
    print(f"top         {top}  ({manifest['num_inputs']} inputs, {manifest['num_classes']} classes, "
          f"scores {manifest['score_width']} bits)")
    enc = manifest["encoder"]
    print(f"encoder     {'in the core: in_data carries ' + str(len(enc['fields'])) + ' raw features, ' if enc['mode'] == 'hw' else 'on the host: in_data carries input bits, '}"
          f"{enc['in_width']} bits")
    print(f"gates       {manifest['gates']} in {manifest['layers']} layers")
    print(f"pipeline    {pipeline}" + (f"  (fewest FFs at >= {args.fmax:g} MHz on {args.target}: "
                                           f"{choice.report['ffs']} FFs, {choice.report['fmax_mhz']:.1f} MHz)"
                                           if choice else ""))
    print(f"latency     {manifest['latency']} cycles  "
          + " + ".join(f"{k} {v}" for k, v in manifest["latency_parts"].items()))
    print(f"files       {' '.join(files)}")
    if manifest["testbench"]:
        print(f"run bench   cd {shlex.quote(str(args.out))} && {manifest['testbench']['run']}")
        print(f"cocotb      cd {shlex.quote(str(args.out))} && {ip['cocotb']['run']}   (no lgn-hw needed; --sim verilator)")
    print(f"fusesoc     cd {shlex.quote(str(args.out))} && fusesoc --cores-root . run --target lint {ip['vlnv']}   "
          f"(targets: {', '.join(ip['targets'])})")
    if manifest["axis"]:
        ax = manifest["axis"]
        print(f"axis        {ax['top']} in {ax['file']}: s_axis_tdata {ax['s_tdata_bits']} bits, "
              f"m_axis_tdata {ax['m_tdata_bits']} bits (class byte 0, scores {ax['score_bytes']} byte(s) "
              f"each from byte {ax['first_score_byte']})")
    if ip["vivado"]["run"]:
        print(f"vivado      cd {shlex.quote(str(args.out))} && {ip['vivado']['run']}   ({ip['vivado']['part']}, "
              f"{ip['clock_mhz']:g} MHz; reports in vivado_ooc/)")
    return 0
