"""A core with the encoder inside: raw features in, checked against the golden model on them."""

import json
import shutil

import numpy as np
import pytest

from lgn_hw.data.encoding import fit_thermometer
from lgn_hw.hdl import Pipeline, export
from lgn_hw.hdl.export import ManifestError, load_export
from lgn_hw.netlist import evaluate, random_netlist
from lgn_hw.netlist.model import Netlist


def _net(seed=0, thresholds_shift=0):
    """A random netlist behind a thermometer encoder fitted on float features (so it has a scale)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, (200, 6))
    enc = fit_thermometer(x, 3).to_dict()
    for feature in enc["features"]:  # a middle threshold moved by that many grid steps
        feature["thresholds"][1] += thresholds_shift
    net = random_netlist(18, [24, 12], 3, seed=seed)
    return Netlist(net.num_inputs, net.layers, net.num_classes, net.tau, enc, {}), x


def test_manifest_records_the_in_data_fields(tmp_path):
    net, _ = _net()
    manifest = export(net, tmp_path, encoder="hw", quiet=True)
    enc = manifest["encoder"]
    assert enc["mode"] == "hw" and len(enc["fields"]) == 6
    assert [f["lsb"] for f in enc["fields"]] == list(np.cumsum([0] + [f["width"] for f in enc["fields"]])[:-1])
    assert enc["in_width"] == sum(f["width"] for f in enc["fields"])
    assert {p["name"]: p["width"] for p in manifest["ports"]}["in_data"] == enc["in_width"]
    assert manifest["latency_parts"]["encoder"] == 1
    ex = load_export(tmp_path)
    assert (ex.encoder, ex.in_width) == ("hw", enc["in_width"])


def test_version_1_manifest_still_reads_as_a_bit_core(tmp_path):
    net, _ = _net()
    export(net, tmp_path, quiet=True)
    path = tmp_path / "manifest.json"
    data = json.loads(path.read_text())
    data["version"] = 1
    del data["encoder"]
    path.write_text(json.dumps(data))
    ex = load_export(tmp_path)
    assert (ex.encoder, ex.in_width) == ("host", net.num_inputs)


def test_a_manifest_claiming_the_wrong_encoder_mode_is_refused(tmp_path):
    net, _ = _net()
    export(net, tmp_path, encoder="hw", quiet=True)
    path = tmp_path / "manifest.json"
    data = json.loads(path.read_text())
    data["encoder"] = {"mode": "host", "in_width": net.num_inputs}
    path.write_text(json.dumps(data))
    with pytest.raises(ManifestError):
        load_export(tmp_path)


def test_a_netlist_with_another_encoder_does_not_belong_to_the_core(tmp_path):
    net, _ = _net()
    other, _ = _net(thresholds_shift=1)
    export(net, tmp_path, encoder="hw", quiet=True)
    ex = load_export(tmp_path)
    with pytest.raises(ValueError, match=r"encoder differs from the one built into the core"):
        ex.check_matches(other)


@pytest.mark.icarus
def test_raw_features_verify_on_icarus_and_a_changed_threshold_fails(tmp_path):
    from lgn_hw.verify import verify

    net, x = _net(seed=3)
    good = tmp_path / "good"
    export(net, good, encoder="hw", pipeline=Pipeline(2, 1, True), quiet=True)
    words = load_export(good).inputs.from_raw(x)
    result = verify(good, sim="icarus", inputs=words[:60], seed=1, build_dir=tmp_path / "cache")
    assert result.passed, result.summary()
    assert result.samples == 60
    # The same core with thresholds moved, checked against the original netlist.
    bad_net, _ = _net(seed=3, thresholds_shift=30)
    assert not np.array_equal(evaluate(bad_net, _bits(bad_net, x)).scores,
                              evaluate(net, _bits(net, x)).scores), "the change must matter on x"
    bad = tmp_path / "bad"
    export(bad_net, bad, encoder="hw", pipeline=Pipeline(2, 1, True), quiet=True)
    shutil.copy(bad / "lgn_top.v", good / "lgn_top.v")
    result = verify(good, sim="icarus", inputs=words[:200], seed=1, build_dir=tmp_path / "cache")
    assert not result.passed and result.mismatches > 0


def _bits(net, x):
    from lgn_hw.data.encoding import Encoder

    return Encoder.from_dict(net.encoder).encode(x)


@pytest.mark.icarus
def test_uart_sends_raw_features_to_a_core_with_the_encoder_inside(tmp_path):
    from lgn_hw.synth.uart import sample_bytes
    from lgn_hw.synth.uart_sim import simulate_uart

    net, x = _net(seed=4)
    export(net, tmp_path / "hw", encoder="hw", quiet=True)
    ex = load_export(tmp_path / "hw")
    assert sample_bytes(ex) == 6  # six 8-bit features: one byte each
    result = simulate_uart(ex, inputs=x[:8], build_dir=tmp_path / "cache")
    assert result.passed, result.failures


def test_a_csv_test_set_loads_with_its_label_column(tmp_path):
    from lgn_hw.data import load_data_file
    from lgn_hw.verify.native import load_test_set

    rng = np.random.default_rng(0)
    path = tmp_path / "t.csv"
    rows = ["size,colour,kind"] + [f"{rng.normal(5 * (i % 2), 1):.3f},{['red', 'blue'][i % 2]},{['a', 'b'][i % 2]}"
                                   for i in range(60)]
    path.write_text("\n".join(rows) + "\n")
    data = load_data_file(path, levels=3)
    net0 = random_netlist(data.num_inputs, [20, 10], 2, seed=1)
    net = Netlist(net0.num_inputs, net0.layers, 2, 1.0, data.encoder.to_dict(),
                  {"class_names": ["a", "b"], "columns": ["size", "colour"], "label": "kind"})
    words, labels = load_test_set(net, path, mode="hw")
    assert labels.tolist() == [i % 2 for i in range(60)]
    assert words.shape == (60, sum(f.width for f in data.encoder.features))


def test_lint_reads_the_ports_of_a_core_with_the_encoder_inside(tmp_path):
    from lgn_hw.hdl.lint import lint

    net, _ = _net()
    export(net, tmp_path, encoder="hw", quiet=True)
    report = lint(tmp_path, verilator=False)   # pyverilog's view of the ports against the export's
    assert ("in_data", "in", load_export(tmp_path).in_width) in report.ports


@pytest.mark.verilator
def test_a_core_with_the_encoder_inside_is_lint_clean(tmp_path):
    from lgn_hw.data.encoding import onehot
    from lgn_hw.hdl.lint import lint

    net, _ = _net()
    # A one-hot feature too (its match with code 0 is written as a test for zero).
    enc = dict(net.encoder, features=net.encoder["features"][:5] + [
        dict(onehot([[0, 1, 2]]).to_dict()["features"][0])])
    net = Netlist(net.num_inputs, net.layers, net.num_classes, net.tau, enc, {})
    export(net, tmp_path, encoder="hw", quiet=True)
    lint(tmp_path)   # raises LintError on any Verilator -Wall warning
