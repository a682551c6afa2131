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

from .. import mi
from ..answers import Answers
from ..mi import features as F
from ..pool import Pool
from ..remote import RemoteClassifier
from ..training import FitConfig
from .base import MembershipRun, ShadowMembershipAttack, register

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

        return make_pipeline(
            StandardScaler(), QuietMLP(hidden_layer_sizes=(64,), max_iter=500, random_state=seed)
        )
    if kind == "lr":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(max_iter=2000)
    if kind == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(
            n_estimators=100, min_samples_leaf=3, random_state=seed, n_jobs=1
        )
    raise ValueError(f"unknown attack model {kind!r}; use one of {ATTACK_MODELS}")


@register
@dataclass
class ShokriShadow(ShadowMembershipAttack):
    name = "shokri"
    reveals = "topk"

    n_shadows: int = 4
    per_class: bool = True
    attack_model: str = "mlp"
    features: str = "unsorted"  # unsorted (paper) | sorted
    min_class_samples: int = 20
    holdout: float = 0.2
    shadow_arch: str | dict | None = None
    shadow_fit: FitConfig = field(default_factory=lambda: mi.DEFAULT_SHADOW_FIT)
    label_aux_with_victim: bool = False
    match_policy: bool = True
    seed: int = 0

    def __post_init__(self):
        if self.attack_model not in ATTACK_MODELS:
            raise ValueError(
                f"unknown attack model {self.attack_model!r}; use one of {ATTACK_MODELS}"
            )
        if self.features not in ("unsorted", "sorted"):
            raise ValueError("features must be 'unsorted' or 'sorted'")
        if self.n_shadows < 1 or not 0 <= self.holdout < 1:
            raise ValueError("n_shadows must be >= 1 and holdout in [0, 1)")

    def _features(self, a: Answers, K: int) -> np.ndarray:
        p = F.prob_matrix(a, K)
        return np.sort(p, axis=1)[:, ::-1] if self.features == "sorted" else p

    def check_aux(self, aux: Pool | None) -> None:
        if aux is None or (aux.y is None and not self.label_aux_with_victim):
            raise ValueError("aux needs labels: give aux.y or label_aux_with_victim=True")

    def extra_inputs(
        self, victim: RemoteClassifier, targets: Pool, aux: Pool | None
    ) -> list[np.ndarray]:
        return [aux.x] if self.label_aux_with_victim else []

    def calibrate(self, run: MembershipRun) -> tuple[dict, object]:
        aux, K = run.aux, run.num_classes
        run.artefacts["features"] = f"{self.features} prediction vector"
        y_aux = run.aux_labels(self.label_aux_with_victim)
        sset = self.train_shadow_set(run, y_aux, eval_y=aux.y if aux.y is not None else y_aux)
        feats, cls, member = [], [], []
        for s in sset.shadows:
            f = self._features(sset.answers(s, aux.x), K)
            for idx, m in ((s.in_idx, 1.0), (s.out_idx, 0.0)):
                feats.append(f[idx]), cls.append(y_aux[idx]), member.append(np.full(len(idx), m))
        X, c, z = np.concatenate(feats), np.concatenate(cls), np.concatenate(member)
        perm = sset.rng.permutation(len(X))
        n_hold = int(self.holdout * len(X))
        hold, train = perm[:n_hold], perm[n_hold:]
        global_model = _attack_model(self.attack_model, self.seed).fit(
            self._global_x(X[train], c[train], K), z[train]
        )
        class_models: dict[int, object] = {}
        fallback = []
        for k in range(K):
            sel = train[c[train] == k]
            n_in, n_out = int(z[sel].sum()), int(len(sel) - z[sel].sum())
            if self.per_class and min(n_in, n_out) >= self.min_class_samples:
                class_models[k] = _attack_model(self.attack_model, self.seed + k).fit(
                    X[sel], z[sel]
                )
            else:
                fallback.append(k)
        art = {
            "attack_records": len(X),
            "per_class_models": sorted(class_models),
            "fallback_classes": fallback,
        }
        if len(hold):
            p = self._score(X[hold], c[hold], class_models, global_model, K)
            art["attack_accuracy_holdout"] = float(((p >= 0.5) == (z[hold] == 1)).mean())
        run.artefacts.update(art)
        run.mark("shadows")
        return class_models, global_model

    def score(
        self, run: MembershipRun, answers: Answers, models_: tuple[dict, object]
    ) -> tuple[np.ndarray, float]:
        class_models, global_model = models_
        K = run.num_classes
        return self._score(
            self._features(answers, K), run.targets.y, class_models, global_model, K
        ), 0.5

    @staticmethod
    def _global_x(X: np.ndarray, c: np.ndarray, K: int) -> np.ndarray:
        onehot = np.zeros((len(c), K))
        onehot[np.arange(len(c)), c] = 1.0
        return np.hstack([X, onehot])

    def _score(
        self, X: np.ndarray, c: np.ndarray, class_models: dict, global_model, K: int
    ) -> np.ndarray:
        c = np.asarray(c, np.int64)
        out = global_model.predict_proba(self._global_x(X, c, K))[:, 1]
        for k, m in class_models.items():
            sel = c == k
            if sel.any():
                out[sel] = m.predict_proba(X[sel])[:, 1]
        return out.astype(np.float64)
