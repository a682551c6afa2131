"""``purchase``: Purchase-100-like binary purchase vectors, labelled by k-means.

Purchase-100 (Shokri et al.) is 600 binary "bought product j" features per customer,
labelled by clustering the vectors with k-means into 100 classes. We generate customers
from latent shopping habits instead of Kaggle's transaction logs:

* 600 products with a Zipf-like popularity (staples are bought by many);
* 30 customer segments, each with ~30 core products bought with probability 0.15-0.5
  (correlated products), split into 8 habit profiles that add ~12 own favourites each;
* a customer follows one profile (Zipf-like prior), a third also blend in a second
  profile, and an activity level scales all purchase probabilities (~25 products on
  average, out of 600).

Labels come from ``sklearn.cluster.KMeans`` with ``num_classes`` clusters, as the original
was made. On sparse high-dimensional data k-means keeps a few near-singleton clusters
(an outlier chosen as initial centre stays its own cluster); those (< 10% of the average
cluster size) are dissolved into their nearest clusters and the largest cluster is split
in two by 2-means instead, so every class can appear in train and test splits.
Clusters cut across profiles and segments, so the task is learnable but not separable:
the MICO MLP 600-128(tanh)-100 trained on 10,000 records reaches 100% on them and 83.0%
on 10,000 others (82.8%, ``python -m scenarios.calibrate tabular``). The default build
(20,000 x 600, 100 classes of 40-535 records) takes about 6 s on this machine.
"""

from __future__ import annotations

import numpy as np

from .base import Dataset
from .registry import register

NUM_FEATURES = 600
NUM_SEGMENTS = 30
PROFILES_PER_SEGMENT = 8
CORE_PER_SEGMENT = 30
OWN_PER_PROFILE = 12


def _profiles(rng: np.random.Generator) -> np.ndarray:
    """(P, 600) per-profile purchase probabilities."""
    popularity = 1.0 / (1 + rng.permutation(NUM_FEATURES)) ** 0.7
    popularity /= popularity.mean()
    base = np.clip(0.015 * popularity, 0, 0.5)  # background buys, staples most often
    probs = []
    for _ in range(NUM_SEGMENTS):
        core = rng.choice(NUM_FEATURES, CORE_PER_SEGMENT, replace=False)
        core_p = rng.uniform(0.15, 0.5, CORE_PER_SEGMENT)
        for _ in range(PROFILES_PER_SEGMENT):
            p = base.copy()
            p[core] = np.maximum(p[core], core_p * rng.uniform(0.6, 1.4, CORE_PER_SEGMENT))
            own = rng.choice(NUM_FEATURES, OWN_PER_PROFILE, replace=False)
            p[own] = np.maximum(p[own], rng.uniform(0.25, 0.65, OWN_PER_PROFILE))
            probs.append(np.clip(p, 0, 0.95))
    return np.array(probs)


def _centres(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    onehot = np.zeros((len(labels), k))
    onehot[np.arange(len(labels)), labels] = 1
    sizes = np.maximum(onehot.sum(0), 1)
    return (onehot.T @ x) / sizes[:, None]


def _top_direction(xc: np.ndarray, iters: int = 30) -> np.ndarray:
    """First principal direction of centred data by power iteration.

    A few matrix-vector products instead of an SVD: LAPACK's SVD took seconds here when
    other processes kept the BLAS threads busy. Starts from the per-feature variance.
    """
    v = (xc * xc).sum(axis=0)
    v /= np.linalg.norm(v) + 1e-12
    for _ in range(iters):
        v = xc.T @ (xc @ v)
        v /= np.linalg.norm(v) + 1e-12
    return v


def _fix_small_clusters(x: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Dissolve clusters below 10% of the average size; split the largest instead.

    The split is at the median of the largest cluster's first principal component, not
    2-means: 2-means on sparse data happily splits off a single outlier again.
    """
    labels = labels.copy()
    min_size = max(2, int(0.1 * len(x) / k))
    for _ in range(2 * k):  # each round fixes one cluster; bounded in case of ties
        sizes = np.bincount(labels, minlength=k)
        small = int(np.argmin(sizes))
        if sizes[small] >= min_size:
            break
        members = np.flatnonzero(labels == small)
        if len(members):
            centres = _centres(x, labels, k)
            d = ((x[members, None, :] - centres[None]) ** 2).sum(-1)
            d[:, small] = np.inf
            labels[members] = d.argmin(1)
        big = int(np.argmax(np.bincount(labels, minlength=k)))
        in_big = np.flatnonzero(labels == big)
        xc = x[in_big] - x[in_big].mean(axis=0)
        proj = xc @ _top_direction(xc)
        order = np.argsort(proj, kind="stable")
        labels[in_big[order[len(order) // 2 :]]] = small
    return labels


@register("purchase", version=1)
def build_purchase(n: int = 20000, num_classes: int = 100, seed: int = 0) -> Dataset:
    """Purchase-100-like data: 600 binary product features, ``num_classes`` k-means classes."""
    from sklearn.cluster import KMeans

    n, num_classes = int(n), int(num_classes)
    if num_classes < 2 or n < 10 * num_classes:
        raise ValueError("need num_classes >= 2 and n >= 10 * num_classes")
    rng = np.random.default_rng(seed)
    probs = _profiles(rng)
    prior = 1.0 / (1 + np.arange(len(probs))) ** 0.3
    prior = rng.permutation(prior / prior.sum())
    a = rng.choice(len(probs), n, p=prior)
    b = rng.integers(0, len(probs), n)
    w = np.where(rng.random(n) < 0.35, rng.uniform(0.2, 0.5, n), 0.0)[:, None]
    p = (1 - w) * probs[a] + w * probs[b]
    activity = rng.lognormal(0.0, 0.3, n)[:, None]
    p = 1 - (1 - p) ** activity
    x = (rng.random((n, NUM_FEATURES)) < p).astype(np.float32)

    xd = x.astype(np.float64)
    km = KMeans(n_clusters=num_classes, n_init=1, max_iter=100, random_state=seed)
    raw = _fix_small_clusters(xd, km.fit_predict(xd), num_classes)
    # Renumber clusters by decreasing size, so class 0 is the largest (stable order).
    sizes = np.bincount(raw, minlength=num_classes)
    order = np.argsort(-sizes, kind="stable")
    remap = np.empty(num_classes, np.int64)
    remap[order] = np.arange(num_classes)
    y = remap[raw]
    width = len(str(num_classes - 1))
    return Dataset(
        name="purchase",
        x=x,
        y=y,
        class_names=tuple(f"c{k:0{width}d}" for k in range(num_classes)),
        kind="tabular",
        meta={
            "params": {"n": n, "num_classes": num_classes, "seed": int(seed)},
            "feature_names": [f"p{j:03d}" for j in range(NUM_FEATURES)],
            "profile": a.astype(np.int64),  # latent habit profile of each customer
        },
    )
