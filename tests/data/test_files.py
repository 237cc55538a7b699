import gzip
import os
import pickle
import struct

import numpy as np
import pytest

from lgn_hw.data import DataFileError, load_dataset, read_cifar_batch, read_idx


def write_idx(path, arr, gz=False):
    arr = np.asarray(arr, dtype=np.uint8)
    data = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", s) for s in arr.shape) + arr.tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def make_mnist(root, n_train=24, n_test=6, gz=False):
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    sfx = ".gz" if gz else ""
    xs = rng.integers(0, 256, size=(n_train, 28, 28))
    write_idx(root / f"train-images-idx3-ubyte{sfx}", xs, gz)
    write_idx(root / f"train-labels-idx1-ubyte{sfx}", rng.integers(0, 10, n_train), gz)
    write_idx(root / f"t10k-images-idx3-ubyte{sfx}", rng.integers(0, 256, size=(n_test, 28, 28)), gz)
    write_idx(root / f"t10k-labels-idx1-ubyte{sfx}", rng.integers(0, 10, n_test), gz)
    return xs


@pytest.mark.parametrize("gz", [False, True])
def test_read_idx(tmp_path, gz):
    arr = np.arange(24).reshape(2, 3, 4)
    write_idx(tmp_path / ("a.gz" if gz else "a"), arr, gz)
    np.testing.assert_array_equal(read_idx(tmp_path / ("a.gz" if gz else "a")), arr)


def test_read_idx_rejects_bad_files(tmp_path):
    (tmp_path / "x").write_bytes(b"PK\x03\x04rest")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(tmp_path / "x")
    (tmp_path / "y").write_bytes(bytes([0, 0, 8, 1]) + struct.pack(">I", 10) + b"abc")
    with pytest.raises(ValueError, match="holds 3 bytes"):
        read_idx(tmp_path / "y")


@pytest.mark.parametrize("name, sub, gz", [("mnist", "mnist", True), ("fashion_mnist", "FashionMNIST/raw", False)])
def test_mnist_like(tmp_path, name, sub, gz):
    xs = make_mnist(tmp_path / sub, gz=gz)
    d = load_dataset(name, data_dir=tmp_path, levels=1)
    assert d.num_features == 784 and d.num_inputs == 784 and d.num_classes == 10
    assert len(d.train) + len(d.val) == 24 and len(d.test) == 6
    assert sorted(map(tuple, np.concatenate([d.train.x, d.val.x]).astype(int)[:, :5])) == \
        sorted(map(tuple, xs.reshape(24, -1)[:, :5]))


def test_missing_files_say_what_and_where(tmp_path):
    with pytest.raises(DataFileError, match=r"--data-dir"):
        load_dataset("mnist")
    with pytest.raises(DataFileError, match=r"train-images-idx3-ubyte.*yann\.lecun\.com"):
        load_dataset("mnist", data_dir=tmp_path)
    with pytest.raises(DataFileError, match=r"data_batch_1.*cifar\.html"):
        load_dataset("cifar10", data_dir=tmp_path)


def write_cifar(path, n, seed, protocol=2):
    rng = np.random.default_rng(seed)
    batch = {b"batch_label": b"x", b"labels": rng.integers(0, 10, n).tolist(),
             b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), b"filenames": [b"a.png"] * n}
    path.write_bytes(pickle.dumps(batch, protocol=protocol))


@pytest.mark.parametrize("protocol", [2, 5])
def test_cifar_batch(tmp_path, protocol):
    write_cifar(tmp_path / "b", 4, 0, protocol)
    x, y = read_cifar_batch(tmp_path / "b")
    assert x.shape == (4, 3072) and x.dtype == np.uint8 and y.shape == (4,)


def test_cifar_dataset(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    for i in range(1, 6):
        write_cifar(root / f"data_batch_{i}", 4, i)
    write_cifar(root / "test_batch", 3, 9)
    d = load_dataset("cifar10", data_dir=tmp_path, levels=1)
    assert len(d.train) + len(d.val) == 20 and len(d.test) == 3 and d.num_inputs == 3072


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_cifar_refuses_code(tmp_path):
    (tmp_path / "b").write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}))
    with pytest.raises(ValueError, match=r"refusing to load (posix|os)\.system"):
        read_cifar_batch(tmp_path / "b")
