"""Metric-based membership inference (Song & Mittal, "Systematic Evaluation of Privacy
Risks of Machine Learning Models", USENIX Security 2021, Sec. 3; REFERENCE_SPECS 5,
inspire-group/membership-inference-evaluation).

Four per-record values, each "higher = more likely a member":

- ``correctness``: 1 if the victim's label equals the true label (Yeom et al.'s gap
  attack; the reference thresholds nothing and trains no shadow, nor do we);
- ``confidence``: the victim's probability of the true class ``p_y``;
- ``entropy``: minus the Shannon entropy of the prediction vector;
- ``mentropy``: minus the modified entropy
  Mentr(p, y) = -(1 - p_y) log p_y - sum_{i != y} p_i log(1 - p_i), logs floored at 1e-30.

For the last three, a threshold per class (the target's *true* class) is chosen on a
shadow model's values on its own training half of ``aux`` ("in") and the other half
("out"), among all those values, maximising (TPR + TNR) / 2; a target is predicted member
iff its value >= its class's threshold (reference ``_thre_setting``). A class absent from
the shadow data uses the global threshold.

``scores``: with per-class thresholds the raw values are not comparable across classes,
so the score is the margin ``value - threshold[y]`` (>= 0 exactly when predicted member,
``threshold`` = 0); with one global threshold the score is the value itself.

Policies: ``correctness`` works under every policy (labels are always answered).
The others need scores (``topk`` at least; ``label`` raises :class:`PolicyUnsupported`
before any spend). Rounded and noisy probabilities are used as they come, and the shadow
is passed through the same policy (``match_policy``). Under ``topk:k`` / ``top1`` the
values degrade as :mod:`attacker_sdk.mi.features` documents: ``confidence`` uses the exact
``p_y`` when ``y`` is revealed, else the upper bound ``min(s_k, 1 - sum s)`` (``min(s_1, 1 - s_1)``
under ``top1``); ``entropy`` / ``mentropy`` use the maximum-entropy completion.

Cost: one query per target (cached answers are free). The shadow uses ``aux``'s own labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import mi
from ..answers import Answers
from ..mi import features as F
from ..pool import Pool
from ..training import FitConfig
from .base import MembershipRun, ShadowMembershipAttack, register

METRICS = ("mentropy", "correctness", "confidence", "entropy")


def metric_values(metric: str, a: Answers, y: np.ndarray, num_classes: int) -> np.ndarray:
    """The per-record value of ``metric`` (higher = more member-like)."""
    if metric == "correctness":
        return F.correctness(a, y)
    if metric == "confidence":
        return F.true_class_prob(a, y)
    if metric == "entropy":
        return -F.entropy(F.prob_matrix(a, num_classes))
    if metric == "mentropy":
        return -F.modified_entropy(F.prob_matrix(a, num_classes), y)
    raise ValueError(f"unknown metric {metric!r}; use one of {METRICS}")


@register
@dataclass
class MetricAttack(ShadowMembershipAttack):
    """Song & Mittal's threshold attacks. Shadow defaults: one shadow on half of ``aux``
    trained with ML-Leaks' recipe (:data:`attacker_sdk.mi.DEFAULT_SHADOW_FIT`); the attacker's
    default architecture for the input shape unless ``shadow_arch`` is given."""

    name = "metric"
    reveals = "topk"

    metric: str = "mentropy"
    per_class_thresholds: bool = True
    shadow_arch: str | dict | None = None
    shadow_fit: FitConfig = field(default_factory=lambda: mi.DEFAULT_SHADOW_FIT)
    n_shadows: int = 1  # shadows whose in/out values are pooled for the thresholds (reference: 1)
    match_policy: bool = True  # pass shadow posteriors through the victim's output policy
    seed: int = 0

    def __post_init__(self):
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; use one of {METRICS}")
        if self.n_shadows < 1:
            raise ValueError("n_shadows must be >= 1")

    def needs(self) -> str:
        return "label" if self.metric == "correctness" else "topk"

    def check_aux(self, aux: Pool | None) -> None:
        if self.metric != "correctness" and (aux is None or aux.y is None):
            raise ValueError(
                f"{self.name}-{self.metric} needs labelled aux data for its shadow model"
            )

    def calibrate(self, run: MembershipRun) -> dict | None:
        run.artefacts["metric"] = self.metric
        if self.metric == "correctness":
            return None
        aux, K = run.aux, run.num_classes
        sset = self.train_shadow_set(run, aux.y)
        v_in, y_in, v_out, y_out = [], [], [], []
        for s in sset.shadows:
            v = metric_values(self.metric, sset.answers(s, aux.x), aux.y, K)
            v_in.append(v[s.in_idx]), y_in.append(aux.y[s.in_idx])
            v_out.append(v[s.out_idx]), y_out.append(aux.y[s.out_idx])
        calib = mi.class_thresholds(
            np.concatenate(v_in),
            np.concatenate(y_in),
            np.concatenate(v_out),
            np.concatenate(y_out),
            K,
            per_class=self.per_class_thresholds,
        )
        run.artefacts.update(
            {
                "thresholds": calib["thresholds"].tolist()
                if self.per_class_thresholds
                else calib["global"],
                "global_threshold": calib["global"],
                "shadow_balanced_accuracy": calib["global_balanced_accuracy"],
                "shadow_balanced_accuracy_per_class": calib["balanced_accuracy"].tolist(),
                "fallback_classes": calib["fallback"],
            }
        )
        run.mark("shadow")
        return calib

    def score(
        self, run: MembershipRun, answers: Answers, calib: dict | None
    ) -> tuple[np.ndarray, float]:
        y = run.targets.y
        values = metric_values(self.metric, answers, y, run.num_classes)
        if answers.probabilities is None and self.metric != "correctness":
            revealed = answers.top_labels == y[:, None] if answers.top_labels is not None else None
            run.artefacts["targets_with_bounded_py"] = (
                int((~revealed.any(1)).sum()) if revealed is not None else len(y)
            )
        if calib is None:
            return values, 1.0
        if self.per_class_thresholds:
            return values - calib["thresholds"][y], 0.0
        return values, calib["global"]
