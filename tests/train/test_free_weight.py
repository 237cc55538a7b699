"""The free-gate cost (``free_weight``): a loss term toward gates that cost no logic."""

import numpy as np
import pytest
import torch

from lgn_hw import gates
from lgn_hw.netlist.opt import optimize
from lgn_hw.train import ConfigError, TrainConfig, train
from lgn_hw.train.layers import LogicLayer
from lgn_hw.train.model import build_model

COSTLY = [op for op in range(gates.NUM_OPS) if gates.DEPENDS_ON_A[op] and gates.DEPENDS_ON_B[op]]


def test_costly_ops_are_the_ten_that_read_both_inputs():
    names = {gates.NAMES[op] for op in COSTLY}
    assert len(COSTLY) == 10
    assert {"A", "B", "NOT A", "NOT B", "FALSE", "TRUE"}.isdisjoint(names)


def test_the_cost_counts_the_probability_of_a_costly_op():
    layer = LogicLayer(8, 5, generator=0)
    with torch.no_grad():
        layer.weights.fill_(-30.0)
        layer.weights[:3, gates.OP_BY_NAME["A"]] = 30.0       # 3 pass-throughs: free
        layer.weights[3:, gates.OP_BY_NAME["XOR"]] = 30.0     # 2 XORs: cost logic
    assert float(layer.logic_cost().detach()) == pytest.approx(2.0, abs=1e-6)
    with torch.no_grad():
        layer.weights.zero_()                                 # uniform: 10 of 16 ops cost
    assert float(layer.logic_cost().detach()) == pytest.approx(5 * 10 / 16, abs=1e-6)


def test_the_network_cost_is_a_fraction_over_gate_layers_only():
    model = build_model(10, 2, layers=3, width=[8, 6, 4], layer_kind=["gate", "lut", "gate"], k=[2, 4, 2])
    want = (model.layers[0].logic_cost() + model.layers[2].logic_cost()) / (8 + 4)
    assert float(model.logic_cost().detach()) == pytest.approx(float(want.detach()))
    luts = build_model(10, 2, layers=1, width=4, layer_kind="lut", k=4)
    assert float(luts.logic_cost().detach()) == 0.0


def test_its_gradient_moves_probability_to_free_ops():
    layer = LogicLayer(8, 50, generator=1)
    before = float(layer.logic_cost().detach())
    opt = torch.optim.SGD(layer.parameters(), lr=1.0)
    for _ in range(20):
        opt.zero_grad()
        layer.logic_cost().backward()
        opt.step()
    assert float(layer.logic_cost().detach()) < 0.5 * before


def test_training_with_the_cost_leaves_fewer_gates_after_optimisation(tmp_path):
    tiny = dict(dataset="monk1", layers=2, width=60, epochs=4, batch_size=32, lr=0.05, kernel="reference")
    logic = []
    for w in (0.0, 3.0):
        res = train(TrainConfig(**tiny, free_weight=w), tmp_path / f"w{w}", quiet=True)
        logic.append(optimize(res.netlist)[1].after.logic)
    assert logic[1] < logic[0]


@pytest.mark.parametrize("bad", [-0.1, float("nan"), float("inf")])
def test_a_bad_weight_is_refused_naming_the_value(bad):
    with pytest.raises(ConfigError, match=r"^'free_weight' must be a non-negative finite number, not "):
        TrainConfig(free_weight=bad)
