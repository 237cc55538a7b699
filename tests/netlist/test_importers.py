"""Importers: models built in difflogic's and torchlogix's documented tensor layouts predict the same.

The expected predictions come from a direct torch implementation of each
library's eval-mode forward, written here from their documentation (the
real-valued gate formulas as the source libraries list them), not from
lgn_hw.gates: that is what makes the test able to catch an ordering mismatch.
"""

from __future__ import annotations

import pytest
import torch

from lgn_hw.cli import main
from lgn_hw.netlist import NetlistError, evaluate, load
from lgn_hw.netlist.importers import from_difflogic, from_torchlogix, import_model


# difflogic's / torchlogix's documented op list, index = op id.
def _source_ops(a, b):
    return torch.stack([
        torch.zeros_like(a), a * b, a - a * b, a, b - a * b, b, a + b - 2 * a * b, a + b - a * b,
        1 - (a + b - a * b), 1 - (a + b - 2 * a * b), 1 - b, 1 - b + a * b, 1 - a, 1 - a + a * b,
        1 - a * b, torch.ones_like(a),
    ], dim=-1)


def _group_sum(x, k, tau):
    return x.reshape(*x.shape[:-1], k, x.shape[-1] // k).sum(-1) / tau


def _random_layers(gen, num_inputs, widths, columns):
    layers, prev = [], num_inputs
    for w in widths:
        a = torch.randint(0, prev, (w,), generator=gen)
        b = torch.randint(0, prev, (w,), generator=gen)
        weights = torch.randn(w, columns, generator=gen)
        layers.append((weights, a, b))
        prev = w
    return layers


def difflogic_forward(layers, x, k, tau):
    """difflogic eval: a = x[..., idx0], b = x[..., idx1]; one_hot(argmax) over the 16 ops."""
    for weights, ia, ib in layers:
        w = torch.nn.functional.one_hot(weights.argmax(-1), 16).to(torch.float32)
        x = (_source_ops(x[..., ia], x[..., ib]) * w).sum(-1)
    return _group_sum(x, k, tau)


def torchlogix_forward(layers, x, k, tau, kind):
    for weight, ia, ib in layers:
        a, b = x[:, ia], x[:, ib]
        if kind == "raw":
            w = torch.nn.functional.one_hot(weight.argmax(-1), 16).to(torch.float32)
            x = (_source_ops(a, b) * w).sum(-1)
        elif kind == "walsh":
            A, B = 1 - 2 * a, 1 - 2 * b
            basis = torch.stack([torch.ones_like(A), B, A, A * B], dim=-1)
            x = (-(basis * weight).sum(-1) > 0).to(torch.float32)
        else:  # light
            wb = (weight > 0).to(torch.float32)
            basis = torch.stack([(1 - a) * (1 - b), (1 - a) * b, a * (1 - b), a * b], dim=-1)
            x = (basis * wb).sum(-1)
    return _group_sum(x, k, tau)


def _inputs(gen, n, num_inputs):
    return torch.randint(0, 2, (n, num_inputs), generator=gen).to(torch.float32)


def _check_same(net, expected, x, tau):
    result = evaluate(net, x.numpy().astype("uint8"))
    assert torch.equal(torch.as_tensor(result.scores, dtype=torch.float32) / tau, expected)
    assert torch.equal(torch.as_tensor(result.classes), expected.argmax(-1))


@pytest.mark.parametrize("seed", range(3))
def test_difflogic_state_dict_imports_with_identical_predictions(seed, tmp_path):
    gen = torch.Generator().manual_seed(seed)
    num_inputs, widths, k, tau = 20, [64, 48, 30], 3, 10.0
    layers = _random_layers(gen, num_inputs, widths, 16)
    # torch.nn.Sequential(Flatten, LogicLayer, LogicLayer, LogicLayer, GroupSum) keys, plus indices.
    sd = {}
    for i, (w, a, b) in enumerate(layers, start=1):
        sd[f"{i}.weights"] = w
        sd[f"{i}.indices"] = (a, b) if seed % 2 else torch.stack([a, b])
    path = tmp_path / "model.pt"
    torch.save({"state_dict": sd, "num_classes": k, "tau": tau, "num_inputs": num_inputs}, path)
    net = import_model(path, "difflogic")
    assert (net.num_inputs, net.num_classes, net.tau, net.widths) == (num_inputs, k, tau, widths)
    x = _inputs(gen, 500, num_inputs)
    _check_same(net, difflogic_forward(layers, x, k, tau), x, tau)


def test_difflogic_layers_are_ordered_numerically():
    gen = torch.Generator().manual_seed(5)
    layers = _random_layers(gen, 8, [16] * 11 + [4], 16)
    sd = {}
    for i, (w, a, b) in enumerate(layers):
        sd[f"{i}.weights"] = w
        sd[f"{i}.indices"] = torch.stack([a, b])
    net = from_difflogic(sd, num_classes=2, num_inputs=8)
    x = _inputs(gen, 200, 8)
    _check_same(net, difflogic_forward(layers, x, 2, 1.0), x, 1.0)


@pytest.mark.parametrize("kind,columns", [("raw", 16), ("walsh", 4), ("light", 4)])
def test_torchlogix_dense_model_imports_with_identical_predictions(kind, columns, tmp_path, capsys):
    gen = torch.Generator().manual_seed(7)
    num_inputs, widths, k, tau = 16, [40, 40, 20], 2, 3.0
    layers = _random_layers(gen, num_inputs, widths, columns)
    sd = {}
    for i, (w, a, b) in enumerate(layers):
        sd[f"model.{i}.weight"] = w
        sd[f"model.{i}.connections.indices"] = torch.stack([a, b])
    path = tmp_path / "tl.pt"
    torch.save(sd, path)
    out = tmp_path / "tl.lgn.json"
    argv = ["import", "--from", "torchlogix", str(path), str(out), "--classes", str(k),
            "--tau", str(tau), "--inputs", str(num_inputs)]
    if kind != "raw":
        argv += ["--parametrization", kind]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("wrote")
    net = load(out)
    x = _inputs(gen, 500, num_inputs)
    _check_same(net, torchlogix_forward(layers, x, k, tau, kind), x, tau)


def test_torchlogix_four_columns_need_a_parametrization():
    gen = torch.Generator().manual_seed(1)
    (w, a, b), = _random_layers(gen, 4, [4], 4)
    with pytest.raises(NetlistError, match=r"^0\.weight: 4 columns"):
        from_torchlogix({"0.weight": w, "0.indices": torch.stack([a, b])}, num_classes=2)


def test_missing_pieces_are_named():
    gen = torch.Generator().manual_seed(1)
    (w, a, b), = _random_layers(gen, 4, [4], 16)
    with pytest.raises(NetlistError, match=r"^1\.indices: missing connection indices"):
        from_difflogic({"1.weights": w}, num_classes=2)
    with pytest.raises(NetlistError, match=r"^num_classes: not in the checkpoint"):
        from_difflogic({"1.weights": w, "1.indices": (a, b)})
    with pytest.raises(NetlistError, match=r"^no difflogic logic layers"):
        from_difflogic({"x": torch.zeros(3)}, num_classes=2)
    with pytest.raises(NetlistError, match=r"index must be in 0\.\.1"):
        from_difflogic({"1.weights": w, "1.indices": (a, b)}, num_classes=2, num_inputs=2)


def test_cli_rejects_a_pickled_model_in_one_line(tmp_path, capsys):
    path = tmp_path / "pickled.pt"
    torch.save(torch.nn.Sequential(torch.nn.Linear(2, 2)), path)
    assert main(["import", "--from", "difflogic", str(path), str(tmp_path / "o.lgn.json"),
                 "--classes", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "state_dict" in err
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert main(["import", "--from", "torchlogix", str(tmp_path / "junk.pt"), str(tmp_path / "o.json")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
