"""``purchase`` and ``tweets`` binary tabular data, and their marginal statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scenarios.datasets import load, marginal_statistics
from scenarios.datasets.tweets import _GROUPS, BINARY_CLASS_NAMES, EMOTIONS, KEYWORDS


@pytest.fixture(scope="module")
def purchase():
    from scenarios.datasets.purchase import build_purchase

    return build_purchase(n=2000, num_classes=20, seed=0)


@pytest.fixture(scope="module")
def tweets():
    from scenarios.datasets.tweets import build_tweets

    return build_tweets(n=3000, seed=0)


def test_purchase_shape_and_binary(purchase):
    ds = purchase
    assert ds.x.shape == (2000, 600) and ds.kind == "tabular"
    assert set(np.unique(ds.x).tolist()) == {0.0, 1.0}
    assert ds.input_spec["shape"] == [600]
    assert ds.num_classes == 20 and ds.class_names[0] == "c00"
    counts = np.bincount(ds.y, minlength=20)
    assert counts.min() >= 10  # tiny k-means clusters are dissolved
    assert (np.diff(counts) <= 0).all()  # classes numbered by decreasing size
    per_row = ds.x.sum(1)
    assert 10 < per_row.mean() < 50  # sparse like purchase baskets
    assert len(ds.meta["feature_names"]) == 600


def test_purchase_labels_are_kmeans_like(purchase):
    # Each point is closer to its own class centroid than to most others.
    ds = purchase
    centres = np.stack([ds.x[ds.y == k].mean(0) for k in range(ds.num_classes)])
    d = ((ds.x[:, None, :] - centres[None]) ** 2).sum(-1)
    assert (d.argmin(1) == ds.y).mean() > 0.9


def test_purchase_deterministic():
    a = load("purchase", n=500, num_classes=10, seed=1)
    b = load("purchase", n=500, num_classes=10, seed=1, cache=False)
    c = load("purchase", n=500, num_classes=10, seed=2)
    assert a.content_hash == b.content_hash != c.content_hash
    with pytest.raises(ValueError):
        load("purchase", n=50, num_classes=10)


def test_tweets_shape_and_lengths(tweets):
    ds = tweets
    assert ds.x.shape == (3000, 200)
    assert set(np.unique(ds.x).tolist()) == {0.0, 1.0}
    lengths = ds.x.sum(1)
    assert lengths.min() >= 5 and lengths.max() <= 15
    assert 8 < lengths.mean() < 10
    assert ds.class_names == EMOTIONS
    counts = np.bincount(ds.y, minlength=4)
    assert counts.min() > 400 and counts[0] == counts.max()  # joy is the most common
    assert ds.meta["feature_names"] == list(KEYWORDS)


def test_tweets_keywords_carry_emotion(tweets):
    ds = tweets
    idx = {w: i for i, w in enumerate(KEYWORDS)}
    freq = {e: ds.x[ds.y == k].mean(0) for k, e in enumerate(EMOTIONS)}
    for emo in EMOTIONS:
        own = [idx[w] for w in _GROUPS[emo]]
        # An emotion's own keywords are much more frequent in its tweets than elsewhere.
        for other in EMOTIONS:
            if other != emo:
                assert freq[emo][own].mean() > 2 * freq[other][own].mean(), (emo, other)
    # Common words are common everywhere.
    assert min(f[idx["today"]] for f in freq.values()) > 0.03


def test_tweets_binary():
    ds = load("tweets", n=1000, binary=True, seed=0)
    four = load("tweets", n=1000, binary=False, seed=0)
    assert ds.class_names == BINARY_CLASS_NAMES == ("rest", "joy")
    np.testing.assert_array_equal(ds.x, four.x)
    np.testing.assert_array_equal(ds.y, (four.y == 0).astype(np.int64))
    np.testing.assert_array_equal(ds.meta["emotion"], four.y)
    assert ds.content_hash != four.content_hash
    assert ds.meta["marginals"]["class_names"] == ["rest", "joy"]


def test_marginals_consistent_with_data(tweets):
    ds = tweets
    m = ds.meta["marginals"]
    assert m == marginal_statistics(ds)
    json.dumps(m)
    assert m["n"] == 3000 and m["num_features"] == 200
    np.testing.assert_allclose(m["feature_frequency"], ds.x.mean(0), atol=1e-5)
    for k, name in enumerate(ds.class_names):
        np.testing.assert_allclose(
            m["feature_frequency_by_class"][name], ds.x[ds.y == k].mean(0), atol=1e-5
        )
        assert m["class_priors"][name] == pytest.approx((ds.y == k).mean(), abs=1e-6)
    kps = m["keywords_per_sample"]
    assert sum(kps["probability"]) == pytest.approx(1.0, abs=1e-4)
    lengths = ds.x.sum(1).astype(int)
    assert kps["probability"][9] == pytest.approx((lengths == 9).mean(), abs=1e-6)
    assert kps["mean"] == pytest.approx(lengths.mean(), abs=1e-5)
    assert m["feature_names"][0] == KEYWORDS[0]


def test_marginals_reject_non_binary():
    ds = load("digits")
    with pytest.raises(ValueError):
        marginal_statistics(ds)
