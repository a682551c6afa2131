"""ML-Leaks (Salem et al., "ML-Leaks: Model and Data Independent Membership Inference
Attacks and Defenses on Machine Learning Models", NDSS 2019; REFERENCE_SPECS 5,
AhmedSalem2/ML-Leaks).

Adversary 1 (Sec. III): one shadow model trained on half of the attacker's data
(``aux``: "in", label 1) with the other half held out ("out", label 0); attack features =
the **top-3 sorted posteriors**; attack model = a single softmax layer over two outputs,
i.e. binary logistic regression. The reference trains it with Adam (lr 0.01, 50 epochs,
batch 10, L2 1e-6 on the summed squared weights); we solve the same penalised
likelihood to convergence with scikit-learn (``C = 1 / (2 n l2)`` gives the same
objective up to scale). Shadow recipe: the reference's target/shadow recipe (Adam lr 1e-3,
50 epochs, batch 100, L2 1e-7, :data:`mi_common.DEFAULT_SHADOW_FIT`); the CNN
architecture is the attacker's own (``shadow_arch``). Score = the attack model's member
probability on the victim's answer; predicted member iff >= 0.5.

Code vs paper: the reference *fits* the attack model on the target-derived set and
*tests* it on the shadow-derived set (REFERENCE_SPECS 5 quirk); we follow the paper:
fit on the shadow, apply to the victim. ``attack_accuracy_holdout`` in the artefacts is
measured on a held-out 20 % of the shadow records (then the model is refit on all).

Adversary 3 (Sec. V, "model and data independent", no training): score = the victim's
maximum posterior. For the hard decision the paper draws random points, queries them and
takes the top-``t`` percentile of their maximum posteriors as the threshold; we do that
with ``adv3_noise_queries`` uniform-noise inputs (extra cost, phase ``.../noise``) and
``adv3_percentile`` = t. With 0 noise queries the threshold is the median target score
(an assumption that about half the targets are members; the scores are unaffected).

Policies: the top-3 scores are exactly what ``topk:3`` reveals; ``probabilities``,
``round:d``, ``noise:s`` and ``topk:k>=3`` give them too (rounded / noisy as answered).
Under ``top1`` / ``topk:2`` the missing scores are padded from the sorted maximum-entropy
completion (the unrevealed mass spread evenly), on the victim's answers and the shadow's
alike (``match_policy``). ``label`` raises :class:`PolicyUnsupported` before any spend.

Cost: one query per target; ``label_aux_with_victim`` adds one per aux record (the shadow
is then trained on the victim's labels, phase ``.../aux-labels``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.linear_model import LogisticRegression

from .. import models
from ..pool import Pool
from ..remote import RemoteClassifier
from ..training import FitConfig
from . import mi_common as mc
from .base import MembershipResult, SpendMeter


@dataclass
class MLLeaks:
    adversary: int = 1  # 1: shadow + attack model; 3: max posterior, no training
    top_k: int = 3
    n_shadows: int = 1  # the paper's adversary 1 uses one shadow
    shadow_arch: str | dict | None = None
    shadow_fit: FitConfig = field(default_factory=lambda: mc.DEFAULT_SHADOW_FIT)
    attack_l2: float = 1e-6
    label_aux_with_victim: bool = False
    match_policy: bool = True
    adv3_noise_queries: int = 100
    adv3_percentile: float = 10.0
    seed: int = 0
    name: str = "ml-leaks"

    def __post_init__(self):
        if self.adversary not in (1, 3):
            raise ValueError("adversary must be 1 or 3 (adversary 2 is adversary 1 with aux from another dataset)")
        if self.top_k < 1:
            raise ValueError("top_k must be >= 1")
        if not 0 < self.adv3_percentile < 100:
            raise ValueError("adv3_percentile must lie in (0, 100)")

    def infer(self, victim: RemoteClassifier, targets: Pool, aux: Pool | None, budget: int,
              progress: bool = True) -> MembershipResult:
        victim.require("topk", self.name)
        if self.adversary == 1 and aux is None:
            raise ValueError("adversary 1 needs aux data for its shadow model")
        if self.adversary == 1 and aux.y is None and not self.label_aux_with_victim:
            raise ValueError("aux has no labels: give aux.y or label_aux_with_victim=True")
        mc.learn_server_budget(victim)
        meter = SpendMeter(victim)
        noise = self._noise_inputs(victim) if self.adversary == 3 else np.zeros((0, *victim.input_shape), np.float32)
        extra = [aux.x] if self.adversary == 1 and self.label_aux_with_victim else []
        mc.ensure_budget(victim, budget, mc.cost_of(victim, targets.x, noise, *extra), self.name)
        K = victim.num_classes
        timeline: list[dict] = []
        artefacts: dict = {"adversary": self.adversary, "policy": mc.policy_of(victim),
                           "features": f"top-{min(self.top_k, K)} sorted posteriors"}
        if self.adversary == 1:
            with victim.client.phase(self.name), victim.client.phase(f"{self.name}/aux-labels"):
                y_aux = mc.shadow_labels(victim, aux, self.label_aux_with_victim, progress)
            if self.label_aux_with_victim:
                timeline.append(mc.timeline_row(meter, "aux-labels", n=len(aux)))
            clf = self._fit_attack(victim, aux, y_aux, artefacts)
            timeline.append(mc.timeline_row(meter, "shadow"))

        with victim.client.phase(self.name), victim.client.phase(f"{self.name}/targets"):
            answers = mc.query_all(victim, targets, progress)
        timeline.append(mc.timeline_row(meter, "targets", n=len(targets)))

        if self.adversary == 1:
            scores = clf.predict_proba(mc.sorted_top(answers, K, self.top_k))[:, 1]
            threshold = 0.5
        else:
            scores = mc.sorted_top(answers, K, 1)[:, 0]
            if len(noise):
                with victim.client.phase(self.name), victim.client.phase(f"{self.name}/noise"):
                    noise_scores = mc.sorted_top(victim.query(noise, progress), K, 1)[:, 0]
                threshold = float(np.percentile(noise_scores, 100.0 - self.adv3_percentile))
                timeline.append(mc.timeline_row(meter, "noise", n=len(noise)))
                artefacts["threshold_rule"] = f"top {self.adv3_percentile:g}% of {len(noise)} random points' max posterior"
            else:
                threshold = float(np.median(scores))
                artefacts["threshold_rule"] = "median target score (no noise queries)"
        return MembershipResult(
            attack=self.name, params=self.describe(victim), queries=meter.spent, seconds=meter.seconds,
            spend_by_phase=meter.by_phase(), timeline=timeline, artefacts=artefacts,
            scores=np.asarray(scores, np.float64), predictions=np.asarray(scores >= threshold, bool),
            threshold=threshold)

    def _fit_attack(self, victim: RemoteClassifier, aux: Pool, y_aux: np.ndarray, artefacts: dict) -> LogisticRegression:
        K = victim.num_classes
        shadows = mc.train_shadows(aux.x, y_aux, self.n_shadows, victim.input_shape, K, self.shadow_arch,
                                   self.shadow_fit, self.seed, eval_y=aux.y if aux.y is not None else y_aux)
        rng = np.random.default_rng(self.seed + 7)
        policy = victim.info.policy if self.match_policy else None
        feats, member = [], []
        for s in shadows:
            f = mc.sorted_top(mc.shadow_answers(s.model, aux.x, policy, rng), K, self.top_k)
            feats += [f[s.in_idx], f[s.out_idx]]
            member += [np.ones(len(s.in_idx)), np.zeros(len(s.out_idx))]
        X, z = np.concatenate(feats), np.concatenate(member)
        perm = rng.permutation(len(X))
        n_hold = max(int(0.2 * len(X)), 1)
        hold, train = perm[:n_hold], perm[n_hold:]
        held = self._lr(len(train)).fit(X[train], z[train])
        clf = self._lr(len(X)).fit(X, z)
        artefacts.update({
            "shadow": mc.shadow_summary(shadows),
            "attack_accuracy_holdout": float((held.predict(X[hold]) == z[hold]).mean()),
            "attack_accuracy_train": float((clf.predict(X) == z).mean()),
            "attack_coef": clf.coef_.ravel().tolist(), "attack_intercept": float(clf.intercept_[0]),
        })
        return clf

    def _lr(self, n: int) -> LogisticRegression:
        return LogisticRegression(C=1.0 / (2.0 * max(n, 1) * self.attack_l2), max_iter=2000)

    def _noise_inputs(self, victim: RemoteClassifier) -> np.ndarray:
        lo, hi = victim.info.input_range
        lo = 0.0 if lo is None else lo
        hi = 1.0 if hi is None else hi
        rng = np.random.default_rng(self.seed + 3)
        return rng.uniform(lo, hi, (self.adv3_noise_queries, *victim.input_shape)).astype(np.float32)

    def describe(self, victim: RemoteClassifier | None = None) -> dict:
        d = {"adversary": self.adversary, "seed": self.seed}
        if self.adversary == 1:
            d.update({"top_k": self.top_k, "n_shadows": self.n_shadows,
                      "shadow_arch": self.shadow_arch or (None if victim is None else models.default_for(victim.input_shape)),
                      "shadow_fit": self.shadow_fit.to_dict(), "attack_model": "logistic regression",
                      "attack_l2": self.attack_l2, "label_aux_with_victim": self.label_aux_with_victim,
                      "match_policy": self.match_policy})
        else:
            d.update({"adv3_noise_queries": self.adv3_noise_queries, "adv3_percentile": self.adv3_percentile})
        return d
