"""``lgn-hw board DIR --board B --out BUILD [--program]``: a UART bitstream for a real board."""

from __future__ import annotations

import subprocess


def register(sub):
    from ..synth.board import BOARDS, DEFAULT_BAUD

    p = sub.add_parser(
        "board", help="build a bitstream that classifies samples sent over USB serial",
        description="Wrap the core of an 'lgn-hw export' folder in a UART front end (a command "
        "byte and the packed sample in, the class byte, or the class and scores, out; see "
        "lgn_hw.synth.uart) and build a bitstream for a board with amaranth-boards, Yosys and "
        "nextpnr. --program also loads it onto a connected board. Talk to it with "
        "'lgn-hw classify'.")
    p.add_argument("dir", help="an 'lgn-hw export' folder (with manifest.json)")
    p.add_argument("--board", required=True, choices=list(BOARDS), help="the board")
    p.add_argument("--out", required=True, metavar="BUILD", help="build folder (created if missing)")
    p.add_argument("--program", action="store_true", help="program the connected board after the build")
    p.add_argument("--baud", type=int, default=DEFAULT_BAUD,
                   help="UART bit rate (default: %(default)s)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..cli import UsageError
    from ..hdl import ManifestError, load_export
    from ..synth.board import build_board
    from ..tools import ToolFailed, ToolNotFound

    try:
        result = build_board(load_export(args.dir), args.board, args.out, program=args.program, baud=args.baud)
    except (ManifestError, ToolNotFound, ToolFailed, ValueError) as exc:
        raise UsageError(str(exc)) from None
    except subprocess.CalledProcessError as exc:  # how Amaranth's build script reports a failed tool
        raise UsageError(f"{args.board} build failed: {exc} (see {args.out})") from None
    print(f"bitstream   {result.bitstream}")
    print(f"board       {result.board}, clock {result.clock_hz / 1e6:g} MHz, "
          f"UART {result.baud} baud ({result.divisor} cycles per bit)")
    if result.fmax_mhz is not None:
        print(f"fmax        {result.fmax_mhz:.1f} MHz")
    if result.utilization:
        print("utilisation")
        for line in result.utilization.splitlines():
            print(f"  {line}")
    if args.program:
        print("programmed")
    return 0
