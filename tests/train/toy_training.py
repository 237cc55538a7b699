"""A tiny training run shared by the estimator tests, in process and in a fresh Triton-interpreter
process (which imports this file by name from its working directory, tests/train)."""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F


def parity_toy():
    """All 64 inputs of 6 bits, labelled by ``x0 xor x1`` (balanced: chance is 50 %)."""
    x = torch.tensor(list(itertools.product([0, 1], repeat=6)), dtype=torch.float32)
    return x, (x[:, 0].long() ^ x[:, 1].long())


def train_parity_toy(estimator, kernel, steps, **kinds):
    """Adam (lr 0.1) on the parity toy with a 2 x 32 network (``kinds``: ``layer_kind`` and ``k``
    of :func:`lgn_hw.train.build_model`; gates by default): the model and the loss per step."""
    from lgn_hw.train import build_model

    x, y = parity_toy()
    model = build_model(6, 2, layers=2, width=32, estimator=estimator, tau=4.0, seed=0,
                        kernel=kernel, connections="unique", **kinds)
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model, losses
