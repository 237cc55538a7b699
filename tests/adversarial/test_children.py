"""Child processes die with their parent (issue 22 item 12): SIGTERM to a command that runs a build
(make and the compilers under it) once left the build running as orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

# The build a command runs, through the helper every build step uses: a shell that starts a
# grandchild (as make starts the compiler) and waits.
SCRIPT = """
import signal
import sys
from lgn_hw.cli import install_signal_handlers

# Ctrl-C as in a terminal: a job started with '&' by a non-interactive shell (a CI script) inherits
# SIGINT ignored, and Python then keeps ignoring it.
signal.signal(signal.SIGINT, signal.default_int_handler)
from lgn_hw.tools import run_child

install_signal_handlers()
print("started", flush=True)
run_child(["sh", "-c", "sleep 300 & echo $! > {pidfile}; wait"])
"""


# A build some library runs with plain subprocess (torch's extension build runs ninja so): the
# command's SIGTERM ends its descendants too.
SCRIPT_PLAIN = """
import subprocess
from lgn_hw.cli import install_signal_handlers

install_signal_handlers()
print("started", flush=True)
subprocess.run(["sh", "-c", "sleep 300 & echo $! > {pidfile}; wait"])
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead: only its parent (init, for an orphan) has yet to reap it
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def _wait_for(predicate, limit=30.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("signum, script", [(signal.SIGTERM, SCRIPT), (signal.SIGINT, SCRIPT),
                                            (signal.SIGTERM, SCRIPT_PLAIN)], ids=["term", "int", "term-plain"])
def test_the_grandchildren_of_a_build_die_with_the_command(tmp_path, signum, script):
    pidfile = tmp_path / "pid"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-c", script.format(pidfile=pidfile)], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        assert _wait_for(lambda: pidfile.exists() and pidfile.read_text().strip())
        grandchild = int(pidfile.read_text())
        assert _alive(grandchild)
        proc.send_signal(signum)
        proc.wait(timeout=60)
        assert _wait_for(lambda: not _alive(grandchild)), "the build's grandchild outlived the command"
    finally:
        if proc.poll() is None:
            proc.kill()
        if pidfile.exists() and pidfile.read_text().strip():
            try:
                os.kill(int(pidfile.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_run_child_returns_the_status():
    from lgn_hw.tools import run_child

    assert run_child(["sh", "-c", "exit 3"]) == 3
