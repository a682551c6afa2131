"""Label-only membership inference: the gap attack.

Yeom et al., "Privacy Risk in Machine Learning" (CSF 2018), Sec. 3.2 (the adversary that
predicts "member" iff the model classifies the record correctly), used as the label-only
baseline by Choquette-Choo et al., "Label-Only Membership Inference Attacks" (ICML 2021),
Sec. 4 ("gap attack"); Song & Mittal's ``correctness`` attack is the same rule
(REFERENCE_SPECS 5). Its balanced accuracy is 1/2 + (train acc - test acc)/2.

Works under every output policy, ``label`` included: only the victim's label is used.
One query per target; no shadow model, no auxiliary data. Scores are 0/1 (ties broken by
nothing), so the ROC has a single interior point.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..pool import Pool
from ..remote import RemoteClassifier
from . import mi_common as mc
from .base import MembershipResult, SpendMeter


@dataclass
class GapAttack:
    name: str = "gap"

    def infer(self, victim: RemoteClassifier, targets: Pool, aux: Pool | None = None, budget: int = 0,
              progress: bool = True) -> MembershipResult:
        """``aux`` is unused (accepted for the common signature)."""
        victim.require("label", self.name)
        if targets.y is None:
            raise ValueError("targets need their true labels (targets.y)")
        mc.learn_server_budget(victim)
        meter = SpendMeter(victim)
        mc.ensure_budget(victim, budget, mc.cost_of(victim, targets.x), self.name)
        with victim.client.phase(self.name), victim.client.phase(f"{self.name}/targets"):
            answers = mc.query_all(victim, targets, progress)
        scores = mc.correctness(answers, targets.y)
        return MembershipResult(
            attack=self.name, params={}, queries=meter.spent, seconds=meter.seconds,
            spend_by_phase=meter.by_phase(), timeline=[mc.timeline_row(meter, "targets", n=len(targets))],
            artefacts={"policy": mc.policy_of(victim), "victim_accuracy_on_targets": float(scores.mean())},
            scores=scores, predictions=scores >= 1.0, threshold=1.0)
