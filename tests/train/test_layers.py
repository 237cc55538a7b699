"""LogicLayer, GroupSum, connections, initialisation and the model builder."""

from __future__ import annotations

import copy
import io
import itertools
import math
from collections import Counter

import numpy as np
import pytest
import torch

from lgn_hw import gates
from lgn_hw.train import GroupSum, LogicLayer, LogicNet, LutLayer, build_model
from lgn_hw.train.layers import (random_connections, random_lut_connections, unique_connections,
                                 unique_lut_connections)

pytestmark = pytest.mark.usefixtures("one_thread")




def gen(seed):
    return torch.Generator().manual_seed(seed)


# -- connections ----------------------------------------------------------------

def test_random_connections_are_in_range_and_distinct():
    a, b = random_connections(7, 500, gen(0))
    assert a.dtype == b.dtype == torch.int64
    assert a.min() >= 0 and b.min() >= 0 and a.max() < 7 and b.max() < 7
    assert not (a == b).any()
    assert set(a.tolist()) == set(range(7)) == set(b.tolist())


@pytest.mark.parametrize("n,m", [(2, 1), (2, 3), (3, 3), (4, 6), (5, 2), (5, 3), (6, 15), (7, 21),
                                 (8, 5), (10, 45), (10, 46), (10, 200), (11, 4), (16, 100),
                                 (64, 32), (64, 33), (100, 1000), (300, 50)])
def test_unique_connections_guarantees(n, m):
    a, b = unique_connections(n, m, gen(n * 1000 + m))
    a, b = a.tolist(), b.tolist()
    assert len(a) == len(b) == m
    assert all(0 <= i < n for i in a + b)
    assert all(i != j for i, j in zip(a, b))
    pairs = Counter(frozenset(p) for p in zip(a, b))
    max_pairs = n * (n - 1) // 2
    assert max(pairs.values()) == math.ceil(m / max_pairs) if m > max_pairs else max(pairs.values()) == 1
    if 2 * m >= n:
        assert set(a) | set(b) == set(range(n))


@pytest.mark.parametrize("n,k", [(7, 1), (7, 3), (9, 2)])
def test_unique_connections_read_inputs_evenly(n, k):
    a, b = unique_connections(n, k * n, gen(1))
    uses = Counter(a.tolist() + b.tolist())
    assert set(uses.values()) == {2 * k}


def test_unique_connections_are_random_and_reproducible():
    a1, b1 = unique_connections(20, 30, gen(1))
    a2, b2 = unique_connections(20, 30, gen(1))
    a3, b3 = unique_connections(20, 30, gen(2))
    assert torch.equal(a1, a2) and torch.equal(b1, b2)
    assert not (torch.equal(a1, a3) and torch.equal(b1, b3))


def test_single_input_layer_reads_it_twice():
    for connections in ("random", "unique"):
        layer = LogicLayer(1, 3, connections=connections, generator=0)
        assert layer.idx_a.tolist() == layer.idx_b.tolist() == [0, 0, 0]


# -- the layer ----------------------------------------------------------------------

def test_indices_are_buffers_in_the_state_dict():
    layer = LogicLayer(10, 6, generator=0)
    sd = layer.state_dict()
    assert set(sd) == {"weights", "idx_a", "idx_b"}
    assert sd["idx_a"].dtype == torch.int64
    other = LogicLayer(10, 6, generator=1)
    assert not torch.equal(other.idx_a, layer.idx_a) or not torch.equal(other.idx_b, layer.idx_b)
    other.load_state_dict(sd)
    x = torch.rand(4, 10)
    assert torch.equal(other(x), layer(x))


def test_to_moves_buffers_and_keeps_indices_integer():
    layer = LogicLayer(10, 6, generator=0).to(torch.float64)
    assert layer.weights.dtype == torch.float64
    assert layer.gate_coeffs.dtype == torch.float64
    assert layer.idx_a.dtype == torch.int64
    assert layer(torch.rand(3, 10, dtype=torch.float64)).dtype == torch.float64


def test_seed_reproduces_and_differs():
    a, b, c = (LogicLayer(12, 8, generator=s) for s in (3, 3, 4))
    assert torch.equal(a.weights, b.weights) and torch.equal(a.idx_a, b.idx_a)
    assert not torch.equal(a.weights, c.weights)


def test_gaussian_init_statistics():
    w = LogicLayer(100, 2000, generator=0).weights.detach()
    assert abs(w.mean().item()) < 0.02
    assert abs(w.std().item() - 1.0) < 0.02


