"""Training stage: logic layers, gate estimators, discretization to netlists, metrics.

Typical use::

    from lgn_hw.train import build_model, to_netlist, evaluate_metrics

    model = build_model(num_inputs, num_classes, layers=4, width=2000,
                        estimator="gumbel_st", tau=10.0, seed=0)
    ...  # train with any torch optimizer
    netlist = to_netlist(model)  # the discrete network, for every later stage
"""

from .discretize import to_netlist
from .estimators import ESTIMATORS, Estimator, gate_weights, sample_gumbel
from .layers import GroupSum, LogicLayer, make_generator, override_noise
from .metrics import (
    GateHistogram,
    Metrics,
    UnusedGates,
    discrete_accuracy,
    evaluate_metrics,
    gate_histogram,
    perplexity,
    soft_accuracy,
    unused_gates,
)
from .model import LogicNet, build_model

__all__ = [
    "LogicLayer", "GroupSum", "LogicNet", "build_model", "make_generator", "override_noise",
    "ESTIMATORS", "Estimator", "gate_weights", "sample_gumbel",
    "to_netlist",
    "soft_accuracy", "discrete_accuracy", "unused_gates", "UnusedGates",
    "gate_histogram", "GateHistogram", "perplexity", "evaluate_metrics", "Metrics",
]

# Other modules of this stage append their exports below this line (e.g. the trainer).
from .config import ConfigError, TrainConfig, load_config  # noqa: E402
from .trainer import TrainResult, Trainer, train  # noqa: E402
__all__ += ["Trainer", "TrainResult", "train", "TrainConfig", "ConfigError", "load_config"]
