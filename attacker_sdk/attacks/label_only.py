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

import numpy as np

from ..answers import Answers
from ..mi.features import correctness
from .base import MembershipAttack, MembershipRun, register


@register
@dataclass
class GapAttack(MembershipAttack):
    """No parameters: the rule is the whole attack. ``aux`` is unused."""

    name = "gap"
    reveals = "label"

    def score(
        self, run: MembershipRun, answers: Answers, calibration: None
    ) -> tuple[np.ndarray, float]:
        scores = correctness(answers, run.targets.y)
        run.artefacts["victim_accuracy_on_targets"] = float(scores.mean())
        return scores, 1.0
