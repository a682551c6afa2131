"""Candidate filters of the MI Pre-Filter (MExMI sec. 3.1).

The reference code (REFERENCE_SPECS 1, ``AdjShadowModelMemberAttack``) groups pool
candidates by the copy model's predicted class, keeps those whose member probability
exceeds 0.5 and, when a class keeps fewer than ``size/10``, takes that class's top
``size/10`` by member probability instead. It assumes 10 classes; we use
``ceil(size / K)`` so the fallback scales with the class count (identical for K = 10), and
if the union is still smaller than ``size`` (tiny classes) it is topped up with the
highest-scoring remaining candidates, so the AL strategy always has at least ``size`` to
choose from.
"""

from __future__ import annotations

import math

import numpy as np


def _top_positions(scores: np.ndarray, n: int) -> np.ndarray:
    n = min(int(n), len(scores))
    if n <= 0:
        return np.zeros(0, np.int64)
    return np.argsort(-scores, kind="stable")[:n].astype(np.int64)


def per_class_filter(
    p_member: np.ndarray, predicted: np.ndarray, size: int, num_classes: int, threshold: float = 0.5
) -> tuple[np.ndarray, dict]:
    """Positions kept: per predicted class, ``p_member > threshold``, or the class's top
    ``ceil(size / K)`` when fewer pass; topped up to ``size`` overall. Returns the sorted
    positions and stats (``passed``, ``fallback_classes``, ``topped_up``)."""
    p = np.asarray(p_member, dtype=np.float64)
    pred = np.asarray(predicted, dtype=np.int64)
    per = math.ceil(size / max(num_classes, 1))
    keep = p > threshold
    out = np.zeros(len(p), bool)
    fallback = []
    for c in range(num_classes):
        members = np.flatnonzero(pred == c)
        if len(members) == 0:
            continue
        if keep[members].sum() >= per:
            out[members[keep[members]]] = True
        else:
            fallback.append(c)
            out[members[_top_positions(p[members], per)]] = True
    topped = 0
    if out.sum() < size:
        rest = np.flatnonzero(~out)
        add = rest[_top_positions(p[rest], size - out.sum())]
        out[add] = True
        topped = len(add)
    return np.flatnonzero(out), {
        "passed": int(keep.sum()),
        "fallback_classes": fallback,
        "topped_up": topped,
    }


def score_filter(scores: np.ndarray, threshold: float, size: int) -> tuple[np.ndarray, dict]:
    """Positions with ``score > threshold``; if fewer than ``size`` pass, the top ``size``
    (the unsupervised Pre-Filter of the reference code)."""
    s = np.asarray(scores, dtype=np.float64)
    passed = np.flatnonzero(s > threshold)
    if len(passed) >= size:
        return passed, {"passed": len(passed), "fallback": False}
    return np.sort(_top_positions(s, size)), {"passed": len(passed), "fallback": True}
