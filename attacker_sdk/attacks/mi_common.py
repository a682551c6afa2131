"""Shared machinery of the membership-inference attacks (metric, ML-Leaks, Shokri, LiRA,
gap): spending and refusing before spending, shadow models on the attacker's auxiliary
data, simulating the victim's output policy on shadow posteriors, the per-record
statistics (true-class probability, entropies, LiRA's logit) and the threshold search.

Everything here works on :class:`~attacker_sdk.client.Answers`, whether the answers came
from the victim over HTTP or from a shadow model passed through :func:`simulate_policy`,
so an attack computes its features the same way on both sides. That is what makes the
attacks work under coarsened outputs: a shadow calibrated on *rounded* (or top-k, or
noisy) posteriors is compared with rounded victim posteriors. The papers assume full
probability vectors; matching the policy is our extension and can be turned off
(``match_policy=False``) to reproduce them.

How each statistic degrades under ``topk:k`` / ``top1`` (the missing mass is unknown):

- true-class probability ``p_y`` (:func:`true_class_prob`): exact when ``y`` is among the
  revealed labels; otherwise the *upper bound* ``min(s_k, max(0, 1 - sum_j s_j))`` (it is
  at most the smallest revealed score, and at most the unrevealed mass). Under ``top1``
  this is ``min(s_1, 1 - s_1)``. The bound is the value most favourable to membership, so
  it never makes a misclassified record look less like a member than the answer allows.
- full vectors (entropy, modified entropy, Shokri's features): the maximum-entropy
  completion of :func:`attacker_sdk.remote.answers_to_soft` (revealed scores, the rest of
  the mass spread evenly over the unrevealed classes).
- sorted top-``k`` features (ML-Leaks): exact when the policy reveals at least ``k``
  scores, else the sorted completion (so ``top1`` pads with the spread-out rest).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import models
from ..client import Answers, PolicyInfo
from ..errors import BudgetExhausted, PolicyUnsupported, SDKError
from ..pool import Pool
from ..remote import RemoteClassifier, answers_to_soft
from ..training import FitConfig, fit, predict_proba
from .base import SpendMeter, check_budget

#: ML-Leaks' target/shadow recipe (REFERENCE_SPECS 5: Adam lr 1e-3, 50 epochs, batch 100,
#: L2 1e-7); the attacks' default when the attacker does not know the victim's recipe.
DEFAULT_SHADOW_FIT = FitConfig(epochs=50, batch_size=100, lr=1e-3, optimizer="adam", weight_decay=1e-7)

LOG_FLOOR = 1e-30  # Song & Mittal's log(max(., 1e-30))
LIRA_EPS = 1e-45  # LiRA's offset inside both logs (score.py)


# -- spending -----------------------------------------------------------------------------


def learn_server_budget(victim: RemoteClassifier) -> None:
    """Reconcile with the server once (``GET /v1/usage``, free) so the local budget knows
    the key's real remaining budget before the attack plans its spend. Call it before a
    :class:`SpendMeter` starts, so the adopted figure is not counted as the attack's."""
    budget = victim.client.budget
    if budget.total is None or budget.available is None:
        try:
            victim.client.usage()
        except SDKError:
            pass  # a server without /v1/usage: the local figure is all we have


def cost_of(victim: RemoteClassifier, *arrays: np.ndarray) -> int:
    """Units that answering every input of ``arrays`` would cost: only inputs neither
    cached nor repeated are paid for."""
    xs = [np.asarray(a, np.float32).reshape((-1, *victim.input_shape)) for a in arrays if len(a)]
    if not xs:
        return 0
    x = np.concatenate(xs)
    return int(victim.client.uncached(victim.model_id, x).sum()) * victim.info.price


def ensure_budget(victim: RemoteClassifier, budget: int, need: int, who: str) -> int:
    """Refuse (``BudgetExhausted``, nothing sent) when ``need`` units exceed what the attack
    may spend (its ``budget``, capped by the client's remaining budget)."""
    allowed = check_budget(budget, victim)
    if need > allowed:
        raise BudgetExhausted(
            f"{who} needs {need} units ({need // max(victim.info.price, 1)} queries at price "
            f"{victim.info.price}) but may spend {allowed}; nothing was spent",
            local=True, requested=need, remaining=allowed)
    return allowed


