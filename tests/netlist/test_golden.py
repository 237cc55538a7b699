"""The golden model's fast backends against the one-byte-per-bit reference."""

from __future__ import annotations

import logging
import os
import shutil

import numpy as np
import pytest

from lgn_hw import gates
from lgn_hw.netlist import Layer, LutLayer, Netlist, evaluate, golden, predict, random_netlist
from lgn_hw.netlist.golden import pack_bits, unpack_bits
from lgn_hw.netlist.reference import evaluate_reference

FAST = ("auto", "c", "numpy")
ALL = FAST + ("reference",)


def assert_matches_reference(net, bits, backends=ALL):
    want_scores, want_classes = evaluate_reference(net, np.asarray(bits, dtype=np.uint8))
    for backend in backends:
        got = evaluate(net, bits, backend=backend)
        assert got.scores.shape == want_scores.shape, backend
        assert got.scores.dtype == np.int64 and got.classes.dtype == np.int64, backend
        np.testing.assert_array_equal(got.scores, want_scores, err_msg=f"backend {backend}")
        np.testing.assert_array_equal(got.classes, want_classes, err_msg=f"backend {backend}")


def random_case(seed):
    rng = np.random.default_rng(seed)
    num_inputs = int(rng.choice([1, 5, 31, 32, 33, 63, 65, 100, 200]))
    num_classes = int(rng.choice([1, 2, 3, 10]))
    k = int(rng.choice([1, 2, 7, 8, 9, 17, 40]))
    hidden = [int(w) for w in rng.integers(1, 300, int(rng.integers(0, 5)))]
    net = random_netlist(num_inputs, hidden + [num_classes * k], num_classes, seed=seed)
    n = int(rng.choice([0, 1, 2, 63, 64, 65, 255, 257, 1000, 1500]))
    bits = rng.integers(0, 2, (n, num_inputs), dtype=np.uint8)
    return net, bits


@pytest.mark.parametrize("seed", range(60))
def test_random_netlists_match_reference(seed):
    net, bits = random_case(seed)
    assert_matches_reference(net, bits)


@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 2049, 5000])
def test_sample_counts_around_blocks_and_threads(n):
    # 5000 samples span many 256-sample blocks, so the C backend splits them over threads.
    net = random_netlist(70, [130, 90, 30], 3, seed=n)
    bits = np.random.default_rng(n).integers(0, 2, (n, 70), dtype=np.uint8)
    assert_matches_reference(net, bits)


def test_hand_computed_example():
    # Class 0 = AND + OR, class 1 = XOR + NAND of the two input bits.
    op = [gates.OP_BY_NAME[name] for name in ("AND", "OR", "XOR", "NAND")]
    net = Netlist(2, (Layer([0, 0, 0, 0], [1, 1, 1, 1], op),), 2)
    bits = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.uint8)
    for backend in ALL:
        result = evaluate(net, bits, backend=backend)
        np.testing.assert_array_equal(result.scores, [[0, 1], [1, 2], [1, 2], [2, 0]])
        np.testing.assert_array_equal(result.classes, [1, 1, 1, 0])


def test_every_op_on_every_input_pair():
    # One gate per op; samples are the four (a, b) pairs; k = 1 per class, 16 classes.
    net = Netlist(2, (Layer([0] * 16, [1] * 16, list(range(16))),), 16)
    bits = np.array([[a, b] for a in (0, 1) for b in (0, 1)], dtype=np.uint8)
    want = np.array([[gates.truth(op, a, b) for op in range(16)] for a, b in bits])
    for backend in ALL:
        np.testing.assert_array_equal(evaluate(net, bits, backend=backend).scores, want)
    assert_matches_reference(net, bits)


@pytest.mark.parametrize("seed", range(5))
def test_all_ops_deep_netlists(seed):
    # Every layer holds every op several times, in random order and random wiring.
    rng = np.random.default_rng(seed)
    layers, prev = [], 40
    for width in (16 * 7, 16 * 5, 16 * 3):
        ops = rng.permutation(np.arange(width) % 16)
        layers.append(Layer(rng.integers(0, prev, width), rng.integers(0, prev, width), ops))
        prev = width
    net = Netlist(40, tuple(layers), 16)
    bits = np.random.default_rng(seed).integers(0, 2, (300, 40), dtype=np.uint8)
    assert_matches_reference(net, bits)


@pytest.mark.parametrize("op, want_class", [(gates.OP_BY_NAME["FALSE"], 0), (gates.OP_BY_NAME["TRUE"], 0)])
def test_all_scores_tied_picks_class_zero(op, want_class):
    net = random_netlist(10, [20, 30], 3, seed=1, ops=[op])
    bits = np.random.default_rng(0).integers(0, 2, (70, 10), dtype=np.uint8)
    for backend in ALL:
        result = evaluate(net, bits, backend=backend)
        assert (result.classes == want_class).all()
        assert len(np.unique(result.scores)) == 1


