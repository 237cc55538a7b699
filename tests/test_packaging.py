"""The wheel carries what lgn-hw needs outside a checkout (DESIGN.md section 6)."""

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("hatchling") is None, reason="hatchling is not installed")
def test_wheel_ships_templates_benches_and_native_sources(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(ROOT),
         "-w", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = tmp_path.glob("lgn_hw-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    tracked = subprocess.run(["git", "ls-files", "hdl_templates", "sim"], cwd=ROOT, capture_output=True,
                             text=True).stdout.split()
    if not tracked:  # not a git checkout: take the folders as they are
        tracked = [str(p.relative_to(ROOT)) for d in ("hdl_templates", "sim") for p in (ROOT / d).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts]
    assert tracked
    missing = sorted(f for f in tracked if f"lgn_hw/_shipped/{f}" not in names)
    assert not missing, f"not in the wheel: {missing}"
    native = [str(p.relative_to(ROOT)) for p in (ROOT / "lgn_hw").rglob("*") if p.suffix in (".c", ".cpp")]
    assert native and all(f in names for f in native)
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "lgn-hw = lgn_hw.cli:main" in entry
