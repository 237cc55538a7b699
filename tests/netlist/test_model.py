"""The netlist file: round trip, one-line errors naming field and value, fuzzed files, CLI."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lgn_hw.cli import main
from lgn_hw.netlist import Netlist, NetlistError, load, random_netlist
from lgn_hw.netlist.model import loads

ENCODER = {"type": "features", "features": [{"kind": "thermometer", "thresholds": [0.5, 1.5]},
                                            {"kind": "bit"}, {"kind": "onehot", "values": [1, 2, 3]}]}


def valid_dict():
    net = random_netlist(6, [8, 6], 3, seed=1, tau=2.5)
    d = net.to_dict()
    d["encoder"] = json.loads(json.dumps(ENCODER))  # a fresh copy: the fuzzer mutates it
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

BAD = [
    (("format",), "netlist", r"^format: must be 'lgn-netlist', got 'netlist'$"),
    (("version",), 2, r"^version: unsupported version.*got 2$"),
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
_VALID_TEXT = Netlist.from_dict(valid_dict()).dumps()

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


@settings(max_examples=200, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzzed_json_mutations_never_crash(data):
    d = valid_dict()
    paths = [p for p in _paths(d) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        target = d
        try:
            for key in path[:-1]:
                target = target[key]
            choice = data.draw(st.sampled_from(["junk", "delete", "nan", "huge", "deep"]))
            if choice == "delete" and isinstance(target, dict):
                del target[path[-1]]
            elif choice == "nan":
                target[path[-1]] = float("nan")
            elif choice == "huge":
                target[path[-1]] = data.draw(st.sampled_from([2**63, -2**63 - 1, 10**400, 1e308]))
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


@settings(max_examples=200, deadline=2000)
@given(st.data())
def test_fuzzed_bytes_never_crash(data):
    raw = bytearray(_VALID_TEXT.encode())
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