def test_residual_init_is_pass_through():
    layer = LogicLayer(10, 20, init="residual", estimator="soft", generator=0)
    assert (layer.ops() == gates.PASS_A).all()
    assert (torch.softmax(layer.weights, -1)[:, gates.PASS_A] > 0.9).all()
    x = (torch.rand(5, 10, generator=gen(0)) < 0.5).float()
    assert torch.equal(layer.eval()(x), x[:, layer.idx_a])


@pytest.mark.parametrize("name", ["soft", "gumbel_soft"])
def test_soft_output_is_the_truth_table_mixture(name):
    """On 0/1 inputs a neuron outputs sum_i w_i truth(i, a, b): checked from the truth table, not COEFFS."""
    layer = LogicLayer(5, 9, estimator=name, generator=0).double()
    x = torch.tensor(list(itertools.product([0, 1], repeat=5)), dtype=torch.float64)
    state = layer.generator.get_state()
    y = layer(x)
    layer.generator.set_state(state)
    w = layer.gate_weights().detach()  # the same draw as inside layer(x)
    table = torch.tensor([[gates.truth(op, a, b) for op in range(16)] for a in (0, 1) for b in (0, 1)],
                         dtype=torch.float64)  # (4 corners, 16 ops)
    a = x[:, layer.idx_a].long()
    b = x[:, layer.idx_b].long()
    expected = (table[2 * a + b] * w).sum(-1)
    torch.testing.assert_close(y, expected, rtol=1e-12, atol=1e-12)


def test_continuous_inputs_follow_the_relaxation():
    layer = LogicLayer(6, 10, generator=2).double()
    x = torch.rand(7, 6, dtype=torch.float64, generator=gen(1))
    w = torch.softmax(layer.weights.detach(), -1)
    a, b = x[:, layer.idx_a], x[:, layer.idx_b]
    expected = torch.zeros(7, 10, dtype=torch.float64)
    for op in range(16):
        c0, c1, c2, c3 = (float(c) for c in gates.COEFFS[op])
        expected += w[:, op] * (c0 + c1 * a + c2 * b + c3 * a * b)
    torch.testing.assert_close(layer(x), expected)


@pytest.mark.parametrize("make", [lambda **kw: LogicLayer(20, 30, **kw), lambda **kw: LutLayer(20, 30, 6, **kw)],
                         ids=["gate", "lut6"])
@pytest.mark.parametrize("name", ["soft", "gumbel_st", "reinmax"])
def test_kernels_agree_in_values_and_gradients(name, make):
    outs = {}
    for kernel in ("reference", "auto", "cpu"):
        layer = make(estimator=name, kernel=kernel, generator=5)
        x = torch.rand(9, 20, generator=gen(2), requires_grad=True)
        y = layer(x)
        (y * torch.arange(30.0)).sum().backward()
        outs[kernel] = (y.detach(), x.grad, layer.weights.grad)
    for kernel in ("auto", "cpu"):
        for got, ref in zip(outs[kernel], outs["reference"]):
            torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_per_sample_noise_gives_per_sample_gates():
    layer = LogicLayer(8, 12, estimator="gumbel_soft", noise="sample", generator=0)
    x = torch.rand(1, 8).expand(5, 8)
    y = layer(x)
    assert y.shape == (5, 12)
    assert not torch.allclose(y[0], y[1])
    y.sum().backward()
    assert layer.weights.grad.abs().sum() > 0


def test_layer_survives_deepcopy_and_save():
    layer = LogicLayer(8, 4, estimator="gumbel_st", generator=0)
    clone = copy.deepcopy(layer)
    x = torch.rand(3, 8)
    assert torch.equal(clone(x), layer(x))  # the generator state was copied too
    buf = io.BytesIO()
    torch.save(layer.state_dict(), buf)


