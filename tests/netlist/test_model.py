"""The netlist file: round trip, one-line errors naming field and value, fuzzed files, CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgn_hw.cli import main
from lgn_hw import gates
from lgn_hw.netlist import Layer, LutLayer, Netlist, NetlistError, load, random_netlist
from lgn_hw.netlist.model import loads

EXAMPLE = __import__("pathlib").Path(__file__).parents[2] / "examples" / "example.lgn.json"

ENCODER = {"type": "features", "features": [{"kind": "thermometer", "thresholds": [0.5, 1.5]},
                                            {"kind": "bit"}, {"kind": "onehot", "values": [1, 2, 3]}]}


def valid_dict():
    net = random_netlist(6, [8, 6], 3, seed=1, tau=2.5)
    d = net.to_dict()
    d["encoder"] = json.loads(json.dumps(ENCODER))  # a fresh copy: the fuzzer mutates it
    d["metadata"] = {"dataset": "toy"}
    return d


def lut_dict():
    """A valid mixed netlist: a 3-LUT layer, a gate layer, a 6-LUT layer (file version 2)."""
    d = random_netlist(6, [8, 6, 6], 3, seed=2, k=[3, None, 6]).to_dict()
    d["metadata"] = {"dataset": "toy"}
    return d


def test_round_trip_through_file(tmp_path):
    net = Netlist.from_dict(valid_dict())
    path = net.save(tmp_path / "n.lgn.json")
    back = load(path)
    assert back == net and back.metadata == {"dataset": "toy"}
    assert back.sha256() == net.sha256()
    assert loads(net.dumps()) == net
    assert json.loads(path.read_text())["format"] == "lgn-netlist"


def _mutated(path, value):
    d = valid_dict()
    target = d
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


_DELETE = object()
_DEEP = "\u2603deep\u2603"

def test_version_1_files_read_and_write_byte_identically(tmp_path):
    text = EXAMPLE.read_text()
    net = load(EXAMPLE)
    assert net.format_version == 1 and not net.has_lut_layers
    assert net.dumps() == text
    assert load(net.save(tmp_path / "again.lgn.json")).dumps() == text
    assert (tmp_path / "again.lgn.json").read_text() == text


def test_a_version_2_file_of_gates_only_is_written_back_as_version_1():
    d = valid_dict()
    d["version"] = 2
    d["layers"][0]["kind"] = "gate"
    net = Netlist.from_dict(d)
    assert json.loads(net.dumps())["version"] == 1
    assert net == Netlist.from_dict(valid_dict())


def test_lut_netlist_round_trip(tmp_path):
    d = lut_dict()
    net = Netlist.from_dict(d)
    assert [layer.kind for layer in net.layers] == ["lut", "gate", "lut"]
    assert isinstance(net.layers[0], LutLayer) and isinstance(net.layers[1], Layer)
    assert net.layers[2].tables.dtype == np.uint64 and net.layers[2].inputs.shape == (6, 6)
    assert net.num_gates == 20 and net.widths == [8, 6, 6]
    assert net.format_version == 2 and json.loads(net.dumps())["version"] == 2
    back = load(net.save(tmp_path / "lut.lgn.json"))
    assert back == net and back.dumps() == net.dumps() and back.sha256() == net.sha256()
    assert net.to_dict()["layers"][0]["kind"] == "lut"
    # A table using the top bit of a 64-bit word survives the file.
    top = (1 << 64) - 1
    d["layers"][2]["tables"][0] = top
    assert int(loads(json.dumps(d)).layers[2].tables[0]) == top
    # Changing one table bit changes the netlist and its digest.
    d["layers"][2]["tables"][0] = top - 1
    assert loads(json.dumps(d)) != back and loads(json.dumps(d)).sha256() != back.sha256()


def test_lut_layer_from_python_objects():
    layer = LutLayer(2, [[0, 1]], [gates.gate_table(6)])
    net = Netlist(2, [layer, {"kind": "lut", "k": 3, "inputs": [[0, 0, 0]], "tables": [1]}], 1)
    assert net.layers[1] == LutLayer(3, np.zeros((1, 3), dtype=np.int64), np.array([1], dtype=np.uint8))
    with pytest.raises(NetlistError, match=r"^layers\[0\]\.tables\[0\]: table must be in 0\.\.2\*\*4-1 \(4 bits for k=2\), got 16$"):
        Netlist(2, [LutLayer(2, [[0, 1]], [16])], 1)
    with pytest.raises(NetlistError, match=r"^layer\.inputs: must have shape \(N, 3\), got shape \(1, 2\)$"):
        LutLayer(3, [[0, 1]], [1])
    with pytest.raises(NetlistError, match=r"^layer\.tables\[0\]: table must not be negative, got -1$"):
        LutLayer(2, [[0, 1]], np.array([-1]))
    with pytest.raises(NetlistError, match=r"^layer\.tables\[0\]: must be an integer, got 1\.0$"):
        LutLayer(2, [[0, 1]], [1.0])
    with pytest.raises(NetlistError, match=r"^layer\.k: must be in 2\.\.6, got 1$"):
        LutLayer(1, [[0]], [1])
    with pytest.raises(NetlistError, match=r"^layer\.kind: must be 'gate' or 'lut', got 'x'$"):
        Netlist(2, [{"kind": "x"}], 1)


def _lut_mutated(path, value):
    d = lut_dict()
    target = d
    for key in path[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return d


LUT_BAD = [
    (("version",), 1, r"^version: a netlist with LUT layers must be version 2, got 1$"),
    (("layers", 0, "k"), 7, r"^layers\[0\]\.k: must be in 2\.\.6, got 7$"),
    (("layers", 0, "k"), 1, r"^layers\[0\]\.k: must be in 2\.\.6, got 1$"),
    (("layers", 0, "k"), 3.0, r"^layers\[0\]\.k: must be an integer in 2\.\.6, got 3\.0$"),
    (("layers", 0, "k"), True, r"^layers\[0\]\.k: must be an integer in 2\.\.6, got True$"),
    (("layers", 0, "k"), _DELETE, r"^layers\[0\]\.k: missing required field$"),
    (("layers", 0, "kind"), "lutt", r"^layers\[0\]\.kind: must be 'gate' or 'lut', got 'lutt'$"),
    (("layers", 0, "kind"), _DELETE, r"^layers\[0\]\.a: missing required field$"),
    (("layers", 0, "tables", 1), 256, r"^layers\[0\]\.tables\[1\]: table must be in 0\.\.2\*\*8-1 \(8 bits for k=3\), got 256$"),
    (("layers", 2, "tables", 5), 2**64, r"^layers\[2\]\.tables\[5\]: table must be in 0\.\.2\*\*64-1 \(64 bits for k=6\), got 18446744073709551616$"),
    (("layers", 0, "tables", 1), -1, r"^layers\[0\]\.tables\[1\]: table must be in 0\.\.2\*\*8-1 .*got -1$"),
    (("layers", 0, "tables", 1), 1.0, r"^layers\[0\]\.tables\[1\]: must be an integer, got 1\.0$"),
    (("layers", 0, "tables", 1), "7", r"^layers\[0\]\.tables\[1\]: must be an integer, got '7'$"),
    (("layers", 0, "tables", 1), False, r"^layers\[0\]\.tables\[1\]: must be an integer, got False$"),
    (("layers", 0, "tables"), 5, r"^layers\[0\]\.tables: must be a list of integers, got 5$"),
    (("layers", 0, "tables"), [1], r"^layers\[0\]: 'inputs' and 'tables' must have equal lengths, got 8 and 1$"),
    (("layers", 0, "inputs", 2), [1, 2], r"^layers\[0\]\.inputs\[2\]: must be a list of 3 indices \(k=3\), got \[1, 2\]$"),
    (("layers", 0, "inputs", 2), 4, r"^layers\[0\]\.inputs\[2\]: must be a list of 3 indices \(k=3\), got 4$"),
    (("layers", 0, "inputs", 2, 1), 6, r"^layers\[0\]\.inputs\[2\]\[1\]: index must be in 0\.\.5, got 6$"),
    (("layers", 2, "inputs", 0, 5), -1, r"^layers\[2\]\.inputs\[0\]\[5\]: index must be in 0\.\.5, got -1$"),
    (("layers", 0, "inputs", 2, 1), 0.5, r"^layers\[0\]\.inputs\[2\]\[1\]: must be an integer, got 0\.5$"),
    (("layers", 0, "inputs"), [], r"^layers\[0\]: 'inputs' and 'tables' must have equal lengths, got 0 and 8$"),
    (("layers", 0, "a"), [0], r"^layers\[0\]\.a: unknown field, got \[0\]$"),
    (("layers", 1, "kind"), "lut", r"^layers\[1\]\.k: missing required field$"),
]


@pytest.mark.parametrize("path,value,message", LUT_BAD, ids=[m[2][:40] for m in LUT_BAD])
def test_malformed_lut_fields_give_one_line_naming_field_and_value(path, value, message):
    text = json.dumps(_lut_mutated(path, value))
    with pytest.raises(NetlistError, match=message) as info:
        loads(text)
    assert "\n" not in str(info.value)


def test_lut_layer_cli_errors_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.lgn.json"
    bad.write_text(json.dumps(_lut_mutated(("layers", 0, "k"), 9)))
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert re.match(r"^lgn-hw info: error: .*layers\[0\]\.k: must be in 2\.\.6, got 9\n$", err)


BAD = [
    (("format",), "netlist", r"^format: must be 'lgn-netlist', got 'netlist'$"),
    (("version",), 3, r"^version: unsupported version, this reader knows 1 and 2, got 3$"),
    (("version",), 2.0, r"^version: unsupported version.*got 2\.0$"),
    (("version",), True, r"^version: .*got True$"),
    (("num_inputs",), _DELETE, r"^num_inputs: missing required field$"),
    (("num_inputs",), "6", r"^num_inputs: must be an integer, got '6'$"),
    (("num_inputs",), 0, r"^num_inputs: must be at least 1, got 0$"),
    (("num_classes",), 4, r"^layers\[1\]: width 6 is not a multiple of num_classes 4$"),
    (("num_classes",), 2.0, r"^num_classes: must be an integer, got 2\.0$"),
    (("tau",), -1, r"^tau: must be a positive finite number, got -1$"),
    (("tau",), "1", r"^tau: must be a positive number, got '1'$"),
    (("layers",), {}, r"^layers: must be a list of layers, got \{\}$"),
    (("layers",), [], r"^layers: must hold at least one layer, got \[\]$"),
    (("layers", 0), [1, 2], r"^layers\[0\]: must be an object"),
    (("layers", 0, "a"), _DELETE, r"^layers\[0\]\.a: missing required field$"),
    (("layers", 0, "op", 2), 16, r"^layers\[0\]\.op\[2\]: op must be in 0\.\.15, got 16$"),
    (("layers", 0, "op", 2), 1.5, r"^layers\[0\]\.op\[2\]: must be an integer, got 1\.5$"),
    (("layers", 1, "a", 0), 8, r"^layers\[1\]\.a\[0\]: index must be in 0\.\.7, got 8$"),
    (("layers", 1, "b", 3), -1, r"^layers\[1\]\.b\[3\]: index must be in 0\.\.7, got -1$"),
    (("layers", 0, "b", 0), 10**30, r"^layers\[0\]\.b\[0\]: is out of range, got 1000000000000000"),
    (("layers", 0, "b"), [0], r"^layers\[0\]: 'a', 'b' and 'op' must have equal lengths, got 8, 1 and 8$"),
    (("layers", 0, "c"), [0], r"^layers\[0\]\.c: unknown field, got \[0\]$"),
    (("extra",), 1, r"^extra: unknown field, got 1$"),
    (("metadata",), [], r"^metadata: must be an object, got \[\]$"),
    (("encoder",), {"type": "features", "features": [{"kind": "bit"}]}, r"^encoder: produces 1 bits but num_inputs is 6$"),
    # Found by the fuzz test in CI: integers too large for a float crashed with OverflowError.
    (("tau",), 10**400, r"^tau: must be a positive finite number, got 1000000000"),
    (("num_inputs",), 10**30, r"^num_inputs: must be at most 2147483647, got 1000000000"),
    (("num_classes",), 10**30, r"^num_classes: must be at most 2147483647, got 1000000000"),
    (("encoder",), {"type": "features", "features": [{"kind": "onehot", "values": [10**400]}]},
     r"^encoder: features\[0\]\.values must hold finite numbers, not 1000000000"),
]


@pytest.mark.parametrize("path,value,message", BAD, ids=[m[2][:40] for m in BAD])
def test_malformed_fields_give_one_line_naming_field_and_value(path, value, message):
    text = json.dumps(_mutated(path, value))
    with pytest.raises(NetlistError, match=message) as info:
        loads(text)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("text,message", [
    ("{", r"^netlist: not valid JSON"),
    ("[]", r"^netlist: must be a JSON object, got \[\]$"),
    ('{"tau": NaN}', r"^netlist: NaN is not a number JSON allows$"),
    ("[" * 100000, r"^netlist: (JSON nested too deeply|not valid JSON)"),
])
def test_malformed_text(text, message):
    with pytest.raises(NetlistError, match=message):
        loads(text)


@pytest.mark.parametrize("field", ['"num_inputs": 6', '"tau": 2.5', '"metadata": {"dataset": "toy"}'])
def test_nesting_just_below_the_json_limit_is_a_netlist_error(field):
    # Deep enough for json to parse but for repr() of the bad value to hit the recursion limit:
    # a RecursionError used to escape from loads().
    import sys

    text = json.dumps(valid_dict())
    assert field in text
    limit = sys.getrecursionlimit()
    for depth in range(limit - 150, limit + 10, 3):
        deep = "[" * depth + "]" * depth
        with pytest.raises(NetlistError):
            loads(text.replace(field, field.split(":")[0] + ": " + deep))


def test_missing_and_directory_and_binary_files(tmp_path):
    with pytest.raises(NetlistError, match=r"no such netlist file$"):
        load(tmp_path / "none.lgn.json")
    with pytest.raises(NetlistError, match=r"is a directory"):
        load(tmp_path)
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(NetlistError, match=r"^netlist: not UTF-8 text"):
        load(tmp_path / "bin")


# -- fuzzing ---------------------------------------------------------------------------------
_VALID = {"gates": valid_dict, "lut": lut_dict}
_VALID_TEXT = {name: Netlist.from_dict(make()).dumps() for name, make in _VALID.items()}

junk = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj[:4]):
            yield from _paths(v, prefix + (i,))


def _loads_total(text):
    """loads either returns a valid Netlist or raises NetlistError -- nothing else."""
    try:
        net = loads(text)
    except NetlistError as exc:
        assert "\n" not in str(exc)
        return
    net.validate()


@pytest.mark.parametrize("which", _VALID)
@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_json_mutations_never_crash(which, data):
    d = _VALID[which]()
    paths = [p for p in _paths(d) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        target = d
        try:
            for key in path[:-1]:
                target = target[key]
            choice = data.draw(st.sampled_from(["junk", "delete", "nan", "huge", "deep", "int"]))
            if choice == "delete" and isinstance(target, dict):
                del target[path[-1]]
            elif choice == "nan":
                target[path[-1]] = float("nan")
            elif choice == "huge":
                target[path[-1]] = data.draw(st.sampled_from([2**63, -2**63 - 1, 10**400, 1e308]))
            elif choice == "int":  # near the edges of indices, k and table widths
                target[path[-1]] = data.draw(st.sampled_from([-1, 0, 1, 2, 5, 6, 7, 255, 256, 2**64 - 1]))
            elif choice == "deep":
                target[path[-1]] = _DEEP  # replaced by deep nesting in the text below
            else:
                target[path[-1]] = data.draw(junk)
        except (KeyError, IndexError, TypeError):
            continue
    try:
        text = json.dumps(d)
    except ValueError:  # NaN is checked by the byte fuzzer and test_malformed_text
        text = json.dumps(d, allow_nan=True)
    depth = data.draw(st.integers(1, 1200))
    _loads_total(text.replace(json.dumps(_DEEP), "[" * depth + "]" * depth))


@pytest.mark.parametrize("which", _VALID)
@settings(max_examples=200, deadline=2000)
@given(data=st.data())
def test_fuzzed_bytes_never_crash(which, data):
    raw = bytearray(_VALID_TEXT[which].encode())
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert"]))
    if kind == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    else:
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(raw) - 1))
            b = data.draw(st.integers(0, 255))
            if kind == "flip":
                raw[i] = b
            else:
                raw.insert(i, b)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    _loads_total(text)


# -- CLI -------------------------------------------------------------------------------------
@pytest.mark.parametrize("content", ["{", '{"format": "lgn-netlist"}', "[]"])
@pytest.mark.parametrize("command", ["info", "predict"])
def test_cli_bad_file_prints_one_line_and_exits_2(command, content, tmp_path, capsys):
    bad = tmp_path / "bad.lgn.json"
    bad.write_text(content)
    np.save(tmp_path / "x.npy", np.zeros((1, 6), dtype=np.uint8))
    argv = [command, str(bad)] + ([str(tmp_path / "x.npy")] if command == "predict" else [])
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert re.match(rf"^lgn-hw {command}: error: ", captured.err)
    assert "Traceback" not in captured.err + captured.out


def test_cli_info_and_predict_on_a_good_file(tmp_path, capsys):
    net = random_netlist(6, [8, 6], 3, seed=1)
    net.save(tmp_path / "n.lgn.json")
    assert main(["info", str(tmp_path / "n.lgn.json")]) == 0
    assert "gates       14" in capsys.readouterr().out
    np.save(tmp_path / "x.npy", np.ones((2, 6), dtype=np.uint8))
    assert main(["predict", str(tmp_path / "n.lgn.json"), str(tmp_path / "x.npy")]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_a_quantized_encoder_needs_version_2():
    d = valid_dict()
    assert Netlist.from_dict(d).format_version == 1
    d["encoder"] = {"type": "features", "features": [
        {"kind": "thermometer", "thresholds": [0, 1], "width": 8, "signed": False, "scale": 1.0, "offset": 0.0},
        {"kind": "bit", "width": 1}, {"kind": "onehot", "values": [1, 2, 3], "width": 8, "signed": False}]}
    net = Netlist.from_dict(dict(d, version=2))
    assert net.format_version == 2 and json.loads(net.dumps())["version"] == 2
    with pytest.raises(NetlistError, match=r"^version: a netlist with a quantized encoder must be version 2, got 1$"):
        loads(json.dumps(d))


def test_cli_info_shows_lut_layers_and_table_stats(tmp_path, capsys):
    full = (1 << 8) - 1
    pass1 = gates.lut_pass_through(3, 1)
    and01 = gates.lut_extend(gates.OP_BY_NAME["AND"], 2, 3)
    lut = LutLayer(3, [[0, 1, 2]] * 4, [0, full, pass1, and01])
    net = Netlist(3, (lut, Layer([0, 2], [1, 3], [6, 7])), 2)
    np.testing.assert_array_equal(lut.reads(), [0, 0, 1, 2])
    np.testing.assert_array_equal(lut.is_constant(), [True, True, False, False])
    np.testing.assert_array_equal(lut.is_passthrough(), [False, False, True, False])
    net.save(tmp_path / "m.lgn.json")
    assert main(["info", str(tmp_path / "m.lgn.json")]) == 0
    out = capsys.readouterr().out
    assert "depth       2 layers (1 LUT layers), file version 2" in out
    assert "nodes       6  (2 gates, 4 LUT nodes)" in out
    assert re.search(r"layer 0 +4 +LUT-3", out) and re.search(r"layer 1 +2 +gates", out)
    assert "layer 0   LUT-3  reads 0:2 1:1 2:1 3:0  (mean 0.75)  constant 2  pass-through 1" in out
    assert re.search(r"6 XOR +1 +50\.0%", out)
