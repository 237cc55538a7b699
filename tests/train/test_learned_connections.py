"""Learned connections: each LUT input slot learns which input it reads (straight-through over the choice)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lgn_hw.netlist import evaluate
from lgn_hw.train import LutLayer, TrainConfig, build_model, to_netlist
from lgn_hw.train.config import ConfigError
from lgn_hw.train.kernels import choose_slots, choose_slots_reference, lut_op_reference

pytestmark = pytest.mark.usefixtures("one_thread")


def bits(n, d, seed):
    return (torch.rand(n, d, generator=torch.Generator().manual_seed(seed)) < 0.5).float()


def test_the_discrete_inputs_are_the_argmax_of_each_slot():
    layer = LutLayer(20, 7, 3, connections="learned", generator=0)
    assert layer.map_logits.shape == (21, 20)
    start = layer.idx.clone()
    assert torch.equal(layer.inputs(), start)  # the starting connections win the first argmax
    with torch.no_grad():
        layer.map_logits[4, 11] = 10.0  # node 1, slot 1 now reads input 11
    want = start.clone()
    want[1, 1] = 11
    assert torch.equal(layer.inputs(), want)
    x = bits(40, 20, 1)
    table = layer.table_probs()
    torch.testing.assert_close(layer.eval()(x), lut_op_reference(x, want, (layer.weights > 0).float()))
    assert table.shape == (7, 8)


def test_training_forward_is_the_chosen_inputs_and_the_logits_get_the_straight_through_gradient():
    torch.manual_seed(0)
    layer = LutLayer(12, 5, 4, connections="learned", generator=3).double()
    with torch.no_grad():
        layer.map_logits.normal_()  # away from the start, so that several inputs have weight
    x = bits(9, 12, 2).double().requires_grad_()
    out = layer(x)
    idx = layer.inputs()
    p = layer.table_probs().detach()
    torch.testing.assert_close(out, lut_op_reference(x.detach(), idx, p))
    up = torch.randn_like(out)
    (out * up).sum().backward()
    # written out: g = d loss / d slot value at the chosen inputs; the logits get
    # d/dW sum(g * softmax(W) @ x), the inputs get g at the input each slot reads.
    slots = x.detach()[:, idx.reshape(-1)].clone().requires_grad_()
    (lut_op_reference(slots, torch.arange(20).reshape(5, 4), p) * up).sum().backward()
    g = slots.grad
    w = layer.map_logits.detach().clone().requires_grad_()
    ((x.detach() @ torch.softmax(w, dim=-1).t()) * g).sum().backward()
    torch.testing.assert_close(layer.map_logits.grad, w.grad)
    want_x = torch.zeros_like(x).index_add_(1, idx.reshape(-1), g)
    torch.testing.assert_close(x.grad, want_x)


def fit(layer, x, y, steps=100, seed=0):
    """Minibatch training of one node on ``y`` (binary cross-entropy), then the node's discrete output."""
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    for _ in range(steps):
        b = torch.randint(0, len(x), (64,), generator=g)
        loss = torch.nn.functional.binary_cross_entropy(layer(x[b])[:, 0].clamp(1e-6, 1 - 1e-6), y[b])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return layer.eval()(x)[:, 0]


def test_a_slot_finds_the_input_the_target_depends_on():
    x = bits(2048, 16, 5)
    y = 1 - x[:, 3]  # NOT input 3; 15 distractors, 3 slots per node
    learned = [torch.equal(fit(LutLayer(16, 1, 3, connections="learned", generator=s), x, y, seed=s), y)
               for s in range(6)]
    fixed = [torch.equal(fit(LutLayer(16, 1, 3, connections="random", generator=s), x, y, seed=s), y)
             for s in range(6)]
    assert sum(learned) == 6  # measured 8 of 8 seeds
    assert sum(fixed) <= 2  # only where the random connections hold input 3 (1 of 8 seeds)


