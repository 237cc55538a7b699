"""Training configuration: one dataclass, readable from a TOML file, overridable field by field.

Precedence: the defaults below, then a TOML file (``[train]`` table or top
level), then explicit overrides (the command line). Unknown keys and values of
the wrong type are errors that name the key.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from .. import check_seed

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

__all__ = ["TrainConfig", "load_config", "ConfigError", "OPTIMIZERS", "SCHEDULES", "LAYER_KINDS",
           "CONNECTIONS", "layer_plan"]

#: the largest config file read: a few dozen settings, or a width list of 10^5 layers, fit
MAX_CONFIG_BYTES = 2**20
OPTIMIZERS = ("adam", "adamw")
SCHEDULES = ("constant", "cosine")
#: what a layer is made of: 2-input gates (LogicLayer) or k-input tables (LutLayer)
LAYER_KINDS = ("gate", "lut")
#: how nodes pick their inputs (:mod:`lgn_hw.train.layers`); "learned" is for LUT layers only
CONNECTIONS = ("random", "unique", "learned")


class ConfigError(ValueError):
    """A configuration file or value is wrong; the message names the key."""


def layer_plan(layers: int, layer_kind="gate", k=6) -> list[tuple[str, int]]:
    """``(kind, inputs per node)`` of each of ``layers`` layers; raises :class:`ConfigError`.

    ``layer_kind``: one of :data:`LAYER_KINDS` for every layer, or a list with
    one per layer. ``k`` (2..6): the inputs of every LUT node, or a list with
    one per layer, where a gate layer's entry must be 2 (a gate is a 2-input
    node).
    """
    kinds = layer_kind if isinstance(layer_kind, (list, tuple)) else [layer_kind] * layers
    if len(kinds) != layers:
        raise ConfigError(f"'layer_kind' lists {len(kinds)} kinds but 'layers' is {layers}")
    for kind in kinds:
        if kind not in LAYER_KINDS:
            raise ConfigError(f"'layer_kind' must be one of {', '.join(LAYER_KINDS)}, not {kind!r}")
    per_layer = isinstance(k, (list, tuple))
    ks = list(k) if per_layer else [k] * layers
    if len(ks) != layers:
        raise ConfigError(f"'k' lists {len(ks)} values but 'layers' is {layers}")
    for v in ks:
        if isinstance(v, bool) or not isinstance(v, int) or not 2 <= v <= 6:
            raise ConfigError(f"'k' must be an integer in 2..6 or a list of them, not {v!r}")
    plan = []
    for i, (kind, v) in enumerate(zip(kinds, ks)):
        if kind == "gate" and per_layer and v != 2:
            raise ConfigError(f"layer {i} is a gate layer: its 'k' must be 2, not {v}")
        plan.append((kind, 2 if kind == "gate" else v))
    return plan


@dataclass
class TrainConfig:
    """Everything that defines a training run (and nothing about where it is written)."""

    # data
    dataset: str = "digits"
    data_dir: str | None = None
    data: str | None = None             # a CSV or NPZ file of the user's own (replaces dataset)
    label: str | None = None            # CSV label column (default the last)
    test: str | None = None             # separate test file for ``data``
    levels: int | None = None           # thermometer thresholds per feature (dataset default if None)
    thresholds: str | None = None       # "uniform", "quantile" or "aligned" (dataset default if None)
    split_seed: int = 0
    # model
    layers: int = 4
    width: int | list = 4000
    estimator: str = "soft"
    tau: float | None = None            # group-sum temperature; None: sqrt(outputs per class)
    gate_tau: float = 1.0
    tau_f: float = 0.1
    tau_b: float = 2.0
    noise: str = "neuron"
    connections: str = "random"
    init: str = "gaussian"
    kernel: str = "auto"
    layer_kind: str | list = "gate"     # "gate" or "lut", or one per layer
    k: int | list = 6                   # inputs per LUT node (2..6), or one per layer
    # optimisation
    optimizer: str = "adam"
    lr: float = 0.01
    weight_decay: float = 0.0
    free_weight: float = 0.0            # loss += free_weight * fraction of gates expected to cost logic
    shift: int = 0                      # training images moved by up to this many pixels (28 x 28 datasets)
    schedule: str = "constant"
    batch_size: int = 128
    epochs: int = 50
    seed: int = 0
    eval_batch_size: int = 4096
    device: str = "auto"

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), f.type)
        for name in ("layers", "batch_size", "epochs", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"'{name}' must be at least 1, not {getattr(self, name)!r}")
        for name in ("lr", "gate_tau", "tau_f", "tau_b") + (("tau",) if self.tau is not None else ()):
            v = getattr(self, name)
            if not (v > 0 and math.isfinite(v)):
                raise ConfigError(f"'{name}' must be a positive finite number, not {v!r}")
        if not 0 <= self.shift <= 4:
            raise ConfigError(f"'shift' must be 0..4 pixels, not {self.shift!r}")
        for name in ("seed", "split_seed"):
            try:
                check_seed(getattr(self, name), name)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        for name in ("weight_decay", "free_weight"):
            v = getattr(self, name)
            if not (v >= 0 and math.isfinite(v)):
                raise ConfigError(f"'{name}' must be a non-negative finite number, not {v!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"'optimizer' must be one of {', '.join(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"'schedule' must be one of {', '.join(SCHEDULES)}, not {self.schedule!r}")
        widths = self.width if isinstance(self.width, list) else [self.width]
        if any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise ConfigError(f"'width' must be a positive integer or a list of them, not {self.width!r}")
        if self.data is None and (self.test is not None or self.label is not None):
            raise ConfigError(f"'{'test' if self.test is not None else 'label'}' goes with 'data' "
                              "(a CSV or NPZ file); built-in datasets have their own splits")
        if isinstance(self.width, list) and len(self.width) != self.layers:
            raise ConfigError(f"'width' lists {len(self.width)} widths but 'layers' is {self.layers}")
        plan = layer_plan(self.layers, self.layer_kind, self.k)
        if self.connections not in CONNECTIONS:
            raise ConfigError(f"'connections' must be one of {', '.join(CONNECTIONS)}, not {self.connections!r}")
        gate_layers = [i for i, (kind, _) in enumerate(plan) if kind == "gate"]
        if self.connections == "learned" and gate_layers:
            raise ConfigError(f"'connections' = 'learned' is for LUT layers, and layer {gate_layers[0]} is a gate "
                              "layer (give 'layer_kind' = 'lut')")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "TrainConfig":
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)})
        if unknown:
            raise ConfigError(f"unknown configuration key {unknown[0]!r}")
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: dict, *, where: str = "config") -> "TrainConfig":
        if not isinstance(data, dict):
            raise ConfigError(f"{where}: must be a table of settings, not {data!r:.60}")
        _check_keys(data, where)
        try:
            return cls(**data)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None


def _check_keys(data: dict, where) -> None:
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(known))})")


_TYPES = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,), "list": (list,)}


def _check_type(name, value, annotation):
    parts = [p.strip() for p in str(annotation).split("|")]
    if value is None:
        if "None" in parts:
            return
        raise ConfigError(f"'{name}' must not be empty")
    allowed = tuple(t for p in parts if p in _TYPES for t in _TYPES[p])
    if isinstance(value, bool) and bool not in allowed:
        raise ConfigError(f"'{name}' must be {' or '.join(p for p in parts if p != 'None')}, not {value!r}")
    if not isinstance(value, allowed):
        raise ConfigError(f"'{name}' must be {' or '.join(p for p in parts if p != 'None')}, not {value!r}")


def _toml_problem(exc, text: str) -> str:
    """tomllib's message, naming the key when it is one given twice (tomllib says only where)."""
    import re

    message = str(exc)
    m = re.match(r"Cannot overwrite a value \(at line (\d+),", message)
    if m:
        lines = text.splitlines()
        n = int(m.group(1))
        key = re.match(r"\s*([^=]+?)\s*=", lines[n - 1]) if 0 < n <= len(lines) else None
        if key:
            return f"duplicate key {key.group(1)!r} at line {n}"
    return message


def load_config(path) -> dict:
    """Read a TOML file into a dict of settings (a ``[train]`` table, or the top level).

    Keys are checked against :class:`TrainConfig`; values are checked when the
    dict is turned into a config.
    """
    from ..netlist.model import PathError, read_limited

    path = Path(path)
    try:
        text = read_limited(path, MAX_CONFIG_BYTES, "config").decode("utf-8")
        data = tomllib.loads(text)
    except (FileNotFoundError, PathError) as exc:
        raise ConfigError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({_toml_problem(exc, text)})") from None
    if "train" in data:
        extra = sorted(set(data) - {"train"})
        if extra:
            raise ConfigError(f"{path}: unknown key {extra[0]!r} beside the [train] table")
        data = data["train"]
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [train] must be a table")
    _check_keys(data, path)
    return data
