"""Metrics: accuracies and gap, unused gates, gate histogram and perplexity."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from lgn_hw import gates
from lgn_hw.netlist import Layer, LutLayer, Netlist, evaluate, random_netlist
from lgn_hw.train import (build_model, discrete_accuracy, evaluate_metrics, gate_histogram, perplexity,
                          soft_accuracy, to_netlist, unused_gates)

pytestmark = pytest.mark.usefixtures("one_thread")



OP = gates.OP_BY_NAME


def bits(n, k, seed):
    return (torch.rand(n, k, generator=torch.Generator().manual_seed(seed)) < 0.5).float()


# -- unused gates -------------------------------------------------------------------

def handmade():
    """Layer 0 has 4 gates; layer 1 (the output) has 2 gates.

    Output gate 0 = B(g0, g1): uses g1 only; output gate 1 = AND(g2, g2).
    So g0 (wired but ignored by op B) and g3 (not wired) are unused.
    """
    l0 = Layer([0, 1, 2, 0], [1, 2, 0, 2], [OP["AND"], OP["OR"], OP["XOR"], OP["NAND"]])
    l1 = Layer([0, 2], [1, 2], [OP["B"], OP["AND"]])
    return Netlist(3, (l0, l1), 2)


def test_unused_gates_on_a_handmade_netlist():
    u = unused_gates(handmade())
    assert u.per_layer == (2, 0)
    assert u.total == 2 and u.num_gates == 6
    assert u.used[0].tolist() == [False, True, True, False]
    assert u.fraction == pytest.approx(2 / 6)
    wired = unused_gates(handmade(), by_function=False)
    assert wired.per_layer == (1, 0)
    assert wired.used[0].tolist() == [True, True, True, False]


def test_constant_gates_cut_their_inputs():
    l0 = Layer([0, 1], [1, 0], [OP["AND"], OP["OR"]])
    l1 = Layer([0, 1], [1, 0], [OP["TRUE"], OP["FALSE"]])
    assert unused_gates(Netlist(2, (l0, l1), 1)).per_layer == (2, 0)


def brute_force_used(netlist, by_function):
    used = [set() for _ in netlist.layers]
    used[-1] = set(range(netlist.layers[-1].width))
    for i in range(netlist.depth - 1, 0, -1):
        layer = netlist.layers[i]
        if layer.kind == "lut":  # gates.lut_depends, the per-table rule
            for j in used[i]:
                depends = gates.lut_depends(int(layer.tables[j]), layer.k)
                used[i - 1] |= {int(v) for v, d in zip(layer.inputs[j], depends) if d or not by_function}
            continue
        for j in used[i]:
            op = int(layer.op[j])
            if not by_function or gates.DEPENDS_ON_A[op]:
                used[i - 1].add(int(layer.a[j]))
            if not by_function or gates.DEPENDS_ON_B[op]:
                used[i - 1].add(int(layer.b[j]))
    return used


@pytest.mark.parametrize("k", [None, [3, 2, None, 2]], ids=["gates", "mixed"])
@pytest.mark.parametrize("by_function", [True, False])
def test_unused_gates_match_a_brute_force_walk(by_function, k):
    for seed in range(5):
        net = random_netlist(8, [30, 25, 20, 6], 3, seed=seed, k=k)
        u = unused_gates(net, by_function=by_function)
        expected = brute_force_used(net, by_function)
        for mask, exp in zip(u.used, expected):
            assert set(np.flatnonzero(mask).tolist()) == exp
        assert u.used[-1].all()


def test_unused_gates_really_do_not_matter():
    """Flipping the op of an unused gate never changes any score."""
    net = random_netlist(8, [30, 20, 6], 2, seed=3)
    x = np.array([[(i >> k) & 1 for k in range(8)] for i in range(256)], dtype=np.uint8)
    base = evaluate(net, x).scores
    u = unused_gates(net)
    assert u.total > 0
    for li, mask in enumerate(u.used):
        for j in np.flatnonzero(~mask):
            layers = list(net.layers)
            op = layers[li].op.copy()
            op[j] = 15 - op[j]  # the complement gate
            layers[li] = Layer(layers[li].a, layers[li].b, op)
            assert np.array_equal(evaluate(net.with_layers(layers), x).scores, base)


def test_unused_lut_nodes_really_do_not_matter():
    """Complementing the table of an unused LUT node never changes any score."""
    net = random_netlist(8, [30, 20, 6], 2, seed=3, k=[3, 2, 2])
    x = np.array([[(i >> k) & 1 for k in range(8)] for i in range(256)], dtype=np.uint8)
    base = evaluate(net, x).scores
    u = unused_gates(net)
    assert u.total > 0
    for li, mask in enumerate(u.used):
        layer = net.layers[li]
        for j in np.flatnonzero(~mask):
            tables = layer.tables.copy()
            tables[j] ^= np.uint64((1 << (1 << layer.k)) - 1)
            layers = list(net.layers)
            layers[li] = LutLayer(layer.k, layer.inputs, tables)
            assert np.array_equal(evaluate(net.with_layers(layers), x).scores, base)


def test_unused_gates_of_a_model_use_its_netlist():
    model = build_model(10, 2, layers=3, width=20, seed=0)
    a, b = unused_gates(model), unused_gates(to_netlist(model))
    assert a.per_layer == b.per_layer and all(np.array_equal(x, y) for x, y in zip(a.used, b.used))
    with pytest.raises(TypeError, match=r"^expected a LogicNet or a Netlist, not str$"):
        unused_gates("model")


# -- histogram and perplexity -------------------------------------------------------------

def test_perplexity_values():
    assert perplexity([5] + [0] * 15) == pytest.approx(1.0)
    assert perplexity([3] * 16) == pytest.approx(16.0)
    assert perplexity([1, 1, 0]) == pytest.approx(2.0)
    p = np.array([0.5, 0.25, 0.25])
    assert perplexity(p * 8) == pytest.approx(math.exp(-(p * np.log(p)).sum()))
    with pytest.raises(ValueError, match=r"^counts must be non-negative with a positive sum"):
        perplexity([0, 0])


def test_gate_histogram():
    net = random_netlist(8, [30, 25, 6], 3, seed=1)
    h = gate_histogram(net)
    assert np.array_equal(h.counts, net.op_histogram())
    assert h.per_layer.shape == (3, 16)
    assert h.per_layer.sum(axis=1).tolist() == [30, 25, 6]
    assert h.perplexity == pytest.approx(perplexity(h.counts))
    assert sum(h.as_dict().values()) == 61
    assert h.as_dict()["XOR"] == int(h.counts[OP["XOR"]])


def test_gate_histogram_skips_lut_layers():
    h = gate_histogram(random_netlist(8, [30, 25, 6], 3, seed=1, k=[None, 4, None]))
    assert h.per_layer.sum(axis=1).tolist() == [30, 0, 6]
    assert h.perplexity == pytest.approx(perplexity(h.counts))
    assert gate_histogram(random_netlist(8, [30, 6], 3, seed=1, k=6)).perplexity is None


def test_residual_model_has_perplexity_one():
    model = build_model(6, 2, layers=2, width=8, init="residual", seed=0)
    assert gate_histogram(model).perplexity == pytest.approx(1.0)


# -- accuracies -----------------------------------------------------------------------------

def test_discrete_accuracy_is_the_netlist_accuracy():
    model = build_model(10, 3, layers=3, width=[24, 24, 12], estimator="gumbel_st", seed=0)
    x = bits(200, 10, 0)
    y = torch.randint(0, 3, (200,), generator=torch.Generator().manual_seed(1))
    res = evaluate(to_netlist(model), x.numpy())
    assert discrete_accuracy(model, x, y, batch_size=64) == pytest.approx((res.classes == y.numpy()).mean())


def test_soft_accuracy_of_st_is_discrete_and_of_soft_is_the_mixture():
    x = bits(200, 10, 0)
    y = torch.randint(0, 2, (200,), generator=torch.Generator().manual_seed(1))
    st = build_model(10, 2, layers=2, width=20, estimator="st", seed=0)
    assert soft_accuracy(st, x, y) == discrete_accuracy(st, x, y)

    soft = build_model(10, 2, layers=2, width=20, estimator="soft", seed=0)
    with torch.no_grad():
        mixture = (soft.train()(x).argmax(1) == y).double().mean().item()
    assert soft_accuracy(soft, x, y) == pytest.approx(mixture)
    assert soft_accuracy(soft, x, y, mode="mixture") == pytest.approx(mixture)
    # The mixture of st's logits is the soft model's function: same seed, same logits.
    assert soft_accuracy(st, x, y, mode="mixture") == pytest.approx(mixture)


def test_measuring_leaves_the_model_as_it_was():
    model = build_model(10, 2, layers=2, width=20, estimator="gumbel_st", seed=0)
    x = bits(50, 10, 0)
    y = torch.zeros(50, dtype=torch.long)
    model.train()
    model(x)
    ops = [layer.last_ops.clone() for layer in model.layers]
    state = model.layers[0].generator.get_state()
    soft_accuracy(model, x, y, mode="mixture")
    soft_accuracy(model, x, y)
    discrete_accuracy(model, x, y)
    assert model.training
    assert torch.equal(model.layers[0].generator.get_state(), state)
    assert all(layer.estimator == "gumbel_st" for layer in model.layers)
    assert all(torch.equal(layer.last_ops, o) for layer, o in zip(model.layers, ops))
    assert soft_accuracy(model, x, y, seed=3) == soft_accuracy(model, x, y, seed=3)


def test_evaluate_metrics_and_gap():
    model = build_model(10, 2, layers=2, width=20, estimator="soft", seed=0)
    x = bits(100, 10, 0)
    y = (x[:, 0] > 0).long()
    m = evaluate_metrics(model, x, y)
    assert m.gap == pytest.approx(m.soft_accuracy - m.discrete_accuracy)
    d = m.to_dict()
    json.dumps(d)
    assert d["num_gates"] == 40
    assert d["unused_gates"] == sum(d["unused_gates_per_layer"])
    assert d["discrete_accuracy"] == discrete_accuracy(model, x, y)
    # a netlist given by the caller is what the gate counts are taken from
    net = random_netlist(10, [20, 20], 2, seed=5)
    given = evaluate_metrics(model, x, y, netlist=net).to_dict()
    assert given["gate_histogram"] == gate_histogram(net).as_dict() != d["gate_histogram"]


def test_accuracy_errors():
    model = build_model(10, 2, layers=2, width=20, seed=0)
    with pytest.raises(ValueError, match=r"^got 5 inputs but 4 labels$"):
        discrete_accuracy(model, bits(5, 10, 0), torch.zeros(4))
    with pytest.raises(ValueError, match=r"^inputs must have shape \(n, 10\), not \(5, 9\)$"):
        discrete_accuracy(model, bits(5, 9, 0), torch.zeros(5))
    with pytest.raises(ValueError, match=r"^'mode' must be one of \('train', 'mixture'\), not 'soft'$"):
        soft_accuracy(model, bits(5, 10, 0), torch.zeros(5), mode="soft")


def test_soft_accuracy_with_per_sample_noise():
    model = build_model(10, 2, layers=2, width=20, estimator="gumbel_st", noise="sample", seed=0)
    x = bits(300, 10, 0)
    y = (x[:, 0] > 0).long()
    acc = soft_accuracy(model, x, y, batch_size=1000, seed=1)
    assert 0.0 <= acc <= 1.0
    assert acc == soft_accuracy(model, x, y, batch_size=1000, seed=1)
    with pytest.raises(ValueError, match=r"^'batch_size' must be a positive integer, not 0$"):
        soft_accuracy(model, x, y, batch_size=0)