def test_tie_between_later_classes_picks_lowest_index():
    # Class 0 is always 0 (FALSE); classes 1 and 2 both copy input 0; class 3 is FALSE.
    false, pass_a = gates.OP_BY_NAME["FALSE"], gates.PASS_A
    net = Netlist(3, (Layer([0, 0, 0, 0], [0, 0, 0, 0], [false, pass_a, pass_a, false]),), 4)
    bits = np.array([[1, 0, 1], [0, 1, 1]], dtype=np.uint8)
    for backend in ALL:
        np.testing.assert_array_equal(evaluate(net, bits, backend=backend).classes, [1, 0])


@pytest.mark.parametrize("seed", range(8))
def test_k1_many_ties(seed):
    # k = 1 and few classes: ties on nearly every sample.
    net = random_netlist(33, [65, 2], 2, seed=seed)
    bits = np.random.default_rng(seed).integers(0, 2, (333, 33), dtype=np.uint8)
    assert_matches_reference(net, bits)


@pytest.mark.parametrize("convert", [
    lambda x: x.astype(bool), lambda x: x.astype(np.int8), lambda x: x.astype(np.int64),
    lambda x: x.astype(np.float32), lambda x: np.asfortranarray(x), lambda x: x[::2],
    lambda x: x[:, ::-1].copy()[:, ::-1], lambda x: x.tolist(),
], ids=["bool", "int8", "int64", "float32", "fortran", "row-step", "negative-stride", "list"])
def test_input_layouts_and_dtypes(convert):
    net = random_netlist(45, [50, 20], 4, seed=3)
    bits = np.random.default_rng(3).integers(0, 2, (700, 45), dtype=np.uint8)
    converted = convert(bits)
    assert_matches_reference(net, np.asarray(converted).astype(np.uint8))
    want = evaluate_reference(net, np.asarray(converted, dtype=np.uint8))
    for backend in ALL:
        got = evaluate(net, converted, backend=backend)
        np.testing.assert_array_equal(got.scores, want[0])


def test_one_dimensional_input_is_one_sample():
    net = random_netlist(9, [6], 3, seed=0)
    x = np.array([1, 0, 1, 1, 0, 0, 1, 0, 1], dtype=np.uint8)
    for backend in ALL:
        result = evaluate(net, x, backend=backend)
        assert result.scores.shape == (1, 3) and result.classes.shape == (1,)
    assert_matches_reference(net, x[None, :])


def test_predict_without_encoder_equals_evaluate():
    net = random_netlist(12, [9], 3, seed=2)
    bits = np.random.default_rng(2).integers(0, 2, (40, 12), dtype=np.uint8)
    np.testing.assert_array_equal(predict(net, bits).scores, evaluate(net, bits).scores)


# -- errors -------------------------------------------------------------------------------

NET = random_netlist(8, [6], 2, seed=0)


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("bits", [np.zeros((3, 7)), np.zeros((3, 9)), np.zeros((2, 3, 8)), np.zeros(5)],
                         ids=["narrow", "wide", "3d", "1d-wrong"])
def test_bad_shape(backend, bits):
    with pytest.raises(ValueError, match=r"^input bits must have shape \(n, 8\), not \("):
        evaluate(NET, bits, backend=backend)


