"""Tiny exported cores shared by the synthesis tests (exporting is quick; tools are not)."""

from __future__ import annotations

import pytest

from lgn_hw.hdl import Pipeline, export
from lgn_hw.netlist import random_netlist


@pytest.fixture(scope="session")
def tiny_net():
    # 20 inputs, 3 classes, 126 gates: small enough for an iCEstick with the UART.
    return random_netlist(20, [48, 48, 30], 3, seed=2)


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory, tiny_net):
    out = tmp_path_factory.mktemp("tiny_export")
    export(tiny_net, out, pipeline=Pipeline(gate_every=2, popcount_every=1))
    return out
