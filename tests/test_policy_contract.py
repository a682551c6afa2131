"""The output-policy contract: the SDK's simulation of a policy (attacker_sdk.mi.policy,
written from the documented semantics, since the SDK may not import the service) gives,
for every policy and composition, exactly what the service applies. If either side
changes the semantics, this test fails until the other follows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from attacker_sdk.answers import Answers, PolicyInfo, answers_to_soft
from attacker_sdk.answers.classification import parse
from attacker_sdk.mi import simulate_policy
from victim_service.tasks.base import PolicyError
from victim_service.tasks.classification import OutputPolicy

REVEALS = ["", "probabilities", "label", "top1", "topk:2", "topk:3", "topk:12"]
ROUNDS = ["", "round:0", "round:1", "round:2", "round:4", "round:8"]
NOISES = ["", "noise:0.01", "noise:0.2"]


def _policies() -> list[str]:
    out = []
    for parts in itertools.product(REVEALS, ROUNDS, NOISES):
        text = "+".join(p for p in parts if p)
        if text:
            out.append(text)
    return out + ["round:2+top1", "noise:0.05+topk:3+round:2"]  # order written does not matter


def _probs(seed: int) -> np.ndarray:
    """Posteriors with the hard cases: ties, one-hot rows, uniform rows, tiny values."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 3, (40, 10))
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[0] = 0.1  # uniform: every label ties
    p[1] = np.eye(10)[7]  # one-hot
    p[2] = [0.3, 0.3, 0.2, 0.1, 0.05, 0.05, 0, 0, 0, 0]  # ties at the top and in the tail
    p[3] = np.r_[1 - 9e-9, np.full(9, 1e-9)]
    return p.astype(np.float32)


@pytest.mark.parametrize("text", _policies())
@pytest.mark.parametrize("seed", [0, 1])
def test_sdk_simulation_equals_service(text, seed):
    probs = _probs(seed)
    try:
        policy = OutputPolicy.parse(text)
    except PolicyError:
        assert text.startswith("label+"), (
            f"the service refused {text!r}"
        )  # label reveals no scores to round
        return
    # the SDK reads the policy as GET /v1/models describes it, and the answer as the JSON body
    info = PolicyInfo.from_json(policy.describe())
    served = parse(policy.apply(probs, np.random.default_rng(seed)))
    simulated = simulate_policy(probs, info, np.random.default_rng(seed))
    assert info.policy == str(policy) and simulated.policy == str(policy)
    np.testing.assert_array_equal(simulated.labels, [a.label for a in served])
    if simulated.probabilities is None:
        assert served[0].probabilities is None
    else:
        np.testing.assert_array_equal(
            simulated.probabilities, np.stack([a.probabilities for a in served])
        )
    if simulated.top_labels is None:
        assert served[0].top_labels is None
    else:
        np.testing.assert_array_equal(simulated.top_labels, [a.top_labels for a in served])
        np.testing.assert_array_equal(
            simulated.top_scores, np.array([a.top_scores for a in served], np.float32)
        )
    # and so every statistic an attack derives from them
    K = probs.shape[1]
    got = Answers.collect(served, str(policy), 0, np.zeros(len(served), bool))
    soft = answers_to_soft(got, K)
    np.testing.assert_array_equal(soft, answers_to_soft(simulated, K))
    assert np.isfinite(soft).all() and np.allclose(soft.sum(1), 1, atol=1e-5)


def test_every_reveal_kind_is_covered():
    kinds = {
        OutputPolicy.parse(t).describe()["reveals"]
        for t in _policies()
        if not t.startswith("label+")
    }
    assert kinds == {"probabilities", "topk", "label"}
