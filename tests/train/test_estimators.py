"""Gate estimators: values and gradients against the formulas written out, exact hard forwards,
and every estimator training a small network through the public API."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from lgn_hw.netlist import evaluate
from lgn_hw.train import ESTIMATORS, build_model, discrete_accuracy, gate_weights, table_probs, to_netlist
from lgn_hw.train.estimators import sample_gumbel, sample_logistic

from toy_training import parity_toy, train_parity_toy

pytestmark = pytest.mark.usefixtures("one_thread")



ALL = ["soft", "gumbel_soft", "st", "gumbel_st", "decoupled_st", "reinmax"]
HARD = ["st", "gumbel_st", "decoupled_st", "reinmax"]
TEMPS = dict(tau=1.5, tau_f=0.3, tau_b=2.5)


def gumbel(shape, seed, dtype=torch.float64):
    """Gumbel noise written out: G = -ln(-ln U), U from torch.rand with the same seed."""
    u = torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return -torch.log(-torch.log(u.clamp_min(torch.finfo(dtype).tiny)))


def onehot(z):
    return F.one_hot(z.argmax(-1), 16).to(z.dtype)


def expected(name, theta, g, tau, tau_f, tau_b):
    """The issue's formulas, in the textbook straight-through form ``hard - sg(soft) + soft``."""
    if name == "soft":
        return torch.softmax(theta / tau, -1)
    if name == "gumbel_soft":
        return torch.softmax((theta + g) / tau, -1)
    if name == "st":
        s = torch.softmax(theta / tau, -1)
        return onehot(theta) - s.detach() + s
    if name == "gumbel_st":
        s = torch.softmax((theta + g) / tau, -1)
        return onehot(theta + g) - s.detach() + s
    if name == "decoupled_st":
        s = torch.softmax(theta / tau_b, -1)
        return onehot(theta / tau_f + g) - s.detach() + s
    if name == "reinmax":
        pi0 = torch.softmax(theta, -1)
        d = onehot(theta + g)
        pi1 = (d + torch.softmax(theta / tau, -1)) / 2
        pi1 = torch.softmax((torch.log(pi1) - theta).detach() + theta, -1)
        pi2 = 2 * pi1 - pi0 / 2
        return pi2 - pi2.detach() + d
    raise AssertionError(name)


