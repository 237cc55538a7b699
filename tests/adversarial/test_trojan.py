"""A trojaned core (one class bit flipped on one input pattern) is refuted by `lgn-hw equiv`,
whatever the export folder says about itself (issue 22's done-means, with issue 23's proof)."""

from __future__ import annotations

import re

import pytest

from lgn_hw.cli import main
from lgn_hw.hdl import export

from .attacks import tiny_net


def _exported(tmp_path):
    """A tiny netlist, saved and exported: (netlist, its file, the export's Verilog file)."""
    net = tiny_net()
    netlist = tmp_path / "n.lgn.json"
    net.save(netlist)
    export(net, tmp_path / "hw", quiet=True)
    return net, netlist, tmp_path / "hw" / "lgn_top.v"


def _verdicts(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln and not ln.startswith(" ")]


@pytest.mark.yosys
@pytest.mark.abc
@pytest.mark.parametrize("method", ["parts", "bounded"])
def test_a_trojaned_core_is_refuted_not_proved(tmp_path, capsys, method):
    net, netlist, src = _exported(tmp_path)
    hw = src.parent
    text = src.read_text()
    # Inside layer 0: every output bit flips when the 6 inputs read 101101, one pattern of 64.
    head = text.index("module \\lgn_top.layer0 ")
    end = text.index("endmodule", head)
    body = text[head:end]
    width = len(net.layers[0].op)
    trojaned, n = re.subn(r"assign y = (.*?);", lambda m: f"assign y = ({m.group(1)}) ^ "
                          f"{{{width}{{x == 6'b101101}}}};", body, count=1)
    assert n == 1
    src.write_text(text[:head] + trojaned + text[end:])
    # The manifest's claims (gates, widths, ports) still hold: only the logic differs.
    status = main(["equiv", str(netlist), str(hw), "--method", method])
    out = capsys.readouterr().out
    assert status == 1, out
    verdicts = _verdicts(out)
    assert any(v.startswith("FAILED") for v in verdicts) and not any(v.startswith("PROVED") for v in verdicts), out


@pytest.mark.yosys
@pytest.mark.abc
def test_a_trojan_after_the_fifo_is_not_reported_proved(tmp_path, capsys):
    # The parts method proves the datapath up to the FIFO; the output stage is the bounded
    # method's. A class flipped at the output on one input pattern must not pass as PROVED.
    _, netlist, src = _exported(tmp_path)
    hw = src.parent
    text = src.read_text()
    trojaned, n = re.subn(r"assign out_class = (.*?);", r"assign out_class = \1 ^ (in_data == 6'b101101);", text,
                          count=1)
    assert n == 1
    src.write_text(trojaned)
    status = main(["equiv", str(netlist), str(hw)])
    out = capsys.readouterr().out
    verdicts = _verdicts(out)
    assert status != 0 and not any(v.startswith("PROVED") for v in verdicts), out
