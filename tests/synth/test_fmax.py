"""``export --fmax``: the pipeline with the fewest FFs that reaches a clock goal."""

from __future__ import annotations

import itertools

import pytest

from lgn_hw.cli import main
from lgn_hw.hdl import Pipeline
from lgn_hw.hdl.popcount import _popcount_levels
from lgn_hw.netlist import random_netlist
from lgn_hw.synth.fmax import GATE_STEPS, POPCOUNT_STEPS, FmaxNotReached, pick_pipeline

NET = random_netlist(12, [40, 40, 40, 40, 40, 30], 3, seed=2)  # 6 layers, 10 outputs per class
LEVELS = _popcount_levels(NET.outputs_per_class)


def timing_model(pipe: Pipeline) -> dict:
    """A core whose clock is set by its slowest stage, and whose FFs count every register."""
    g = min(pipe.gate_every or NET.depth, NET.depth)  # layers between registers
    p = min(pipe.popcount_every or LEVELS, LEVELS)
    stage_ns = max(1.0 * g, 1.5 * p, 1.0 if pipe.argmax_registered else 2.5)
    gate_regs = NET.depth // pipe.gate_every if pipe.gate_every else 0
    adder_regs = LEVELS // pipe.popcount_every if pipe.popcount_every else 0
    return {"luts": 500, "ffs": 400 * gate_regs + 60 * adder_regs + 8 * pipe.argmax_registered,
            "fmax_mhz": 1000.0 / stage_ns}


def best_by_brute_force(goal):
    cands = [Pipeline(g, p, a) for g, p, a in itertools.product(GATE_STEPS, POPCOUNT_STEPS, (True, False))]
    ok = [c for c in cands if timing_model(c)["fmax_mhz"] >= goal]
    return min(ok, key=lambda c: (timing_model(c)["ffs"], timing_model(c)["luts"]))


@pytest.mark.parametrize("goal", [160, 240, 330, 450, 600])
def test_the_search_finds_the_fewest_ffs_that_meet_the_goal(goal):
    runs = []

    def evaluate(pipe):
        runs.append(pipe)
        return timing_model(pipe)

    choice = pick_pipeline(NET, "ice40-hx8k", goal, evaluate=evaluate)
    want = best_by_brute_force(goal)
    assert timing_model(choice.pipeline)["ffs"] == timing_model(want)["ffs"]
    assert choice.report["fmax_mhz"] >= goal
    assert len(runs) == len(set(runs)) <= 12  # each placement measured once, far fewer than the 70 candidates
    assert [t[0] for t in choice.tried] == runs
    assert "<- chosen" in choice.table()


def test_placements_that_build_the_same_core_are_measured_once():
    runs = []
    net = random_netlist(12, [40, 40, 40, 30], 3, seed=2)  # 4 layers: gate_every 6, 8 and 0 place nothing

    def evaluate(pipe):
        runs.append(pipe)
        return {"luts": 1, "ffs": 100 - len(runs), "fmax_mhz": 500.0}

    choice = pick_pipeline(net, "ice40-hx8k", 100, evaluate=evaluate)
    gates = [p.gate_every for p in runs if p.popcount_every == 1 and p.argmax_registered]
    assert gates == [1, 2, 3, 4, 6]  # 6 stands for 8 and 0 too: no register after any of 4 layers
    assert choice.pipeline.gate_every == 6


def test_a_goal_no_placement_reaches_says_the_best_fmax():
    with pytest.raises(FmaxNotReached, match=r"^ice40-hx8k: a register after every gate layer and adder "
                                             r"level reaches 666\.7 MHz, short of the 1200 MHz goal$"):
        pick_pipeline(NET, "ice40-hx8k", 1200, evaluate=timing_model)


def test_a_target_without_place_and_route_is_refused():
    with pytest.raises(ValueError, match=r"has no place and route"):
        pick_pipeline(NET, "xilinx-7", 100, evaluate=timing_model)


@pytest.mark.parametrize("extra, message", [
    (["--fmax", "150"], "--fmax needs --target"),
    (["--target", "ecp5-25k"], "--target goes with --fmax"),
    (["--fmax", "150", "--target", "ecp5-25k", "--gate-every", "2"], "--fmax picks the pipeline"),
    (["--fmax", "150", "--target", "xilinx-7"], "--fmax needs a target with place and route"),
    (["--fmax", "0", "--target", "ecp5-25k"], "--fmax must be a number of MHz"),
    (["--fmax", "150", "--target", "nope"], "unknown target 'nope'"),
])
def test_cli_refuses_contradictory_fmax_options_in_one_line(tmp_path, capsys, extra, message):
    NET.save(tmp_path / "n.lgn.json")
    assert main(["export", str(tmp_path / "n.lgn.json"), "--out", str(tmp_path / "hw"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "hw").exists()


@pytest.mark.yosys
@pytest.mark.slow
def test_cli_exports_the_chosen_pipeline_after_real_place_and_route(tmp_path, capsys, monkeypatch):
    import json

    import lgn_hw.synth.fmax as fmax
    from lgn_hw.hdl import load_export

    # Two real runs (the densest placement, then the argmax unregistered): the search's
    # steps are the model tests' business, this one checks the export and the record.
    monkeypatch.setattr(fmax, "GATE_STEPS", (1,))
    monkeypatch.setattr(fmax, "POPCOUNT_STEPS", (1,))
    net = random_netlist(8, [24, 6], 3, seed=4)
    net.save(tmp_path / "n.lgn.json")
    assert main(["export", str(tmp_path / "n.lgn.json"), "--out", str(tmp_path / "hw"), "--no-opt",
                 "--fmax", "60", "--target", "ice40-hx8k"]) == 0
    out = capsys.readouterr().out
    record = json.loads((tmp_path / "hw" / "fmax-search.json").read_text())
    chosen = Pipeline.from_dict(record["pipeline"])
    assert load_export(tmp_path / "hw").pipeline == chosen
    assert len(record["tried"]) == 2
    met = [t for t in record["tried"] if t["met"]]
    assert met and all(t["fmax_mhz"] >= 60 for t in met)
    assert min(t["ffs"] for t in met) == next(t["ffs"] for t in met if t["pipeline"] == record["pipeline"])
    assert "fewest FFs at >= 60 MHz on ice40-hx8k" in out
