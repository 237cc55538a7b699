"""Presets: every preset is a valid configuration, and the sampling estimators' defaults learn."""

import pytest

from lgn_hw.train import ESTIMATORS, TrainConfig, train
from lgn_hw.train.presets import DATASET_PRESETS, ESTIMATOR_DEFAULTS, estimator_defaults, preset_config

pytestmark = pytest.mark.usefixtures("one_thread")


def test_every_estimator_has_defaults_and_every_preset_is_valid():
    assert set(ESTIMATOR_DEFAULTS) == set(ESTIMATORS)
    for name, (settings, bar) in DATASET_PRESETS.items():
        assert isinstance(preset_config(name), TrainConfig)
        assert bar is None or 0 < bar <= 1
        for est in ESTIMATORS:
            assert preset_config(name, est).estimator == est


def test_precedence_and_errors():
    cfg = preset_config("digits", "gumbel_st")
    assert (cfg.init, cfg.lr, cfg.width, cfg.tau) == ("residual", 0.1, 4000, 20.0)
    assert preset_config("digits", "soft").init == "gaussian"
    assert preset_config("monk1").estimator == "gumbel_st"
    assert preset_config("digits", "reinmax", lr=0.03).lr == 0.03
    with pytest.raises(ValueError, match="no preset"):
        preset_config("nope")
    with pytest.raises(ValueError, match="estimator"):
        estimator_defaults("hard")


@pytest.mark.parametrize("estimator", ["gumbel_st", "reinmax"])
def test_sampling_estimator_defaults_learn_a_deep_network(tmp_path, estimator):
    # 4 layers of sampled gates: at chance with the gaussian init and lr 0.01 (the old defaults).
    cfg = TrainConfig(dataset="majority:9", layers=4, width=200, epochs=8, batch_size=16, tau=5.0,
                      estimator=estimator, kernel="reference", **estimator_defaults(estimator))
    res = train(cfg, tmp_path, quiet=True)
    assert res.test_accuracy >= 0.85


def _resolved(tmp_path, *argv):
    from lgn_hw.cli import build_parser
    from lgn_hw.commands.train import resolve_config

    return resolve_config(build_parser().parse_args(["train", "--out", str(tmp_path / "r"), *argv]))[0]


def test_cli_applies_estimator_defaults_unless_given(tmp_path):
    # `lgn-hw train --estimator gumbel_st` must not start from the settings that sit at chance.
    cfg = _resolved(tmp_path, "--estimator", "gumbel_st")
    assert (cfg.init, cfg.lr) == ("residual", 0.1)
    cfg = _resolved(tmp_path, "--estimator", "reinmax", "--lr", "0.03", "--init", "gaussian")
    assert (cfg.init, cfg.lr) == ("gaussian", 0.03)
    toml = tmp_path / "c.toml"
    toml.write_text('estimator = "gumbel_st"\nlr = 0.05\n')
    cfg = _resolved(tmp_path, "--config", str(toml))
    assert (cfg.init, cfg.lr) == ("residual", 0.05)
    assert _resolved(tmp_path).init == "gaussian"  # soft keeps the TrainConfig defaults


def test_cli_preset_then_flags(tmp_path):
    cfg = _resolved(tmp_path, "--dataset", "monk1", "--preset")
    assert cfg == preset_config("monk1")
    cfg = _resolved(tmp_path, "--dataset", "monk3", "--preset", "--estimator", "reinmax", "--epochs", "7")
    assert cfg == preset_config("monk3", "reinmax", epochs=7)


def test_cli_uses_the_preset_of_a_dataset_that_has_one(tmp_path):
    from lgn_hw.cli import build_parser
    from lgn_hw.commands.train import resolve_config

    assert _resolved(tmp_path, "--dataset", "monk1") == preset_config("monk1")
    cfg = _resolved(tmp_path, "--dataset", "monk1", "--width", "60", "--epochs", "3")  # flags still win
    assert cfg == preset_config("monk1", width=60, epochs=3)
    toml = tmp_path / "c.toml"
    toml.write_text("layers = 2\n")
    assert _resolved(tmp_path, "--dataset", "monk1", "--config", str(toml)).layers == 2
    assert _resolved(tmp_path, "--dataset", "monk1", "--no-preset") == TrainConfig(dataset="monk1")
    assert _resolved(tmp_path, "--dataset", "parity:5") == TrainConfig(dataset="parity:5")  # no preset
    args = build_parser().parse_args(["train", "--out", "r", "--dataset", "monk1", "--epochs", "3"])
    assert resolve_config(args)[1] == ("monk1: the measured monk1 preset (--no-preset for the plain defaults), "
                                       "then flags dataset=monk1 epochs=3 -> 3 x 400, gumbel_st, 3 epochs, "
                                       "batch 16, lr 0.1")


def test_cli_preset_and_estimator_errors(tmp_path, capsys):
    from lgn_hw.cli import main

    assert main(["train", "--dataset", "parity:5", "--preset", "--out", str(tmp_path / "a")]) == 2
    assert "no preset for dataset 'parity:5'" in capsys.readouterr().err
    toml = tmp_path / "c.toml"
    toml.write_text('estimator = "hardest"\n')
    assert main(["train", "--config", str(toml), "--out", str(tmp_path / "b")]) == 2
    assert "'estimator' must be one of" in capsys.readouterr().err


def test_mnist_preset_sizes_and_the_official_sets_epochs(tmp_path):
    import gzip

    import numpy as np

    from lgn_hw.train.presets import FULL_MNIST_EPOCHS, PRESET_SIZES

    def idx(path, arr):
        dims = b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
        with gzip.open(path, "wb") as f:
            f.write(bytes([0, 0, 8, arr.ndim]) + dims + arr.astype(np.uint8).tobytes())

    def data(n):
        d = tmp_path / f"mnist{n}"
        d.mkdir()
        idx(d / "train-images-idx3-ubyte.gz", np.zeros((n, 28, 28)))
        idx(d / "train-labels-idx1-ubyte.gz", np.arange(n) % 10)
        idx(d / "t10k-images-idx3-ubyte.gz", np.zeros((10, 28, 28)))
        idx(d / "t10k-labels-idx1-ubyte.gz", np.arange(10))
        return str(d)

    medium = preset_config("mnist")
    assert preset_config("mnist", size="medium") == medium
    assert set(PRESET_SIZES["mnist"]) == {"tiny", "small", "medium", "large"}
    widths = [preset_config("mnist", size=s).width[0] for s in ("tiny", "small", "medium", "large")]
    assert widths == sorted(widths) and len(set(widths)) == 4
    with pytest.raises(ValueError, match=r"no size 'huge' \(sizes: tiny, small, medium, large\)"):
        preset_config("mnist", size="huge")
    with pytest.raises(ValueError, match="one size only"):
        preset_config("digits", size="small")
    # The CLI: the size by name, and fewer epochs on the official 60,000 images than on MNIST-8k.
    small = _resolved(tmp_path, "--dataset", "mnist", "--preset", "small", "--data-dir", data(6500))
    assert small.width == PRESET_SIZES["mnist"]["small"]["width"] and small.epochs == medium.epochs
    full = _resolved(tmp_path, "--dataset", "mnist", "--preset", "--data-dir", data(60000))
    assert full.width == medium.width and full.epochs == FULL_MNIST_EPOCHS < medium.epochs
    assert _resolved(tmp_path, "--dataset", "mnist", "--no-preset").layer_kind == "gate"
