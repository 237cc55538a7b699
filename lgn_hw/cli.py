"""The ``lgn-hw`` command line: a thin layer over the library.

Each subcommand lives in its own module under :mod:`lgn_hw.commands` and
defines ``register(subparsers)``, which adds its parser and sets ``func`` to a
callable taking the parsed arguments and returning an exit status.

Errors a user can cause (bad values and files: ``ValueError`` and its kin, an
``OSError`` such as a read-only or missing folder, a request too big for the
memory) are printed by :func:`main` as one line, exit status 2; ``-v`` adds the
traceback. Closing the pipe the output goes to (``lgn-hw info NET | head``)
ends the command quietly.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
import traceback

from . import SEED_MAX, __version__, check_seed

__all__ = ["main", "build_parser", "UsageError", "seed", "count", "MAX_SAMPLES"]

#: the most samples a testbench or simulation run takes from ``--samples``
MAX_SAMPLES = 2**20


class UsageError(Exception):
    """Bad input a user can fix: printed as one line, exit status 2."""


def seed(text: str) -> int:
    """argparse type of every ``--seed``-like flag: an integer in ``0..lgn_hw.SEED_MAX``."""
    try:
        return check_seed(int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer in 0..{SEED_MAX}, not {text!r:.40}") from None


def count(maximum: int):
    """argparse type of a count flag such as ``--samples``: an integer in ``1..maximum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not 1 <= value <= maximum:
            raise argparse.ArgumentTypeError(f"must be an integer in 1..{maximum}, not {text!r:.40}")
        return value

    parse.__name__ = "count"
    return parse


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


def _os_error(exc: OSError) -> str:
    """One line for an ``OSError``: the path(s) and the reason, without the errno prefix."""
    if exc.filename is None or not exc.strerror:
        return str(exc)
    paths = str(exc.filename) + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
    return f"{paths}: {exc.strerror}"


def _quiet_stdout() -> None:
    """After the reader of stdout went away: point stdout at /dev/null so that the flush at
    exit does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no file descriptor (a test's capture)
        pass


def install_signal_handlers() -> None:
    """SIGTERM ends the command as Ctrl-C does (``finally`` blocks run) after ending its child
    processes (:func:`lgn_hw.tools.kill_descendants`): a build never compiles on as orphans.
    Main thread only (else None); returns the handler it replaced. Training replaces it while it
    runs (a graceful stop after the step)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def on_term(signum, frame):
        from .tools import kill_descendants

        kill_descendants()
        raise SystemExit(128 + signum)

    return signal.signal(signal.SIGTERM, on_term)   # the previous handler, to put back


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2

    def error(message) -> int:
        if args.verbose:
            traceback.print_exc()
        print(f"lgn-hw {args.command}: error: {message}", file=sys.stderr)
        return 2

    previous = install_signal_handlers()
    try:
        return _run(args, error)
    finally:
        if previous is not None:   # main() called from Python (tests, notebooks): their handler again
            import signal

            signal.signal(signal.SIGTERM, previous)


def _run(args, error) -> int:
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:  # `lgn-hw info NET | head`: the reader has all it wants
        _quiet_stdout()
        return 141  # 128 + SIGPIPE, what a shell reports for a program the pipe ended
    except (UsageError, ValueError) as exc:  # NetlistError, ConfigError, PathError, ...
        return error(exc)
    except OSError as exc:  # a missing file, a read-only or non-folder --out, a full disk
        return error(_os_error(exc))
    except MemoryError:
        return error("not enough memory for this input (is it far larger than it should be?)")
    except KeyboardInterrupt:
        from .tools import kill_children

        kill_children()   # a build in another thread: its process group does not see the terminal's Ctrl-C
        print(f"lgn-hw {args.command}: interrupted", file=sys.stderr)
        return 130
