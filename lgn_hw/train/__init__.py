"""Training stage: logic layers (gates and k-input LUTs), estimators, discretization to netlists, metrics.

Typical use::

    from lgn_hw.train import build_model, to_netlist, evaluate_metrics

    model = build_model(num_inputs, num_classes, layers=4, width=2000,
                        estimator="gumbel_st", tau=10.0, seed=0)
    ...  # train with any torch optimizer
    netlist = to_netlist(model)  # the discrete network, for every later stage
"""

from importlib import import_module

#: public name -> the module of this stage that defines it
_EXPORTS = {
    "to_netlist": "discretize",
    "ESTIMATORS": "estimators", "Estimator": "estimators", "gate_weights": "estimators",
    "sample_gumbel": "estimators", "sample_logistic": "estimators", "table_probs": "estimators",
    "GroupSum": "layers", "LogicLayer": "layers", "LutLayer": "layers", "make_generator": "layers",
    "override_noise": "layers",
    "GateHistogram": "metrics", "Metrics": "metrics", "UnusedGates": "metrics",
    "discrete_accuracy": "metrics", "evaluate_metrics": "metrics", "gate_histogram": "metrics",
    "perplexity": "metrics", "soft_accuracy": "metrics", "unused_gates": "metrics",
    "LogicNet": "model", "build_model": "model",
    "ConfigError": "config", "TrainConfig": "config", "load_config": "config", "layer_plan": "config",
    "TrainResult": "trainer", "Trainer": "trainer", "train": "trainer",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    # Imported on first use, so that torch-free parts (config, presets) and the CLI's
    # parsers load without torch (about 1 s).
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
