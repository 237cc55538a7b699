import itertools

import numpy as np
import pytest

from lgn_hw.data import DATASETS, MONK_VALUES, load_dataset, monk_label
from lgn_hw.data import Encoder


@pytest.mark.parametrize("name", ["digits", "breast_cancer", "monk1", "monk2", "monk3", "parity:6", "majority:5"])
def test_builtin_datasets_are_fixed_and_disjoint(name):
    d = load_dataset(name)
    again = load_dataset(name)
    np.testing.assert_array_equal(d.train.x, again.train.x)
    np.testing.assert_array_equal(d.test.y, again.test.y)
    assert d.bits("train").shape == (len(d.train), d.num_inputs)
    assert set(np.unique(d.train.y)) <= set(range(d.num_classes))
    Encoder.from_dict(d.encoder.to_dict())


def test_digits_split_80_20():
    d = load_dataset("digits")
    assert len(d.test) == 359 and len(d.train) + len(d.val) == 1797 - 359
    assert d.num_inputs == 64 * 3
    assert load_dataset("digits", levels=2).num_inputs == 128
    other = load_dataset("digits", split_seed=1)
    assert not np.array_equal(other.test.y, d.test.y)


def test_monk_rules_and_sizes():
    allx = np.array(list(itertools.product(*[range(1, k + 1) for k in MONK_VALUES])))
    assert len(allx) == 432
    for p, n in ((1, 124), (2, 169), (3, 122)):
        d = load_dataset(f"monk{p}")
        assert len(d.train) == n and len(d.test) == 432 and d.num_inputs == 17
        wrong = (monk_label(p, d.train.x.astype(int)) != d.train.y).sum()
        assert wrong == (6 if p == 3 else 0)  # 5% label noise in MONK-3's training set only
    row = np.array([[1, 1, 1, 1, 1, 1]])
    assert monk_label(1, row)[0] == 1 and monk_label(2, row)[0] == 0
    assert monk_label(2, np.array([[1, 1, 2, 2, 2, 2]]))[0] == 1
    assert monk_label(3, np.array([[1, 3, 1, 2, 4, 1]]))[0] == 0
    assert monk_label(3, np.array([[1, 3, 1, 1, 3, 1]]))[0] == 1


def test_parity_and_majority_labels():
    d = load_dataset("parity:5")
    for s in (d.train, d.test):
        np.testing.assert_array_equal(s.y, s.x.sum(axis=1) % 2)
    m = load_dataset("majority:5")
    np.testing.assert_array_equal(m.test.y, m.test.x.sum(axis=1) > 2.5)
    assert len(d.train) + len(d.val) + len(d.test) == 32


@pytest.mark.parametrize("name, msg", [
    ("iris", r"^unknown dataset 'iris'; choose one of digits, "),
    ("parity:x", r"^bit count in 'parity:x' must be an integer in 2\.\.64$"),
    ("digits:3", r"^dataset 'digits' takes no ':' argument"),
])
def test_bad_names(name, msg):
    with pytest.raises(ValueError, match=msg):
        load_dataset(name)


def test_names_listed():
    assert "digits" in DATASETS and "cifar10" in DATASETS


def test_builtin_class_names():
    assert load_dataset("breast_cancer").info["class_names"] == ["malignant", "benign"]
    assert load_dataset("digits").info["class_names"] == [str(i) for i in range(10)]