def test_the_netlist_reads_the_learned_inputs_and_matches_the_model(tmp_path):
    model = build_model(24, 3, layers=2, width=[30, 12], layer_kind="lut", k=[6, 3], connections="learned",
                        tau=2.0, seed=1)
    opt = torch.optim.Adam(model.parameters(), lr=0.5)
    x = bits(64, 24, 7)
    for _ in range(3):  # big steps: many slots move to another input
        loss = model(x).logsumexp(-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    moved = [(layer.inputs() != layer.idx).sum() for layer in model.layers]  # idx follows inputs()
    assert moved == [0, 0]
    netlist = to_netlist(model)
    for layer, nl in zip(model.layers, netlist.layers):
        assert np.array_equal(nl.inputs, layer.map_logits.argmax(-1).reshape(layer.out_dim, layer.k).numpy())
    model.eval()
    got = evaluate(netlist, x.numpy().astype(np.uint8)).scores
    torch.testing.assert_close(torch.as_tensor(got, dtype=torch.float32), model(x).detach() * model.tau)


def test_state_dict_carries_the_choice():
    layer = LutLayer(10, 4, 3, connections="learned", generator=0)
    with torch.no_grad():
        layer.map_logits[0, 7] = 5.0
    other = LutLayer(10, 4, 3, connections="learned", generator=1)
    other.load_state_dict(layer.state_dict())
    assert torch.equal(other.inputs(), layer.inputs())
    assert set(layer.state_dict()) == {"weights", "idx", "map_logits"}


def test_learned_connections_are_for_lut_layers():
    with pytest.raises(ConfigError, match=r"^'connections' = 'learned' is for LUT layers, and layer 1 is a gate "
                                          r"layer \(give 'layer_kind' = 'lut'\)$"):
        TrainConfig(layers=2, layer_kind=["lut", "gate"], k=[6, 2], connections="learned")
    with pytest.raises(ConfigError, match=r"^'connections' must be one of random, unique, learned, not 'best'$"):
        TrainConfig(connections="best")
    with pytest.raises(ValueError, match=r"^'connections' = 'learned' is for LUT layers"):
        build_model(8, 2, layers=1, width=4, connections="learned")


# --- the slot choice as one autograd function, against the written-out formula ---------------------

def slot_case(batch, in_dim, slots, feature_major, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(in_dim, batch, generator=g, dtype=dtype).t() if feature_major else \
        torch.rand(batch, in_dim, generator=g, dtype=dtype)
    logits = torch.randn(slots, in_dim, generator=g, dtype=dtype)
    logits[::3, 0] = logits[::3].max(1).values + 1  # many slots read input 0: sums in the scatter
    up = torch.randn(slots, batch, generator=g, dtype=dtype).t()  # feature-major, as the LUT op's backward
    return x, logits, logits.argmax(1), up


def slot_grads(fn, x, logits, idx, up):
    x = x.detach().clone().requires_grad_()
    logits = logits.clone().requires_grad_()
    out = fn(x, logits, idx)
    out.backward(up)
    return out, x.grad, logits.grad


@pytest.mark.parametrize("batch", [1, 37, 64, 130])
@pytest.mark.parametrize("feature_major", [False, True], ids=["row-major", "feature-major"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_choose_slots_is_the_written_out_formula(batch, feature_major, dtype):
    x, logits, idx, up = slot_case(batch, 300, 120, feature_major, dtype=dtype)
    out, gx, glogits = slot_grads(choose_slots, x, logits, idx, up)
    ref_out, ref_gx, ref_glogits = slot_grads(choose_slots_reference, x, logits, idx, up)
    assert torch.equal(out, ref_out)  # the chosen inputs, exactly
    assert torch.equal(glogits, ref_glogits)  # the same ATen calls on the same operands
    torch.testing.assert_close(gx, ref_gx)  # the reference sums in a varying order
    # ... and in slot order exactly as a serial scatter does
    assert torch.equal(gx, torch.zeros(300, batch, dtype=dtype).index_add_(0, idx, up.t()).t())


@pytest.mark.parametrize("threads", [1, 2])
def test_choose_slots_is_deterministic_for_a_thread_setting(threads):
    # the preset's second layer: the reference's scatter of the inputs' gradient varies here
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        grads = [slot_grads(choose_slots, *slot_case(64, 1000, 1200, True)) for _ in range(4)]
    finally:
        torch.set_num_threads(before)
    for other in grads[1:]:
        assert all(torch.equal(a, b) for a, b in zip(grads[0], other))


def test_the_layer_trains_its_logits_without_a_gradient_for_x():
    layer = LutLayer(30, 4, 3, connections="learned", generator=1)
    layer(bits(5, 30, 0)).sum().backward()
    assert layer.map_logits.grad is not None and layer.map_logits.grad.abs().sum() > 0