@pytest.mark.parametrize("kwargs,exc,msg", [
    (dict(in_dim=0), ValueError, r"^'in_dim' must be a positive integer, not 0$"),
    (dict(out_dim=2.5), TypeError, r"^'out_dim' must be a positive integer, not 2\.5$"),
    (dict(connections="full"), ValueError, r"^'connections' must be one of \('random', 'unique', 'learned'\), not 'full'$"),
    (dict(init="zeros"), ValueError, r"^'init' must be one of \('gaussian', 'residual'\), not 'zeros'$"),
    (dict(kernel="cuda"), ValueError, r"^'kernel' must be one of .*, not 'cuda'$"),
    (dict(estimator="gumbel"), ValueError, r"^'estimator' must be one of .*, not 'gumbel'$"),
    (dict(estimator="reinmax", tau=0.5), ValueError, r"^'tau' must be at least 1 for the reinmax"),
    (dict(generator="seed"), TypeError, r"^'generator' must be a torch.Generator, an integer seed or None"),
])
def test_layer_errors(kwargs, exc, msg):
    args = dict(in_dim=4, out_dim=4)
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        LogicLayer(args.pop("in_dim"), args.pop("out_dim"), **args)


def test_layer_rejects_wrong_input_shape():
    with pytest.raises(ValueError, match=r"^LogicLayer expects input of shape \(batch, 4\), not \(2, 5\)$"):
        LogicLayer(4, 2, generator=0)(torch.zeros(2, 5))


# -- group sum and the model ----------------------------------------------------------

def test_group_sum():
    gs = GroupSum(3, tau=2.0)
    x = torch.tensor([[1.0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 0]])
    assert torch.equal(gs(x), torch.tensor([[0.5, 1.0, 1.0], [0.0, 0.5, 0.5]]))
    assert torch.equal(gs(x.t().contiguous().t()), gs(x))  # a transposed view works too
    with pytest.raises(ValueError, match=r"^GroupSum expects \(batch, k \* 4\) inputs, not \(2, 6\)$"):
        GroupSum(4)(x)
    with pytest.raises(ValueError, match=r"^'tau' must be a positive finite number, not 0$"):
        GroupSum(2, tau=0)


def test_build_model_structure():
    model = build_model(20, 4, layers=3, width=[30, 25, 16], estimator="decoupled_st", tau=3.0,
                        gate_tau=1.5, tau_f=0.2, tau_b=3.0, connections="unique", init="residual", seed=0)
    assert isinstance(model, LogicNet)
    assert model.widths == [30, 25, 16]
    assert (model.num_inputs, model.num_classes, model.tau) == (20, 4, 3.0)
    layer = model.layers[1]
    assert (layer.in_dim, layer.estimator, layer.tau, layer.tau_f, layer.tau_b) == (30, "decoupled_st", 1.5, 0.2, 3.0)
    assert model(torch.zeros(2, 20, dtype=torch.bool)).shape == (2, 4)


def test_build_model_config_rebuilds_the_model():
    model = build_model(12, 2, layers=2, width=10, estimator="gumbel_st", seed=None, generator=gen(3))
    again = build_model(**model.config)
    again.load_state_dict(model.state_dict())
    x = torch.rand(5, 12)
    assert torch.equal(again.eval()(x), model.eval()(x))


def test_one_generator_makes_the_whole_model_reproducible():
    m1, m2 = build_model(12, 2, layers=2, width=10, estimator="gumbel_st", seed=4), \
        build_model(12, 2, layers=2, width=10, estimator="gumbel_st", seed=4)
    x = torch.rand(5, 12)
    assert torch.equal(m1(x), m2(x))
    assert torch.equal(m1(x), m2(x))  # the training noise follows the same sequence


@pytest.mark.parametrize("kwargs,exc,msg", [
    (dict(width=[10, 9]), ValueError, r"^the last layer's width 9 is not a multiple of num_classes 2$"),
    (dict(width=[10]), ValueError, r"^'width' must give 2 widths \(one per layer\), not \[10\]$"),
    (dict(layers=0), ValueError, r"^'layers' must be a positive integer, not 0$"),
    (dict(seed=1, generator=gen(1)), ValueError, r"^give 'seed' or 'generator', not both$"),
    (dict(encoder={"type": "bits"}), ValueError, r"^must be an object with type 'features'"),
    (dict(encoder={"type": "features", "features": [{"kind": "bit"}]}), ValueError,
     r"^the encoder produces 1 bits but the network reads 8$"),
])
def test_build_model_errors(kwargs, exc, msg):
    args = dict(layers=2, width=10)
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        build_model(8, 2, **args)


def test_logicnet_checks_layer_chaining():
    with pytest.raises(ValueError, match=r"^layer 1 reads 5 values but layer 0 gives 6$"):
        LogicNet([LogicLayer(4, 6, generator=0), LogicLayer(5, 2, generator=0)], 2)
    with pytest.raises(TypeError, match=r"^'layers' must be a non-empty sequence of LogicLayer or LutLayer"):
        LogicNet([], 2)


