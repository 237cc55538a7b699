import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lgn_hw.data import Encoder, bits, fit_onehot, fit_thermometer, onehot
from lgn_hw.data.encoding import int_range


def test_uniform_thermometer_thresholds_and_bits():
    x = np.array([[0.0, 10.0], [4.0, 20.0], [8.0, 30.0]])
    enc = fit_thermometer(x, 3, method="uniform", quantized=False)
    assert enc.features[0].values == (2.0, 4.0, 6.0)
    assert enc.features[1].values == (15.0, 20.0, 25.0)
    b = enc.encode(x)
    assert b.shape == (3, 6) and b.dtype == np.uint8
    assert b[1].tolist() == [1, 0, 0, 1, 0, 0]  # 4 > 2 only; 20 > 15 only
    assert b[2].tolist() == [1, 1, 1, 1, 1, 1]


def test_quantile_thermometer_balances_bits():
    rng = np.random.default_rng(0)
    x = rng.exponential(size=(4000, 1))
    enc = fit_thermometer(x, 3, method="quantile")
    means = enc.encode(x).mean(axis=0)
    np.testing.assert_allclose(means, [0.75, 0.5, 0.25], atol=0.01)


def test_shared_thresholds_and_constant_feature():
    x = np.array([[0.0, 5.0], [16.0, 5.0]])
    enc = fit_thermometer(x, 3, per_feature=False, quantized=False)
    assert enc.features[0].values == enc.features[1].values == (4.0, 8.0, 12.0)
    enc = fit_thermometer(x, 2, quantized=False)  # feature 1 is constant: thresholds still strictly increasing
    t = enc.features[1].values
    assert len(t) == 2 and t[0] < t[1]
    assert enc.encode(x)[:, 2:].sum() == 0
    Encoder.from_dict(enc.to_dict())  # round-trips through the file schema


def test_onehot():
    enc = onehot([[1, 2, 3], [1, 2]])
    assert enc.num_bits == 5
    assert enc.encode([[2, 1], [3, 2]]).tolist() == [[0, 1, 0, 1, 0], [0, 0, 1, 0, 1]]
    assert fit_onehot(np.array([[5, 1], [7, 1]])).to_dict()["features"][0]["values"] == [5, 7]
    with pytest.raises(ValueError, match=r"must be distinct"):
        onehot([[1, 1]])


def test_bits_encoder():
    assert bits(3).encode([[0, 1, 2]]).tolist() == [[0, 1, 1]]


