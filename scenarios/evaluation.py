"""Scoring attacks against ground truth only the runner holds."""

from __future__ import annotations

import numpy as np

from attacker_sdk import metrics
from attacker_sdk.training import predict_proba


class ExtractionJudge:
    """Fidelity (label agreement with the victim) and accuracy of a copy on the victim's
    held-out test split; the victim's labels come from the store, in process."""

    def __init__(self, victim_predictor, x_eval: np.ndarray, y_eval: np.ndarray):
        self.x, self.y = x_eval, y_eval
        self.victim_labels = victim_predictor.predict_proba(x_eval).argmax(1)

    def __call__(self, copy_model, queries: int | None = None) -> dict:
        pred = predict_proba(copy_model, self.x).argmax(1)
        return {
            "fidelity": metrics.fidelity(pred, self.victim_labels),
            "accuracy": metrics.accuracy(pred, self.y),
        }

    @property
    def victim_accuracy(self) -> float:
        return metrics.accuracy(self.victim_labels, self.y)


def score_membership(
    is_member: np.ndarray, scores: np.ndarray, predictions: np.ndarray | None
) -> tuple[dict, tuple]:
    report = metrics.membership_report(is_member, scores, predictions)
    roc = metrics.roc_curve(is_member, scores)
    return report, (roc[0], roc[1])


def score_inferred_set(is_member: np.ndarray, inferred: np.ndarray) -> dict:
    """MExMI's inferred training set D-hat (a boolean per pool row) against the truth."""
    return metrics.threshold_metrics(is_member, inferred)


def count_by_source(source: np.ndarray, rows: np.ndarray) -> dict[str, int]:
    """How many of ``rows`` came from each pool source, every source listed in pool order
    (an attack that never touched the out-of-distribution part shows a 0 there)."""
    counts = {str(s): 0 for s in dict.fromkeys(source.tolist())}
    for s in source[np.asarray(rows, np.int64)].tolist():
        counts[str(s)] += 1
    return counts
