"""Shadow-model membership inference (Shokri et al., "Membership Inference Attacks
Against Machine Learning Models", IEEE S&P 2017, Sec. IV-V).

``n_shadows`` shadow models, each trained on a random half of the attacker's data
(``aux``, "in") with the rest held out ("out"; Sec. IV-C: shadow training and test sets
disjoint, of equal size). Every shadow record gives one attack record: the shadow's
prediction vector on it, its class label, and in = 1 / out = 0. One attack model per
class is trained on the records of that class (Sec. IV-D), taking the *full, unsorted*
prediction vector (``features="sorted"`` sorts it instead). A class with fewer than
``min_class_samples`` in or out records falls back to one global attack model that also
sees the one-hot class. A target is scored by its class's attack model on the victim's
prediction vector; score = the model's member probability, predicted member iff >= 0.5.

CPU-sized defaults: the paper trains up to 100 shadows on its cloud/ML platforms; we use
4 and a small MLP attack model (one hidden layer of 64 ReLU units, our choice: the
paper's attack models are built on the same ML service and its architecture is not
given); ``attack_model="lr"`` (logistic regression) and ``"rf"`` (random forest) are
alternatives. ``attack_accuracy_holdout`` in the artefacts is measured on a random 20 %
of the shadow records held out of the attack models' training.

Shadow data: the paper synthesises it (model-based, statistics-based) or uses noisy real
data; here it is ``aux`` with its own labels (free), or with ``label_aux_with_victim``
the victim's labels (one query per aux record, phase ``.../aux-labels``), as the paper's
model-based synthesis labels with the target.

Policies: needs prediction scores. Rounded and noisy probabilities are used as answered,
with the shadows passed through the same policy (``match_policy``). Under ``topk:k`` the
vector is the maximum-entropy completion (degraded). ``label`` raises
:class:`PolicyUnsupported` before any spend.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from .. import models
from ..pool import Pool
from ..remote import RemoteClassifier
from ..training import FitConfig
from . import mi_common as mc
from .base import MembershipResult, SpendMeter

ATTACK_MODELS = ("mlp", "lr", "rf")


class QuietMLP(MLPClassifier):
    """A fixed-budget MLP: stopping at ``max_iter`` is the plan, not a failure."""

    def fit(self, X, y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return super().fit(X, y)


def _attack_model(kind: str, seed: int):
    if kind == "mlp":
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), QuietMLP(hidden_layer_sizes=(64,), max_iter=500, random_state=seed))
    if kind == "lr":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=2000)
    if kind == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=100, min_samples_leaf=3, random_state=seed, n_jobs=1)
    raise ValueError(f"unknown attack model {kind!r}; use one of {ATTACK_MODELS}")


@dataclass
class ShokriShadow:
    n_shadows: int = 4
    per_class: bool = True
    attack_model: str = "mlp"
    features: str = "unsorted"  # unsorted (paper) | sorted
    min_class_samples: int = 20
    holdout: float = 0.2
    shadow_arch: str | dict | None = None
    shadow_fit: FitConfig = field(default_factory=lambda: mc.DEFAULT_SHADOW_FIT)
    label_aux_with_victim: bool = False
    match_policy: bool = True
    seed: int = 0
    name: str = "shokri"

    def __post_init__(self):
        if self.attack_model not in ATTACK_MODELS:
            raise ValueError(f"unknown attack model {self.attack_model!r}; use one of {ATTACK_MODELS}")
        if self.features not in ("unsorted", "sorted"):
            raise ValueError("features must be 'unsorted' or 'sorted'")
        if self.n_shadows < 1 or not 0 <= self.holdout < 1:
            raise ValueError("n_shadows must be >= 1 and holdout in [0, 1)")

    def _features(self, a, K: int) -> np.ndarray:
        p = mc.prob_matrix(a, K)
        return np.sort(p, axis=1)[:, ::-1] if self.features == "sorted" else p

    def infer(self, victim: RemoteClassifier, targets: Pool, aux: Pool, budget: int,
              progress: bool = True) -> MembershipResult:
        victim.require("topk", self.name)
        if targets.y is None:
            raise ValueError("targets need their true labels (targets.y)")
        if aux is None or (aux.y is None and not self.label_aux_with_victim):
            raise ValueError("aux needs labels: give aux.y or label_aux_with_victim=True")
        mc.learn_server_budget(victim)
        meter = SpendMeter(victim)
        extra = [aux.x] if self.label_aux_with_victim else []
        mc.ensure_budget(victim, budget, mc.cost_of(victim, targets.x, *extra), self.name)
        K = victim.num_classes
        timeline: list[dict] = []
        artefacts: dict = {"policy": mc.policy_of(victim), "features": f"{self.features} prediction vector"}

        with victim.client.phase(self.name), victim.client.phase(f"{self.name}/aux-labels"):
            y_aux = mc.shadow_labels(victim, aux, self.label_aux_with_victim, progress)
        if self.label_aux_with_victim:
            timeline.append(mc.timeline_row(meter, "aux-labels", n=len(aux)))
        class_models, global_model = self._fit_attack(victim, aux, y_aux, artefacts)
        timeline.append(mc.timeline_row(meter, "shadows"))

        with victim.client.phase(self.name), victim.client.phase(f"{self.name}/targets"):
            answers = mc.query_all(victim, targets, progress)
        timeline.append(mc.timeline_row(meter, "targets", n=len(targets)))

        scores = self._score(self._features(answers, K), targets.y, class_models, global_model, K)
        return MembershipResult(
            attack=self.name, params=self.describe(victim), queries=meter.spent, seconds=meter.seconds,
            spend_by_phase=meter.by_phase(), timeline=timeline, artefacts=artefacts,
            scores=scores, predictions=scores >= 0.5, threshold=0.5)

    def _fit_attack(self, victim: RemoteClassifier, aux: Pool, y_aux: np.ndarray, artefacts: dict):
        K = victim.num_classes
        shadows = mc.train_shadows(aux.x, y_aux, self.n_shadows, victim.input_shape, K, self.shadow_arch,
                                   self.shadow_fit, self.seed, eval_y=aux.y if aux.y is not None else y_aux)
        rng = np.random.default_rng(self.seed + 7)
        policy = victim.info.policy if self.match_policy else None
        feats, cls, member = [], [], []
        for s in shadows:
            f = self._features(mc.shadow_answers(s.model, aux.x, policy, rng), K)
            for idx, m in ((s.in_idx, 1.0), (s.out_idx, 0.0)):
                feats.append(f[idx]), cls.append(y_aux[idx]), member.append(np.full(len(idx), m))
        X, c, z = np.concatenate(feats), np.concatenate(cls), np.concatenate(member)
        perm = rng.permutation(len(X))
        n_hold = int(self.holdout * len(X))
        hold, train = perm[:n_hold], perm[n_hold:]
        global_model = _attack_model(self.attack_model, self.seed).fit(self._global_x(X[train], c[train], K), z[train])
        class_models: dict[int, object] = {}
        fallback = []
        for k in range(K):
            sel = train[c[train] == k]
            n_in, n_out = int(z[sel].sum()), int(len(sel) - z[sel].sum())
            if self.per_class and min(n_in, n_out) >= self.min_class_samples:
                class_models[k] = _attack_model(self.attack_model, self.seed + k).fit(X[sel], z[sel])
            else:
                fallback.append(k)
        art = {"shadow": mc.shadow_summary(shadows), "attack_records": len(X),
               "per_class_models": sorted(class_models), "fallback_classes": fallback}
        if len(hold):
            p = self._score(X[hold], c[hold], class_models, global_model, K)
            art["attack_accuracy_holdout"] = float(((p >= 0.5) == (z[hold] == 1)).mean())
        artefacts.update(art)
        return class_models, global_model

    @staticmethod
    def _global_x(X: np.ndarray, c: np.ndarray, K: int) -> np.ndarray:
        onehot = np.zeros((len(c), K))
        onehot[np.arange(len(c)), c] = 1.0
        return np.hstack([X, onehot])

    def _score(self, X: np.ndarray, c: np.ndarray, class_models: dict, global_model, K: int) -> np.ndarray:
        c = np.asarray(c, np.int64)
        out = global_model.predict_proba(self._global_x(X, c, K))[:, 1]
        for k, m in class_models.items():
            sel = c == k
            if sel.any():
                out[sel] = m.predict_proba(X[sel])[:, 1]
        return out.astype(np.float64)

    def describe(self, victim: RemoteClassifier | None = None) -> dict:
        return {"n_shadows": self.n_shadows, "per_class": self.per_class, "attack_model": self.attack_model,
                "features": self.features, "min_class_samples": self.min_class_samples,
                "shadow_arch": self.shadow_arch or (None if victim is None else models.default_for(victim.input_shape)),
                "shadow_fit": self.shadow_fit.to_dict(), "label_aux_with_victim": self.label_aux_with_victim,
                "match_policy": self.match_policy, "seed": self.seed}
