"""Attack metrics: model extraction (fidelity, accuracy) and membership inference (ROC, AUC,
TPR at low FPR, advantage, hard-decision metrics).

Small pure numpy functions in the style of tensorflow_privacy's ``advanced_mia``: every
function validates its arguments and raises :class:`ValueError` with a clear message on
bad input (empty arrays, mismatched lengths, non-finite scores, non-binary membership).

Conventions for membership inference:

- ``is_member`` is the ground truth, one entry per challenge point: ``True``/``1`` for a
  member of the victim's training set, ``False``/``0`` otherwise.
- ``scores`` are real numbers, **higher means more likely a member**. Attacks whose
  statistic is "lower means member" (e.g. LiRA offline, loss) must be negated first.
- A threshold ``t`` predicts *member* for every point with ``score >= t``.

The ROC is exact: points with equal scores are grouped into a single step (a diagonal
segment when the group mixes members and non-members), so AUC by the trapezoid rule
equals the Mann-Whitney statistic with ties counted one half.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_FPR_TARGETS",
    "accuracy",
    "agreement_curve",
    "auc",
    "auc_from_curve",
    "best_balanced_accuracy",
    "fidelity",
    "membership_report",
    "mi_advantage",
    "roc_curve",
    "score_normalise_minmax",
    "threshold_metrics",
    "tpr_at_fpr",
    "tpr_at_fpr_from_curve",
    "tpr_at_fprs",
]

#: FPR levels reported by default: 0.1 %, 1 %, 10 % (MICO ranks on TPR at 10 % FPR).
DEFAULT_FPR_TARGETS: tuple[float, ...] = (0.001, 0.01, 0.1)


# ---------------------------------------------------------------------------------------
# validation helpers
# ---------------------------------------------------------------------------------------


def _as_1d_array(x: ArrayLike, name: str) -> NDArray[Any]:
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise ValueError(f"{name}: cannot be converted to an array ({exc})") from exc
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: is empty")
    return arr


def _as_membership(x: ArrayLike, name: str = "is_member") -> NDArray[np.bool_]:
    """A 1-D boolean vector from booleans or numbers that are all 0 or 1."""
    arr = _as_1d_array(x, name)
    if arr.dtype == np.bool_:
        return arr
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name}: expected booleans or 0/1 numbers, got dtype {arr.dtype}")
    ok = (arr == 0) | (arr == 1)
    if not np.all(ok):
        bad = arr[~ok][:5]
        raise ValueError(f"{name}: labels must be binary (0/1 or bool), found {bad.tolist()}")
    return arr == 1


def _as_scores(x: ArrayLike, name: str = "scores") -> NDArray[np.float64]:
    """A 1-D float64 vector of finite numbers."""
    arr = _as_1d_array(x, name)
    if not (
        arr.dtype == np.bool_
        or np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        n_bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name}: {n_bad} value(s) are NaN or infinite; scores must be finite")
    return arr


def _check_same_length(a: NDArray[Any], b: NDArray[Any], name_a: str, name_b: str) -> None:
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"{name_a} and {name_b} differ in length: {a.shape[0]} != {b.shape[0]}")


def _membership_and_scores(
    is_member: ArrayLike, scores: ArrayLike
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    y = _as_membership(is_member)
    s = _as_scores(scores)
    _check_same_length(y, s, "is_member", "scores")
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == y.size:
        raise ValueError(
            f"is_member: needs both members and non-members to define a ROC "
            f"(got {n_pos} members, {y.size - n_pos} non-members)"
        )
    return y, s


def _check_fpr_target(t: float) -> float:
    try:
        t = float(t)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"fpr target must be a number, got {t!r}") from exc
    if not (0.0 < t <= 1.0):
        raise ValueError(f"fpr target must lie in (0, 1], got {t}")
    return t


def _as_label_vector(x: ArrayLike, name: str) -> NDArray[Any]:
    """Labels from a 1-D label vector or the argmax of an (n, K) score matrix, K >= 2."""
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise ValueError(f"{name}: cannot be converted to an array ({exc})") from exc
    if arr.ndim == 2:
        n, k = arr.shape
        if n == 0:
            raise ValueError(f"{name}: is empty")
        if k < 2:
            raise ValueError(
                f"{name}: a score matrix needs K >= 2 columns, got shape {arr.shape}; "
                "pass a 1-D label vector instead"
            )
        if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
            raise ValueError(f"{name}: a score matrix must be numeric, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name}: score matrix contains NaN or infinite values")
        return np.argmax(arr, axis=1)
    if arr.ndim != 1:
        raise ValueError(
            f"{name}: expected a 1-D label vector or an (n, K) score matrix, got shape {arr.shape}"
        )
    if arr.size == 0:
        raise ValueError(f"{name}: is empty")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: labels contain NaN or infinite values")
    if arr.dtype == object:
        raise ValueError(f"{name}: labels must be numbers or strings, got dtype object")
    return arr


def _agreement(a: ArrayLike, b: ArrayLike, name_a: str, name_b: str) -> float:
    la = _as_label_vector(a, name_a)
    lb = _as_label_vector(b, name_b)
    _check_same_length(la, lb, name_a, name_b)
    a_text = la.dtype.kind in "US"
    b_text = lb.dtype.kind in "US"
    if a_text != b_text:
        raise ValueError(
            f"{name_a} ({la.dtype}) and {name_b} ({lb.dtype}) are not comparable: "
            "one holds strings, the other numbers"
        )
    return float(np.mean(la == lb))


# ---------------------------------------------------------------------------------------
# extraction
# ---------------------------------------------------------------------------------------


def fidelity(copy_labels: ArrayLike, victim_labels: ArrayLike) -> float:
    """Label agreement between a stolen copy and the victim.

    ``fidelity = (1/n) * #{i : copy(x_i) == victim(x_i)}`` on a common set of n inputs
    (normally a held-out set the attacker did not query for training).

    Each argument is either a 1-D label vector (ints or strings) or an ``(n, K)``
    probability/score matrix (K >= 2), which is reduced to labels by ``argmax`` (first
    maximum on ties, as :func:`numpy.argmax`).
    """
    return _agreement(copy_labels, victim_labels, "copy_labels", "victim_labels")


def accuracy(pred: ArrayLike, y_true: ArrayLike) -> float:
    """Top-1 accuracy: ``(1/n) * #{i : pred_i == y_true_i}``.

    ``pred`` and ``y_true`` may each be a 1-D label vector or an ``(n, K)`` score matrix
    (argmax), as in :func:`fidelity`.
    """
    return _agreement(pred, y_true, "pred", "y_true")


def agreement_curve(queries: Sequence[int], fidelities: Sequence[float]) -> dict[str, Any]:
    """A tidy, JSON-safe record of an extraction curve (fidelity or accuracy vs. queries).

    ``queries`` are query counts (non-negative integers, strictly increasing) and
    ``fidelities`` the metric measured at each count, in [0, 1]. Returns::

        {"queries": [int, ...], "fidelity": [float, ...], "n_points": int,
         "final_queries": int, "final_fidelity": float,
         "best_fidelity": float, "queries_at_best": int}

    ``queries_at_best`` is the smallest query count that reaches ``best_fidelity``.
    """
    q = _as_1d_array(list(queries) if not isinstance(queries, np.ndarray) else queries, "queries")
    f = _as_scores(
        list(fidelities) if not isinstance(fidelities, np.ndarray) else fidelities, "fidelities"
    )
    _check_same_length(q, f, "queries", "fidelities")
    if q.dtype == np.bool_ or not (
        np.issubdtype(q.dtype, np.integer) or np.issubdtype(q.dtype, np.floating)
    ):
        raise ValueError(f"queries: expected integers, got dtype {q.dtype}")
    if np.issubdtype(q.dtype, np.floating) and not (
        np.all(np.isfinite(q)) and np.all(q == np.round(q))
    ):
        raise ValueError("queries: expected whole numbers of queries")
    qi = q.astype(np.int64)
    if np.any(qi < 0):
        raise ValueError("queries: must be non-negative")
    if np.any(np.diff(qi) <= 0):
        raise ValueError("queries: must be strictly increasing")
    if np.any((f < 0.0) | (f > 1.0)):
        raise ValueError("fidelities: must lie in [0, 1]")
    best = int(np.argmax(f))
    return {
        "queries": [int(v) for v in qi],
        "fidelity": [float(v) for v in f],
        "n_points": int(qi.size),
        "final_queries": int(qi[-1]),
        "final_fidelity": float(f[-1]),
        "best_fidelity": float(f[best]),
        "queries_at_best": int(qi[best]),
    }


# ---------------------------------------------------------------------------------------
# membership inference: ROC and friends
# ---------------------------------------------------------------------------------------


def _roc_counts(
    y: NDArray[np.bool_], s: NDArray[np.float64], drop_intermediate: bool = False
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Cumulative (false positives, true positives, thresholds), starting at (0, 0, +inf)."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted = s[order]
    y_sorted = y[order]
    # last index of every group of equal scores
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), s_sorted.size - 1]
    tps = np.cumsum(y_sorted, dtype=np.int64)[last]
    fps = (last + 1).astype(np.int64) - tps
    thresholds = s_sorted[last]
    if drop_intermediate and fps.size > 2:
        # scikit-learn's rule: drop a point whose step in and step out are identical
        # (a collinear interior point of a straight run).
        keep = np.flatnonzero(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    fps = np.r_[np.int64(0), fps]
    tps = np.r_[np.int64(0), tps]
    thresholds = np.r_[np.inf, thresholds]
    return fps, tps, thresholds


def roc_curve(
    is_member: ArrayLike, scores: ArrayLike, *, drop_intermediate: bool = False
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Exact ROC curve of a membership score.

    For every distinct score value ``t`` (in decreasing order) the rule "member iff
    ``score >= t``" gives ``tpr = TP / P`` and ``fpr = FP / N`` (P members, N non-members).
    Equal scores form one group, hence one point. The curve starts at ``(0, 0)`` with
    threshold ``+inf`` and ends at ``(1, 1)`` with threshold ``min(scores)``; ``fpr`` and
    ``tpr`` are non-decreasing, ``thresholds`` strictly decreasing.

    ``drop_intermediate=True`` removes collinear interior points with scikit-learn's
    rule (its ``roc_curve`` default, used by MICO's scorer); it never changes the AUC.
    The default keeps every threshold, as ``sklearn.metrics.roc_curve(...,
    drop_intermediate=False)``.

    Returns ``(fpr, tpr, thresholds)``. Needs at least one member and one non-member.
    """
    y, s = _membership_and_scores(is_member, scores)
    fps, tps, thresholds = _roc_counts(y, s, drop_intermediate)
    return fps / fps[-1], tps / tps[-1], thresholds


