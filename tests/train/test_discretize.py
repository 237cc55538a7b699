"""to_netlist: the discretized model and its netlist agree bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lgn_hw.data import Encoder
from lgn_hw.netlist import Netlist, evaluate, load, predict
from lgn_hw.train import build_model, to_netlist

pytestmark = pytest.mark.usefixtures("one_thread")




ALL = ["soft", "gumbel_soft", "st", "gumbel_st", "decoupled_st", "reinmax"]


def bits(n, k, seed):
    return (torch.rand(n, k, generator=torch.Generator().manual_seed(seed)) < 0.5).float()


def perturb(model, seed):
    with torch.no_grad():
        for layer in model.layers:
            layer.weights.add_(3 * torch.randn(layer.weights.shape, generator=torch.Generator().manual_seed(seed)))


def assert_matches(model, netlist, x):
    model.eval()
    with torch.no_grad():
        scores = model(x)
    res = evaluate(netlist, x.numpy().astype(np.uint8))
    assert torch.equal(scores, torch.from_numpy(res.scores).to(scores.dtype) / model.tau)
    assert torch.equal(scores.argmax(1), torch.from_numpy(res.classes))


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("connections,init", [("random", "gaussian"), ("unique", "residual")])
def test_eval_model_equals_its_netlist(name, connections, init):
    for seed in range(3):
        model = build_model(16, 4, layers=4, width=[48, 40, 32, 20], estimator=name, tau=3.0,
                            connections=connections, init=init, seed=seed)
        if init == "residual":  # make it less trivial than all-pass-through
            perturb(model, seed)
        netlist = to_netlist(model)
        assert isinstance(netlist, Netlist)
        assert netlist.widths == [48, 40, 32, 20]
        assert (netlist.num_inputs, netlist.num_classes, netlist.tau) == (16, 4, 3.0)
        assert netlist.metadata["estimator"] == name
        assert_matches(model, netlist, bits(300, 16, seed))


def test_a_few_steps_of_training_keep_the_match():
    model = build_model(10, 2, layers=3, width=24, estimator="gumbel_st", tau=2.0, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.5)
    x = bits(64, 10, 0)
    y = (x[:, 0] > x[:, 1]).long()
    for _ in range(5):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert_matches(model, to_netlist(model), x)


def test_ties_take_the_lowest_op():
    model = build_model(6, 2, layers=2, width=8, seed=0)
    with torch.no_grad():
        for layer in model.layers:
            layer.weights.zero_()
            layer.weights[:, [6, 9]] = 1.0  # XOR and XNOR tie: XOR (6) wins
    netlist = to_netlist(model)
    assert all((layer.op == 6).all() for layer in netlist.layers)
    assert_matches(model, netlist, bits(64, 6, 1))


def test_float64_model_matches_too():
    model = build_model(12, 3, layers=2, width=[20, 9], seed=2).double()
    assert_matches(model, to_netlist(model), bits(100, 12, 3).double())


def test_netlist_file_round_trip(tmp_path):
    model = build_model(12, 3, layers=2, width=[20, 9], estimator="reinmax", seed=2)
    netlist = to_netlist(model, metadata={"dataset": "toy", "estimator": "override"})
    assert netlist.metadata == {"source": "lgn_hw.train", "estimator": "override", "dataset": "toy"}
    path = netlist.save(tmp_path / "m.lgn.json")
    again = load(path)
    assert again == netlist
    assert_matches(model, again, bits(50, 12, 4))


def test_encoder_is_carried_and_can_be_overridden():
    enc = Encoder.thermometer([[0.25, 0.5, 0.75], [0.1, 0.9, 0.95]])
    model = build_model(6, 2, layers=2, width=8, encoder=enc, seed=0)
    netlist = to_netlist(model)
    assert netlist.encoder == enc.to_dict()
    raw = np.random.default_rng(0).random((20, 2))
    res = predict(netlist, raw)
    with torch.no_grad():
        scores = model.eval()(torch.from_numpy(enc.encode(raw)).float())
    assert np.array_equal(res.classes, scores.argmax(1).numpy())

    other = Encoder.thermometer([[0.2, 0.4, 0.6, 0.8, 0.9, 0.95]])
    assert to_netlist(model, encoder=other.to_dict()).encoder == other.to_dict()
    assert to_netlist(build_model(6, 2, layers=2, width=8, seed=0)).encoder is None


def test_sampled_ops_override():
    model = build_model(6, 2, layers=2, width=8, seed=0)
    ops = [np.full(8, 7), np.full(8, 1)]
    netlist = to_netlist(model, ops=ops)
    assert [layer.op.tolist() for layer in netlist.layers] == [[7] * 8, [1] * 8]
    assert np.array_equal(netlist.layers[0].a, model.layers[0].idx_a.numpy())


def test_difflogic_style_sequential():
    from lgn_hw.train import GroupSum, LogicLayer

    g = torch.Generator().manual_seed(3)
    seq = torch.nn.Sequential(torch.nn.Flatten(), LogicLayer(6, 16, generator=g), LogicLayer(16, 8, generator=g),
                              GroupSum(2, 2.0))
    net = to_netlist(seq)
    assert (net.num_inputs, net.num_classes, net.tau, len(net.layers)) == (6, 2, 2.0, 2)
    x = bits(64, 6, 2)
    seq.eval()
    with torch.no_grad():  # the Sequential's eval scores are the netlist's, over tau
        scores = seq(x)
    assert torch.equal(scores * 2.0, torch.from_numpy(evaluate(net, x.numpy().astype(np.uint8)).scores).float())
    with pytest.raises(TypeError, match=r"^to_netlist expects a Sequential of logic layers ending in "
                                        r"GroupSum\(k, tau\), not one ending in LogicLayer$"):
        to_netlist(seq[:3])


def test_errors():
    model = build_model(6, 2, layers=2, width=8, seed=0)
    with pytest.raises(TypeError, match=r"^to_netlist expects a LogicNet or a Sequential ending in GroupSum, "
                                        r"not LogicLayer$"):
        to_netlist(model.layers[0])
    with pytest.raises(ValueError, match=r"^'ops' must hold one array per layer \(2\), not 1$"):
        to_netlist(model, ops=[np.zeros(8)])
    with pytest.raises(ValueError, match=r"^ops\[1\] must have shape \(8,\), not \(7,\)$"):
        to_netlist(model, ops=[np.zeros(8), np.zeros(7)])
    with pytest.raises(ValueError, match=r"^encoder: produces 2 bits but num_inputs is 6$"):
        to_netlist(model, encoder=Encoder.thermometer([[0.5, 0.6]]))
    with pytest.raises(TypeError, match=r"^'metadata' must be a dict or None, not \[1\]$"):
        to_netlist(model, metadata=[1])


# -- LUT layers and mixed networks ------------------------------------------------------------

MIXED = {
    "lut6": dict(layer_kind="lut", k=6),
    "gate-lut6-lut4-gate": dict(layer_kind=["gate", "lut", "lut", "gate"], k=[2, 6, 4, 2]),
    "lut2-lut3-lut5-lut4": dict(layer_kind="lut", k=[2, 3, 5, 4]),
}


@pytest.mark.parametrize("plan", list(MIXED))
@pytest.mark.parametrize("name", ALL)
def test_mixed_eval_model_equals_its_netlist(name, plan):
    for seed, (connections, init) in enumerate([("random", "gaussian"), ("unique", "residual")]):
        model = build_model(16, 4, layers=4, width=[48, 40, 32, 20], estimator=name, tau=3.0,
                            connections=connections, init=init, seed=seed, **MIXED[plan])
        if init == "residual":  # make it less trivial than all-pass-through
            perturb(model, seed)
        netlist = to_netlist(model)
        assert [layer.kind for layer in netlist.layers] == model.kinds
        assert netlist.widths == [48, 40, 32, 20]
        assert_matches(model, netlist, bits(300, 16, seed))


def test_lut_netlist_holds_the_tables_and_inputs(tmp_path):
    model = build_model(12, 3, layers=2, width=[20, 9], layer_kind=["lut", "gate"], k=[5, 2], seed=2)
    with torch.no_grad():
        model.layers[0].weights[0] = 0.0  # a tie: sigmoid(0) = 1/2 is not above 1/2, so entry 0
        model.layers[0].weights[1] = 1.0
    netlist = to_netlist(model)
    first = netlist.layers[0]
    assert first.k == 5
    assert np.array_equal(first.inputs, model.layers[0].idx.numpy())
    assert first.tables[0] == 0 and first.tables[1] == 2**32 - 1
    assert np.array_equal(first.tables, model.layers[0].ops())
    again = load(netlist.save(tmp_path / "m.lgn.json"))
    assert again == netlist and again.to_dict()["version"] == 2
    assert_matches(model, again, bits(50, 12, 4))


def test_lut_ops_override_takes_tables_or_entries():
    model = build_model(6, 2, layers=2, width=8, layer_kind=["lut", "gate"], k=[3, 2], seed=0)
    entries = np.zeros((8, 8), dtype=bool)
    entries[:, 7] = True  # out = x0 & x1 & x2
    by_entries = to_netlist(model, ops=[torch.from_numpy(entries), np.full(8, 1)])
    by_tables = to_netlist(model, ops=[np.full(8, 1, dtype=np.uint64), np.full(8, 1)])
    assert by_entries == by_tables
    assert by_entries.layers[0].tables.tolist() == [1] * 8
    with pytest.raises(ValueError, match=r"^ops\[0\] must have shape \(8,\) or \(8, 8\), not \(8, 4\)$"):
        to_netlist(model, ops=[np.zeros((8, 4)), np.full(8, 1)])