def timeline_row(meter: SpendMeter, phase: str, **extra) -> dict:
    return {"phase": phase, "queries": meter.spent, "t": round(meter.seconds, 3), **extra}


def query_all(victim: RemoteClassifier, pool: Pool, progress: bool = False) -> Answers:
    """Every record of ``pool`` asked once, in pool order (cached answers are free)."""
    return pool.query(victim, np.arange(len(pool)), progress=progress)


def shadow_labels(victim: RemoteClassifier, aux: Pool, use_victim: bool, progress: bool = False) -> np.ndarray:
    """The labels shadows are trained on: the attacker's own (free), or the victim's answers
    on ``aux`` (one query per aux record; call inside the phase it should be billed to)."""
    if use_victim:
        return query_all(victim, aux, progress).labels
    if aux.y is None:
        raise ValueError("aux has no labels: give aux.y or label_aux_with_victim=True")
    return aux.y


def policy_of(victim: RemoteClassifier) -> dict:
    p = victim.info.policy
    return {"policy": p.policy, "reveals": p.reveals, "k": p.k, "decimals": p.decimals, "noise_sigma": p.noise_sigma}


# -- shadow models ------------------------------------------------------------------------


@dataclass
class Shadow:
    """A shadow model with the aux indices it was trained on (``in_idx``) and held out of
    (``out_idx``)."""

    model: object
    in_idx: np.ndarray
    out_idx: np.ndarray
    train_accuracy: float
    test_accuracy: float


