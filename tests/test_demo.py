"""``lgn-hw demo --quick``: every stage end to end (train, optimise, export, verify, synth)."""

import json
import re

import pytest

from lgn_hw.cli import main


@pytest.mark.integration
@pytest.mark.icarus
@pytest.mark.verilator
@pytest.mark.yosys
@pytest.mark.slow
def test_demo_quick_end_to_end(tmp_path, capsys):
    out = tmp_path / "demo"
    rc = main(["demo", "--quick", "--out", str(out), "--samples", "64", "--quiet"])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "verify icarus        passed" in text
    assert "verify verilator     passed" in text
    assert "latency" in text
    assert re.search(r"equivalence proof +PROVED \(\d+ of \d+ parts", text), text
    # The summary line is always there; the estimate itself must have run.
    assert re.search(r"synthesis +ecp5-85k: \d+ LUTs \(encoder \d+\), \d+ FFs", text), text
    assert "encoder              in the core: in_data carries 64 raw features" in text
    manifest = json.loads((out / "hw" / "manifest.json").read_text())
    assert manifest["num_inputs"] == 192 and manifest["num_classes"] == 10
    assert (out / "train" / "best.lgn.json").is_file()
    report = text.strip().splitlines()[-1]
    assert report == str(out / "report.html") and "chart-accuracy" in (out / "report.html").read_text()


def test_demo_rejects_bad_samples(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--quick", "--samples", "0", "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "argument --samples: must be an integer in 1..1048576, not '0'" in capsys.readouterr().err


def test_demo_config_is_the_digits_preset_with_estimator_defaults():
    from lgn_hw.commands.demo import demo_config
    from lgn_hw.train.presets import preset_config

    assert demo_config() == preset_config("digits")
    assert (demo_config().layers, demo_config().width) == (4, 4000)
    cfg = demo_config(estimator="gumbel_st", epochs=3)
    assert (cfg.estimator, cfg.init, cfg.lr, cfg.epochs) == ("gumbel_st", "residual", 0.1, 3)
    quick = demo_config(quick=True, estimator="reinmax")
    assert (quick.layers, quick.init, quick.lr) == (2, "residual", 0.1)