@pytest.mark.parametrize("temps", [TEMPS, dict(tau=1.0, tau_f=1.0, tau_b=1.0)], ids=["temps", "ones"])
@pytest.mark.parametrize("noise", ["neuron", "sample"])
@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("form", ["gate", "table"])
def test_values_and_gradients_match_the_formulas(form, name, noise, temps):
    """Gate weights (16 logits) and table entries (one logit each, see expected_table below)."""
    estimate, want, draw = {"gate": (gate_weights, expected, gumbel),
                            "table": (table_probs, expected_table, logistic)}[form]
    theta = (2 * torch.randn(7, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
             ).requires_grad_()
    batch = 3
    stochastic = ESTIMATORS[name].stochastic
    shape = (batch, 7, 16) if noise == "sample" and stochastic else (7, 16)
    v = torch.randn(shape, dtype=torch.float64)  # an arbitrary upstream gradient

    w = estimate(theta, name, noise=noise, batch_size=batch,
                 generator=torch.Generator().manual_seed(5), **temps)
    ((w * v).sum(-1) ** 2).sum().backward()  # nonlinear: the forward value matters too
    got_grad = theta.grad.clone()

    theta.grad = None
    ref = want(name, theta, draw(shape, 5) if stochastic else None, **temps)
    ((ref * v).sum(-1) ** 2).sum().backward()

    assert w.shape == shape
    torch.testing.assert_close(w, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(got_grad, theta.grad, rtol=1e-10, atol=1e-12)
    assert got_grad.abs().sum() > 0
    if ESTIMATORS[name].hard:
        # The forward value is exactly one-hot (table entries: exactly 0 or 1), not just close to it.
        assert torch.equal(w, onehot(w) if form == "gate" else w.round())


def test_estimators_differ_in_gradient():
    theta = torch.randn(4, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    v = torch.randn(4, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    grads = {}
    for name in ALL:
        t = theta.clone().requires_grad_(True)
        w = gate_weights(t, name, generator=torch.Generator().manual_seed(3), **TEMPS)
        ((w * v).sum(-1) ** 2).sum().backward()  # nonlinear: the forward value matters too
        grads[name] = t.grad
    for a, b in itertools.combinations(ALL, 2):
        assert not torch.allclose(grads[a], grads[b]), (a, b)


def test_neuron_noise_is_shared_and_sample_noise_is_not():
    theta = torch.zeros(50, 16)
    w = gate_weights(theta, "gumbel_st", noise="sample", batch_size=4, generator=torch.Generator().manual_seed(0))
    assert w.shape == (4, 50, 16)
    assert not torch.equal(w[0], w[1])
    w2 = gate_weights(theta, "gumbel_st", noise="neuron", batch_size=4, generator=torch.Generator().manual_seed(0))
    assert w2.shape == (50, 16)


def test_same_seed_same_noise_and_fresh_draws_differ():
    theta = torch.zeros(30, 16)
    g = torch.Generator().manual_seed(9)
    w1 = gate_weights(theta, "gumbel_soft", generator=torch.Generator().manual_seed(9))
    w2 = gate_weights(theta, "gumbel_soft", generator=g)
    w3 = gate_weights(theta, "gumbel_soft", generator=g)
    assert torch.equal(w1, w2)
    assert not torch.equal(w2, w3)


def test_reinmax_sample_follows_softmax_theta():
    theta = torch.tensor([2.0, 1.0, 0.0, -1.0] + [-30.0] * 12)
    d = gate_weights(theta.expand(20000, 16), "reinmax", tau=1.0,
                     generator=torch.Generator().manual_seed(0))
    freq = d.mean(0)
    torch.testing.assert_close(freq, torch.softmax(theta, -1), atol=0.015, rtol=0)


@pytest.mark.parametrize("name", ALL)
def test_eval_mode_is_argmax_and_draws_no_noise(name):
    theta = torch.randn(6, 16, generator=torch.Generator().manual_seed(4))
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    w = gate_weights(theta, name, training=False, generator=g, noise="sample", batch_size=2, **TEMPS)
    assert torch.equal(w, onehot(theta))
    assert torch.equal(g.get_state(), state)


def test_errors():
    theta = torch.zeros(2, 16)
    with pytest.raises(ValueError, match=r"^'estimator' must be one of .*, not 'hard'$"):
        gate_weights(theta, "hard")
    with pytest.raises(ValueError, match=r"^'tau' must be at least 1 for the reinmax estimator, not 0\.5$"):
        gate_weights(theta, "reinmax", tau=0.5)
    with pytest.raises(ValueError, match=r"^'tau_b' must be a positive finite number, not -1\.0$"):
        gate_weights(theta, "decoupled_st", tau_b=-1.0)
    with pytest.raises(ValueError, match=r"^'noise' must be one of \('neuron', 'sample'\), not 'batch'$"):
        gate_weights(theta, "gumbel_st", noise="batch")
    with pytest.raises(ValueError, match=r"^per-sample noise needs a positive 'batch_size', not None$"):
        gate_weights(theta, "gumbel_st", noise="sample")


def test_sample_gumbel_is_finite_and_has_gumbel_moments():
    g = sample_gumbel((200000,), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.isfinite(g).all()
    assert abs(g.mean().item() - 0.5772) < 0.01  # Euler-Mascheroni constant
    assert abs(g.var().item() - np.pi ** 2 / 6) < 0.03


def _bits(n, num_inputs, seed):
    return (torch.rand(n, num_inputs, generator=torch.Generator().manual_seed(seed)) < 0.5).float()


MIXED = dict(layer_kind=["lut", "gate", "lut"], k=[6, 2, 3])


@pytest.mark.parametrize("kinds", [{}, MIXED], ids=["gates", "mixed"])
@pytest.mark.parametrize("kernel", ["reference", "auto"])
@pytest.mark.parametrize("name", HARD)
def test_hard_training_forward_is_exactly_the_sampled_network(name, kernel, kinds):
    model = build_model(12, 3, layers=3, width=[40, 30, 24], estimator=name, tau=3.0, gate_tau=1.5,
                        seed=7, kernel=kernel, connections="unique", **kinds)
    model.train()
    x = _bits(200, 12, 1)
    for _ in range(2):  # two steps: two different samples for the stochastic estimators
        scores = model(x)
        ops = [layer.last_ops for layer in model.layers]
        res = evaluate(to_netlist(model, ops=ops), x.numpy())
        assert torch.equal(scores.detach(), torch.from_numpy(res.scores).float() / model.tau)
        assert torch.equal(scores.argmax(1), torch.from_numpy(res.classes))


@pytest.mark.parametrize("kinds", [{}, dict(layer_kind=["gate", "lut"], k=[2, 4])], ids=["gates", "mixed"])
@pytest.mark.parametrize("name", ["gumbel_st", "decoupled_st", "reinmax"])
def test_hard_training_forward_with_per_sample_noise(name, kinds):
    model = build_model(10, 2, layers=2, width=20, estimator=name, tau=2.0, gate_tau=1.0,
                        noise="sample", seed=3, **kinds)
    x = _bits(6, 10, 2)
    scores = model.train()(x).detach()
    assert model.layers[0].last_ops.shape == (6, 20)
    for i in range(len(x)):
        ops = [layer.last_ops[i] for layer in model.layers]
        res = evaluate(to_netlist(model, ops=ops), x[i:i + 1].numpy())
        assert torch.equal(scores[i:i + 1], torch.from_numpy(res.scores).float() / model.tau)


@pytest.mark.parametrize("name", ["soft", "gumbel_soft"])
def test_soft_training_forward_is_a_mixture(name):
    model = build_model(10, 2, layers=2, width=20, estimator=name, seed=3)
    out = model.layers(_bits(8, 10, 0))
    assert not torch.equal(out, out.round())
    assert model.layers[0].last_ops is None


@pytest.mark.parametrize("kernel", ["reference", "auto"])
@pytest.mark.parametrize("name", ALL)
def test_every_estimator_trains_a_small_network(name, kernel):
    model, losses = train_parity_toy(name, kernel, steps=150)
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])
    assert discrete_accuracy(model, *parity_toy()) >= 0.8


@pytest.mark.parametrize("name", ALL)
def test_every_estimator_trains_a_small_lut_network(name):
    model, losses = train_parity_toy(name, "auto", steps=100, layer_kind="lut", k=[4, 3])
    assert np.mean(losses[-10:]) < 0.8 * np.mean(losses[:10])
    assert discrete_accuracy(model, *parity_toy()) >= 0.8


# Every estimator on gates; LUT-3 layers (interpreted LUT tiles are slow) with one deterministic
# and one sampling estimator.
TRITON_RUNS = [(name, "gate") for name in ALL] + [("soft", "lut"), ("gumbel_st", "lut")]
_TRITON_SCRIPT = """
import json, torch
from toy_training import train_parity_toy
torch.set_num_threads(1)
print(json.dumps({name + "/" + kernel + "/" + kind: train_parity_toy(name, kernel, steps=8, layer_kind=kind, k=3)[1]
                  for name, kind in %r for kernel in ("reference", "triton")}))
""" % (TRITON_RUNS,)


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                    reason="triton is not installed: pip install lgn-hw[gpu]")
def test_every_estimator_trains_the_same_with_interpreted_triton():
    """kernel="triton" under TRITON_INTERPRET=1 (a fresh process: the variable must be set before
    the kernels are defined) follows the reference's training trajectory step for step, for gate
    and for LUT-3 networks."""
    env = dict(os.environ, TRITON_INTERPRET="1")
    proc = subprocess.run([sys.executable, "-c", _TRITON_SCRIPT], env=env, capture_output=True,
                          text=True, timeout=600, cwd=Path(__file__).parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, kind in TRITON_RUNS:
        ref, tri = out[f"{name}/reference/{kind}"], out[f"{name}/triton/{kind}"]
        np.testing.assert_allclose(tri, ref, rtol=0, atol=1e-4, err_msg=f"{name} {kind}")
        if not ESTIMATORS[name].stochastic:  # noisy ones need more steps to show it
            assert tri[-1] < tri[0], (name, kind)


# --- table entries (LUT nodes): the Bernoulli forms -------------------------------------------

def logistic(shape, seed, dtype=torch.float64):
    """Logistic noise written out: L = ln U - ln(1 - U), U from torch.rand with the same seed."""
    u = torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    u = u.clamp_min(torch.finfo(dtype).tiny)
    return torch.log(u) - torch.log(1 - u)


def expected_table(name, theta, noise, tau, tau_f, tau_b):
    """The table-entry formulas of the estimators module docstring, straight-through as
    ``hard - sg(soft) + soft``."""
    sig = torch.sigmoid
    if name == "soft":
        return sig(theta / tau)
    if name == "gumbel_soft":
        return sig((theta + noise) / tau)
    if name == "st":
        s = sig(theta / tau)
        return (theta > 0).double() - s.detach() + s
    if name == "gumbel_st":
        s = sig((theta + noise) / tau)
        return (theta + noise > 0).double() - s.detach() + s
    if name == "decoupled_st":
        s = sig(theta / tau_b)
        return (theta / tau_f + noise > 0).double() - s.detach() + s
    if name == "reinmax":
        pi0 = sig(theta)
        d = (theta + noise > 0).double()
        pi1 = (d + sig(theta / tau)) / 2
        pi1 = sig((torch.log(pi1 / (1 - pi1)) - theta).detach() + theta)
        pi2 = 2 * pi1 - pi0 / 2
        return pi2 - pi2.detach() + d
    raise AssertionError(name)


@pytest.mark.parametrize("name", ALL)
def test_table_estimators_are_the_two_class_gate_estimators(name):
    """An entry is a categorical over logits (0, theta): its class-1 weight, with Gumbel noise
    (G0, G1), equals the table estimator with logistic noise L = G1 - G0, in value and gradient."""
    theta = (3 * torch.randn(50, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
             ).requires_grad_()
    g = gumbel((50, 2), 2)
    v = torch.randn(50, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    est = ESTIMATORS[name]
    two = torch.stack([torch.zeros_like(theta), theta], -1)
    w = est.fn(two, g if est.stochastic else None, *TEMPS.values())[:, 1]
    (gw,) = torch.autograd.grad(((w * v) ** 2).sum(), theta)
    noise = g[:, 1] - g[:, 0] if est.stochastic else None
    p = est.table_fn(theta, noise, *TEMPS.values())
    (gp,) = torch.autograd.grad(((p * v) ** 2).sum(), theta)
    torch.testing.assert_close(p, w, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gp, gw, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ALL)
def test_table_eval_mode_is_the_sign_and_draws_no_noise(name):
    theta = torch.tensor([-1.0, 0.0, 1e-30, 2.0])
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    p = table_probs(theta, name, training=False, generator=g, noise="sample", batch_size=2, **TEMPS)
    assert p.tolist() == [0.0, 0.0, 1.0, 1.0]
    assert torch.equal(g.get_state(), state)


def test_sample_logistic_has_logistic_moments_and_samples_entries():
    noise = sample_logistic((200000,), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.isfinite(noise).all()
    assert abs(noise.mean().item()) < 0.02
    assert abs(noise.var().item() - np.pi ** 2 / 3) < 0.05
    theta = torch.tensor([1.5, 0.0, -2.0]).expand(20000, 3)
    d = table_probs(theta, "reinmax", generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(d.mean(0), torch.sigmoid(theta[0]), atol=0.015, rtol=0)


def test_table_errors():
    with pytest.raises(ValueError, match=r"^'estimator' must be one of .*, not 'hard'$"):
        table_probs(torch.zeros(3), "hard")
    with pytest.raises(ValueError, match=r"^per-sample noise needs a positive 'batch_size', not None$"):
        table_probs(torch.zeros(3), "gumbel_st", noise="sample")
