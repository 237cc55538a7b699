"""The ``lgn-hw`` command line: a thin layer over the library.

Each subcommand lives in its own module under :mod:`lgn_hw.commands` and
defines ``register(subparsers)``, which adds its parser and sets ``func`` to a
callable taking the parsed arguments and returning an exit status.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from . import __version__

__all__ = ["main", "build_parser", "UsageError"]


class UsageError(Exception):
    """Bad input a user can fix: printed as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lgn-hw",
        description=(
            "Logic-gate networks from training to verified FPGA hardware: train a network, "
            "discretize it to a netlist, export pipelined Verilog, verify it in simulation "
            "against the bit-exact golden model, and synthesize it."
        ),
    )
    parser.add_argument("--version", action="version", version=f"lgn-hw {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log diagnostics to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from . import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv=None) -> int:
    from .netlist.model import NetlistError

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (UsageError, NetlistError, FileNotFoundError) as exc:
        print(f"lgn-hw {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"lgn-hw {args.command}: interrupted", file=sys.stderr)
        return 130
