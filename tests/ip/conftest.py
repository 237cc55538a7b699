"""Set-up of the drop-in IP tests: one small trained export (monk1, a few epochs, optimised) with the
testbench, the AXI4-Stream wrapper and the Vivado flow, shared by every test of this folder."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def trained_export(tmp_path_factory):
    """The folder of a trained monk1 core exported with ``testbench``, ``axis`` and ``vivado_part``."""
    from lgn_hw.hdl import export
    from lgn_hw.netlist import load
    from lgn_hw.netlist.opt import optimize
    from lgn_hw.train import TrainConfig, train

    root = tmp_path_factory.mktemp("ip")
    cfg = TrainConfig(dataset="monk1", layers=2, width=48, epochs=4, lr=0.05, batch_size=32, kernel="reference")
    train(cfg, root / "run", quiet=True)
    net, _ = optimize(load(root / "run" / "best.lgn.json"))
    export(net, root / "hw", top="monk_core", testbench=True, testbench_samples=80, seed=5, axis=True,
           vivado_part="xcvu9p-flgb2104-2-i", clock_mhz=250.0, quiet=True)
    return root / "hw"
