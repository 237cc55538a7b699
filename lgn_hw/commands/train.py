"""``lgn-hw train``: train a logic-gate network and write its best netlist (one call to :func:`lgn_hw.train.train`)."""

from __future__ import annotations

import argparse

from ..cli import UsageError, seed

_INT_LIST = "N or N,N,..."


def _width(text):
    try:
        parts = [int(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer or comma-separated integers, not {text!r}") from None
    return parts[0] if len(parts) == 1 else parts


def _kinds(text):
    from ..train.config import LAYER_KINDS

    parts = text.split(",")
    bad = [p for p in parts if p not in LAYER_KINDS]
    if bad:
        raise argparse.ArgumentTypeError(f"must be {' or '.join(LAYER_KINDS)} or a comma-separated list of them, "
                                f"not {bad[0]!r}")
    return parts[0] if len(parts) == 1 else parts


def register(sub):
    from ..data import DATASETS
    from ..train.config import CONNECTIONS, OPTIMIZERS, SCHEDULES
    from ..data.encoding import METHODS  # numpy only
    from ..train.presets import DATASET_PRESETS, ESTIMATOR_DEFAULTS, PRESET_SIZES  # torch-free; keys = ESTIMATORS (tested)

    p = sub.add_parser(
        "train", help="train a logic-gate network on a dataset",
        description="Train a differentiable logic-gate network and write the netlist with the best "
        "discrete validation accuracy (OUT/best.lgn.json), metrics.jsonl, plots and a checkpoint "
        "after every epoch. Settings come from the dataset's measured preset when it has one "
        "(--no-preset: the plain defaults), then the chosen "
        "estimator's own defaults for what is not given (gumbel_st and reinmax: --init residual "
        "--lr 0.1; with the plain defaults they stay at chance), then --config, then the flags. "
        "Ctrl-C saves a checkpoint; --resume continues exactly where the run stopped. Under "
        "torchrun (torchrun --nproc_per_node N -m lgn_hw train ...) it trains data-parallel.")
    p.add_argument("--dataset", help=f"one of {', '.join(DATASETS)} (parity/majority as parity:N); default digits")
    p.add_argument("--data", metavar="PATH",
                   help="your own data instead of --dataset: a CSV file with a header (numeric columns "
                   "thermometer-coded, text columns one-hot) or an NPZ file with x_train, y_train "
                   "(optional x_val, y_val, x_test, y_test)")
    p.add_argument("--label", metavar="NAME", help="the label column of a --data CSV file (default the last)")
    p.add_argument("--test", metavar="PATH", help="a separate test file for --data (same kind)")
    p.add_argument("--out", required=True, help="output directory of the run")
    p.add_argument("--config", help="TOML file of settings (a [train] table or top-level keys named like the flags)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the previous run in --out (its files are deleted); without it, or "
                   "--resume, a folder holding a run is refused")
    p.add_argument("--preset", nargs="?", const=True, default=None, metavar="SIZE",
                   help="start from the measured configuration of --dataset; the default for the datasets "
                   f"that have one ({', '.join(DATASET_PRESETS)}). mnist has sizes (--preset "
                   f"{'|'.join(PRESET_SIZES['mnist'])}, default medium), points of the accuracy-per-LUT "
                   "frontier; on the official MNIST (60,000 training images) its epochs are fewer")
    p.add_argument("--no-preset", dest="preset", action="store_false", help="start from the plain defaults")
    p.add_argument("--data-dir", help="directory with MNIST / Fashion-MNIST / CIFAR-10 files")
    p.add_argument("--levels", type=int, help="thermometer thresholds per feature (dataset default "
                   "otherwise; 8 for --data)")
    p.add_argument("--thresholds", choices=METHODS,
                   help="how thermometer thresholds are fitted (quantile for --data); aligned: uniform, moved "
                   "to power-of-two steps so each hardware compare reads few input bits")
    p.add_argument("--layers", type=int, help="logic layers (default 4)")
    p.add_argument("--width", type=_width, metavar=_INT_LIST, help="nodes per layer (default 4000)")
    p.add_argument("--layer-kind", type=_kinds, metavar="KIND or KIND,KIND,...",
                   help="gate (2-input gates, the default) or lut (k-input tables), for every layer or per layer")
    p.add_argument("--k", type=_width, metavar=_INT_LIST,
                   help="inputs per LUT node, 2..6 (default 6: one Xilinx LUT6; 4 for iCE40/ECP5/Gowin), "
                   "or per layer (2 for gate layers)")
    p.add_argument("--estimator", choices=sorted(ESTIMATOR_DEFAULTS), help="gate estimator (default soft)")
    p.add_argument("--tau", type=float, help="group-sum temperature (default sqrt of outputs per class)")
    p.add_argument("--gate-tau", type=float, help="estimator temperature (default 1)")
    p.add_argument("--tau-f", type=float, help="decoupled_st forward temperature (default 0.1)")
    p.add_argument("--tau-b", type=float, help="decoupled_st backward temperature (default 2)")
    p.add_argument("--noise", choices=("neuron", "sample"), help="Gumbel noise per neuron or per sample")
    p.add_argument("--connections", choices=CONNECTIONS,
                   help="how nodes pick their inputs: random (the default), unique (every input read, evenly) "
                        "or learned (LUT layers: each input slot learns which input it reads)")
    p.add_argument("--init", choices=("gaussian", "residual"), help="initial gate logits")
    p.add_argument("--kernel", choices=("auto", "reference", "cpu", "triton"), help="logic-op kernel (default auto)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="default adam")
    p.add_argument("--lr", type=float, help="learning rate (default 0.01)")
    p.add_argument("--weight-decay", type=float, help="default 0")
    p.add_argument("--shift", type=int, metavar="PIXELS",
                   help="move each training image by a random offset of up to PIXELS (0..4) each step "
                        "(28 x 28 image datasets: mnist, fashion_mnist; default 0)")
    p.add_argument("--free-weight", type=float, metavar="W",
                   help="add W x (fraction of gates expected to read both inputs) to the loss: pushes "
                        "gates toward constants, wires and NOTs, which cost no logic after 'lgn-hw "
                        "optimize' (default 0; gate layers only)")
    p.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule (default constant)")
    p.add_argument("--batch-size", type=int, help="global batch size, split over processes (default 128)")
    p.add_argument("--epochs", type=int, help="default 50")
    p.add_argument("--seed", type=seed, help="training seed (default 0)")
    p.add_argument("--split-seed", type=seed, help="seed of the dataset split (default 0)")
    p.add_argument("--device", help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--force", action="store_true",
                   help="train even when the memory estimate (printed first) exceeds the device's memory")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    p.set_defaults(func=run)


#: flag destinations that are settings (everything else steers the command)
_NOT_SETTINGS = {"out", "config", "resume", "overwrite", "preset", "quiet", "func", "command", "verbose", "force"}


def overrides_from_args(args) -> dict:
    return {k: v for k, v in vars(args).items() if k not in _NOT_SETTINGS and v is not None}


def resolve_config(args):
    """The settings of the run, in order of precedence (last wins), and a line saying where they came from.

    On ``--resume``: the checkpoint's settings, then ``--config``, then the flags.
    Otherwise: the dataset's preset when it has one (or ``--preset``; not with
    ``--no-preset`` or ``--data``), else the :class:`TrainConfig` defaults; then,
    for the keys not given, the chosen estimator's
    :data:`~lgn_hw.train.presets.ESTIMATOR_DEFAULTS`; then ``--config``; then the flags.
    """
    from pathlib import Path

    from ..train.config import TrainConfig, load_config
    from ..train.presets import DATASET_PRESETS, estimator_defaults, preset_config

    from_file = load_config(args.config) if args.config else {}
    flags = overrides_from_args(args)
    given = dict(from_file, **flags)
    dataset = given.get("dataset", TrainConfig.dataset)
    if given.get("data") is not None and "dataset" in given:
        raise ValueError("give --dataset or --data, not both")
    if args.resume:  # torch only here: a refusal of a new run needs none (check_memory in run)
        from ..train.checkpoint import load_checkpoint
        from ..train.trainer import CHECKPOINT

        settings = dict(load_checkpoint(Path(args.out) / CHECKPOINT)["config"])
        base = "the checkpoint's settings"
    elif args.preset not in (None, False) and given.get("data") is not None:
        raise ValueError("--preset is for the built-in datasets, not --data files")
    elif args.preset or (args.preset is None and given.get("data") is None and dataset in DATASET_PRESETS):
        # ValueError (exit 2) for a dataset without a preset or a size it does not have
        size = args.preset if isinstance(args.preset, str) else None
        images = None
        if dataset == "mnist" and given.get("data_dir") is not None:
            from ..data import DataFileError
            from ..data.datasets import mnist_training_images

            try:
                images = mnist_training_images(given["data_dir"])
            except DataFileError:  # no files there: the data loader says so, in its words, later
                images = None
        settings = preset_config(dataset, given.get("estimator"), size=size, train_images=images).to_dict()
        base = (f"the measured {dataset} preset{f' {size}' if size else ''}"
                + (f" for {images:,} training images" if images else "") + " (--no-preset for the plain defaults)")
        _check_preset_shape(dataset, settings, given)
    else:  # ValueError (exit 2) names a bad estimator
        settings = estimator_defaults(str(given.get("estimator", TrainConfig.estimator)))
        base = "the defaults"
    settings.update(given)
    cfg = TrainConfig.from_dict(settings, where=args.config or "settings")
    parts = [base]
    if from_file:
        parts.append(f"{args.config} ({', '.join(sorted(from_file))})")
    if flags:
        parts.append("flags " + " ".join(f"{k}={v}" for k, v in flags.items()))
    width = cfg.width if isinstance(cfg.width, list) else f"{cfg.layers} x {cfg.width}"
    note = _preset_kind_note(dataset, cfg, given) if base.startswith("the measured") else ""
    summary = (f"{cfg.data or cfg.dataset}: {note}{', then '.join(parts)} -> {width}, {cfg.estimator}, "
               f"{cfg.epochs} epochs, batch {cfg.batch_size}, lr {cfg.lr}")
    return cfg, summary


_SHAPE = ("layers", "width")
_KIND = ("layer_kind", "k", "connections")


def _check_preset_shape(dataset, settings, given) -> None:
    """``--layers`` without ``--width`` against a preset whose width lists one entry per layer."""
    width = settings.get("width")
    if "layers" in given and "width" not in given and isinstance(width, list) and len(width) != given["layers"]:
        raise ValueError(f"--layers {given['layers']} does not fit the {dataset} preset's widths "
                         f"{','.join(map(str, width))} (one per layer): give --width too (N for every "
                         "layer, or N,N,... one per layer), or --no-preset")


def _preset_kind_note(dataset, cfg, given) -> str:
    """Words for the run's first line when the preset, not the user's shape flags, decides the node kind."""
    if not any(k in given for k in _SHAPE) or any(k in given for k in _KIND):
        return ""
    kinds = set(cfg.layer_kind) if isinstance(cfg.layer_kind, list) else {cfg.layer_kind}
    if kinds == {"gate"} and cfg.connections != "learned":
        return ""
    k = cfg.k if not isinstance(cfg.k, list) else "/".join(map(str, cfg.k))
    what = f"LUT-{k} nodes" + (" with learned connections (width x k x inputs logits a layer)"
                               if cfg.connections == "learned" else f" ({cfg.connections} connections)")
    return (f"NOTE the {dataset} preset makes these layers {what}, not 2-input gates "
            "(--layer-kind gate --connections random for gates, or --no-preset); ")


def _fit_width(args, cfg, summary, num_classes):
    """The default width rounded down to a multiple of ``num_classes`` (a width the user gave stays)."""
    from ..train.config import load_config

    if "width" in overrides_from_args(args) or (args.config and "width" in load_config(args.config)):
        return cfg, summary
    widths = cfg.width if isinstance(cfg.width, list) else [cfg.width] * cfg.layers
    last = widths[-1] - widths[-1] % num_classes
    if last == widths[-1] or last == 0:
        return cfg, summary
    width = widths[:-1] + [last] if isinstance(cfg.width, list) else (
        last if cfg.layers == 1 else [cfg.width] * (cfg.layers - 1) + [last])
    return cfg.replace(width=width), f"{summary}; last layer {last} wide (a multiple of the {num_classes} classes)"


def _no_gpu(device: str) -> bool:
    """The run will be on the CPU, told without importing torch (no NVIDIA device node for 'auto')."""
    import os

    return device == "cpu" or (device == "auto" and not os.path.exists("/dev/nvidia0"))


def run(args) -> int:
    from ..data import DataFileError

    try:
        cfg, summary = resolve_config(args)
        dataset = None
        if cfg.data is not None and not args.resume:  # loaded once, here: its classes may set the width
            from ..data import load_data_file

            dataset = load_data_file(cfg.data, test=cfg.test, label=cfg.label, levels=cfg.levels,
                                     thresholds=cfg.thresholds, split_seed=cfg.split_seed)
            cfg, summary = _fit_width(args, cfg, summary, dataset.num_classes)
        if not args.quiet:
            from ..train.memory import estimate_memory, known_inputs

            inputs = dataset.num_inputs if dataset is not None else known_inputs(cfg)
            print(f"settings       {summary}", flush=True)
            print(f"memory         {estimate_memory(cfg, inputs).describe()}"
                  + ("" if inputs else ", inputs not yet counted"), flush=True)
        if _no_gpu(cfg.device) and not args.resume:  # refused before torch is even imported
            from ..train.memory import check_memory, known_inputs

            check_memory(cfg, "cpu", dataset.num_inputs if dataset is not None else known_inputs(cfg),
                         force=args.force)
        from ..train.trainer import train

        result = train(cfg, args.out, resume=args.resume, overwrite=args.overwrite, quiet=args.quiet,
                       dataset=dataset, force=args.force)
    except (ValueError, DataFileError) as exc:  # ConfigError, CheckpointError, bad dataset name, ...
        raise UsageError(str(exc)) from None
    # no netlist: not rank 0 under torchrun, or stopped before the first epoch ended
    if result.netlist is not None and not args.quiet:
        b = result.best
        print(f"dataset        {cfg.data or cfg.dataset}")
        print(f"epochs         {result.epochs_done} of {cfg.epochs}")
        print(f"best epoch     {b['epoch']}  (val discrete {b['val_discrete']:.4f}, soft {b['val_soft']:.4f})")
        print(f"test accuracy  {result.test_accuracy:.4f} discrete (netlist), {b['test_soft']:.4f} soft")
        label = "nodes " if result.netlist.has_lut_layers else "gates "  # LUT nodes are not gates
        print(f"{label}         {result.netlist.num_gates} ({b['unused_gates']} unused)")
        print(f"netlist        {result.netlist_path}")
    if result.interrupted:
        print(f"lgn-hw train: interrupted; checkpoint saved, continue with --resume --out {args.out}")
        return 130
    return 0