def split_in_out(n: int, rng: np.random.Generator, fraction: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """A random ``fraction`` of ``range(n)`` as "in", the rest as "out" (both sorted)."""
    if n < 4:
        raise ValueError(f"need at least 4 auxiliary records for a shadow split, got {n}")
    perm = rng.permutation(n)
    n_in = min(max(round(n * fraction), 2), n - 2)
    return np.sort(perm[:n_in]), np.sort(perm[n_in:])


def train_shadows(x: np.ndarray, y: np.ndarray, n_shadows: int, input_shape, num_classes: int,
                  arch: str | dict | None, fit_config: FitConfig, seed: int = 0,
                  eval_y: np.ndarray | None = None) -> list[Shadow]:
    """``n_shadows`` shadows, each trained on its own random half of ``(x, y)``; shadow ``i``
    uses fit seed ``fit_config.seed + i`` and a split from ``seed``. Accuracies are against
    ``eval_y`` (default ``y``)."""
    if n_shadows < 1:
        raise ValueError("n_shadows must be >= 1")
    arch = arch or models.default_for(input_shape)
    eval_y = y if eval_y is None else eval_y
    rng = np.random.default_rng(seed)
    shadows = []
    for i in range(n_shadows):
        in_idx, out_idx = split_in_out(len(x), rng)
        model = models.build(arch, input_shape, num_classes, seed=fit_config.seed + i)
        fit(model, x[in_idx], y[in_idx], dataclasses.replace(fit_config, seed=fit_config.seed + i),
            num_classes=num_classes)
        pred = predict_proba(model, x).argmax(1)
        shadows.append(Shadow(model, in_idx, out_idx, float((pred[in_idx] == eval_y[in_idx]).mean()),
                              float((pred[out_idx] == eval_y[out_idx]).mean())))
    return shadows


def shadow_summary(shadows: list[Shadow]) -> dict:
    return {"n_shadows": len(shadows), "train_accuracy": float(np.mean([s.train_accuracy for s in shadows])),
            "test_accuracy": float(np.mean([s.test_accuracy for s in shadows])),
            "in_size": int(np.mean([len(s.in_idx) for s in shadows]))}


# -- the victim's output policy, simulated on local posteriors ----------------------------


def simulate_policy(probs: np.ndarray, policy: PolicyInfo | None, rng: np.random.Generator | None = None) -> Answers:
    """What an API under ``policy`` would answer for posteriors ``probs`` (n, K): the
    service's documented semantics (noise first, clipped and renormalised, label = clean
    argmax; then top-k / label truncation; then rounding). ``None`` = full probabilities."""
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
    return Answers(labels.astype(np.int64), probs_out, tl, ts, policy.policy if policy else "probabilities", 0,
                   np.zeros(n, bool))


def shadow_answers(model, x: np.ndarray, policy: PolicyInfo | None, rng: np.random.Generator) -> Answers:
    return simulate_policy(predict_proba(model, x), policy, rng)


# -- per-record statistics ----------------------------------------------------------------


def _need_scores(a: Answers, what: str) -> None:
    if a.probabilities is None and a.top_scores is None:
        raise PolicyUnsupported(f"{what} needs scores; the answers under {a.policy!r} carry labels only")


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


def prob_matrix(a: Answers, num_classes: int) -> np.ndarray:
    """The revealed probability vectors (clipped at 0, not renormalised, as the reference
    uses the softmax directly), or the max-entropy completion under top-k."""
    _need_scores(a, "a probability vector")
    if a.probabilities is not None:
        return np.clip(a.probabilities.astype(np.float64), 0.0, None)
    return answers_to_soft(a, num_classes).astype(np.float64)


def sorted_top(a: Answers, num_classes: int, k: int) -> np.ndarray:
    """The ``k`` largest scores, descending (ML-Leaks' features): exact when revealed,
    padded from the sorted completion otherwise."""
    _need_scores(a, "sorted posteriors")
    k = min(k, num_classes)
    if a.probabilities is not None:
        p = np.clip(a.probabilities.astype(np.float64), 0.0, None)
    elif a.top_scores.shape[1] >= k:
        return np.sort(a.top_scores.astype(np.float64), axis=1)[:, ::-1][:, :k]
    else:
        p = answers_to_soft(a, num_classes).astype(np.float64)
    return np.sort(p, axis=1)[:, ::-1][:, :k]


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


# -- thresholds ---------------------------------------------------------------------------


def best_threshold(v_in: np.ndarray, v_out: np.ndarray) -> tuple[float, float]:
    """The threshold ``t`` among all observed values maximising ``(TPR + TNR) / 2`` with
    "member iff value >= t" (Song & Mittal's ``_thre_setting``), and that balanced accuracy.
    Vectorised: both sides sorted once, counts by binary search; ties go to the smallest ``t``."""
    v_in, v_out = np.asarray(v_in, np.float64), np.asarray(v_out, np.float64)
    if len(v_in) == 0 or len(v_out) == 0:
        raise ValueError("threshold search needs in and out values")
    cand = np.unique(np.concatenate([v_in, v_out]))
    s_in, s_out = np.sort(v_in), np.sort(v_out)
    tpr = 1.0 - np.searchsorted(s_in, cand, side="left") / len(s_in)  # in values >= t
    tnr = np.searchsorted(s_out, cand, side="left") / len(s_out)  # out values < t
    bal = 0.5 * (tpr + tnr)
    i = int(np.argmax(bal))
    return float(cand[i]), float(bal[i])


def class_thresholds(v_in: np.ndarray, y_in: np.ndarray, v_out: np.ndarray, y_out: np.ndarray,
                     num_classes: int, per_class: bool = True, min_count: int = 1) -> dict:
    """Per-class thresholds (a class with fewer than ``min_count`` in or out values falls
    back to the global threshold). Returns ``thresholds`` (K,), ``balanced_accuracy`` (K,)
    on the shadow values, ``global``, ``global_balanced_accuracy`` and ``fallback`` classes."""
    g_thr, g_bal = best_threshold(v_in, v_out)
    thr = np.full(num_classes, g_thr)
    bal = np.full(num_classes, g_bal)
    fallback = []
    if per_class:
        for c in range(num_classes):
            a, b = v_in[y_in == c], v_out[y_out == c]
            if len(a) < min_count or len(b) < min_count or len(a) == 0 or len(b) == 0:
                fallback.append(c)
                continue
            thr[c], bal[c] = best_threshold(a, b)
    return {"thresholds": thr, "balanced_accuracy": bal, "global": g_thr, "global_balanced_accuracy": g_bal,
            "fallback": fallback}