def auc_from_curve(fpr: ArrayLike, tpr: ArrayLike) -> float:
    """Area under a ROC curve given by its points, by the trapezoid rule.

    ``fpr`` must be non-decreasing (as returned by :func:`roc_curve`); both in [0, 1].
    """
    f = _as_scores(fpr, "fpr")
    t = _as_scores(tpr, "tpr")
    _check_same_length(f, t, "fpr", "tpr")
    _check_curve(f, t)
    if f.size < 2:
        return 0.0
    return float(np.sum(np.diff(f) * (t[1:] + t[:-1])) / 2.0)


def _check_curve(f: NDArray[np.float64], t: NDArray[np.float64]) -> None:
    if np.any((f < 0) | (f > 1)) or np.any((t < 0) | (t > 1)):
        raise ValueError("fpr and tpr must lie in [0, 1]")
    if np.any(np.diff(f) < 0):
        raise ValueError("fpr must be non-decreasing (sort the ROC points by fpr)")


def auc(is_member: ArrayLike, scores: ArrayLike) -> float:
    """Area under the exact ROC curve (trapezoid rule on :func:`roc_curve`).

    Equals the Mann-Whitney statistic ``P(s_member > s_non_member) + 1/2 P(equal)`` over
    all member/non-member pairs: 1 for a perfect score, 0 for a perfectly inverted one,
    about 0.5 for a random one. Computed from integer counts, so it is exact up to the
    final division.
    """
    y, s = _membership_and_scores(is_member, scores)
    fps, tps, _ = _roc_counts(y, s)
    return _auc_counts(fps, tps)


