"""Discretization: a trained :class:`~lgn_hw.train.LogicNet` becomes a :class:`~lgn_hw.netlist.Netlist`.

Each neuron keeps its connections and takes its argmax gate (lowest op code
on ties, as ``torch.argmax``); each LUT node keeps its inputs and takes the
table of its positive entry logits (``theta_j > 0``, bit ``2^k - 1 - j`` of the
integer, ``lgn_hw.gates.lut_from_entries``). That is exactly the network the
model computes in evaluation mode: on 0/1 inputs ``model.eval()(x) * tau``
equals ``lgn_hw.netlist.evaluate(netlist, x).scores``.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from .. import gates
from ..netlist import Layer, LutLayer, Netlist
from .layers import GroupSum
from .model import LogicNet, _encoder_dict

__all__ = ["to_netlist"]


def to_netlist(model: LogicNet, *, encoder=None, metadata=None, ops=None) -> Netlist:
    """The netlist (DESIGN.md section 2) of ``model``'s discrete network.

    ``model`` is a :class:`LogicNet` or, as difflogic code builds it, a
    ``torch.nn.Sequential`` of logic layers ending in a :class:`GroupSum`
    (a leading ``nn.Flatten`` is allowed).
    ``encoder`` (an :class:`lgn_hw.data.Encoder` or its dict) overrides the
    one the model carries. ``metadata`` is merged over ``{"source":
    "lgn_hw.train", "estimator": ...}``. ``ops`` (one array per layer, for
    example every layer's ``last_ops`` after a training-mode forward) replaces
    the argmax gates and the tables: that is the network a hard estimator
    sampled. A gate layer's array holds op codes ``(width,)``; a LUT layer's
    holds tables ``(width,)`` or table entries ``(width, 2^k)`` of 0/1 (as
    ``last_ops``).
    """
    if isinstance(model, nn.Sequential):
        model = _from_sequential(model)
    if not isinstance(model, LogicNet):
        raise TypeError(f"to_netlist expects a LogicNet or a Sequential ending in GroupSum, "
                        f"not {type(model).__name__}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"'metadata' must be a dict or None, not {metadata!r:.60}")
    if ops is None:
        ops = model.ops()
    else:
        ops = [np.asarray(o.detach().cpu() if hasattr(o, "detach") else o) for o in ops]
        if len(ops) != len(model.layers):
            raise ValueError(f"'ops' must hold one array per layer ({len(model.layers)}), not {len(ops)}")
        ops = [_layer_ops(i, o, layer) for i, (o, layer) in enumerate(zip(ops, model.layers))]
    layers = [_netlist_layer(layer, o) for layer, o in zip(model.layers, ops)]
    estimators = sorted({layer.estimator for layer in model.layers})
    meta = {"source": "lgn_hw.train",
            "estimator": estimators[0] if len(estimators) == 1 else estimators}
    meta.update(metadata or {})
    enc = _encoder_dict(encoder) if encoder is not None else model.encoder
    return Netlist(model.num_inputs, tuple(layers), model.num_classes, model.tau, enc, meta)


def _from_sequential(seq: nn.Sequential) -> LogicNet:
    """A :class:`LogicNet` sharing the layers of ``Sequential([Flatten,] layer, ..., GroupSum(k, tau))``."""
    mods = list(seq)
    if mods and isinstance(mods[0], nn.Flatten):
        mods = mods[1:]
    if len(mods) < 2 or not isinstance(mods[-1], GroupSum):
        last = type(mods[-1]).__name__ if mods else "nothing"
        raise TypeError(f"to_netlist expects a Sequential of logic layers ending in GroupSum(k, tau), "
                        f"not one ending in {last}")
    return LogicNet(mods[:-1], mods[-1].num_classes, mods[-1].tau)


def _layer_ops(i, o, layer):
    """``ops[i]`` as the op codes or tables of ``layer``, or a ValueError naming its shape."""
    if layer.kind == "lut" and o.shape == (layer.out_dim, 1 << layer.k):
        return gates.lut_from_entries(o.astype(np.uint8))
    if o.shape != (layer.out_dim,):
        extra = f" or ({layer.out_dim}, {1 << layer.k})" if layer.kind == "lut" else ""
        raise ValueError(f"ops[{i}] must have shape ({layer.out_dim},){extra}, not {o.shape}")
    return o.astype(np.uint64) if layer.kind == "lut" else o.astype(np.int64)


def _netlist_layer(layer, ops):
    if layer.kind == "lut":
        return LutLayer(layer.k, layer.inputs().detach().cpu().numpy(), ops)
    return Layer(layer.idx_a.detach().cpu().numpy(), layer.idx_b.detach().cpu().numpy(), ops)