def test_ops_are_argmax_of_the_logits():
    model = build_model(6, 2, layers=2, width=8, seed=0)
    for layer, ops in zip(model.layers, model.ops()):
        np.testing.assert_array_equal(ops, layer.weights.detach().argmax(-1).numpy())


# -- LUT layers -----------------------------------------------------------------------------

def entry_of(x, idx):
    """The contract's entry index of each node's input bits: input 0 is the most significant bit."""
    k = idx.shape[1]
    return (x[:, idx].long() << torch.arange(k - 1, -1, -1)).sum(-1)  # (batch, out_dim)


@pytest.mark.parametrize("n,m,k", [(2, 5, 2), (6, 40, 6), (9, 100, 4), (300, 50, 6), (3, 4, 6), (1, 3, 2)])
def test_random_lut_connections(n, m, k):
    idx = random_lut_connections(n, m, k, gen(n + m + k))
    assert idx.shape == (m, k) and idx.dtype == torch.int64
    assert idx.min() >= 0 and idx.max() < n
    for row in idx.tolist():
        assert len(set(row)) == min(n, k)
    assert torch.equal(idx, random_lut_connections(n, m, k, gen(n + m + k)))


def test_random_lut_connections_are_uniform_over_inputs_and_positions():
    idx = random_lut_connections(8, 4000, 3, gen(0))
    counts = torch.stack([torch.bincount(idx[:, i], minlength=8) for i in range(3)]).float()
    assert (counts - 500).abs().max() < 100  # 1500 draws per position over 8 inputs


@pytest.mark.parametrize("n,m,k", [(6, 1, 6), (7, 3, 6), (10, 7, 3), (64, 11, 6), (100, 1000, 6),
                                   (13, 40, 4), (5, 9, 2), (3, 4, 6)])
