"""The native Verilator harness (lgn_hw.verify.native): passes correct cores, catches a mutated gate
and broken handshakes, reads test sets, and the CLI around it.

Two small designs are built (a few seconds of CPU each, at -O0): a clean export whose hardware has one
gate changed (the mutation test, and its own netlist as the control), and a correct core inside a
wrapper that breaks the stream protocol in the way a ``+fault=N`` plusarg picks, so that every
fault runs on the same build.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from lgn_hw import cli
from lgn_hw.hdl import export
from lgn_hw.hdl.export import result_words
from lgn_hw.netlist import Layer, Netlist, evaluate, random_netlist
from lgn_hw.verify import VerifyError
from lgn_hw.verify.native import PATTERNS, _plan, build_native, hardware_words, load_test_set, verify_native

SAMPLES = 200
OPT = "-O0"   # small cores: the build dominates, not the run
STREAMS = set(PATTERNS)

MISMATCH = re.compile(r"^sample (\d+): inputs 0x[0-9a-f]+: expected class \d+ scores \[[\d, ]+\], "
                      r"got class \d+ scores \[[\d, ]+\]$")


def _encoded_netlist() -> Netlist:
    """3 classes over 4 raw features, each a 3-level thermometer (12 input bits)."""
    base = random_netlist(12, [18, 12, 9], 3, seed=7)
    rng = np.random.default_rng(1)
    encoder = {"type": "features", "features": [
        {"kind": "thermometer", "thresholds": sorted(rng.choice(16, 3, replace=False).tolist())}
        for _ in range(4)]}
    return Netlist(base.num_inputs, base.layers, base.num_classes, base.tau, encoder)


def _mutant(net: Netlist, bits) -> tuple[Netlist, int]:
    """``net`` with one last-layer gate's op changed so that some outputs differ on ``bits``;
    returns the mutant and the first sample whose class or scores differ."""
    want = evaluate(net, bits)
    last = net.layers[-1]
    for i in range(last.width):
        for op in range(16):
            if op == last.op[i]:
                continue
            ops = last.op.copy()
            ops[i] = op
            mutant = net.with_layers(list(net.layers[:-1]) + [Layer(last.a, last.b, ops)])
            got = evaluate(mutant, bits)
            differs = (got.classes != want.classes) | (got.scores != want.scores).any(axis=1)
            if 0 < differs.sum() < len(bits) // 2:      # not from the first sample on
                return mutant, int(np.flatnonzero(differs)[0])
    raise AssertionError("no single-gate mutation changes some but not most outputs")


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("native-build")


@pytest.fixture(scope="module")
def mutated(tmp_path_factory):
    net = _encoded_netlist()
    rng = np.random.default_rng(11)
    features = rng.integers(0, 16, (SAMPLES, 4)).astype(np.float64)
    bits, _ = load_test_set(net, features)
    mutant, first = _mutant(net, bits)
    root = tmp_path_factory.mktemp("mutant")
    export(mutant, root / "core", quiet=True)       # the hardware is built from the mutant ...
    net.save(root / "original.lgn.json")            # ... the golden model keeps the original
    np.save(root / "features.npy", features)
    np.save(root / "labels.npy", evaluate(net, bits).classes)   # what the original predicts
    return root, mutant, bits, first


@pytest.mark.verilator
def test_mutation_is_caught(mutated, build_dir):
    root, _, _, first = mutated
    result = verify_native(root / "core", root / "original.lgn.json", inputs=root / "features.npy",
                           build_dir=build_dir, opt=OPT)
    assert not result.passed and result.bench == "native"
    assert result.mismatches > 0
    m = MISMATCH.match(result.message)
    assert m, result.message
    assert int(m.group(1)) == first                 # in order: the first differing sample
    assert set(result.failed_tests) == STREAMS      # every handshake pattern sees it
    for name in PATTERNS:
        assert result.tests[name]["first_failure"] == result.message


@pytest.mark.verilator
def test_correct_core_passes_and_counts_every_result(mutated, build_dir):
    """Control: against its own netlist the mutant core passes, with labels giving the accuracy
    the hardware reached (its classes against the original's predictions)."""
    root, mutant, bits, _ = mutated
    labels = np.load(root / "labels.npy")
    result = verify_native(root / "core", inputs=root / "features.npy", labels=root / "labels.npy",
                           build_dir=build_dir, opt=OPT, gap_prob=0.5, stall_prob=0.5, seed=3, threads=2)
    assert result.passed, result.message
    assert result.message is None and result.mismatches == 0
    assert result.checked == len(PATTERNS) * SAMPLES
    for name in PATTERNS:
        t = result.tests[name]
        assert t["accepted"] == t["results"] == SAMPLES and t["error_count"] == 0
    manifest = json.loads((root / "core" / "manifest.json").read_text())
    assert result.latency == manifest["latency"] == result.tests["full_throughput"]["latency_min"]
    assert result.cycles == SAMPLES and result.throughput == 1.0
    for name in ("random_backpressure", "stream_random"):   # stalls really happened
        assert result.tests[name]["latency_max"] > manifest["latency"]
        assert result.tests[name]["cycles"] > SAMPLES
    want = float(np.mean(evaluate(mutant, bits).classes == labels))
    assert 0 < want < 1 and result.accuracy == pytest.approx(want)
    # the patterns run on one model or on parallel ones with the same outcome, cycle for cycle
    serial = verify_native(root / "core", inputs=root / "features.npy", labels=root / "labels.npy",
                           build_dir=build_dir, opt=OPT, gap_prob=0.5, stall_prob=0.5, seed=3,
                           threads=1)

    def strip(tests):
        return {name: {k: v for k, v in t.items() if k != "seconds"} for name, t in tests.items()}
    assert strip(serial.tests) == strip(result.tests) and serial.accuracy == result.accuracy


@pytest.mark.verilator
def test_build_is_reused_and_keyed_by_content(mutated, build_dir, tmp_path):
    root, _, _, _ = mutated
    sources = [root / "core" / "lgn_top.v"]
    first = build_native(sources, "lgn_top", build_dir, opt=OPT)
    again = build_native(sources, "lgn_top", build_dir, opt=OPT)
    assert again.reused and again.executable == first.executable
    assert first.folder.name == f"native-{_plan(sources, 'lgn_top', OPT, 1).key}"   # jobs: not in the key
    edited = tmp_path / "lgn_top.v"
    edited.write_text(sources[0].read_text().replace("endmodule", "endmodule // edited", 1))
    keys = {_plan([edited], "lgn_top", OPT, None).key, _plan(sources, "lgn_top", "-O2", None).key,
            _plan(sources, "other_top", OPT, None).key, first.folder.name[len("native-"):]}
    assert len(keys) == 4         # the Verilog, the flags and the top module are in the key
    # the harness refuses port widths that do not match the model
    proc = subprocess.run([str(first.executable), "inputs=x", "expected=y", "samples=1",
                           "in_width=40", "num_classes=3", "score_width=2", "class_width=2"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert re.search(r"port in_data is stored in 16 bits but must be 40 bits wide", proc.stderr)


def _is_the_harness(executable) -> bool:
    """The real harness refuses port widths that do not fit the model; a planted stand-in does not."""
    proc = subprocess.run([str(executable), "inputs=x", "expected=y", "samples=1", "in_width=40",
                           "num_classes=3", "score_width=2", "class_width=2"], capture_output=True, text=True)
    return proc.returncode == 2 and "port in_data is stored in" in proc.stderr


def _planted_copy(build_dir, to):
    """A copy of a real build folder, as someone else could leave it (same stamps, same files)."""
    shutil.copytree(build_dir, to, ignore=shutil.ignore_patterns("run-*", "*.lock"))
    return to


@pytest.mark.verilator
def test_planted_build_is_not_trusted(mutated, build_dir, tmp_path):
    """A build folder copied from a real build whose executable is then swapped for a stand-in
    that passes everything is rebuilt, not run."""
    root, _, _, _ = mutated
    sources = [root / "core" / "lgn_top.v"]
    real = build_native(sources, "lgn_top", build_dir, opt=OPT)
    planted = _planted_copy(build_dir, tmp_path / "planted")
    fake = planted / real.folder.name / real.executable.name
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    again = build_native(sources, "lgn_top", planted, opt=OPT)
    assert not again.reused
    assert _is_the_harness(again.executable)


@pytest.mark.verilator
def test_planted_runtime_objects_are_not_trusted(mutated, build_dir, tmp_path):
    """The Verilator runtime objects (verilated.o, ...) cached for every design are replaced in a
    copied build folder: the next build compiles its own instead of linking them."""
    root, _, _, _ = mutated
    sources = [root / "core" / "lgn_top.v"]
    real = build_native(sources, "lgn_top", build_dir, opt=OPT)
    planted = _planted_copy(build_dir, tmp_path / "planted")
    runtimes = list(planted.glob("native-runtime-*"))
    assert runtimes
    for entry in runtimes:
        for obj in entry.glob("*.o"):
            obj.write_bytes(b"planted")
    shutil.rmtree(planted / real.folder.name)
    rebuilt = build_native(sources, "lgn_top", planted, opt=OPT)
    assert not rebuilt.reused and _is_the_harness(rebuilt.executable)


# -- protocol faults: a wrapper around a correct core breaks the handshake --------------------------

_FAULTY_TOP = """\
// Test fixture: wraps a correct core and breaks the stream protocol as +fault=N says:
// 0 none, 1 drop every 7th result, 2 duplicate every 7th result, 3 stuck (out_valid never rises),
// 4 phantom (out_valid high for 3 cycles after reset).
module lgn_top(input clk, input rst, input in_valid, output in_ready, input [{n}-1:0] in_data,
               output out_valid, input out_ready, output [{cw}-1:0] out_class,
               output [{sw}-1:0] out_scores);
  integer fault;
  initial if (!$value$plusargs("fault=%d", fault)) fault = 0;
  wire v, core_ready;
  reg [2:0] count;
  reg [3:0] age;
  reg dupped;
  wire seventh = v && count == 3'd6;
  wire drop = fault == 1 && seventh;
  wire dup = fault == 2 && seventh && !dupped;
  lgn_core core(.clk(clk), .rst(rst), .in_valid(in_valid), .in_ready(in_ready), .in_data(in_data),
                .out_valid(v), .out_ready(core_ready), .out_class(out_class),
                .out_scores(out_scores));
  assign core_ready = (out_ready | drop) & ~dup;
  always @(posedge clk)
    if (rst) begin count <= 0; age <= 0; dupped <= 0; end
    else begin
      if (v & out_ready & dup) dupped <= 1'b1;
      else if (v & core_ready) begin
        dupped <= 1'b0;
        count <= (count == 3'd6) ? 3'd0 : count + 3'd1;
      end
      if (age != 4'd15) age <= age + 4'd1;
    end
  assign out_valid = fault == 3 ? 1'b0 : fault == 4 ? (v | (age < 4'd3)) : (v & ~drop);
endmodule
"""


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    net = random_netlist(6, [9, 6], 3, seed=9)
    out = tmp_path_factory.mktemp("faulty")
    manifest = export(net, out, top="lgn_core", quiet=True)
    (out / "lgn_top.v").write_text(_FAULTY_TOP.format(
        n=net.num_inputs, cw=net.class_width, sw=net.num_classes * net.score_width))
    manifest.update(top="lgn_top", verilog=["lgn_top.v", "lgn_core.v"])
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


@pytest.mark.verilator
@pytest.mark.parametrize("fault,failing,text", [
    (1, STREAMS, r"^sample \d+: inputs 0x|^timeout: no transfer"),
    (2, STREAMS, r"^sample \d+: inputs 0x|out_valid is high but no sample is in flight"),
    (3, STREAMS, r"^timeout: no transfer for \d+ cycles; accepted 40 of 40 samples, got 0 results"),
    (4, {"idle_after_reset"}, r"^cycle 0 after reset: out_valid is 1 although no sample was sent$"),
], ids=["drop", "duplicate", "stuck", "phantom"])
def test_protocol_faults_are_caught(faulty, build_dir, fault, failing, text):
    result = verify_native(faulty, samples=40, build_dir=build_dir, opt=OPT, plusargs=[f"+fault={fault}"])
    assert not result.passed
    assert set(failing) <= set(result.failed_tests), result.failed_tests
    assert re.search(text, result.message), result.message
    if fault in (1, 2):   # nothing lost or duplicated goes unnoticed, whatever the values
        errors = [e for name in PATTERNS for e in result.tests[name]["errors"]]
        assert any(re.search(r"expected exactly 40 results|no sample is in flight|timeout", e)
                   for e in errors), errors


@pytest.mark.verilator
def test_wrapper_without_fault_passes(faulty, build_dir):
    """Control for the fault tests: the same build with +fault=0."""
    result = verify_native(faulty, samples=40, build_dir=build_dir, opt=OPT, plusargs=["+fault=0"])
    assert result.passed, result.message


# -- CLI ---------------------------------------------------------------------------------------------

@pytest.mark.verilator
def test_cli_native_is_the_verilator_default(mutated, build_dir, capsys, monkeypatch):
    root, _, _, first = mutated
    monkeypatch.setattr("lgn_hw.verify.native.DEFAULT_OPT", OPT)
    core, build = str(root / "core"), str(build_dir)
    argv = ["verify", core, "--sim", "verilator", "--samples", "50", "--build-dir", build, "--quiet"]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert re.search(r"^simulator +verilator \(native bench\)$", text, re.M)
    assert re.search(r"^samples +50 per test, 200 results checked$", text, re.M)
    assert text.rstrip().endswith("PASS")

    code = cli.main(["verify", core, "--sim", "verilator", "--netlist", str(root / "original.lgn.json"),
                     "--inputs", str(root / "features.npy"), "--labels", str(root / "labels.npy"),
                     "--build-dir", build, "--quiet"])
    text = capsys.readouterr().out
    assert code == 1
    assert f"first failure: sample {first}: inputs 0x" in text
    assert "FAIL" in text.splitlines()[-1]

    assert cli.main(["verify", core, "--sim", "verilator", "--inputs", str(root / "features.npy"),
                     "--labels", str(root / "labels.npy"), "--build-dir", build, "--quiet"]) == 0
    assert re.search(r"^accuracy +0\.\d{4} \(the hardware's classes against the labels\)$",
                     capsys.readouterr().out, re.M)


@pytest.mark.parametrize("extra,text", [
    (["--sim", "icarus", "--bench", "native"], r"--bench native runs on Verilator only, not icarus"),
    (["--sim", "verilator", "--waves"], r"--waves needs the cocotb bench"),
    (["--labels", "{labels}"], r"--labels needs --inputs"),
    (["--sim", "verilator", "--inputs", "{labels}"], r"inputs must be raw features of shape \(n, 4\)"),
])
def test_cli_usage_errors(mutated, capsys, extra, text):
    root, _, _, _ = mutated
    extra = [a.format(labels=root / "labels.npy") for a in extra]
    assert cli.main(["verify", str(root / "core"), *extra, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lgn-hw verify: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(text, err), err


# -- test sets and the file layout (no simulator) ------------------------------------------------------

def test_test_set_encodes_raw_features_and_checks_labels(tmp_path):
    net = _encoded_netlist()
    x = np.array([[0, 5, 9, 15], [3, 3, 3, 3]], dtype=np.float64)
    bits, labels = load_test_set(net, x, np.array([2, 0]))
    from lgn_hw.data.encoding import Encoder

    assert np.array_equal(bits, Encoder.from_dict(net.encoder).encode(x))
    assert labels.tolist() == [2, 0]
    with pytest.raises(ValueError, match=r"^labels must be classes 0\.\.2, not 3$"):
        load_test_set(net, x, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"^labels must have shape \(2,\)"):
        load_test_set(net, x, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"^inputs hold NaN or infinite features$"):
        load_test_set(net, np.array([[0, np.nan, 1, 2]]))
    plain = random_netlist(6, [6], 3, seed=0)
    with pytest.raises(ValueError, match=r"^inputs must hold only 0 and 1"):
        load_test_set(plain, np.full((2, 6), 2))
    np.save(tmp_path / "bits.npy", np.eye(6, dtype=np.uint8))
    assert load_test_set(plain, tmp_path / "bits.npy")[0].shape == (6, 6)
    with pytest.raises(ValueError, match=r"bits.txt: inputs must be a \.npy file"):
        load_test_set(plain, tmp_path / "bits.txt")


def test_quantized_inputs_are_checked_by_the_encoder(tmp_path, capsys):
    """A quantized encoder's own check speaks for bad raw features (row and feature named), on the
    CLI as one line with exit status 2, before anything is built."""
    base = random_netlist(12, [18, 12, 9], 3, seed=7)
    encoder = {"type": "features", "features": [
        {"kind": "thermometer", "thresholds": [2, 5, 9], "width": 4, "signed": False, "scale": 1, "offset": 0}
        for _ in range(4)]}
    net = Netlist(base.num_inputs, base.layers, base.num_classes, base.tau, encoder)
    x = np.arange(12, dtype=np.float64).reshape(3, 4)
    for mode in ("host", "hw"):
        assert load_test_set(net, x, mode=mode)[0].shape[0] == 3
    x[1, 2] = np.nan
    text = r"raw inputs must be finite, not nan \(row 1, feature 2\)$"
    for mode in ("host", "hw"):
        with pytest.raises(ValueError, match="^" + text):
            load_test_set(net, x, mode=mode)
    export(net, tmp_path / "core", encoder="hw", quiet=True)
    np.save(tmp_path / "x.npy", x)
    assert cli.main(["verify", str(tmp_path / "core"), "--sim", "verilator", "--inputs", str(tmp_path / "x.npy"),
                     "--build-dir", str(tmp_path / "b"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(text, err), err
    assert not (tmp_path / "b").exists() or not any((tmp_path / "b").glob("native-*"))


def test_result_words_are_the_port_layout_of_both_testbenches():
    """One layout for an expected result: {out_scores, out_class}, the plain testbench's hex
    word and the native harness's expected file."""
    net = random_netlist(8, [12, 10], 10, seed=1)         # 10 classes: wider than 32 bits in all
    bits_in = np.random.default_rng(2).integers(0, 2, (20, 8))
    res = evaluate(net, bits_in)
    words = result_words(net, res.classes, res.scores)
    cw, w = net.class_width, net.score_width
    assert words.dtype == np.dtype("<u4") and words.shape == (20, -(-(cw + 10 * w) // 32))
    values = [sum(int(x) << (32 * i) for i, x in enumerate(row)) for row in words]
    for cls, scores, whole in zip(res.classes, res.scores, values):
        assert whole & ((1 << cw) - 1) == cls
        assert [(whole >> (cw + c * w)) & ((1 << w) - 1) for c in range(10)] == scores.tolist()
        assert whole >> (cw + 10 * w) == 0
    from lgn_hw.hdl.export import _expected_words

    assert [int(line, 16) for line in _expected_words(net, bits_in).split()] == values


def test_bad_arguments(mutated, tmp_path):
    root, _, _, _ = mutated
    with pytest.raises(ValueError, match=r"^patterns must be distinct names from full_throughput"):
        verify_native(root / "core", patterns=["sideways"], build_dir=tmp_path)
    with pytest.raises(ValueError, match=r"^opt must be one of -O0, -O1"):
        build_native([root / "core" / "lgn_top.v"], "lgn_top", tmp_path, opt="-O9")
    with pytest.raises(ValueError, match=r"^labels need inputs"):
        verify_native(root / "core", labels=root / "labels.npy", build_dir=tmp_path)


@pytest.mark.verilator
def test_build_failure_is_reported(tmp_path):
    bad = tmp_path / "bad.v"
    bad.write_text("module lgn_top(input clk); this is not verilog; endmodule\n")
    with pytest.raises(VerifyError, match=r"^verilator failed to build lgn_top"):
        build_native([bad], "lgn_top", tmp_path / "b", opt=OPT)


def test_hardware_words_are_the_bits_packed_lsb_first():
    bits = np.random.default_rng(3).integers(0, 2, (30, 70), dtype=np.uint8)
    words = hardware_words(bits)
    assert words.shape == (30, 3) and words.dtype == np.dtype("<u4")
    for row, packed in zip(bits, words):
        assert sum(int(w) << (32 * i) for i, w in enumerate(packed)) == sum(int(b) << i for i, b in enumerate(row))


@pytest.mark.icarus
def test_cli_cocotb_bench_reads_test_sets_too(mutated, tmp_path, capsys):
    """--inputs (raw features through the encoder) and --labels on the cocotb bench (Icarus)."""
    root, mutant, bits, _ = mutated
    np.save(tmp_path / "x.npy", np.load(root / "features.npy")[:30])
    np.save(tmp_path / "y.npy", np.load(root / "labels.npy")[:30])
    code = cli.main(["verify", str(root / "core"), "--inputs", str(tmp_path / "x.npy"), "--labels",
                     str(tmp_path / "y.npy"), "--build-dir", str(tmp_path / "b"), "--quiet"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert re.search(r"^simulator +icarus \(cocotb bench\)$", text, re.M)
    assert re.search(r"^samples +30 per test, 60 results checked$", text, re.M)
    want = np.mean(evaluate(mutant, bits[:30]).classes == np.load(root / "labels.npy")[:30])
    assert f"accuracy    {want:.4f} " in text
