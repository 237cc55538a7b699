import gzip
import io
import os
import pickle
import struct
import zipfile
import zlib

import numpy as np
import pytest

from lgn_hw.data import DataFileError, load_dataset, read_cifar_batch, read_idx, read_npy, read_npz


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
    assert d.info["class_names"][0] == ("0" if name == "mnist" else "T-shirt/top")
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


def test_cifar_batch_size_is_bounded(tmp_path):
    with open(tmp_path / "b", "wb") as f:
        f.truncate(200 << 20)  # sparse: 200 MB on paper, nothing on disk
    with pytest.raises(ValueError, match=r"209715200 bytes, more than a CIFAR-10 batch can be \(limit 134217728\)$"):
        read_cifar_batch(tmp_path / "b")


def test_cifar_refuses_code(tmp_path):
    (tmp_path / "b").write_bytes(pickle.dumps({b"data": _Evil(), b"labels": []}))
    with pytest.raises(ValueError, match=r"refusing to load (posix|os)\.system"):
        read_cifar_batch(tmp_path / "b")


# ---------------------------------------------------------------- hostile files (issue 15, data files)
def _gzip_bomb(path, header: bytes, megabytes: int):
    """A .gz whose stream is ``header`` then ``megabytes`` MiB of zeros, built without compressing them all.

    After a full flush a deflate stream restarts from an empty window, so the
    compressed form of one MiB of zeros is repeated; the trailer is never reached.
    """
    zeros = bytes(1 << 20)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    start = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    assert again == block
    path.write_bytes(start + block * megabytes + c.flush())
    return path


def test_gzip_bomb_is_refused_before_it_is_decompressed(tmp_path):
    # 2 GiB of zeros behind a header that declares 10 images: refused after reading one chunk past them
    bomb = _gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz",
                      bytes([0, 0, 8, 3]) + struct.pack(">III", 10, 28, 28), 2048)
    assert bomb.stat().st_size < 3_000_000
    with pytest.raises(ValueError, match=r"header says shape \(10, 28, 28\) \(7840 bytes\) but the file holds "
                                         r"more data than that$"):
        read_idx(bomb)
    # a header that declares the whole 2 GiB is refused before any data is read
    big = _gzip_bomb(tmp_path / "b.gz", bytes([0, 0, 8, 1]) + struct.pack(">I", 2 ** 31), 2048)
    with pytest.raises(ValueError, match=r"declares shape \(2147483648,\) \(2147483648 bytes\), more than the "
                                         r"limit \(1073741824 bytes\)$"):
        read_idx(big)
    small = _gzip_bomb(tmp_path / "c.gz", bytes([0, 0, 8, 1]) + struct.pack(">I", 10 ** 8), 1)
    with pytest.raises(ValueError, match=r"more than a \d+-byte \.gz file can hold"):
        read_idx(small)


def test_corrupt_gzip_is_one_line(tmp_path):
    good = gzip.compress(bytes([0, 0, 8, 1]) + struct.pack(">I", 1000) + bytes(range(250)) * 4)
    (tmp_path / "cut.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz: corrupt gzip file \(EOFError"):
        read_idx(tmp_path / "cut.gz")
    (tmp_path / "junk.gz").write_bytes(b"\x1f\x8b" + b"\x00" * 40)
    with pytest.raises(ValueError, match=r"junk\.gz: corrupt gzip file"):
        read_idx(tmp_path / "junk.gz")


def test_mnist_labels_outside_0_to_9(tmp_path):
    make_mnist(tmp_path)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", [1, 2, 12, 3, 4, 5])
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte: label 12 at index 2 is outside 0\.\.9$"):
        load_dataset("mnist", data_dir=tmp_path)


def _forged_npy(arr, shape_text: bytes) -> bytes:
    """``arr`` saved as .npy with its header's shape replaced, the header length kept (padding absorbs it)."""
    buf = io.BytesIO()
    np.save(buf, arr)
    raw = buf.getvalue()
    hlen = int.from_bytes(raw[8:10], "little")
    header = raw[10:10 + hlen]
    old = repr(arr.shape).encode()
    forged = header.replace(old, shape_text)
    forged = forged.replace(b" " * (len(forged) - len(header)) + b"\n", b"\n")
    assert len(forged) == hlen
    return raw[:10] + forged + raw[10 + hlen:]


def test_forged_npy_header_is_refused_before_allocating(tmp_path):
    p = tmp_path / "x.npy"
    p.write_bytes(_forged_npy(np.zeros((3, 4)), b"(1000000000000, 4)"))
    with pytest.raises(ValueError, match=r"x\.npy: the \.npy header declares shape \(1000000000000, 4\) "
                                         r"of float64 \(32000000000000 bytes\) but the file holds 96 bytes"):
        read_npy(p)
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"holds Python objects"):
        read_npy(tmp_path / "o.npy")


def test_forged_npz_member_is_refused(tmp_path):
    p = tmp_path / "d.npz"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x_train.npy", _forged_npy(np.zeros((3, 4)), b"(9999999999, 4)"))
        zf.writestr("y_train.npy", _forged_npy(np.arange(3), b"(3,)"))
    with pytest.raises(ValueError, match=r"member x_train\.npy: the \.npy header declares shape \(9999999999, 4\)"):
        read_npz(p)


def test_commands_refuse_a_forged_npy_in_one_line(tmp_path, capsys):
    from lgn_hw.cli import main
    from lgn_hw.netlist import Layer, Netlist

    forged = tmp_path / "x.npy"
    forged.write_bytes(_forged_npy(np.zeros((3, 4)), b"(1000000000000, 4)"))
    net = Netlist(4, (Layer(np.array([0, 1]), np.array([2, 3]), np.array([1, 7])),), 2, 1.0, None, {})
    net.save(tmp_path / "n.lgn.json")
    for argv in (["predict", str(tmp_path / "n.lgn.json"), str(forged)],
                 ["classify", "--port", str(tmp_path / "no-port"), str(forged)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "header declares shape (1000000000000, 4)" in err
    from lgn_hw.verify.run import _inputs

    with pytest.raises(ValueError, match=r"header declares shape \(1000000000000, 4\)"):
        _inputs(forged, net, 1, 0)
