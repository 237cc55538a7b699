"""The one-pass CPU Adam: the same parameters and state, to the bit, as torch.optim's."""

from __future__ import annotations

import copy
import math

import pytest
import torch

import lgn_hw.train.optim as optim
from lgn_hw.train.optim import Adam, AdamW


@pytest.fixture
def fast_path(monkeypatch):
    """Counts the steps that ran the extension's pass (and fails if it does not build)."""
    ext = optim._extension()
    assert ext is not None, "the CPU extension must build wherever there is a C++ compiler"
    calls = []
    monkeypatch.setattr(optim, "_extension", lambda: calls.append(1) or ext)
    return calls


def run(cls, dtype=torch.float32, steps=12, **options):
    g = torch.Generator().manual_seed(1)
    p = torch.nn.Parameter(torch.randn(300, 77, generator=g, dtype=dtype))  # not a multiple of any block
    q = torch.nn.Parameter(torch.randn(13, generator=g, dtype=dtype))
    opt = cls([p, q], lr=0.02, **options)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(s / 5)))
    for i in range(steps):
        p.grad = torch.randn(p.shape, generator=g, dtype=dtype) * 0.01
        p.grad[0, :5] = 0
        q.grad = None if i == 3 else torch.randn(q.shape, generator=g, dtype=dtype)
        opt.step()
        sched.step()
    return [p.detach(), q.detach()], opt.state_dict()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.01}, {"betas": (0.3, 0.99)}, {"eps": 1e-3}])
@pytest.mark.parametrize("ours, torchs", [(Adam, torch.optim.Adam), (AdamW, torch.optim.AdamW)])
def test_the_step_is_torchs_to_the_bit(fast_path, ours, torchs, options, dtype):
    got, got_state = run(ours, dtype, **options)
    want, want_state = run(torchs, dtype, **options)
    assert fast_path
    for a, b in zip(got, want):
        assert torch.equal(a, b)
    for key in want_state["state"]:
        for name, value in want_state["state"][key].items():
            assert torch.equal(got_state["state"][key][name], value), name
            assert got_state["state"][key][name].dtype == value.dtype, name


def test_other_settings_take_torchs_step(fast_path):
    got, _ = run(Adam, amsgrad=True)
    want, _ = run(torch.optim.Adam, amsgrad=True)
    assert not fast_path
    assert all(torch.equal(a, b) for a, b in zip(got, want))


def test_a_checkpoint_moves_between_the_two(fast_path):
    params = [torch.nn.Parameter(torch.linspace(-1, 1, 50)) for _ in range(2)]
    ours, theirs = Adam([params[0]], lr=0.1), torch.optim.Adam([params[1]], lr=0.1)
    params[1].grad = torch.linspace(0, 0.5, 50)
    theirs.step()
    with torch.no_grad():
        params[0].copy_(params[1])
    ours.load_state_dict(copy.deepcopy(theirs.state_dict()))  # (load_state_dict shares "step")
    for p in params:
        p.grad = torch.linspace(0.3, -0.25, 50)
    ours.step()
    theirs.step()
    assert fast_path
    assert ours.state[params[0]]["step"].item() == 2
    assert torch.equal(params[0].detach(), params[1].detach())