def _auc_counts(fps: NDArray[np.int64], tps: NDArray[np.int64]) -> float:
    # twice the trapezoid area in count units is an exact integer
    twice_area = int(np.sum(np.diff(fps) * (tps[1:] + tps[:-1])))
    return twice_area / (2.0 * int(fps[-1]) * int(tps[-1]))


def tpr_at_fpr_from_curve(fpr: ArrayLike, tpr: ArrayLike, fpr_target: float) -> float:
    """MICO's TPR at FPR on given ROC points: ``max(tpr[fpr < fpr_target])``.

    ``fpr_target`` must lie in (0, 1]; if no point has ``fpr < fpr_target`` (impossible for
    a curve that starts at (0, 0)) a :class:`ValueError` is raised.
    """
    f = _as_scores(fpr, "fpr")
    t = _as_scores(tpr, "tpr")
    _check_same_length(f, t, "fpr", "tpr")
    target = _check_fpr_target(fpr_target)
    mask = f < target
    if not np.any(mask):
        raise ValueError(f"no ROC point has fpr < {target}; does the curve start at (0, 0)?")
    return float(np.max(t[mask]))


def tpr_at_fprs(
    is_member: ArrayLike,
    scores: ArrayLike,
    targets: Sequence[float] = DEFAULT_FPR_TARGETS,
    *,
    drop_intermediate: bool = False,
) -> dict[float, float]:
    """TPR at several FPR levels, MICO's definition: ``max(tpr[fpr < t])`` for each ``t``.

    The inequality is **strict**: an operating point whose FPR equals the target does not
    count. Each target must lie in (0, 1]. The ROC is computed once (see
    :func:`roc_curve`); with the default ``drop_intermediate=False`` every threshold is a
    candidate. MICO's scorer calls scikit-learn's ``roc_curve`` with its default
    ``drop_intermediate=True``; pass ``drop_intermediate=True`` to reproduce its numbers
    bit for bit. The two differ only when consecutive tie groups have identical
    member/non-member composition, and then the default is the larger (the dropped
    thresholds are real operating points).

    Returns ``{target: tpr}`` with float keys in the given order.
    """
    ts = [_check_fpr_target(t) for t in targets]
    if not ts:
        raise ValueError("targets: is empty")
    y, s = _membership_and_scores(is_member, scores)
    fps, tps, _ = _roc_counts(y, s, drop_intermediate)
    return _tpr_at(fps / fps[-1], tps / tps[-1], ts)


