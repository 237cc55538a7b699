"""lgn-hw installs like a library: `python -m build` on a clean copy of the checkout makes an sdist
and, from it, a wheel; the wheel, installed into a fresh venv, runs `lgn-hw --help` and a tiny
export with every file an FPGA engineer gets (templates, bench, C and C++ sources inside).

The fresh venv takes lgn-hw from the wheel alone; its dependencies (PyTorch among them, hundreds
of MB) are those of the environment running the tests, reached through a .pth file rather than
downloaded again."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.integration,
              pytest.mark.skipif(importlib.util.find_spec("build") is None
                                 or importlib.util.find_spec("hatchling") is None,
                                 reason="needs 'build' and 'hatchling': pip install build hatchling")]


def _env() -> dict:
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(key, None)
    return env


def _clean_copy(dest: Path) -> Path:
    """The checkout's files as a fresh clone has them: tracked and new files, nothing git ignores."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: cannot tell a clean copy from build leftovers")
    for name in filter(None, listed.stdout.split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def test_wheel_built_from_a_clean_checkout_installs_and_exports(tmp_path):
    src = _clean_copy(tmp_path / "src")
    dist = tmp_path / "dist"
    # --no-isolation: the build backend (hatchling, pinned in requirements.lock) is this environment's
    proc = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(src)],
                          capture_output=True, text=True, timeout=600, env=_env())
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    (sdist,) = dist.glob("lgn_hw-*.tar.gz")
    (wheel,) = dist.glob("lgn_hw-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ("lgn_hw/_shipped/hdl_templates/vivado_ooc.tcl.tmpl",
                    "lgn_hw/_shipped/hdl_templates/cocotb/test_lgn_core.py",
                    "lgn_hw/_shipped/sim/native/lgn_native.cpp", "lgn_hw/netlist/_golden.c",
                    "lgn_hw/train/kernels/logic_op_cpu.cpp"):
        assert shipped in names, shipped

    venv = tmp_path / "fresh"
    subprocess.run([getattr(sys, "_base_executable", sys.executable), "-m", "venv", str(venv)], check=True,
                   capture_output=True, timeout=300)
    python, lgn = venv / "bin" / "python", venv / "bin" / "lgn-hw"
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check",
                           str(wheel)], capture_output=True, text=True, timeout=600, env=_env())
    assert proc.returncode == 0, proc.stderr[-2000:]
    # The dependencies: this environment's site-packages, after the venv's own (so lgn_hw is the wheel's).
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    deps = [p for p in dict.fromkeys([*site.getsitepackages(), sysconfig.get_path("purelib")]) if Path(p).is_dir()]
    (purelib / "_lgn_hw_test_deps.pth").write_text("\n".join(deps) + "\n")

    where = subprocess.run([str(python), "-c", "import lgn_hw, lgn_hw.resources as r; print(lgn_hw.__file__); "
                            "print(r.resource_dir('hdl_templates'))"], cwd=tmp_path, capture_output=True,
                           text=True, env=_env())
    assert where.returncode == 0, where.stderr
    module, templates = where.stdout.split()
    assert Path(module).is_relative_to(venv) and Path(templates).is_relative_to(venv)

    proc = subprocess.run([str(lgn), "--help"], cwd=tmp_path, capture_output=True, text=True, env=_env(),
                          timeout=300)
    assert proc.returncode == 0 and "export" in proc.stdout, proc.stderr
    out = tmp_path / "hw"
    proc = subprocess.run([str(lgn), "export", str(ROOT / "examples" / "example.lgn.json"), "--out", str(out),
                           "--testbench", "--samples", "20", "--axis", "--vivado", "xcvu9p-flgb2104-2-i",
                           "--quiet"], cwd=tmp_path, capture_output=True, text=True, env=_env(), timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    for name in manifest["ip"]["files"]:
        assert (out / name).exists(), name
    assert (out / "cocotb" / "test_lgn_core.py").is_file() and (out / "vivado_ooc.tcl").is_file()
    assert sdist.stat().st_size > 0
