"""`lgn-hw --help` and the quick commands (info, predict, ...) do not load torch (about 1 s)."""

import subprocess
import sys


def test_building_the_cli_does_not_import_torch():
    probe = ("import sys; from lgn_hw.cli import build_parser; build_parser(); "
             "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
