"""Dataset container, registry and on-disk cache."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from scenarios.datasets import Dataset, available, cache_dir, load, registry
from scenarios.datasets.base import compute_content_hash


def _tiny(n: int = 6) -> Dataset:
    x = np.linspace(0, 1, n * 4, dtype=np.float32).reshape(n, 4)
    return Dataset(
        name="tiny",
        x=x,
        y=np.arange(n) % 3,
        class_names=("a", "b", "c"),
        kind="tabular",
        meta={"params": {"n": n}, "tag": np.array([f"s{i}" for i in range(n)])},
    )


def test_dataset_basics():
    ds = _tiny()
    assert ds.x.dtype == np.float32 and ds.y.dtype == np.int64
    assert ds.num_classes == 3 and len(ds) == 6
    assert ds.input_spec == {"shape": [4], "dtype": "float32", "min": 0.0, "max": 1.0}
    assert len(ds.content_hash) == 64
    assert ds.content_hash == compute_content_hash(ds.x, ds.y, ds.class_names)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.name = "other"


def test_hash_depends_on_x_y_and_class_names():
    ds = _tiny()
    x2 = ds.x.copy()
    x2[0, 0] += 0.5
    assert compute_content_hash(x2, ds.y, ds.class_names) != ds.content_hash
    y2 = ds.y.copy()
    y2[0] = 2
    assert compute_content_hash(ds.x, y2, ds.class_names) != ds.content_hash
    assert compute_content_hash(ds.x, ds.y, ("a", "b", "z")) != ds.content_hash
    # Same bytes, different shape: different hash.
    assert compute_content_hash(ds.x.reshape(6, 2, 2), ds.y, ds.class_names) != ds.content_hash


def test_validation():
    with pytest.raises(ValueError):
        Dataset("bad", np.zeros((3, 2)), np.zeros(4), ("a",), "tabular")
    with pytest.raises(ValueError):
        Dataset("bad", np.zeros((3, 2)), np.array([0, 1, 2]), ("a", "b"), "tabular")
    with pytest.raises(ValueError):
        Dataset("bad", np.zeros((3, 2)), np.zeros(3), ("a",), "image")
    with pytest.raises(ValueError):
        Dataset("bad", np.zeros((3, 2)), np.zeros(3), ("a",), "audio")


def test_subset_slices_per_sample_meta_and_rehashes():
    ds = _tiny()
    sub = ds.subset([4, 1])
    assert sub.y.tolist() == [1, 1]
    assert sub.meta["tag"].tolist() == ["s4", "s1"]
    assert sub.meta["params"] == {"n": 6}  # dataset-level meta kept
    assert sub.meta["parent_hash"] == ds.content_hash
    assert sub.content_hash == compute_content_hash(sub.x, sub.y, sub.class_names)
    assert sub.content_hash != ds.content_hash
    mask = ds.y == 0
    assert ds.subset(mask).meta["tag"].tolist() == ["s0", "s3"]
    # Same samples, same hash (the hash does not depend on how the subset was made).
    assert ds.subset(np.arange(len(ds))).content_hash == ds.content_hash


def test_available_and_unknown_name():
    names = available()
    for n in ("digits", "shapes", "purchase", "tweets", "folder", "cifar10", "csv"):
        assert n in names
    with pytest.raises(ValueError, match="known datasets: .*shapes"):
        load("no-such-dataset")
    with pytest.raises(ValueError, match="accepted"):
        load("shapes", colour="red")


def test_digits():
    ds = load("digits")
    assert ds.x.shape == (1797, 1, 8, 8) and ds.kind == "image"
    assert ds.x.min() == 0.0 and ds.x.max() == 1.0
    assert ds.class_names == tuple(str(i) for i in range(10))
    assert sorted(set(ds.y.tolist())) == list(range(10))


def test_cache_dir_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("MLRANGE_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" / "datasets"


def test_cache_hit_does_not_rebuild(monkeypatch):
    first = load("shapes", n=60, seed=3)
    files = list(cache_dir().glob("shapes-*.npz"))
    assert len(files) == 1
    assert not list(cache_dir().glob("*.tmp"))  # atomic write left nothing behind

    def boom(**kw):
        raise AssertionError("rebuilt despite a cache hit")

    builder = registry._REGISTRY["shapes"]
    monkeypatch.setitem(registry._REGISTRY, "shapes", dataclasses.replace(builder, fn=boom))
    # Defaults filled in: explicit default params share the cache entry.
    second = load("shapes", n=60, seed=3, family="A")
    assert second.content_hash == first.content_hash
    np.testing.assert_array_equal(second.x, first.x)
    np.testing.assert_array_equal(second.meta["family"], first.meta["family"])
    assert second.meta["params"] == first.meta["params"]
    with pytest.raises(AssertionError):
        load("shapes", n=60, seed=4)  # a different request does build
    with pytest.raises(AssertionError):
        load("shapes", n=60, seed=3, cache=False)  # cache=False bypasses it


def test_corrupt_cache_file_is_rebuilt():
    ds = load("tweets", n=200, seed=1)
    (path,) = cache_dir().glob("tweets-*.npz")
    path.write_bytes(b"not a zip file")
    again = load("tweets", n=200, seed=1)
    assert again.content_hash == ds.content_hash
    assert again.meta["marginals"] == ds.meta["marginals"]


def test_cached_meta_round_trip_is_json():
    ds = load("tweets", n=300, seed=2)
    again = load("tweets", n=300, seed=2)
    scalar = {k: v for k, v in again.meta.items() if not isinstance(v, np.ndarray)}
    json.dumps(scalar)
    np.testing.assert_array_equal(again.meta["emotion"], ds.meta["emotion"])
