"""Per-record membership features, computed the same way on the victim's answers (over
HTTP) and on a shadow's answers (through :func:`.policy.simulate_policy`), so an attack
compares like with like even under coarsened outputs.

How each statistic degrades under ``topk:k`` / ``top1`` (the missing mass is unknown):

- true-class probability ``p_y`` (:func:`true_class_prob`): exact when ``y`` is among the
  revealed labels; otherwise the *upper bound* ``min(s_k, max(0, 1 - sum_j s_j))`` (it is
  at most the smallest revealed score, and at most the unrevealed mass). Under ``top1``
  this is ``min(s_1, 1 - s_1)``. The bound is the value most favourable to membership, so
  it never makes a misclassified record look less like a member than the answer allows.
- full vectors (entropy, modified entropy, Shokri's features): the maximum-entropy
  completion of :func:`attacker_sdk.answers.answers_to_soft` (revealed scores, the rest of
  the mass spread evenly over the unrevealed classes).
- sorted top-``k`` features (ML-Leaks, MExMI): exact when the policy reveals at least ``k``
  scores, else the sorted completion (so ``top1`` pads with the spread-out rest).
"""

from __future__ import annotations

import numpy as np

from ..answers import Answers, answers_to_soft
from ..errors import PolicyUnsupported

LOG_FLOOR = 1e-30  # Song & Mittal's log(max(., 1e-30))
LIRA_EPS = 1e-45  # LiRA's offset inside both logs (score.py)


def sorted_top(probs: np.ndarray, m: int) -> np.ndarray:
    """The ``m`` largest entries of each row, descending (float64; ML-Leaks' / MExMI's
    features on a posterior matrix)."""
    p = np.asarray(probs, dtype=np.float64)
    m = max(1, min(int(m), p.shape[1]))
    return -np.sort(-p, axis=1)[:, :m]


def _need_scores(a: Answers, what: str) -> None:
    if a.probabilities is None and a.top_scores is None:
        raise PolicyUnsupported(
            f"{what} needs scores; the answers under {a.policy!r} carry labels only"
        )


def prob_matrix(a: Answers, num_classes: int) -> np.ndarray:
    """The revealed probability vectors (clipped at 0, not renormalised, as the reference
    uses the softmax directly), or the max-entropy completion under top-k."""
    _need_scores(a, "a probability vector")
    if a.probabilities is not None:
        return np.clip(a.probabilities.astype(np.float64), 0.0, None)
    return answers_to_soft(a, num_classes).astype(np.float64)


def top_scores(a: Answers, num_classes: int, k: int) -> np.ndarray:
    """The ``k`` largest scores of each answer, descending: exact when revealed, taken from
    the sorted completion otherwise."""
    _need_scores(a, "sorted posteriors")
    k = min(k, num_classes)
    if a.probabilities is None and a.top_scores.shape[1] >= k:
        return sorted_top(a.top_scores.astype(np.float64), k)
    return sorted_top(prob_matrix(a, num_classes), k)


def true_class_prob(a: Answers, y: np.ndarray) -> np.ndarray:
    """``p_y`` per record (float64): exact under probabilities (and under top-k when ``y`` is
    revealed), else the upper bound ``min(s_k, max(0, 1 - sum s))`` (module docstring)."""
    _need_scores(a, "the true-class probability")
    y = np.asarray(y, np.int64)
    n = len(y)
    if a.probabilities is not None:
        return np.clip(a.probabilities[np.arange(n), y].astype(np.float64), 0.0, 1.0)
    tl, ts = a.top_labels, a.top_scores.astype(np.float64)
    hit = tl == y[:, None]
    exact = (ts * hit).sum(1)
    bound = np.minimum(ts.min(1), np.clip(1.0 - ts.sum(1), 0.0, None))
    return np.clip(np.where(hit.any(1), exact, bound), 0.0, 1.0)


def rest_mass(a: Answers, y: np.ndarray) -> np.ndarray:
    """``sum_{j != y} p_j`` per record (float64), summed explicitly under probabilities (no
    cancellation in ``1 - p_y``); under top-k the revealed others plus the unrevealed mass
    minus what :func:`true_class_prob` gave ``y``."""
    _need_scores(a, "the rest mass")
    y = np.asarray(y, np.int64)
    n = len(y)
    if a.probabilities is not None:
        p = np.clip(a.probabilities.astype(np.float64), 0.0, None)
        p[np.arange(n), y] = 0.0
        return p.sum(1)
    ts = a.top_scores.astype(np.float64)
    hit = a.top_labels == y[:, None]
    unseen = np.clip(1.0 - ts.sum(1), 0.0, None)
    others = (ts * ~hit).sum(1) + unseen
    return np.clip(np.where(hit.any(1), others, others - true_class_prob(a, y)), 0.0, None)


def _log(v: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(v, LOG_FLOOR))


def entropy(p: np.ndarray) -> np.ndarray:
    """Shannon entropy ``-sum p log p`` with Song & Mittal's ``log(max(., 1e-30))``."""
    return -(p * _log(p)).sum(1)


def modified_entropy(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Song & Mittal's Mentr(p, y) = -(1 - p_y) log p_y - sum_{i != y} p_i log(1 - p_i)."""
    n = len(p)
    y = np.asarray(y, np.int64)
    terms = p * _log(1.0 - p)
    terms[np.arange(n), y] = (1.0 - p[np.arange(n), y]) * _log(p[np.arange(n), y])
    return -terms.sum(1)


def correctness(a: Answers, y: np.ndarray) -> np.ndarray:
    return (a.labels == np.asarray(y, np.int64)).astype(np.float64)


def lira_phi(a: Answers, y: np.ndarray) -> np.ndarray:
    """LiRA's statistic ``log(p_y + 1e-45) - log(sum_{j != y} p_j + 1e-45)`` (float64)."""
    return np.log(true_class_prob(a, y) + LIRA_EPS) - np.log(rest_mass(a, y) + LIRA_EPS)


def max_prob(probs: np.ndarray) -> np.ndarray:
    """The largest posterior of each row (unsupervised MI's score, ML-Leaks' adversary 3)."""
    return np.asarray(probs, dtype=np.float64).max(1)
