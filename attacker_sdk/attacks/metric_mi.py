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
values degrade as :mod:`.mi_common` documents: ``confidence`` uses the exact ``p_y`` when
``y`` is revealed, else the upper bound ``min(s_k, 1 - sum s)`` (``min(s_1, 1 - s_1)``
under ``top1``); ``entropy`` / ``mentropy`` use the maximum-entropy completion.

Cost: one query per target (cached answers are free). The shadow uses ``aux``'s own labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..client import Answers
from ..pool import Pool
from ..remote import RemoteClassifier
from ..training import FitConfig
from . import mi_common as mc
from .base import MembershipResult, SpendMeter

METRICS = ("mentropy", "correctness", "confidence", "entropy")


def metric_values(metric: str, a: Answers, y: np.ndarray, num_classes: int) -> np.ndarray:
    """The per-record value of ``metric`` (higher = more member-like)."""
    if metric == "correctness":
        return mc.correctness(a, y)
    if metric == "confidence":
        return mc.true_class_prob(a, y)
    if metric == "entropy":
        return -mc.entropy(mc.prob_matrix(a, num_classes))
    if metric == "mentropy":
        return -mc.modified_entropy(mc.prob_matrix(a, num_classes), y)
    raise ValueError(f"unknown metric {metric!r}; use one of {METRICS}")


@dataclass
class MetricAttack:
    """Song & Mittal's threshold attacks. Shadow defaults: one shadow on half of ``aux``
    trained with ML-Leaks' recipe (:data:`mi_common.DEFAULT_SHADOW_FIT`); the attacker's
    default architecture for the input shape unless ``shadow_arch`` is given."""

    metric: str = "mentropy"
    per_class_thresholds: bool = True
    shadow_arch: str | dict | None = None
    shadow_fit: FitConfig = field(default_factory=lambda: mc.DEFAULT_SHADOW_FIT)
    n_shadows: int = 1  # shadows whose in/out values are pooled for the thresholds (reference: 1)
    match_policy: bool = True  # pass shadow posteriors through the victim's output policy
    seed: int = 0
    name: str | None = None

    def __post_init__(self):
        if self.metric not in METRICS:
            raise ValueError(f"unknown metric {self.metric!r}; use one of {METRICS}")
        if self.n_shadows < 1:
            raise ValueError("n_shadows must be >= 1")

    @property
    def attack_name(self) -> str:
        return self.name or f"metric-{self.metric}"

    def needs(self) -> str:
        return "label" if self.metric == "correctness" else "topk"

    def infer(self, victim: RemoteClassifier, targets: Pool, aux: Pool | None, budget: int,
              progress: bool = True) -> MembershipResult:
        who = self.attack_name
        victim.require(self.needs(), who)
        if targets.y is None:
            raise ValueError("targets need their true labels (targets.y)")
        if self.metric != "correctness" and (aux is None or aux.y is None):
            raise ValueError(f"{who} needs labelled aux data for its shadow model")
        mc.learn_server_budget(victim)
        meter = SpendMeter(victim)
        mc.ensure_budget(victim, budget, mc.cost_of(victim, targets.x), who)
        K = victim.num_classes
        timeline: list[dict] = []
        artefacts: dict = {"metric": self.metric, "policy": mc.policy_of(victim)}

        calib = None
        if self.metric != "correctness":
            calib = self._calibrate(victim, aux, artefacts)
            timeline.append(mc.timeline_row(meter, "shadow"))

        with victim.client.phase(who), victim.client.phase(f"{who}/targets"):
            answers = mc.query_all(victim, targets, progress)
        timeline.append(mc.timeline_row(meter, "targets", n=len(targets)))

        values = metric_values(self.metric, answers, targets.y, K)
        if calib is None:
            scores, threshold = values, 1.0
        elif self.per_class_thresholds:
            scores, threshold = values - calib["thresholds"][targets.y], 0.0
        else:
            scores, threshold = values, calib["global"]
        if answers.probabilities is None and self.metric != "correctness":
            revealed = answers.top_labels == targets.y[:, None] if answers.top_labels is not None else None
            artefacts["targets_with_bounded_py"] = int((~revealed.any(1)).sum()) if revealed is not None else len(targets)
        return MembershipResult(
            attack=who, params=self.describe(victim), queries=meter.spent, seconds=meter.seconds,
            spend_by_phase=meter.by_phase(), timeline=timeline, artefacts=artefacts,
            scores=np.asarray(scores, np.float64), predictions=np.asarray(scores >= threshold, bool),
            threshold=float(threshold))

    def _calibrate(self, victim: RemoteClassifier, aux: Pool, artefacts: dict) -> dict:
        K = victim.num_classes
        shadows = mc.train_shadows(aux.x, aux.y, self.n_shadows, victim.input_shape, K, self.shadow_arch,
                                   self.shadow_fit, self.seed)
        rng = np.random.default_rng(self.seed + 7)
        policy = victim.info.policy if self.match_policy else None
        v_in, y_in, v_out, y_out = [], [], [], []
        for s in shadows:
            a = mc.shadow_answers(s.model, aux.x, policy, rng)
            v = metric_values(self.metric, a, aux.y, K)
            v_in.append(v[s.in_idx]), y_in.append(aux.y[s.in_idx])
            v_out.append(v[s.out_idx]), y_out.append(aux.y[s.out_idx])
        calib = mc.class_thresholds(np.concatenate(v_in), np.concatenate(y_in), np.concatenate(v_out),
                                    np.concatenate(y_out), K, per_class=self.per_class_thresholds)
        artefacts.update({
            "shadow": mc.shadow_summary(shadows),
            "thresholds": calib["thresholds"].tolist() if self.per_class_thresholds else calib["global"],
            "global_threshold": calib["global"],
            "shadow_balanced_accuracy": calib["global_balanced_accuracy"],
            "shadow_balanced_accuracy_per_class": calib["balanced_accuracy"].tolist(),
            "fallback_classes": calib["fallback"],
        })
        return calib

    def describe(self, victim: RemoteClassifier | None = None) -> dict:
        arch = self.shadow_arch or (None if victim is None else mc.models.default_for(victim.input_shape))
        d = {"metric": self.metric, "per_class_thresholds": self.per_class_thresholds, "seed": self.seed}
        if self.metric != "correctness":
            d.update({"shadow_arch": arch, "shadow_fit": self.shadow_fit.to_dict(), "n_shadows": self.n_shadows,
                      "match_policy": self.match_policy})
        return d
