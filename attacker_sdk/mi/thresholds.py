"""Threshold choice for score-based membership inference (Song & Mittal's
``_thre_setting``): among all observed values, the one maximising (TPR + TNR) / 2 on
shadow member / non-member values, globally or per class."""

from __future__ import annotations

import numpy as np


def best_threshold(v_in: np.ndarray, v_out: np.ndarray) -> tuple[float, float]:
    """The threshold ``t`` among all observed values maximising ``(TPR + TNR) / 2`` with
    "member iff value >= t", and that balanced accuracy. Vectorised: both sides sorted
    once, counts by binary search; ties go to the smallest ``t``."""
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


def class_thresholds(
    v_in: np.ndarray,
    y_in: np.ndarray,
    v_out: np.ndarray,
    y_out: np.ndarray,
    num_classes: int,
    per_class: bool = True,
    min_count: int = 1,
) -> dict:
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
            if len(a) < max(min_count, 1) or len(b) < max(min_count, 1):
                fallback.append(c)
                continue
            thr[c], bal[c] = best_threshold(a, b)
    return {
        "thresholds": thr,
        "balanced_accuracy": bal,
        "global": g_thr,
        "global_balanced_accuracy": g_bal,
        "fallback": fallback,
    }