@pytest.mark.parametrize("backend", ALL)
@pytest.mark.parametrize("bad", [
    np.full((300, 40), 2, dtype=np.uint8), np.full((9, 40), -1, dtype=np.int8),
    np.full((2, 40), 0.5), np.full((2, 40), np.nan), np.full((2, 40), 7, dtype=np.int64),
], ids=["uint8-2", "int8-neg", "float-half", "nan", "int64-7"])
@pytest.mark.parametrize("where", ["first", "row7", "middle", "last"])
def test_bad_values(backend, bad, where):
    # The C kernel checks values while it transposes groups of 8 samples: try each edge.
    n = len(bad)
    row, col = {"first": (0, 0), "row7": (min(7, n - 1), 39), "middle": (n // 2, 17),
                "last": (n - 1, 35)}[where]
    bits = np.zeros((n, 40), dtype=bad.dtype)
    bits[row, col] = bad[row, col]  # a single bad value
    with pytest.raises(ValueError, match=r"^input bits must be 0 or 1; pass raw features to predict"):
        evaluate(random_netlist(40, [6], 2, seed=0), bits, backend=backend)


def test_bad_dtype_and_backend():
    with pytest.raises(TypeError, match=r"^input bits must be 0/1 numbers or booleans, not dtype <U1$"):
        evaluate(NET, np.full((1, 8), "1"))
    with pytest.raises(ValueError, match=r"^backend must be one of 'auto', 'c', 'numpy', 'reference', not 'gpu'$"):
        evaluate(NET, np.zeros((1, 8)), backend="gpu")


# -- the C backend ------------------------------------------------------------------------

def test_c_backend_is_used_when_gcc_exists():
    if not shutil.which("gcc"):
        pytest.skip("gcc not installed: the numpy fallback is covered by the other tests")
    assert golden.c_backend_error() is None
    assert golden._lib is not None
    evaluate(NET, np.zeros((4, 8), dtype=np.uint8), backend="c")


def test_missing_compiler_falls_back_to_numpy_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr(golden, "_lib", None)
    monkeypatch.setattr(golden, "_lib_error", None)
    monkeypatch.setenv("CC", "/nonexistent/lgn-hw-cc")
    bits = np.random.default_rng(0).integers(0, 2, (100, 8), dtype=np.uint8)
    with caplog.at_level(logging.WARNING, logger="lgn_hw.netlist.golden"):
        first = evaluate(NET, bits)
        evaluate(NET, bits)
    warnings = [r for r in caplog.records if "C backend unavailable" in r.getMessage()]
    assert len(warnings) == 1
    np.testing.assert_array_equal(first.scores, evaluate_reference(NET, bits)[0])
    with pytest.raises(RuntimeError, match=r"^golden model C backend unavailable: .*lgn-hw-cc"):
        evaluate(NET, bits, backend="c")
    assert golden.c_backend_error() is not None


# -- packing helpers ----------------------------------------------------------------------

@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 200])
def test_pack_unpack_round_trip(n):
    bits = np.random.default_rng(n).integers(0, 2, (n, 5), dtype=np.uint8)
    words = pack_bits(bits)
    assert words.shape == (5, -(-n // 64)) and words.dtype == np.uint64
    for s in range(n):
        for i in range(5):
            assert (int(words[i, s // 64]) >> (s % 64)) & 1 == bits[s, i]
    np.testing.assert_array_equal(unpack_bits(words, n), bits)


@pytest.mark.timeout(120)
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_works_in_a_forked_child():
    # The C backend's thread pool does not survive fork(); the child must make its own.
    net = random_netlist(50, [100, 20], 2, seed=0)
    bits = np.random.default_rng(0).integers(0, 2, (5000, 50), dtype=np.uint8)
    want = evaluate(net, bits).scores
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        ok = np.array_equal(evaluate(net, bits).scores, want)
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


@pytest.mark.parametrize("num_inputs, widths, num_classes", [
    (100, [3000], 1),         # k = 3000: a deep bit-sliced counter
    (5, [2000, 900], 3),      # few inputs, wide layers
    (1000, [64 * 7], 7),      # wide input, k = 64
])
def test_large_shapes(num_inputs, widths, num_classes):
    net = random_netlist(num_inputs, widths, num_classes, seed=7)
    bits = np.random.default_rng(7).integers(0, 2, (300, num_inputs), dtype=np.uint8)
    assert_matches_reference(net, bits)


# -- LUT layers ---------------------------------------------------------------------------------
def random_lut_case(seed):
    rng = np.random.default_rng(1000 + seed)
    num_inputs = int(rng.choice([2, 5, 33, 100]))
    num_classes = int(rng.choice([1, 3, 10]))
    k = int(rng.choice([1, 2, 9]))
    depth = int(rng.integers(1, 5))
    kinds = [None if rng.random() < 0.3 else int(rng.integers(2, 7)) for _ in range(depth)]
    widths = [int(w) for w in rng.integers(1, 200, depth - 1)] + [num_classes * k]
    net = random_netlist(num_inputs, widths, num_classes, seed=seed, k=kinds)
    n = int(rng.choice([0, 1, 63, 64, 65, 257, 1500]))
    return net, rng.integers(0, 2, (n, num_inputs), dtype=np.uint8)


@pytest.mark.parametrize("seed", range(30))
def test_random_lut_and_mixed_netlists_match_reference(seed):
    net, bits = random_lut_case(seed)
    assert_matches_reference(net, bits, backends=LUT_BACKENDS)


LUT_BACKENDS = ALL


@pytest.mark.parametrize("k", range(2, 7))
def test_every_entry_of_a_lut_selects_its_table_bit(k):
    # One node per entry j of a one-hot table: node j is 1 exactly on the input bits of index j.
    n = 1 << k
    tables = [1 << (n - 1 - j) for j in range(n)]
    net = Netlist(k, (LutLayer(k, [list(range(k))] * n, tables),), n)
    bits = np.array([[(j >> (k - 1 - i)) & 1 for i in range(k)] for j in range(n)], dtype=np.uint8)
    for backend in LUT_BACKENDS:
        np.testing.assert_array_equal(evaluate(net, bits, backend=backend).scores, np.eye(n, dtype=np.int64))


def test_a_2_lut_layer_equals_the_gate_layer_with_its_ops():
    gate_net = random_netlist(40, [64, 30], 3, seed=5)
    lut_layers = [LutLayer(2, np.stack([l.a, l.b], axis=1), l.op.astype(np.uint64)) for l in gate_net.layers]
    lut_net = gate_net.with_layers(lut_layers)
    bits = np.random.default_rng(0).integers(0, 2, (700, 40), dtype=np.uint8)
    want = evaluate(gate_net, bits).scores
    for backend in LUT_BACKENDS:
        np.testing.assert_array_equal(evaluate(lut_net, bits, backend=backend).scores, want)
