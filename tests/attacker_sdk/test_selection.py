"""Selection strategies (attacker_sdk.selection) as pure functions: each returns k distinct
positions into its candidate set, agrees with a naive reference implementation, never
hard-codes the class count, and is fast enough for a 15k-sample pool.

The over-HTTP side (each strategy inside ActiveThief spends exactly k queries a round,
checked against the server's ledger) is in test_active_thief.py."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn

from attacker_sdk import selection as S
from attacker_sdk.mi import per_class_filter, score_filter, sorted_top


@pytest.fixture(scope="module", autouse=True)
def _threads():
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


def dirichlet(n, k, seed=0, conc=0.3):
    return np.random.default_rng(seed).dirichlet(np.full(k, conc), n).astype(np.float32)


def naive_kcenter(points, centres, k):
    d = (
        np.array([min(((p - c) ** 2).sum() for c in centres) for p in points])
        if len(centres)
        else np.full(len(points), np.inf)
    )
    picks = []
    for _ in range(k):
        i = int(np.argmax(d)) if np.isfinite(d).any() else 0
        picks.append(i)
        d = np.minimum(d, ((points - points[i]) ** 2).sum(1))
        d[picks] = -np.inf
    return picks


def test_top_k_is_stable_and_distinct():
    s = np.array([1.0, 3.0, 3.0, 2.0, 3.0, np.nan])
    assert S.top_k(s, 2).tolist() == [1, 2]  # ties resolved by position
    assert S.top_k(s, 3, largest=False).tolist() == [0, 3, 1]
    assert S.top_k(s, 10).tolist() == [1, 2, 4, 3, 0, 5]  # NaN last, k capped at n
    assert S.top_k(s, 0).tolist() == []


def test_entropy_and_margin_pick_the_most_uncertain():
    p = np.array([[0.98, 0.01, 0.01], [0.34, 0.33, 0.33], [0.5, 0.5, 0.0], [0.7, 0.2, 0.1]])
    assert S.entropy_positions(p, 2).tolist() == [1, 3]  # H = 1.10, 0.80 (> ln 2 of row 2)
    assert S.margin_positions(p, 2).tolist() == [2, 1]  # margins 0.0 and 0.01
    from scipy.stats import entropy

    np.testing.assert_allclose(S.entropy_scores(p), [entropy(r) for r in p])
    np.testing.assert_allclose(S.margin_scores(p), [0.97, 0.01, 0.0, 0.5])


@pytest.mark.parametrize("n_centres", [0, 7, 50])
def test_kcenter_matches_the_naive_farthest_first(n_centres):
    p = dirichlet(300, 6, seed=1)
    c = dirichlet(n_centres, 6, seed=2)
    got = S.kcenter_greedy(p, c, 25, max_elements=1000)  # tiny chunks exercise the chunking
    assert got.tolist() == naive_kcenter(p.astype(np.float64), c.astype(np.float64), 25)
    np.testing.assert_allclose(
        S.min_sq_distances(p, c, max_elements=500),
        S.min_sq_distances(p, c) if n_centres else np.full(300, np.inf),
        rtol=1e-6,
        atol=1e-9,
    )


def test_kcenter_handles_duplicates_and_is_fast_at_pool_scale():
    p = np.repeat(dirichlet(10, 4, seed=3), 5, axis=0)  # 50 points, only 10 distinct
    got = S.kcenter_greedy(p, p[:3], 20)
    assert len(set(got.tolist())) == 20
    big, centres = dirichlet(15_000, 10, seed=4), dirichlet(4_000, 10, seed=5)
    t = time.perf_counter()
    picks = S.kcenter_greedy(big, centres, 500)
    elapsed = time.perf_counter() - t
    assert len(np.unique(picks)) == 500
    assert elapsed < 10.0, f"k-center over 15k x 10 with 4k centres took {elapsed:.1f}s"


class Linear(nn.Module):
    """A fixed linear classifier: DeepFool is exact on it (one step to the boundary)."""

    def __init__(self, w, b):
        super().__init__()
        self.lin = nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            self.lin.weight.copy_(torch.as_tensor(w))
            self.lin.bias.copy_(torch.as_tensor(b))

    def forward(self, x):
        return self.lin(x.flatten(1))


def test_deepfool_is_exact_on_a_linear_model_and_reads_k_from_the_model():
    rng = np.random.default_rng(0)
    for k in (2, 3, 7):  # never 10 hard-coded
        w, b = rng.normal(size=(k, 5)).astype(np.float32), rng.normal(size=k).astype(np.float32)
        model = Linear(w, b)
        x = rng.normal(size=(40, 5)).astype(np.float32)
        res = S.deepfool(model, x, max_iter=50, overshoot=0.0)
        assert res["flipped"].all() and (res["iterations"] <= 2).all()
        logits = x @ w.T + b
        o = logits.argmax(1)
        # exact distance to the closest linear boundary between o and any other class
        dist = np.full(len(x), np.inf)
        for j in range(k):
            wd = w[j] - w[o]
            fd = logits[np.arange(len(x)), j] - logits[np.arange(len(x)), o]
            nrm = np.linalg.norm(wd, axis=1)
            dj = np.where(j == o, np.inf, np.abs(fd) / np.where(nrm == 0, 1, nrm))
            dist = np.minimum(dist, dj)
        one_step = res["iterations"] == 1
        np.testing.assert_allclose(
            np.sqrt(res["score"][one_step]), dist[one_step], rtol=2e-3, atol=2e-4
        )


def test_deepfool_clips_to_the_input_range_and_scores_unflipped_last():
    model = Linear(
        np.array([[1.0, 0.0], [-1.0, 0.0]], np.float32), np.array([0.0, 0.0], np.float32)
    )
    x = np.array([[0.2, 0.5], [0.9, 0.5]], np.float32)
    # crossing needs x0 < 0 -- impossible inside [0, 1]: the label never flips
    res = S.deepfool(model, x, max_iter=5, clip=(0.0, 1.0))
    assert not res["flipped"].any() and np.isinf(res["score"]).all()
    res = S.deepfool(model, x, max_iter=5, clip=(-1.0, 1.0))
    assert res["flipped"].all() and res["score"][0] < res["score"][1]


def small_cnn(k=10):
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 64, k),
    )


@pytest.mark.parametrize(
    "name", ["random", "entropy", "margin", "kcenter", "deepfool", "adversarial-kcenter"]
)
def test_every_strategy_returns_k_distinct_candidates(name):
    rng = np.random.default_rng(1)
    x = rng.random((400, 1, 8, 8)).astype(np.float32)
    candidates = np.sort(rng.choice(400, 250, replace=False))
    labelled = np.setdiff1d(np.arange(400), candidates)[:60]
    params = {"candidates": 120} if name in ("deepfool", "adversarial-kcenter") else {}
    strat = S.make(name, **params)
    ctx = S.Context(small_cnn(7), x, candidates, labelled, np.random.default_rng(0), (0.0, 1.0))
    pos = strat.select(ctx, 40).positions
    assert len(pos) == 40 and len(np.unique(pos)) == 40
    assert pos.min() >= 0 and pos.max() < len(candidates)
    assert not np.isin(candidates[pos], labelled).any()
    # a restricted context only ever yields its own candidates
    sub = ctx.restrict(np.arange(0, 250, 3))
    picked = sub.candidates[strat.select(sub, 30).positions]
    assert np.isin(picked, candidates[::3]).all() and len(np.unique(picked)) == 30
    # k at or above the candidate count returns them all
    assert sorted(strat.select(ctx.restrict(np.arange(5)), 9).positions.tolist()) == [0, 1, 2, 3, 4]


def test_deepfool_candidates_subset_bounds_the_work():
    x = np.random.default_rng(2).random((300, 1, 8, 8)).astype(np.float32)
    strat = S.make("deepfool", candidates=50, max_iter=10)
    ctx = S.Context(
        small_cnn(), x, np.arange(300), rng=np.random.default_rng(0), input_range=(0.0, 1.0)
    )
    picked = strat.select(ctx, 20)
    assert len(picked) == 20 and picked.stats["ran_on"] == 50
    picked = strat.select(ctx, 80)
    assert len(picked) == 80 and picked.stats["ran_on"] == 80  # never fewer than k


def test_prob_cache_computes_each_row_once():
    x = np.random.default_rng(3).random((100, 1, 8, 8)).astype(np.float32)
    cache = S.ProbCache(small_cnn(), x)
    a = cache(np.arange(0, 60))
    b = cache(np.arange(30, 100))
    assert cache.computed == 100
    np.testing.assert_allclose(a[30:], b[:30])


def test_unknown_strategy_or_parameter_is_refused():
    with pytest.raises(ValueError, match="unknown selection strategy"):
        S.make("bald")
    with pytest.raises(ValueError, match="entropy"):
        S.make("entropy", candidates=3)


def test_pre_filter_helpers():
    # per class: class 0 has 3 passing (>= ceil(4/2)=2), class 1 none: its top 2 instead
    p = np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.4, 0.3, 0.05])
    pred = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    pos, stats = per_class_filter(p, pred, size=4, num_classes=2)
    assert pos.tolist() == [0, 1, 2, 5, 6] and stats["fallback_classes"] == [1]
    pos, stats = per_class_filter(p, pred, size=8, num_classes=2)  # ceil(8/2)=4 per class
    assert len(pos) == 8
    pos, stats = score_filter(p, 0.75, size=2)
    assert pos.tolist() == [0, 1] and not stats["fallback"]
    pos, stats = score_filter(p, 0.95, size=3)
    assert pos.tolist() == [0, 1, 2] and stats["fallback"]
    np.testing.assert_allclose(sorted_top(np.array([[0.1, 0.6, 0.3]]), 2), [[0.6, 0.3]])
