"""The AXI4-Stream wrapper on both output stages and on a core without pipeline registers: the
export's cocotb bench (random gaps on s_axis_tvalid, backpressure on m_axis_tready, tlast every
8 samples, one result per clock at full rate) passes on Icarus, and the Verilog declares the
ports that lgn_hw.hdl.ports.axis_ports names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lgn_hw.hdl import Pipeline, export
from lgn_hw.hdl.export import top_ports
from lgn_hw.hdl.axis import AxisLayout
from lgn_hw.hdl.ports import axis_ports
from lgn_hw.netlist import random_netlist

pytestmark = pytest.mark.icarus


@pytest.mark.parametrize("shape, pipeline", [
    ((9, [11, 13, 12], 3), Pipeline()),
    ((9, [11, 13, 40], 4), Pipeline(1, 1, True, lut_size=6, stream="stall")),
    ((6, [10], 10), Pipeline(0, 0, False, stream="stall")),
])
def test_axis_wrapper_passes_the_bench(tmp_path, shape, pipeline):
    net = random_netlist(*shape, seed=sum(shape[1]))
    manifest = export(net, tmp_path, pipeline=pipeline, testbench=True, testbench_samples=70, seed=2, axis=True,
                      quiet=True)
    layout = AxisLayout.of(net, manifest["encoder"]["in_width"])
    text = (tmp_path / manifest["axis"]["file"]).read_text()
    want = [(p.name, p.direction, p.width) for p in axis_ports(layout)]
    assert sorted(top_ports([text], "lgn_top_axis")) == sorted(want)
    proc = subprocess.run([sys.executable, "cocotb/run.py", "--sim", "icarus", "--interface", "axis"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "lgn_top_axis on icarus: 3 of 3 tests passed" in proc.stdout


@pytest.mark.verilator
def test_lint_checks_the_wrapper_with_the_core(tmp_path):
    from lgn_hw.hdl.lint import LintError, lint

    net = random_netlist(9, [11, 12], 3, seed=4)
    export(net, tmp_path, axis=True, quiet=True)
    assert lint(tmp_path).axis == "lgn_top_axis"
    path = tmp_path / "lgn_top_axis.v"
    text = path.read_text()
    end = text.index("endmodule")
    path.write_text(text[:end] + "  wire [3:0] lint_probe = s_axis_tvalid;\n" + text[end:])
    with pytest.raises(LintError, match=r"^slang: .*lgn_top_axis\.v.*implicit conversion|^verilator"):
        lint(tmp_path)
    path.unlink()
    with pytest.raises(LintError, match=r"the manifest has an 'axis' entry but lgn_top_axis\.v is missing"):
        lint(tmp_path)
