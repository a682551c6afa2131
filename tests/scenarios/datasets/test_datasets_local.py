"""Loaders for user data on local disk: ImageFolder, CIFAR-10 pickles, CSV."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from PIL import Image

from scenarios.datasets import cache_dir, load, load_cifar10, load_csv, load_image_folder


def _write_folder(root, size=(12, 10)):
    colours = {"cat": (255, 0, 0), "dog": (0, 0, 255)}
    for cls, rgb in colours.items():
        (root / cls).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", size, rgb).save(root / cls / f"{i}.png")
    # A grayscale image is converted to RGB by the loader.
    Image.new("L", size, 128).save(root / "dog" / "gray.png")


def test_image_folder(tmp_path):
    _write_folder(tmp_path / "imgs")
    ds = load_image_folder(tmp_path / "imgs", size=16)
    assert ds.x.shape == (7, 3, 16, 16) and ds.x.dtype == np.float32
    assert ds.class_names == ("cat", "dog")
    assert np.bincount(ds.y).tolist() == [3, 4]
    cat = ds.x[ds.y == 0]
    np.testing.assert_allclose(cat[:, 0], 1.0)
    np.testing.assert_allclose(cat[:, 2], 0.0)
    files = ds.meta["file"].tolist()
    assert "dog/gray.png" in files
    gray = ds.x[files.index("dog/gray.png")]
    np.testing.assert_allclose(gray, 128 / 255, atol=1e-6)
    # Through the registry, not cached.
    again = load("folder", path=str(tmp_path / "imgs"), size=16)
    assert again.content_hash == ds.content_hash
    assert not cache_dir().exists() or not list(cache_dir().iterdir())


def _write_cifar(root, n_per_batch=4):
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = ["airplane", "automobile", "bird", "cat", "deer",
             "dog", "frog", "horse", "ship", "truck"]  # fmt: skip
    with open(base / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": names, "num_cases_per_batch": n_per_batch}, fh)
    batches = {}
    for fname in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n_per_batch).tolist()
        # The real files are Python 2 pickles whose str keys load (encoding="latin1")
        # as the same str keys this writes.
        with open(base / fname, "wb") as fh:
            pickle.dump({"batch_label": fname, "labels": labels, "data": data}, fh)
        batches[fname] = (data, labels)
    return batches, names


def test_cifar10_from_local_pickles(tmp_path):
    batches, names = _write_cifar(tmp_path)
    # Fake files fail torchvision's md5 check: the loader falls back to reading them.
    with pytest.warns(UserWarning, match="md5"):
        train = load_cifar10(tmp_path, train=True)
    assert train.x.shape == (20, 3, 32, 32) and train.class_names == tuple(names)
    assert train.meta["verified"] is False
    data, labels = batches["data_batch_1"]
    expected = data[0].reshape(3, 32, 32).astype(np.float32) / 255
    np.testing.assert_allclose(train.x[0], expected)
    assert train.y[:4].tolist() == labels
    with pytest.warns(UserWarning):
        test = load("cifar10", path=str(tmp_path / "cifar-10-batches-py"), train=False)
    assert len(test) == 4
    assert test.y.tolist() == batches["test_batch"][1]


def test_cifar10_missing(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_cifar10(tmp_path)


def test_csv(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("age,income,label,flag\n20,1000,10,1\n40,3000,2,1\n30,2000,10,1\n60,5000,2,1\n")
    ds = load_csv(path)
    assert ds.kind == "tabular" and ds.x.shape == (4, 3)
    assert ds.meta["feature_names"] == ["age", "income", "flag"]
    # Numeric labels sort numerically: "2" before "10".
    assert ds.class_names == ("2", "10")
    assert ds.y.tolist() == [1, 0, 1, 0]
    np.testing.assert_allclose(ds.x[:, 0], [0.0, 0.5, 0.25, 1.0])
    np.testing.assert_allclose(ds.x[:, 2], 0.0)  # constant column
    assert ds.meta["feature_min"] == [20.0, 1000.0, 1.0]
    assert ds.meta["feature_max"] == [60.0, 5000.0, 1.0]
    assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
    again = load("csv", path=str(path))
    assert again.content_hash == ds.content_hash


def test_csv_errors(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("a,b,label\n1,x,yes\n")
    with pytest.raises(ValueError, match="'b' is not numeric"):
        load_csv(p)
    p.write_text("a,b,target\n1,2,yes\n")
    with pytest.raises(ValueError, match="no column 'label'"):
        load_csv(p)
    ds = load_csv(p, label_column="target")
    assert ds.class_names == ("yes",)
