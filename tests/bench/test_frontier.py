"""bench/frontier.py's caches: an export or a synthesis report is reused only for the same design."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from lgn_hw.data.encoding import fit_thermometer
from lgn_hw.hdl import Pipeline, export, load_manifest
from lgn_hw.netlist import load, random_netlist
from lgn_hw.netlist.model import Netlist

BENCH = Path(__file__).resolve().parents[2] / "bench" / "frontier.py"


@pytest.fixture(scope="module")
def frontier():
    spec = importlib.util.spec_from_file_location("bench_frontier", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _design(tmp_path) -> Path:
    """A design folder as the bench leaves it: an optimised netlist with a quantized encoder."""
    x = np.random.default_rng(0).integers(0, 256, (100, 6))
    net = random_netlist(18, [24, 12], 3, seed=0)
    net = Netlist(net.num_inputs, net.layers, net.num_classes, net.tau, fit_thermometer(x, 3).to_dict(), {})
    path = tmp_path / "opt.lgn.json"
    net.save(path)
    return path


def test_export_made_without_the_encoder_is_not_reused(frontier, tmp_path):
    opt = _design(tmp_path)
    # An export of the same netlist and pipeline from before the encoder existed (host mode) ...
    export(load(opt), tmp_path / "hw", quiet=True)
    stale = tmp_path / "hw" / "synth-xilinx-7"
    stale.mkdir()
    (stale / "report.json").write_text(json.dumps({"luts": 1, "blocks": {}}))
    assert load_manifest(tmp_path / "hw")["encoder"]["mode"] == "host"
    # ... is exported again with the encoder inside, and its synthesis report no longer counts.
    hw = frontier._export(tmp_path, opt, Pipeline())
    manifest = load_manifest(hw)
    assert manifest["encoder"]["mode"] == "hw"
    assert frontier._cached_report(hw, "xilinx-7") is None
    tr = {"settings": {"width": [24, 12], "layers": 2, "epochs": 1}, "num_inputs": 18, "discrete": 0.5,
          "soft": 0.5, "gap": 0.0, "unused": 0, "gates": 36, "train_s": 0.0}
    assert frontier._row("digits", "d", tr, 36, {}, manifest)["encoder_inside"] is True
    # The same design again reuses the export; a host export goes to its own folder.
    mtime = (hw / "manifest.json").stat().st_mtime_ns
    assert frontier._export(tmp_path, opt, Pipeline()) == hw
    assert (hw / "manifest.json").stat().st_mtime_ns == mtime
    host = frontier._export(tmp_path, opt, Pipeline(), "host")
    assert host != hw and load_manifest(host)["encoder"]["mode"] == "host"
    assert frontier._row("digits", "d", tr, 36, {}, load_manifest(host))["encoder_inside"] is False


def test_lut_ram_and_shift_registers_count_as_lut6(frontier, tmp_path):
    """Vivado's CLB LUTs include LUTs used as memory; the frontier's LUT6 figure does too."""
    stat = {"modules": {
        "\\lgn_top": {"num_cells_by_type": {"LUT6": 10, "FDRE": 5, "lgn_top.argmax": 1, "lgn_top.fifo": 1}},
        "\\lgn_top.argmax": {"num_cells_by_type": {"LUT3": 4, "SRL16E": 3}},
        "\\lgn_top.fifo": {"num_cells_by_type": {"LUT2": 1, "RAM32M": 2, "CARRY4": 1}},
    }}
    (tmp_path / "stat.json").write_text(json.dumps(stat))
    rep = {"top": "lgn_top", "luts": 15, "out_dir": str(tmp_path), "blocks": {}}
    assert frontier._xilinx_luts(rep) == (10 + 4 + 3 + 1 + 8, {"layers": 10, "argmax": 7, "fifo": 9})


@pytest.mark.yosys
def test_recipes_synthesize_the_export(frontier, tmp_path, monkeypatch):
    """--recipes runs Yosys per recipe (it imported a tool module that no longer exists), the flat one too."""
    hw = frontier._export(tmp_path, _design(tmp_path), Pipeline())
    monkeypatch.setattr(frontier, "RECIPES", (("default", "xilinx", "", "-flatten"),
                                              ("flat", "xilinx", "setattr -mod -unset keep_hierarchy {core}.*",
                                               "-flatten")))
    rows = frontier.recipes(hw)
    assert [r["recipe"] for r in rows] == ["default", "flat"]
    assert all(r["luts"] > 0 and r["ffs"] > 0 for r in rows)


def test_every_sweep_row_is_a_valid_training_and_pipeline(frontier):
    from lgn_hw.train import TrainConfig

    for dataset, designs in {**frontier.SWEEPS, **{k + "-quick": v for k, v in frontier.QUICK.items()}}.items():
        for name, settings in designs:
            settings = dict(settings)
            spec = settings.pop("pipeline", None)
            TrainConfig(**settings)  # raises ConfigError naming the key
            if spec:
                assert str(frontier.Pipeline.parse(spec)) != str(frontier.Pipeline()), name
    pipes = {name: s.get("pipeline") for name, s in frontier.SWEEPS["mnist"]}
    assert pipes["lut6-300-50-learned-a0"] == "gates=4,popcount=2,argmax=0"


def test_a_row_with_the_same_training_reuses_it(frontier, tmp_path):
    settings = {"dataset": "monk1", "layers": 1, "width": 20, "epochs": 1}
    first = tmp_path / "a"
    (first / "run").mkdir(parents=True)
    (first / "run" / "best.lgn.json").write_text("{}")
    (first / "train.json").write_text(json.dumps({"settings": dict(settings, data_dir=None), "discrete": 0.75}))
    again = tmp_path / "a-l6"
    again.mkdir()
    tr = frontier._train(again, settings, None)  # no training: the other row's run is copied
    assert tr["discrete"] == 0.75 and tr["trained_as"] == "a"
    assert (again / "run" / "best.lgn.json").read_text() == "{}"


def _fake_row(frontier, design, acc, lut6, ff, seed=0):
    tr = {"settings": {"width": [10], "layers": 1, "epochs": 1, "seed": seed}, "num_inputs": 8, "discrete": acc,
          "soft": acc, "gap": 0.0, "unused": 0, "gates": 10, "train_s": 1.0}
    rep = {"luts": lut6, "lut_sites": lut6, "ffs": ff, "logic_depth": 3,
           "blocks": {"layers": {"luts": lut6, "lut_sites": lut6, "ffs": ff}}}
    manifest = {"netlist_sha256": "x", "pipeline": Pipeline().to_dict(), "encoder": {"mode": "hw"}}
    return frontier._row("mnist", design, tr, 10, {"xilinx-7": rep}, manifest)


def test_seeds_make_one_row_of_their_mean_and_range(frontier):
    rows = [_fake_row(frontier, "d", acc, lut, ff, seed)
            for seed, (acc, lut, ff) in enumerate([(0.97, 600, 400), (0.98, 640, 420), (0.975, 620, 410)])]
    row = frontier.aggregate(rows)
    assert row["seeds"] == 3 and row["discrete"] == pytest.approx(0.975)
    assert row["discrete_spread"] == [0.97, 0.98] and row["lut6"] == 620 and row["ff"] == 410
    assert row["ff_blocks"]["layers"] == 410 and row["depth_lut6"] == 3
    assert [s["seed"] for s in row["per_seed"]] == [0, 1, 2]
    assert frontier.aggregate(rows[:1]) is rows[0]


def test_a_full_mnist_goal_needs_three_seeds_and_checks_the_ffs(frontier):
    one = [_fake_row(frontier, "d", 0.976, 650, 500)]
    line = frontier.goals(one, "mnist", full_mnist=True)[0]
    assert "not yet a result (needs 3)" in line and "FFs 500 against 2 x DWN's = 844: MET" in line
    three = frontier.aggregate([_fake_row(frontier, "d", a, 650, 900, s) for s, a in enumerate([0.976, 0.977, 0.975])])
    line = frontier.goals([three], "mnist", full_mnist=True)[0]
    assert ": MET;" in line and "FFs 900 against 2 x DWN's = 844: NOT MET" in line
    low = frontier.aggregate([_fake_row(frontier, "d", a, 650, 400, s) for s, a in enumerate([0.976, 0.970, 0.975])])
    assert ": NOT MET;" in frontier.goals([low], "mnist", full_mnist=True)[0]


def test_the_official_mnist_is_told_from_mnist_8k_by_its_training_images(frontier, tmp_path):
    import gzip

    for name, head in (("train-labels-idx1-ubyte.gz", [60000]), ("train-images-idx3-ubyte.gz", [60000, 1, 1]),
                       ("t10k-labels-idx1-ubyte.gz", [1]), ("t10k-images-idx3-ubyte.gz", [1, 1, 1])):
        with gzip.open(tmp_path / name, "wb") as f:
            f.write(bytes([0, 0, 8, len(head)]) + b"".join(d.to_bytes(4, "big") for d in head)
                    + bytes(int(np.prod(head))))
    assert frontier.mnist_training_images(tmp_path) == 60000
    assert frontier.mnist_training_images(tmp_path / "nothing") is None


def test_every_full_mnist_row_is_a_valid_config(frontier):
    from lgn_hw.train import TrainConfig

    for name, settings in frontier.FULL_MNIST:
        settings = dict(settings)
        spec = settings.pop("pipeline", None)
        TrainConfig(**settings)
        if spec:
            Pipeline.parse(spec)
