"""Import trained networks from difflogic and torchlogix checkpoints, without those packages.

Only saved tensors are read (``torch.load(..., weights_only=True)``): nothing in
the file is executed, and neither package nor its compiled extension is needed.

**difflogic** (``difflogic.LogicLayer`` / ``GroupSum``): each layer has ``weights``,
logits of shape ``(out_dim, 16)`` whose argmax is the gate (difflogic's gate
order is this project's op code, DESIGN.md section 1), and connection
``indices`` ``(a, b)``, two index tensors of length ``out_dim``. difflogic keeps
``indices`` as a plain attribute, not a buffer, so ``model.state_dict()`` lacks
them: save them beside the weights under ``"<layer>.indices"``, e.g.::

    sd = model.state_dict()
    for name, m in model.named_modules():
        if hasattr(m, "indices"):
            sd[f"{name}.indices"] = torch.stack(m.indices)
    torch.save({"state_dict": sd, "num_classes": 10, "tau": 100.0}, "model.pt")

**torchlogix** (``LogicDense`` with ``lut_rank=2``): each layer has ``weight``,
either raw logits ``(out_dim, 16)`` (argmax = op), Walsh coefficients
``(out_dim, 4)`` on the basis ``[1, B, A, AB]`` with ``A = 1-2a``, ``B = 1-2b`` (the
gate outputs 1 where the sum is negative) or "light" coefficients ``(out_dim, 4)``
(entry ``j`` > 0 sets truth-table row ``j``; rows ordered (a,b) = 00, 01, 10, 11).
Connections are ``connections.indices`` (or ``indices``) of shape ``(2, out_dim)``.
A 4-column weight needs ``parametrization="walsh"`` or ``"light"``.

The checkpoint is a state dict, or a dict holding one under ``state_dict``,
``model_state_dict`` or ``model``, optionally with ``num_classes``, ``tau`` and
``num_inputs`` beside it. Layers are taken in the order of their key paths
(numbers compared as numbers).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from .. import gates
from .model import Layer, Netlist, NetlistError

__all__ = ["SOURCES", "load_checkpoint", "from_difflogic", "from_torchlogix", "import_model"]

log = logging.getLogger(__name__)

SOURCES = ("difflogic", "torchlogix")
PARAMETRIZATIONS = ("raw", "walsh", "light")
_TORCHLOGIX_INDICES = ("connections.indices", "indices")


def load_checkpoint(path) -> dict:
    """The tensors saved in ``path`` (never executing anything from it)."""
    import pickle

    import torch

    path = Path(path)
    if not path.is_file():
        raise NetlistError(f"{path}: no such model file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, KeyError, IndexError,
            TypeError, AttributeError, UnicodeDecodeError) as exc:  # a text file gives KeyError or IndexError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NetlistError(
            f"{path}: cannot read as saved tensors ({first[:120]}); save model.state_dict() "
            "(with the connection indices) rather than the pickled model") from None
    if not isinstance(data, dict):
        raise NetlistError(f"{path}: expected a dict of tensors, got {type(data).__name__}")
    return data


def _split(checkpoint):
    """(state dict, extras) of a checkpoint dict."""
    if not isinstance(checkpoint, dict):
        raise TypeError(f"checkpoint must be a dict, not {type(checkpoint).__name__}")
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(checkpoint.get(key), dict):
            extras = {k: v for k, v in checkpoint.items() if k != key}
            return checkpoint[key], extras
    return checkpoint, checkpoint


def _path_key(prefix: str):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in prefix.split(".") if p]


def _option(name, given, extras, state, default=None):
    if given is not None:
        return given
    for source in (extras, state):
        if name in source:
            value = source[name]
            if hasattr(value, "item"):
                if getattr(value, "ndim", 0) != 0 and int(np.prod(getattr(value, "shape", ()))) != 1:
                    raise NetlistError(f"{name}: must be one number, got shape {tuple(value.shape)}")
                value = value.item()
            if isinstance(value, bool) or (value is not None and not isinstance(value, (int, float))):
                raise NetlistError(f"{name}: must be a number, got {str(value)[:40]!r}")
            return value
    return default


def _indices(state, prefix, names, out_dim):
    for name in names:
        key = prefix + name
        if key in state:
            value = state[key]
            if isinstance(value, (tuple, list)):
                if len(value) != 2:
                    raise NetlistError(f"{key}: expected two index tensors (a, b), got {len(value)}")
                a, b = (np.asarray(v).reshape(-1) for v in value)
            else:
                arr = np.asarray(value)
                if arr.ndim != 2 or arr.shape[0] != 2:
                    raise NetlistError(f"{key}: expected shape (2, {out_dim}), got {tuple(arr.shape)}")
                a, b = arr[0], arr[1]
            if len(a) != out_dim or len(b) != out_dim:
                raise NetlistError(f"{key}: expected {out_dim} connections per input, got {len(a)} and {len(b)}")
            if not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)):
                raise NetlistError(f"{key}: connection indices must be integers, got {a.dtype}")
            for which, arr in (("a", a), ("b", b)):
                if len(arr) and int(arr.min()) < 0:
                    j = int(np.flatnonzero(arr < 0)[0])
                    raise NetlistError(f"{key}: connection index {which}[{j}] is {int(arr[j])}; indices "
                                       "must not be negative")
            return a.astype(np.int64), b.astype(np.int64)
    raise NetlistError(f"{prefix + names[0]}: missing connection indices for layer {prefix.rstrip('.')!r} "
                       "(they are not in a difflogic state_dict; save them beside the weights)")


def _build(layers, extras, state, *, num_classes, tau, num_inputs, source) -> Netlist:
    if not layers:
        raise NetlistError(f"no {source} logic layers found in the checkpoint")
    num_classes = _option("num_classes", num_classes, extras, state)
    if num_classes is None:
        raise NetlistError("num_classes: not in the checkpoint; pass it (GroupSum's k)")
    tau = _option("tau", tau, extras, state, 1.0)
    first = layers[0]
    inferred = int(max(first.a.max(), first.b.max())) + 1
    if num_inputs is None and "num_inputs" not in extras and "num_inputs" not in state:
        log.info("num_inputs %d inferred from the first layer's connections", inferred)
    num_inputs = _option("num_inputs", num_inputs, extras, state, inferred)
    if isinstance(num_inputs, float) and num_inputs.is_integer():
        num_inputs = int(num_inputs)
    if isinstance(num_classes, float) and num_classes.is_integer():
        num_classes = int(num_classes)
    return Netlist(num_inputs, tuple(layers), num_classes, tau, None,
                   {"source": source, "imported_layers": len(layers)})


def _find(state, leaf, columns, indices=None):
    """``(prefix, weight)`` of the logic layers, in key-path order: every entry named ``leaf``
    (beside one of the ``indices`` entries, if given). A layer's weight of another shape than
    ``(out_dim, c)`` for ``c`` in ``columns`` is an error, never a layer silently left out."""
    found = []
    for key, value in state.items():
        if not isinstance(key, str) or key.rsplit(".", 1)[-1] != leaf:
            continue
        prefix = key[: -len(leaf)]
        if indices is not None and not any(prefix + name in state for name in indices):
            continue  # some other module's weight
        shape = tuple(getattr(value, "shape", ()))
        dtype = str(getattr(value, "dtype", ""))
        if "bool" in dtype or "complex" in dtype:
            raise NetlistError(f"{key}: a logic layer's weight must hold real numbers, not {dtype}")
        if not (len(shape) == 2 and shape[1] in columns):
            raise NetlistError(f"{key}: a logic layer's weight must have shape (out_dim, "
                               f"{' or '.join(map(str, columns))}), got {shape if shape else type(value).__name__}")
        found.append((prefix, value))
    return sorted(found, key=lambda kv: _path_key(kv[0]))


def from_difflogic(checkpoint: dict, *, num_classes=None, tau=None, num_inputs=None) -> Netlist:
    """A netlist from a difflogic checkpoint dict (see the module docstring)."""
    import torch

    state, extras = _split(checkpoint)
    layers = []
    for prefix, weights in _find(state, "weights", (16,)):
        op = torch.as_tensor(weights).argmax(-1).numpy()  # eval mode: one_hot(argmax)
        a, b = _indices(state, prefix, ("indices",), len(op))
        layers.append(Layer(a, b, op))
    return _build(layers, extras, state, num_classes=num_classes, tau=tau, num_inputs=num_inputs,
                  source="difflogic")


def _walsh_ops(weight):
    import torch

    w = torch.as_tensor(weight, dtype=torch.float32)
    rows = []  # the gate outputs 1 where the Walsh sum is negative
    for a, b in ((0, 0), (0, 1), (1, 0), (1, 1)):
        A, B = 1 - 2 * a, 1 - 2 * b
        rows.append(w[:, 0] + w[:, 1] * B + w[:, 2] * A + w[:, 3] * (A * B) < 0)
    return gates.op_from_table(torch.stack(rows, dim=1).numpy())


def _light_ops(weight):
    import torch

    return gates.op_from_table((torch.as_tensor(weight) > 0).numpy())


def from_torchlogix(checkpoint: dict, *, parametrization=None, num_classes=None, tau=None,
                    num_inputs=None) -> Netlist:
    """A netlist from a torchlogix checkpoint dict of dense layers (see the module docstring)."""
    import torch

    if parametrization is not None and parametrization not in PARAMETRIZATIONS:
        raise ValueError(f"parametrization must be one of {', '.join(PARAMETRIZATIONS)}, "
                         f"not {parametrization!r}")
    state, extras = _split(checkpoint)
    layers = []
    for prefix, weight in _find(state, "weight", (16, 4), _TORCHLOGIX_INDICES):
        cols = weight.shape[1]
        kind = parametrization or ("raw" if cols == 16 else None)
        if kind is None:
            raise NetlistError(f"{prefix}weight: 4 columns (lut_rank 2 basis coefficients); "
                               "say whether the parametrization is 'walsh' or 'light'")
        if (kind == "raw") != (cols == 16):
            raise NetlistError(f"{prefix}weight: shape {tuple(weight.shape)} does not fit "
                               f"parametrization {kind!r}")
        if kind == "raw":
            op = torch.as_tensor(weight).argmax(-1).numpy()
        elif kind == "walsh":
            op = _walsh_ops(weight)
        else:
            op = _light_ops(weight)
        a, b = _indices(state, prefix, _TORCHLOGIX_INDICES, len(op))
        layers.append(Layer(a, b, op))
    return _build(layers, extras, state, num_classes=num_classes, tau=tau, num_inputs=num_inputs,
                  source="torchlogix")


def import_model(path, source: str, **options) -> Netlist:
    """Read a checkpoint file from ``source`` ('difflogic' or 'torchlogix') as a netlist."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    checkpoint = load_checkpoint(path)
    if source == "difflogic":
        options.pop("parametrization", None)
        net = from_difflogic(checkpoint, **options)
    else:
        net = from_torchlogix(checkpoint, **options)
    net.metadata["imported_from"] = Path(path).name
    return net