def test_unique_lut_connections_guarantees(n, m, k):
    idx = unique_lut_connections(n, m, k, gen(n * 100 + m + k))
    assert idx.shape == (m, k)
    assert idx.min() >= 0 and idx.max() < n
    if n >= k:
        assert all(len(set(row)) == k for row in idx.tolist())
    uses = torch.bincount(idx.reshape(-1), minlength=n)
    assert uses.max() - uses.min() <= 1
    if m * k >= n:
        assert uses.min() >= 1
        assert set(idx[: -(-n // k)].reshape(-1).tolist()) == set(range(n))


@pytest.mark.parametrize("k", range(2, 7))
def test_lut_residual_init_is_the_first_input(k):
    layer = LutLayer(12, 20, k, init="residual", connections="unique", generator=0)
    x = (torch.rand(30, 12, generator=gen(1)) < 0.5).float()
    assert torch.equal(layer.eval()(x), x[:, layer.idx[:, 0]])
    assert (layer.ops() == gates.lut_pass_through(k)).all()
    soft = layer.train()(x)
    assert (soft - x[:, layer.idx[:, 0]]).abs().max() < 0.1


@pytest.mark.parametrize("name", ["soft", "gumbel_soft"])
def test_lut_soft_output_on_bits_is_the_entry_value(name):
    layer = LutLayer(6, 9, 4, estimator=name, generator=0).double()
    x = torch.tensor(list(itertools.product([0, 1], repeat=6)), dtype=torch.float64)
    state = layer.generator.get_state()
    y = layer(x)
    layer.generator.set_state(state)
    p = layer.table_probs().detach()  # the same draw as inside layer(x)
    want = p[torch.arange(9), entry_of(x, layer.idx)]
    torch.testing.assert_close(y, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", ["st", "gumbel_st", "decoupled_st", "reinmax"])
@pytest.mark.parametrize("noise", ["neuron", "sample"])
def test_lut_hard_training_forward_is_the_sampled_table(name, noise):
    layer = LutLayer(10, 16, 5, estimator=name, noise=noise, generator=3)
    x = (torch.rand(7, 10, generator=gen(2)) < 0.5).float()
    for _ in range(2):
        y = layer(x)
        bits = layer.last_ops
        assert bits.dtype == torch.bool
        entries = entry_of(x, layer.idx)
        if noise == "sample" and name != "st":  # st draws no noise
            assert bits.shape == (7, 16, 32)
            want = bits[torch.arange(7)[:, None], torch.arange(16), entries]
        else:
            want = bits[torch.arange(16), entries]
        assert torch.equal(y, want.float())
    layer.eval()(x)
    assert layer.last_ops is None


def test_lut_ops_are_the_tables_of_the_positive_logits():
    layer = LutLayer(5, 3, 2, generator=0)
    with torch.no_grad():
        layer.weights.copy_(torch.tensor([[1.0, -1, 0, -2], [0, 0, 0, 3], [-1, 2, 1e-6, 0]]))
    assert layer.ops().dtype == np.uint64
    assert layer.ops().tolist() == [0b1000, 0b0001, 0b0110]
    layer = LutLayer(5, 2, 6, generator=0)
    with torch.no_grad():
        layer.weights.fill_(1.0)
    assert layer.ops().tolist() == [2**64 - 1] * 2


def test_lut_layer_state_dict_seed_and_deepcopy():
    layer = LutLayer(10, 6, 3, estimator="gumbel_st", generator=0)
    assert set(layer.state_dict()) == {"weights", "idx"}
    other = LutLayer(10, 6, 3, estimator="gumbel_st", generator=1)
    assert not torch.equal(other.idx, layer.idx)
    other.load_state_dict(layer.state_dict())
    x = torch.rand(4, 10)
    assert torch.equal(other.eval()(x), layer.eval()(x))
    layer.train()
    assert torch.equal(copy.deepcopy(layer)(x), layer(x))
    assert torch.equal(LutLayer(10, 6, 3, generator=4).weights, LutLayer(10, 6, 3, generator=4).weights)


@pytest.mark.parametrize("kwargs,exc,msg", [
    (dict(k=7), ValueError, r"^'k' must be an integer in 2\.\.6, not 7$"),
    (dict(k=True), ValueError, r"^'k' must be an integer in 2\.\.6, not True$"),
    (dict(in_dim=0), ValueError, r"^'in_dim' must be a positive integer, not 0$"),
    (dict(connections="full"), ValueError, r"^'connections' must be one of \('random', 'unique', 'learned'\), not 'full'$"),
    (dict(init="zeros"), ValueError, r"^'init' must be one of \('gaussian', 'residual'\), not 'zeros'$"),
    (dict(estimator="gumbel"), ValueError, r"^'estimator' must be one of .*, not 'gumbel'$"),
])
def test_lut_layer_errors(kwargs, exc, msg):
    args = dict(in_dim=4, out_dim=4, k=3)
    args.update(kwargs)
    with pytest.raises(exc, match=msg):
        LutLayer(args.pop("in_dim"), args.pop("out_dim"), args.pop("k"), **args)
    with pytest.raises(ValueError, match=r"^LutLayer expects input of shape \(batch, 4\), not \(2, 5\)$"):
        LutLayer(4, 2, 3, generator=0)(torch.zeros(2, 5))


def test_build_mixed_model():
    model = build_model(20, 4, layers=3, width=[30, 24, 16], layer_kind=["gate", "lut", "lut"], k=[2, 6, 4],
                        estimator="gumbel_st", init="residual", seed=0)
    assert model.kinds == ["gate", "lut", "lut"]
    assert [getattr(layer, "k", 2) for layer in model.layers] == [2, 6, 4]
    again = build_model(**model.config)
    again.load_state_dict(model.state_dict())
    x = (torch.rand(5, 20, generator=gen(0)) < 0.5).float()
    assert torch.equal(again.eval()(x), model.eval()(x))
    model.train()(x).sum().backward()
    assert all(layer.weights.grad is not None for layer in model.layers)
    lut = build_model(20, 4, layers=2, width=8, layer_kind="lut", k=3, seed=0)
    assert lut.kinds == ["lut", "lut"] and lut.layers[1].k == 3


@pytest.mark.parametrize("kwargs,msg", [
    (dict(layer_kind="mux"), r"^'layer_kind' must be one of gate, lut, not 'mux'$"),
    (dict(layer_kind=["lut"]), r"^'layer_kind' lists 1 kinds but 'layers' is 2$"),
    (dict(layer_kind="lut", k=1), r"^'k' must be an integer in 2\.\.6 or a list of them, not 1$"),
    (dict(layer_kind="lut", k=[6]), r"^'k' lists 1 values but 'layers' is 2$"),
    (dict(layer_kind=["gate", "lut"], k=[6, 6]), r"^layer 0 is a gate layer: its 'k' must be 2, not 6$"),
])
def test_build_model_layer_kind_errors(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        build_model(8, 2, layers=2, width=10, **kwargs)