def _tpr_at(
    fpr: NDArray[np.float64], tpr: NDArray[np.float64], ts: Sequence[float]
) -> dict[float, float]:
    # tpr is non-decreasing along the curve, so the max over {fpr < t} is the tpr of the
    # last point with fpr < t; fpr[0] == 0 < t guarantees that point exists.
    idx = np.searchsorted(fpr, np.asarray(ts, dtype=np.float64), side="left") - 1
    return {t: float(tpr[i]) for t, i in zip(ts, idx)}


def tpr_at_fpr(
    is_member: ArrayLike, scores: ArrayLike, fpr_target: float, *, drop_intermediate: bool = False
) -> float:
    """TPR at a given FPR, MICO's definition ``max(tpr[fpr < fpr_target])`` (strict ``<``).

    See :func:`tpr_at_fprs` for ``drop_intermediate``.
    """
    return tpr_at_fprs(is_member, scores, (fpr_target,), drop_intermediate=drop_intermediate)[
        _check_fpr_target(fpr_target)
    ]


def mi_advantage(is_member: ArrayLike, scores: ArrayLike) -> float:
    """Membership advantage: ``max over thresholds of (tpr - fpr)`` (MICO's "MIA" score).

    In [0, 1]; 0 for a useless score (the (0, 0) point always counts).
    """
    fpr, tpr, _ = roc_curve(is_member, scores)
    return float(np.max(tpr - fpr))


def best_balanced_accuracy(is_member: ArrayLike, scores: ArrayLike) -> float:
    """Best balanced accuracy over thresholds: ``max(1 - (fpr + (1 - tpr)) / 2)`` (MICO).

    Equals ``(1 + mi_advantage) / 2``; in [0.5, 1].
    """
    fpr, tpr, _ = roc_curve(is_member, scores)
    return float(np.max(1.0 - (fpr + (1.0 - tpr)) / 2.0))


