"""Planted builds: a build found beside an export, or renamed inside a cache, is never trusted or run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from lgn_hw.cli import main
from lgn_hw.hdl import export
from lgn_hw.verify import verify

from .attacks import SAMPLES, mutant, recomputable_key, tiny_net


def _tree(root: Path) -> set:
    return {(str(p.relative_to(root)), p.is_dir()) for p in root.rglob("*")}


def _tamper(folder: Path, tmp_path: Path) -> None:
    """Replace the core's Verilog by that of a mutant netlist (same ports, one gate differs)."""
    other = tmp_path / "mutant"
    export(mutant(tiny_net()), other, quiet=True)
    shutil.copyfile(other / "lgn_top.v", folder / "lgn_top.v")


@pytest.mark.icarus
def test_stale_build_with_a_forged_stamp_beside_the_export(folder, tmp_path):
    """The attack of issue 15 item 1: build the honest core, edit the Verilog, rename the build to the
    new key and write that key to the stamp; DIR/sim_build links to that folder (item 4)."""
    outside = tmp_path / "outside"
    assert verify(folder, samples=SAMPLES, build_dir=outside).passed
    _tamper(folder, tmp_path)
    (built,) = [d for d in outside.iterdir() if d.is_dir() and d.name.startswith("icarus-")]
    key = recomputable_key("icarus", folder)
    forged = built.rename(outside / f"icarus-{key}")
    (forged / ".lgn-build-ok").write_text(key)
    (folder / "sim_build").symlink_to(outside, target_is_directory=True)
    before = _tree(outside)

    result = verify(folder, samples=SAMPLES)        # default build folder
    assert not result.passed and result.mismatches > 0, result.summary()
    assert _tree(outside) == before                 # nothing written through the link


@pytest.mark.icarus
def test_build_renamed_inside_the_cache_is_rebuilt(folder, tmp_path):
    """Even in the user's own cache, a build moved to another key fails its signed stamp."""
    from lgn_hw.hdl import load_export
    from lgn_hw.verify.run import design_key

    cache = tmp_path / "cache"
    assert verify(folder, samples=SAMPLES, build_dir=cache).passed
    _tamper(folder, tmp_path)
    (built,) = [d for d in cache.iterdir() if d.is_dir()]
    built.rename(cache / f"icarus-{design_key('icarus', load_export(folder), False)}")
    result = verify(folder, samples=SAMPLES, build_dir=cache)
    assert not result.passed and result.mismatches > 0, result.summary()


def _script(path: Path, body: str) -> None:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def test_planted_simulator_binary_is_never_executed(folder, tmp_path, monkeypatch):
    """Issue 15 item 2: a shell script planted as the Verilator binary under DIR/sim_build, with its stamp."""
    marker = tmp_path / "pwned"
    key = recomputable_key("verilator", folder)
    planted = folder / "sim_build" / f"verilator-{key}"
    planted.mkdir(parents=True)
    (planted / ".lgn-build-ok").write_text(key)
    _script(planted / "lgn_top", f"touch '{marker}'\n")
    # A stand-in Verilator that reports a version and fails to build: no real build is needed to
    # see which binary runs.
    fake = tmp_path / "bin"
    fake.mkdir()
    _script(fake / "verilator", 'if [ "$1" = "--version" ]; then echo "Verilator 5.036 stand-in"; exit 0; fi\n'
                                "echo stand-in verilator does not build >&2; exit 3\n")
    monkeypatch.setenv("VERILATOR", str(fake / "verilator"))
    code = main(["verify", str(folder), "--sim", "verilator", "--samples", "4", "--quiet"])
    assert not marker.exists(), "the planted binary ran"
    assert code in (1, 2)
    assert os.listdir(planted) and (planted / "lgn_top").read_text().startswith("#!/bin/sh")  # left alone
