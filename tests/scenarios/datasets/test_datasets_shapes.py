"""The procedural ``shapes`` images."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.datasets import load
from scenarios.datasets.shapes import CLASS_NAMES, build_shapes, parse_family


@pytest.fixture(scope="module")
def per_family():
    # Built directly (no cache) once for the module: 300 images per family is ~0.1 s each.
    return {f: build_shapes(n=300, family=f, seed=0) for f in "ABC"}


def test_shape_dtype_range(per_family):
    for f, ds in per_family.items():
        assert ds.x.shape == (300, 3, 32, 32)
        assert ds.x.dtype == np.float32 and ds.y.dtype == np.int64
        assert 0.0 <= ds.x.min() and ds.x.max() <= 1.0
        assert ds.kind == "image"
        assert ds.input_spec["shape"] == [3, 32, 32]
        assert ds.class_names == CLASS_NAMES and len(set(CLASS_NAMES)) == 10
        assert (ds.meta["family"] == f).all()
        # 8-bit quantised like real images.
        np.testing.assert_allclose(ds.x * 255, np.round(ds.x * 255), atol=1e-3)


def test_all_classes_balanced_in_every_family(per_family):
    for ds in per_family.values():
        counts = np.bincount(ds.y, minlength=10)
        assert counts.tolist() == [30] * 10


def test_same_class_names_and_families_differ(per_family):
    a, b, c = per_family["A"], per_family["B"], per_family["C"]
    assert a.class_names == b.class_names == c.class_names
    brightness = {f: ds.x.mean() for f, ds in per_family.items()}
    # B is neon on near-black, C pencil on paper, A natural mid-tones.
    assert brightness["B"] < 0.3 < brightness["A"] < 0.65 < brightness["C"]
    # Per-image colourfulness (max - min channel) separates A (muted) from B (neon).
    sat = {f: (ds.x.max(1) - ds.x.min(1)).mean() for f, ds in per_family.items()}
    assert sat["C"] < sat["A"]

    # Border pixels (mostly background): distributions barely overlap between A and B.
    def border(ds):
        x = ds.x
        return np.concatenate([x[:, :, 0, :], x[:, :, -1, :]], axis=2).mean(axis=(1, 2))

    assert np.quantile(border(b), 0.9) < np.quantile(border(a), 0.1)


def test_images_vary_within_a_class(per_family):
    ds = per_family["A"]
    circles = ds.x[ds.y == 0]
    # No two images alike, and pixel std across the class is substantial.
    flat = circles.reshape(len(circles), -1)
    assert len(np.unique(flat, axis=0)) == len(flat)
    assert circles.std(axis=0).mean() > 0.1


def test_deterministic_and_seeded():
    a1 = build_shapes(n=50, seed=7)
    a2 = build_shapes(n=50, seed=7)
    a3 = build_shapes(n=50, seed=8)
    assert a1.content_hash == a2.content_hash
    np.testing.assert_array_equal(a1.x, a2.x)
    assert a1.content_hash != a3.content_hash


def test_mixed_families():
    ds = load("shapes", n=120, family="AB", seed=1)
    fam = ds.meta["family"]
    assert sorted(set(fam.tolist())) == ["A", "B"]
    assert (fam == "A").sum() == 60
    for f in "AB":
        assert len(set(ds.y[fam == f].tolist())) == 10
    assert ds.meta["params"] == {"n": 120, "family": "AB", "seed": 1}
    sub = ds.subset(np.flatnonzero(fam == "B"))
    assert (sub.meta["family"] == "B").all() and len(sub) == 60
    assert sub.meta["scale"].shape == (60,)


def test_parse_family():
    assert parse_family("a") == ("A",)
    assert parse_family("A,B") == ("A", "B")
    assert parse_family(["B", "A", "B"]) == ("B", "A")
    with pytest.raises(ValueError):
        parse_family("Z")
    with pytest.raises(ValueError):
        load("shapes", n=10, family="")
