"""The generated self-checking Icarus testbench passes, and fails on a wrong expectation."""

import re
import subprocess

import pytest

from lgn_hw.hdl import Pipeline, export
from lgn_hw.netlist import random_netlist

pytestmark = pytest.mark.icarus  # tests/conftest.py skips it, with the reason, without Icarus


def run_bench(folder, top):
    subprocess.run(["iverilog", "-g2012", "-o", "sim", f"tb_{top}.v", f"{top}.v"], cwd=folder,
                   check=True, capture_output=True, text=True)
    return subprocess.run(["vvp", "-n", "sim"], cwd=folder, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("shape, pipeline", [
    ((9, [11, 13, 12], 3), Pipeline()),
    ((6, [10], 10), Pipeline(0, 0, False)),
    ((12, [15, 14, 7], 1), Pipeline(2, 2, True)),
    ((9, [11, 13, 40], 4), Pipeline(1, 1, True, lut_size=6, stream="stall")),
    ((6, [10], 10), Pipeline(0, 0, False, stream="stall")),
])
def test_testbench_passes(tmp_path, shape, pipeline):
    net = random_netlist(*shape, seed=sum(shape[1]))
    manifest = export(net, tmp_path, top="dut_core", pipeline=pipeline, testbench=True,
                      testbench_samples=150, seed=3)
    assert manifest["testbench"]["samples"] == 150
    proc = run_bench(tmp_path, "dut_core")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS: 150 samples" in proc.stdout


def test_testbench_fails_on_corrupted_expectation(tmp_path):
    net = random_netlist(9, [11, 12], 3, seed=1)
    export(net, tmp_path, testbench=True, testbench_samples=60, seed=1)
    path = tmp_path / "tb_expected.hex"
    lines = path.read_text().splitlines()
    word = int(lines[17], 16)
    lines[17] = f"{word ^ (1 << 2):0{len(lines[17])}x}"  # flip one score bit of sample 17
    path.write_text("\n".join(lines) + "\n")
    proc = run_bench(tmp_path, "lgn_top")
    assert proc.returncode != 0
    assert "FAIL: sample 17:" in proc.stdout
    assert "PASS" not in proc.stdout


@pytest.mark.parametrize("pipeline", [Pipeline(), Pipeline(0, 0, False)])
def test_signals_wider_than_a_cell_are_cut_into_named_segments(tmp_path, monkeypatch, pipeline):
    # Amaranth builds no cell wider than 65,535 bits: a 4 x 250,000-gate core failed to export
    # (an AssertionError inside Amaranth) once layer outputs were joined into one cell. Wider
    # signals are one cell and one port per segment; segments of 64 bits exercise that here.
    from lgn_hw.hdl import stage

    monkeypatch.setattr(stage, "SEGMENT", 64)
    net = random_netlist(150, [300, 200], 2, seed=1)
    export(net, tmp_path, pipeline=pipeline, testbench=True, testbench_samples=60, seed=2)
    proc = run_bench(tmp_path, "lgn_top")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS: 60 samples" in proc.stdout
    text = (tmp_path / "lgn_top.v").read_text()
    headers = dict(re.findall(r"^module \\lgn_top\.(\w+)\s*\((.*?)\);", text, re.M | re.S))
    ports = {name: {p.strip() for p in text.split(",")} - {"clk", "rst"} for name, text in headers.items()}
    # layer 0 reads the input register's bits joined with constant 0 for the unread inputs
    # (core._input_register): 150 bits, so one port per 64-bit segment too.
    assert ports["layer0"] == {*(f"x_{i}" for i in range(3)), *(f"y_{i}" for i in range(5))}
    assert ports["layer1"] == {*(f"x_{i}" for i in range(5)), *(f"y_{i}" for i in range(4))}
    assert ports["popcount"] == {*(f"x_{i}" for i in range(4)), "scores"}
