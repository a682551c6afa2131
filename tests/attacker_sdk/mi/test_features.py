"""Per-record membership features and how they degrade under coarsened outputs."""

from __future__ import annotations

import numpy as np
import pytest

from attacker_sdk import mi
from attacker_sdk.answers import PolicyInfo
from attacker_sdk.errors import PolicyUnsupported
from attacker_sdk.mi import features as F


def test_modified_entropy_matches_reference_formula():
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(5), 8)
    y = rng.integers(0, 5, 8)
    want = []
    for pi, yi in zip(p, y):
        s = -(1 - pi[yi]) * np.log(max(pi[yi], 1e-30))
        s -= sum(pi[j] * np.log(max(1 - pi[j], 1e-30)) for j in range(5) if j != yi)
        want.append(s)
    assert np.allclose(F.modified_entropy(p, y), want)
    assert np.allclose(F.entropy(p), -(p * np.log(p)).sum(1))


def test_simulated_policies_and_bounds():
    p = np.array([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2]])
    y = np.array([0, 2])
    full = mi.simulate_policy(p, None)
    assert np.allclose(F.true_class_prob(full, y), [0.7, 0.2])
    assert np.allclose(F.lira_phi(full, y), np.log([0.7 / 0.3, 0.2 / 0.8]))
    top1 = mi.simulate_policy(p, PolicyInfo("top1", "topk", k=1))
    assert np.allclose(F.true_class_prob(top1, y), [0.7, 0.5])  # exact; bound min(0.5, 1 - 0.5)
    top2 = mi.simulate_policy(p, PolicyInfo("topk:2", "topk", k=2))
    assert np.allclose(F.true_class_prob(top2, y), [0.7, 0.2])  # bound min(0.3, 0.2) is exact here
    assert np.allclose(F.top_scores(top2, 3, 3), [[0.7, 0.2, 0.1], [0.5, 0.3, 0.2]])
    rounded = mi.simulate_policy(
        p + [[0.004, -0.004, 0]] * 1, PolicyInfo("round:2", "probabilities", decimals=2)
    )
    assert np.allclose(rounded.probabilities, [[0.70, 0.20, 0.10], [0.50, 0.30, 0.20]])
    label = mi.simulate_policy(p, PolicyInfo("label", "label"))
    with pytest.raises(PolicyUnsupported):
        F.true_class_prob(label, y)


def test_sorted_top_on_posteriors_and_answers_agree():
    p = np.array([[0.1, 0.6, 0.3], [0.2, 0.2, 0.6]])
    np.testing.assert_array_equal(F.sorted_top(p, 2), [[0.6, 0.3], [0.6, 0.2]])
    np.testing.assert_array_equal(F.sorted_top(p, 9), F.sorted_top(p, 3))  # capped at K
    full = mi.simulate_policy(p, None)
    np.testing.assert_allclose(F.top_scores(full, 3, 2), F.sorted_top(p, 2), rtol=1e-6)
    top1 = mi.simulate_policy(p, PolicyInfo("top1", "topk", k=1))
    # one revealed score, the rest of the mass spread evenly over the two unseen classes
    np.testing.assert_allclose(
        F.top_scores(top1, 3, 3), [[0.6, 0.2, 0.2], [0.6, 0.2, 0.2]], rtol=1e-6
    )
