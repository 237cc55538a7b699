"""``lgn-hw classify --port PORT INPUTS.npy``: classify samples on a board programmed by ``lgn-hw board``."""

from __future__ import annotations

import sys


def register(sub):
    from ..synth.board import DEFAULT_BAUD

    p = sub.add_parser(
        "classify", help="classify samples on a programmed board over USB serial",
        description="Send samples to a board built with 'lgn-hw board' and print one prediction "
        "per line, then the measured rate. INPUTS is an (n, num_inputs) .npy array of 0/1 bits, "
        "or raw features when --export names a folder whose netlist has an encoder. With "
        "--export the sample width is checked and the answers are compared with the golden model.")
    p.add_argument("inputs", help=".npy file of samples")
    p.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0")
    p.add_argument("--baud", type=int, default=DEFAULT_BAUD, help="bit rate (default: %(default)s)")
    p.add_argument("--export", metavar="DIR", help="the 'lgn-hw export' folder the board was built from")
    p.add_argument("--scores", action="store_true", help="also read every class score (needs --export)")
    p.add_argument("--timeout", type=float, default=2.0, help="seconds to wait per answer (default: %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..cli import UsageError
    from ..data.files import read_npy
    from ..synth.host import BoardTimeout, classify_samples

    try:
        x = read_npy(args.inputs)  # header checked against the file size first
    except (OSError, ValueError) as exc:
        raise UsageError(f"{args.inputs}: cannot read as .npy ({exc})") from None
    export, net, bits = None, None, x
    if args.export:
        from ..hdl import ManifestError, load_export

        try:
            export = load_export(args.export)
        except ManifestError as exc:
            raise UsageError(str(exc)) from None
        try:  # raw features become what in_data carries (bits, or the integers the core encodes)
            bits = export.inputs.from_raw(x)
        except ValueError as exc:
            raise UsageError(f"{args.inputs}: {exc}") from None
    elif args.scores:
        raise UsageError("--scores needs --export DIR (the number of classes and the score width)")
    try:
        import serial
    except ImportError:
        raise UsageError("pyserial is not installed: pip install pyserial") from None
    try:
        port = serial.Serial(args.port, args.baud, timeout=args.timeout)
    except (serial.SerialException, ValueError) as exc:
        raise UsageError(f"cannot open {args.port}: {exc}") from None
    from tqdm import tqdm

    bar = tqdm(total=len(bits), unit="sample", disable=args.quiet, file=sys.stderr)
    try:
        port.reset_input_buffer()
        result = classify_samples(port, bits, export, scores=args.scores,
                                  progress=lambda k: bar.update(1))
    except (ValueError, BoardTimeout) as exc:
        raise UsageError(str(exc)) from None
    finally:
        bar.close()
        port.close()
    for i, c in enumerate(result.classes.tolist()):
        line = f"{c}"
        if result.scores is not None:
            line += " " + " ".join(map(str, result.scores[i].tolist()))
        print(line)
    print(f"{len(result.classes)} samples in {result.seconds:.3f} s: {result.rate:.1f} samples/s "
          f"at {args.baud} baud", file=sys.stderr)
    if net is not None:
        from ..netlist import evaluate

        want = evaluate(net, bits)
        agree = int((want.classes == result.classes).sum())
        print(f"golden model agrees on {agree} of {len(result.classes)} samples", file=sys.stderr)
        if agree != len(result.classes):
            return 1
    return 0
