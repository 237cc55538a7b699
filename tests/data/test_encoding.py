import numpy as np
import pytest

from lgn_hw.data import Encoder, bits, fit_onehot, fit_thermometer, onehot


def test_uniform_thermometer_thresholds_and_bits():
    x = np.array([[0.0, 10.0], [4.0, 20.0], [8.0, 30.0]])
    enc = fit_thermometer(x, 3, method="uniform")
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
    enc = fit_thermometer(x, 3, per_feature=False)
    assert enc.features[0].values == enc.features[1].values == (4.0, 8.0, 12.0)
    enc = fit_thermometer(x, 2)  # feature 1 is constant: thresholds still strictly increasing
    t = enc.features[1].values
    assert len(t) == 2 and t[0] < t[1]
    assert enc.encode(x)[:, 2:].sum() == 0
    Encoder.from_dict(enc.to_dict())  # round-trips through the file schema


def test_onehot():
    enc = onehot([[1, 2, 3], [1, 2]])
    assert enc.num_bits == 5
    assert enc.encode([[2, 1], [3, 2]]).tolist() == [[0, 1, 0, 1, 0], [0, 0, 1, 0, 1]]
    assert fit_onehot(np.array([[5, 1], [7, 1]])).to_dict()["features"][0]["values"] == [5.0, 7.0]
    with pytest.raises(ValueError, match=r"must be distinct"):
        onehot([[1, 1]])


def test_bits_encoder():
    assert bits(3).encode([[0, 1, 2]]).tolist() == [[0, 1, 1]]


@pytest.mark.parametrize("kwargs, msg", [
    ({"levels": 0}, r"^'levels' must be a positive integer, not 0$"),
    ({"levels": 2, "method": "median"}, r"^'method' must be 'uniform' or 'quantile', not 'median'$"),
])
def test_thermometer_errors(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        fit_thermometer(np.zeros((3, 2)), **kwargs)


def test_thermometer_rejects_nan():
    with pytest.raises(ValueError, match="finite"):
        fit_thermometer(np.array([[np.nan]]), 2)
