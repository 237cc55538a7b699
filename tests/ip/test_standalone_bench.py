"""The standalone cocotb bench of an export (cocotb/ in the folder) runs where lgn-hw is not:
a copy of a trained export, in a fresh venv that has only cocotb. It passes on Icarus and
Verilator, on the core and on its AXI4-Stream wrapper, and fails on a mutated Verilog file."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lgn_hw.tools import verilator_env

pytestmark = [pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="session")
def cocotb_venv(tmp_path_factory):
    """A fresh venv with cocotb (the version installed here) and nothing of lgn-hw."""
    import cocotb

    root = tmp_path_factory.mktemp("venv") / "env"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(root)], check=True, capture_output=True, timeout=300)
    python = root / "bin" / "python"
    proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           f"cocotb=={cocotb.__version__}"], capture_output=True, text=True, timeout=600,
                          env=_clean_env())
    if proc.returncode != 0:
        pytest.skip(f"cannot install cocotb into a fresh venv (no package index?): {proc.stderr[-500:]}")
    probe = subprocess.run([str(python), "-c", "import lgn_hw"], capture_output=True, text=True, env=_clean_env(),
                           cwd=root)   # not the checkout, where lgn_hw/ is a folder beside it
    assert probe.returncode != 0 and "No module named 'lgn_hw'" in probe.stderr
    return python


def _clean_env() -> dict:
    env = verilator_env()          # the simulators on PATH; nothing that finds lgn-hw
    for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(key, None)
    return env


@pytest.fixture
def elsewhere(trained_export, tmp_path):
    """A copy of the export in a folder of its own, as an engineer who was sent it has it."""
    return Path(shutil.copytree(trained_export, tmp_path / "received" / "hw"))


def run_bench(python, folder, sim, interface="core"):
    return subprocess.run([str(python), "cocotb/run.py", "--sim", sim, "--interface", interface], cwd=folder,
                          capture_output=True, text=True, timeout=600, env=_clean_env())


@pytest.mark.parametrize("sim, interface", [
    pytest.param("icarus", "core", marks=pytest.mark.icarus),
    pytest.param("verilator", "core", marks=pytest.mark.verilator),
    pytest.param("icarus", "axis", marks=pytest.mark.icarus),
])
def test_standalone_bench_passes_without_lgn_hw(cocotb_venv, elsewhere, sim, interface):
    proc = run_bench(cocotb_venv, elsewhere, sim, interface)
    top = "monk_core_axis" if interface == "axis" else "monk_core"
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert f"lgn-hw standalone bench: {top} on {sim}: 3 of 3 tests passed" in proc.stdout


@pytest.mark.icarus
def test_standalone_bench_fails_on_a_mutated_core(cocotb_venv, elsewhere):
    path = elsewhere / "monk_core.v"
    text = path.read_text()
    # The argmax compares its scores with '>': flip them, and the predicted class changes.
    mutated, count = re.subn(r"(scores\S*\s*)>(\s)", r"\1<\2", text)
    assert count > 0
    path.write_text(mutated)
    proc = run_bench(cocotb_venv, elsewhere, "icarus")
    assert proc.returncode == 1
    assert "results differ from the golden model" in proc.stdout
    assert re.search(r"lgn-hw standalone bench: monk_core on icarus: \d of 3 tests passed", proc.stdout)
