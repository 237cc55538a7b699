"""The usual logic-gate network: input bits -> L logic layers (gates or LUTs, mixed at will) -> group sum."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .config import layer_plan
from .layers import NODE_LAYERS, GroupSum, LogicLayer, LutLayer, make_generator

__all__ = ["LogicNet", "build_model"]


def _encoder_dict(encoder):
    """An encoder as its file dict (``lgn_hw.data.encoding`` schema), validated; None stays None."""
    if encoder is None:
        return None
    from ..data.encoding import Encoder

    if isinstance(encoder, Encoder):
        return encoder.to_dict()
    if isinstance(encoder, dict):
        Encoder.from_dict(encoder)  # raises ValueError naming the bad part
        return encoder
    raise TypeError(f"'encoder' must be an Encoder, its dict form or None, not {encoder!r:.60}")


class LogicNet(nn.Module):
    """A stack of :class:`LogicLayer` and :class:`LutLayer` (``.layers``) followed by a
    :class:`GroupSum` (``.group_sum``).

    ``forward`` maps ``(batch, num_inputs)`` values in ``[0, 1]`` (or 0/1
    integers/booleans) to class scores ``(batch, num_classes)``. The network
    records ``num_inputs``, ``num_classes``, ``tau`` and optionally an
    ``encoder`` dict, which :func:`lgn_hw.train.to_netlist` carries into the
    netlist; ``config`` holds the :func:`build_model` arguments when it was
    built there, so ``build_model(**net.config)`` plus ``load_state_dict``
    rebuilds it.
    """

    def __init__(self, layers, num_classes: int, tau: float = 1.0, *, encoder=None, config=None):
        super().__init__()
        layers = list(layers)
        if not layers or not all(isinstance(layer, NODE_LAYERS) for layer in layers):
            raise TypeError(f"'layers' must be a non-empty sequence of LogicLayer or LutLayer, "
                            f"not {layers!r:.80}")
        for i in range(1, len(layers)):
            if layers[i].in_dim != layers[i - 1].out_dim:
                raise ValueError(f"layer {i} reads {layers[i].in_dim} values but layer {i - 1} "
                                 f"gives {layers[i - 1].out_dim}")
        self.layers = nn.Sequential(*layers)
        self.group_sum = GroupSum(num_classes, tau)
        if layers[-1].out_dim % self.group_sum.num_classes:
            raise ValueError(f"the last layer's width {layers[-1].out_dim} is not a multiple of "
                             f"num_classes {num_classes}")
        self.encoder = _encoder_dict(encoder)
        if self.encoder is not None:
            from ..data.encoding import Encoder

            bits = Encoder.from_dict(self.encoder).num_bits
            if bits != self.num_inputs:
                raise ValueError(f"the encoder produces {bits} bits but the network reads {self.num_inputs}")
        self.config = dict(config) if config is not None else None

    @property
    def num_inputs(self) -> int:
        return self.layers[0].in_dim

    @property
    def num_classes(self) -> int:
        return self.group_sum.num_classes

    @property
    def tau(self) -> float:
        return self.group_sum.tau

    @property
    def widths(self) -> list[int]:
        return [layer.out_dim for layer in self.layers]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.num_inputs:
            raise ValueError(f"LogicNet expects input of shape (batch, {self.num_inputs}), not {tuple(x.shape)}")
        if not x.is_floating_point():
            x = x.to(self.layers[0].weights.dtype)
        return self.group_sum(self.layers(x))

    @property
    def kinds(self) -> list[str]:
        """``"gate"`` or ``"lut"`` per layer."""
        return [layer.kind for layer in self.layers]

    def logic_cost(self) -> torch.Tensor:
        """The fraction of gate-layer neurons expected to cost logic (see ``LogicLayer.logic_cost``).

        The training loss adds ``free_weight`` times this. LUT layers have no
        such term (a table that ignores inputs is still one LUT), so a network
        without gate layers costs 0.
        """
        gate_layers = [layer for layer in self.layers if layer.kind == "gate"]
        if not gate_layers:
            return self.layers[0].weights.new_zeros(())
        return sum(layer.logic_cost() for layer in gate_layers) / sum(layer.out_dim for layer in gate_layers)

    def ops(self) -> list[np.ndarray]:
        """The discrete network's op codes (gate layers) and tables (LUT layers), one array per layer."""
        return [layer.ops() for layer in self.layers]


def build_model(num_inputs: int, num_classes: int, *, layers: int, width, estimator: str = "soft",
                tau: float = 1.0, gate_tau: float = 1.0, tau_f: float = 0.1, tau_b: float = 2.0,
                noise: str = "neuron", connections: str = "random", init: str = "gaussian",
                kernel: str = "auto", layer_kind="gate", k=6, encoder=None, seed=None,
                generator=None) -> LogicNet:
    """Build ``num_inputs`` bits -> ``layers`` logic layers -> ``GroupSum(num_classes, tau)``.

    ``layer_kind`` (``"gate"``, ``"lut"`` or one per layer) and ``k`` (inputs
    per LUT node, 2..6, or one per layer) choose :class:`LogicLayer` or
    :class:`LutLayer` per layer (:func:`lgn_hw.train.config.layer_plan`).

    ``width`` is one int for every layer or a sequence of ``layers`` ints; the
    last must be a multiple of ``num_classes``. ``tau`` is the group-sum
    temperature (the netlist's ``tau``); ``gate_tau``, ``tau_f``, ``tau_b`` and
    ``noise`` configure the estimator (``gate_tau`` is its ``tau``). All
    randomness (connections, initial logits, training noise) comes from one
    generator: ``generator``, else one seeded with ``seed``.
    """
    num_layers = layers
    if isinstance(num_layers, bool) or not isinstance(num_layers, (int, np.integer)) or num_layers < 1:
        raise ValueError(f"'layers' must be a positive integer, not {num_layers!r}")
    if isinstance(width, (int, np.integer)) and not isinstance(width, bool):
        widths = [int(width)] * int(num_layers)
    else:
        try:
            widths = [int(w) if not isinstance(w, bool) else w for w in width]
        except TypeError:
            raise TypeError(f"'width' must be an int or a sequence of ints, not {width!r}") from None
        if len(widths) != num_layers:
            raise ValueError(f"'width' must give {num_layers} widths (one per layer), not {list(width)!r}")
    if generator is not None and seed is not None:
        raise ValueError("give 'seed' or 'generator', not both")
    plan = layer_plan(int(num_layers), layer_kind, k)
    gen = make_generator(generator if generator is not None else seed)
    config = dict(num_inputs=num_inputs, num_classes=num_classes, layers=num_layers, width=width,
                  estimator=estimator, tau=tau, gate_tau=gate_tau, tau_f=tau_f, tau_b=tau_b,
                  noise=noise, connections=connections, init=init, kernel=kernel,
                  layer_kind=layer_kind, k=k, seed=seed)
    common = dict(connections=connections, init=init, estimator=estimator, tau=gate_tau, tau_f=tau_f,
                  tau_b=tau_b, noise=noise, kernel=kernel, generator=gen)
    built, prev = [], num_inputs
    for w, (kind, inputs) in zip(widths, plan):
        built.append(LogicLayer(prev, w, **common) if kind == "gate" else LutLayer(prev, w, inputs, **common))
        prev = w
    net = LogicNet(built, num_classes, tau, encoder=encoder, config=config)
    net.config["encoder"] = net.encoder
    return net