@pytest.mark.parametrize("kwargs, msg", [
    ({"levels": 0}, r"^'levels' must be a positive integer, not 0$"),
    ({"levels": 2, "method": "median"}, r"^'method' must be one of uniform, quantile, aligned, not 'median'$"),
])
def test_thermometer_errors(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        fit_thermometer(np.zeros((3, 2)), **kwargs)


def test_thermometer_rejects_nan():
    with pytest.raises(ValueError, match="finite"):
        fit_thermometer(np.array([[np.nan]]), 2)


# ---------------------------------------------------------------- quantized encoders



def _reference_bits(enc_dict, x):
    """The file form's integer semantics, element by element in plain Python (the contract)."""
    out = []
    for row in x:
        bits_ = []
        for f, v in zip(enc_dict["features"], row):
            w, signed = f["width"], f.get("signed", False)
            lo, hi = (-(1 << (w - 1)), (1 << (w - 1)) - 1) if signed else (0, (1 << w) - 1)
            q = math.floor((float(v) - f.get("offset", 0)) * f.get("scale", 1) + 0.5)
            q = min(max(q, lo), hi)
            if f["kind"] == "thermometer":
                bits_ += [int(q > t) for t in f["thresholds"]]
            elif f["kind"] == "onehot":
                bits_ += [int(q == c) for c in f["values"]]
            else:
                bits_.append(int(q != 0))
        out.append(bits_)
    return np.array(out, dtype=np.uint8).reshape(len(x), -1)

_finite = st.floats(-1e4, 1e4, allow_nan=False, width=32)


@settings(max_examples=60, deadline=None)
@given(train=arrays(np.float32, st.tuples(st.integers(2, 30), st.integers(1, 4)), elements=_finite),
       test=arrays(np.float32, st.tuples(st.integers(1, 20), st.just(4)), elements=_finite),
       levels=st.integers(1, 9), method=st.sampled_from(["uniform", "quantile"]),
       per_feature=st.booleans(), integral=st.booleans())
def test_quantized_encode_is_encode_int_of_quantize(train, test, levels, method, per_feature, integral):
    if integral:
        train, test = np.round(train), np.round(test)
    test = test[:, :train.shape[1]]
    enc = fit_thermometer(train, levels, method=method, per_feature=per_feature)
    assert enc.quantized
    q = enc.quantize(test)
    assert q.dtype == np.int64
    for j, f in enumerate(enc.features):
        lo, hi = int_range(f.width, f.signed)
        assert lo <= q[:, j].min() and q[:, j].max() <= hi and 1 <= f.width <= 16
        assert all(isinstance(t, int) for t in f.values) and list(f.values) == sorted(set(f.values))
    bits_ = enc.encode(test)
    np.testing.assert_array_equal(bits_, enc.encode_int(q))
    np.testing.assert_array_equal(bits_, _reference_bits(enc.to_dict(), test))
    again = Encoder.from_dict(json.loads(json.dumps(enc.to_dict())))  # the file round trip is exact
    assert again == enc
    np.testing.assert_array_equal(again.encode(test), bits_)


def test_integer_data_keeps_its_grid_and_its_bits():
    """MNIST-like pixels: scale 1, offset 0, 8 bits unsigned, and the same bits as the float thresholds."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(500, 6)).astype(np.float32)
    x[0, 0], x[1, 0] = 0, 255
    enc = fit_thermometer(x, 3, per_feature=False)
    f = enc.features[0].to_dict()
    assert f == {"kind": "thermometer", "thresholds": [63, 127, 191], "width": 8, "signed": False,
                 "scale": 1, "offset": 0}
    assert enc.widths == (8,) * 6 and enc.signed == (False,) * 6
    old = fit_thermometer(x, 3, per_feature=False, quantized=False)
    np.testing.assert_array_equal(enc.encode(x), old.encode(x))
    signed = fit_thermometer(np.array([[-3.0], [5.0]]), 2).features[0]
    assert (signed.width, signed.signed, signed.scale) == (4, True, 1.0)


def test_float_data_gets_a_scale_that_resolves_its_thresholds():
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.exponential(0.01, size=(2000, 1)), rng.uniform(0, 1, size=(2000, 1))], axis=1)
    enc = fit_thermometer(x, 8, method="quantile")
    skewed, flat = enc.features
    assert not skewed.signed and skewed.offset == x[:, 0].min() and flat.width == 8
    assert 8 <= flat.width < skewed.width <= 16  # the clustered quantiles need a finer grid
    for f in enc.features:  # the closest two thresholds are at least 8 grid steps apart
        assert min(b - a for a, b in zip(f.values, f.values[1:])) >= 8
    old = fit_thermometer(x, 8, method="quantile", quantized=False)
    assert (enc.encode(x) != old.encode(x)).mean() < 0.005  # only values within half a step move


def test_quantized_onehot_and_bits():
    enc = onehot([[1, 2, 3], [0, 1]], labels=[None, ["no", "yes"]])
    assert enc.quantized and enc.widths == (3, 2)
    assert enc.encode([[2, 1], [4, 0]]).tolist() == [[0, 1, 0, 0, 1], [0, 0, 0, 1, 0]]
    d = enc.to_dict()["features"][1]
    assert d == {"kind": "onehot", "values": [0, 1], "width": 2, "signed": False, "labels": ["no", "yes"]}
    assert bits(2).to_dict()["features"][0] == {"kind": "bit", "width": 1}
    assert bits(2).encode_int([[0, 1]]).tolist() == [[0, 1]]
    with pytest.raises(ValueError, match=r"must be integers"):
        onehot([[0.5, 1]])


def test_old_unquantized_files_read_and_behave_as_before():
    d = {"type": "features", "features": [{"kind": "thermometer", "thresholds": [0.5, 1.5]},
                                          {"kind": "onehot", "values": [1, 2]}, {"kind": "bit"}]}
    enc = Encoder.from_dict(d)
    assert not enc.quantized and enc.to_dict() == d
    assert enc.encode([[1.0, 2, -1]]).tolist() == [[1, 0, 0, 1, 1]]
    with pytest.raises(ValueError, match=r"^the encoder is not quantized \(feature 0 has no integer width\)$"):
        enc.quantize([[1.0, 2, -1]])


@pytest.mark.parametrize("feature, msg", [
    ({"kind": "thermometer", "thresholds": [1.5], "width": 8}, r"thresholds of a quantized feature must hold integers"),
    ({"kind": "thermometer", "thresholds": [1], "width": 0}, r"width must be an integer in 1\.\.32, not 0"),
    ({"kind": "thermometer", "thresholds": [1], "width": 8, "scale": 0}, r"scale must be positive"),
    ({"kind": "thermometer", "thresholds": [1], "scale": 2}, r"'scale' needs 'width'"),
    ({"kind": "onehot", "values": [1, 9], "width": 3}, r"9 does not fit in 3 unsigned bits"),
    ({"kind": "onehot", "values": [1], "width": 3, "offset": 1}, r"only thermometer features take 'offset'"),
    ({"kind": "onehot", "values": [1, 2], "width": 3, "labels": ["a"]}, r"1 labels for 2 values"),
    ({"kind": "bit", "width": 2}, r"a bit feature has width 1"),
])
def test_quantized_schema_errors(feature, msg):
    with pytest.raises(ValueError, match=msg):
        Encoder.from_dict({"type": "features", "features": [feature]})


def test_encode_int_checks_the_range_and_quantize_the_values():
    enc = fit_thermometer(np.array([[0.0], [255.0]]), 3)
    with pytest.raises(ValueError, match=r"^quantized input 256 \(row 1, feature 0\) is outside the 8-bit "
                                         r"unsigned range \(0, 255\)$"):
        enc.encode_int([[3], [256]])
    with pytest.raises(ValueError, match=r"^raw inputs must be finite, not nan \(row 0, feature 0\)$"):
        enc.quantize([[np.nan]])
    assert enc.quantize([[-7.0], [300.0], [2.5]]).ravel().tolist() == [0, 255, 3]  # clip, half up


@settings(max_examples=30, deadline=None)
@given(x=arrays(np.float64, st.tuples(st.integers(1, 20), st.just(3)), elements=st.floats(-50, 50)))
def test_mixed_quantized_encoder_follows_the_contract(x):
    therm = fit_thermometer(np.array([[-3.5], [0.25], [7.0], [30.0]]), 3, method="quantile").features[0]
    enc = Encoder((therm, onehot([[-2, 0, 5]]).features[0], bits(1).features[0]))
    assert enc.widths == (therm.width, 4, 1) and enc.signed == (False, True, False)
    np.testing.assert_array_equal(enc.encode(x), _reference_bits(enc.to_dict(), x))
    np.testing.assert_array_equal(enc.encode(x), enc.encode_int(enc.quantize(x)))


def test_thresholds_beyond_a_tiny_range_stay_on_the_grid():
    # Found by hypothesis: a range of 1e-38 gives a huge scale, and the padded threshold above it
    # became an integer beyond int64 (OverflowError in encode).
    x = np.array([[1.1754944e-38, 0], [0, 0]], dtype=np.float32)
    enc = fit_thermometer(x, 2, method="quantile", per_feature=False)
    lo, hi = enc.features[0].range
    assert all(lo - 1 <= t <= hi + 2 for t in enc.features[0].values)
    np.testing.assert_array_equal(enc.encode(np.zeros((1, 2))), enc.encode_int(enc.quantize(np.zeros((1, 2)))))


def test_aligned_thresholds_read_only_the_top_bits():
    from lgn_hw.data.encoding import align_thresholds

    pixels = np.arange(256)[:, None].astype(float)
    # MNIST-like 8-bit pixels: 2 uniform levels are 85 and 170 (full-width compares) ...
    assert fit_thermometer(pixels, 2).features[0].values == (85, 170)
    # ... aligned they are 63 and 191: q > 63 = b7 | b6, q > 191 = b7 & b6; 1 level is q > 127 = b7.
    for levels, want in ((2, (63, 191)), (3, (63, 127, 191)), (1, (127,))):
        f = fit_thermometer(pixels, levels, method="aligned").features[0]
        assert f.values == want and (f.width, f.scale, f.offset) == (8, 1.0, 0.0)
        s = min((t + 1) & -(t + 1) for t in want).bit_length() - 1  # common power-of-two step
        q = np.arange(256)
        for t in want:  # the compare is a function of the top 8 - s bits alone
            assert np.array_equal(q > t, (q >> s) > (t >> s))
    # digits 0..16 on 5 bits: 4, 8, 12 -> 3, 7, 11; bits still come from encode = encode_int(quantize)
    d = fit_thermometer(np.arange(17)[:, None].astype(float), 3, method="aligned")
    assert d.features[0].values == (3, 7, 11)
    x = np.arange(17)[:, None]
    assert np.array_equal(d.encode(x), d.encode_int(d.quantize(x)))
    # thresholds that cannot move stay (one grid step apart), constant bits off the grid stay too
    assert align_thresholds([0, 1, 2], 2, False) == (0, 1, 2)
    assert align_thresholds([-1, 100, 255], 8, False) == (-1, 127, 255)
    assert align_thresholds([-3, 2], 4, True) == (-1, 3)  # signed -8..7: q > -1 is the sign bit clear
    with pytest.raises(ValueError, match="quantized"):
        fit_thermometer(pixels, 2, method="aligned", quantized=False)
    with pytest.raises(ValueError, match="aligned"):
        fit_thermometer(pixels, 2, method="nope")