def threshold_metrics(is_member: ArrayLike, predicted_member: ArrayLike) -> dict[str, Any]:
    """Confusion-matrix metrics of hard membership decisions.

    With TP, FP, TN, FN counted against ``is_member``:

    - ``accuracy = (TP + TN) / n``
    - ``precision = TP / (TP + FP)``, defined as **0.0 when nothing is predicted member**
      (scikit-learn's ``zero_division=0``): an attack that never claims membership has
      no correct claims to its credit;
    - ``recall = tpr = TP / (TP + FN)``, 0.0 when there are no members;
    - ``fpr = FP / (FP + TN)``, 0.0 when there are no non-members;
    - ``f1 = 2 * precision * recall / (precision + recall)``, 0.0 when both are 0.

    Returns floats for rates and ints for ``tp``, ``fp``, ``tn``, ``fn``. Unlike the
    ROC-based metrics this does not require both classes to be present.
    """
    y = _as_membership(is_member, "is_member")
    p = _as_membership(predicted_member, "predicted_member")
    _check_same_length(y, p, "is_member", "predicted_member")
    tp = int(np.count_nonzero(y & p))
    fp = int(np.count_nonzero(~y & p))
    tn = int(np.count_nonzero(~y & ~p))
    fn = int(np.count_nonzero(y & ~p))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": (tp + tn) / y.size,
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "tpr": float(recall),
        "fpr": float(fpr),
        "tp": tp,
        "fp": fp,
        "tn": tn,
        "fn": fn,
    }


def _fpr_key(t: float) -> str:
    return repr(float(t))


def membership_report(
    is_member: ArrayLike,
    scores: ArrayLike,
    predicted_member: ArrayLike | None = None,
    *,
    fpr_targets: Sequence[float] = DEFAULT_FPR_TARGETS,
) -> dict[str, Any]:
    """Every membership-inference metric in one JSON-safe dict (plain ints and floats)::

        {"n_members": int, "n_non_members": int,
         "auc": float,
         "tpr_at_fpr": {"0.001": float, "0.01": float, "0.1": float},
         "advantage": float,            # max(tpr - fpr)
         "balanced_accuracy": float,    # max(1 - (fpr + 1 - tpr) / 2)
         "threshold_metrics": {...} | None}

    ``tpr_at_fpr`` keys are ``repr(float(target))`` of ``fpr_targets`` (MICO's strict
    ``fpr < target`` definition, see :func:`tpr_at_fprs`). ``threshold_metrics`` holds
    :func:`threshold_metrics` of ``predicted_member`` when hard decisions are given, else
    ``None``.
    """
    ts = [_check_fpr_target(t) for t in fpr_targets]
    if not ts:
        raise ValueError("fpr_targets: is empty")
    y, s = _membership_and_scores(is_member, scores)
    fps, tps, _ = _roc_counts(y, s)
    fpr = fps / fps[-1]
    tpr = tps / tps[-1]
    tprs = _tpr_at(fpr, tpr, ts)
    report: dict[str, Any] = {
        "n_members": int(tps[-1]),
        "n_non_members": int(fps[-1]),
        "auc": _auc_counts(fps, tps),
        "tpr_at_fpr": {_fpr_key(t): v for t, v in tprs.items()},
        "advantage": float(np.max(tpr - fpr)),
        "balanced_accuracy": float(np.max(1.0 - (fpr + (1.0 - tpr)) / 2.0)),
        "threshold_metrics": None,
    }
    if predicted_member is not None:
        p = _as_membership(predicted_member, "predicted_member")
        _check_same_length(y, p, "is_member", "predicted_member")
        report["threshold_metrics"] = threshold_metrics(y, p)
    return report


def score_normalise_minmax(scores: ArrayLike) -> NDArray[np.float64]:
    """Min-max normalise scores to [0, 1]: ``(s - min(s)) / (max(s) - min(s))``.

    As in MICO's starter kit (whose scorer requires predictions in [0, 1]); the order of
    the scores, hence every ROC metric, is unchanged. A constant vector maps to all 0.5
    (no information either way). Any shape is accepted; the result has the same shape.
    """
    try:
        arr = np.asarray(scores)
    except Exception as exc:
        raise ValueError(f"scores: cannot be converted to an array ({exc})") from exc
    if arr.size == 0:
        raise ValueError("scores: is empty")
    flat = _as_scores(arr.reshape(-1), "scores")
    lo, hi = float(flat.min()), float(flat.max())
    if hi == lo:
        return np.full(arr.shape, 0.5, dtype=np.float64)
    span = hi - lo
    if not math.isfinite(span):  # e.g. -1e308 .. 1e308: scale first to avoid overflow
        out = (flat / 2 - lo / 2) / (hi / 2 - lo / 2)
    else:
        out = (flat - lo) / span
    return np.clip(out, 0.0, 1.0).reshape(arr.shape)
