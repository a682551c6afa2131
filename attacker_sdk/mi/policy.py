"""The victim's output policy, simulated on local posteriors (a shadow's, a copy's).

This re-implements the service's *documented* semantics (DESIGN.md, "Output policies"):
a real attacker reads the documentation, not the service's code, and the SDK may not
import the service. A contract test (tests/test_policy_contract.py) checks, for every
policy and composition, that this simulation equals what the service answers.

Semantics: noise first (Gaussian, clipped at 0 and renormalised; the label stays the clean
argmax), then truncation (top-k, label only), then rounding.
"""

from __future__ import annotations

import numpy as np

from ..answers import Answers, PolicyInfo
from ..training import predict_proba


def simulate_policy(
    probs: np.ndarray, policy: PolicyInfo | None, rng: np.random.Generator | None = None
) -> Answers:
    """What an API under ``policy`` would answer for posteriors ``probs`` (n, K). ``None`` =
    full probabilities."""
    p = np.asarray(probs, dtype=np.float64)
    n = len(p)
    labels = p.argmax(1)
    reveals = "probabilities" if policy is None else policy.reveals
    if policy is not None and policy.noise_sigma:
        rng = rng or np.random.default_rng(0)
        p = np.clip(p + rng.normal(0.0, policy.noise_sigma, p.shape), 0.0, None)
        s = p.sum(1, keepdims=True)
        p = np.where(s > 0, p / np.where(s > 0, s, 1.0), 1.0 / p.shape[1])
    decimals = None if policy is None else policy.decimals
    probs_out = tl = ts = None
    if reveals == "probabilities":
        probs_out = (np.round(p, decimals) if decimals is not None else p).astype(np.float32)
    elif reveals == "topk":
        k = min(int(policy.k or 1), p.shape[1])
        order = labels[:, None] if k == 1 else np.argsort(-p, axis=1, kind="stable")[:, :k]
        scores = np.take_along_axis(p, order, 1)
        if decimals is not None:
            scores = np.round(scores, decimals)
        tl, ts = order.astype(np.int64), scores.astype(np.float32)
    return Answers(
        labels.astype(np.int64),
        probs_out,
        tl,
        ts,
        policy.policy if policy else "probabilities",
        0,
        np.zeros(n, bool),
    )


def shadow_answers(
    model, x: np.ndarray, policy: PolicyInfo | None, rng: np.random.Generator
) -> Answers:
    """A local model's answers on ``x`` as the victim's API would give them."""
    return simulate_policy(predict_proba(model, x), policy, rng)
