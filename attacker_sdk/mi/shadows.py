"""Shadow models: local imitations of the victim, trained on data the attacker holds, whose
own members and non-members it knows. One trainer (:func:`fit_shadow`) serves every
attack: the per-attack shadows of Shokri, ML-Leaks, the metric attacks and LiRA
(:func:`train_shadows`: each on a random half of the attacker's data) and MExMI's
adaptive shadow candidates (:mod:`.adaptive_shadow`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import models
from ..answers import Answers, PolicyInfo
from ..training import FitConfig, fit, predict_proba
from .policy import shadow_answers

#: ML-Leaks' target/shadow recipe (REFERENCE_SPECS 5: Adam lr 1e-3, 50 epochs, batch 100,
#: L2 1e-7); the attacks' default when the attacker does not know the victim's recipe.
DEFAULT_SHADOW_FIT = FitConfig(
    epochs=50, batch_size=100, lr=1e-3, optimizer="adam", weight_decay=1e-7
)


def fit_shadow(
    arch: str | dict,
    input_shape,
    num_classes: int,
    x: np.ndarray,
    y: np.ndarray,
    fit_config: FitConfig,
    init_seed: int,
    weights: np.ndarray | None = None,
):
    """A fresh model of ``arch`` (weights drawn from ``init_seed``) fitted on ``(x, y)``
    (labels or soft targets) with ``fit_config``."""
    model = models.build(arch, input_shape, num_classes, seed=init_seed)
    fit(model, x, y, fit_config, weights=weights, num_classes=num_classes)
    return model


@dataclass
class Shadow:
    """A shadow model with the aux indices it was trained on (``in_idx``) and held out of
    (``out_idx``)."""

    model: object
    in_idx: np.ndarray
    out_idx: np.ndarray
    train_accuracy: float
    test_accuracy: float


def split_in_out(
    n: int, rng: np.random.Generator, fraction: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """A random ``fraction`` of ``range(n)`` as "in", the rest as "out" (both sorted)."""
    if n < 4:
        raise ValueError(f"need at least 4 auxiliary records for a shadow split, got {n}")
    perm = rng.permutation(n)
    n_in = min(max(round(n * fraction), 2), n - 2)
    return np.sort(perm[:n_in]), np.sort(perm[n_in:])


def train_shadows(
    x: np.ndarray,
    y: np.ndarray,
    n_shadows: int,
    input_shape,
    num_classes: int,
    arch: str | dict | None,
    fit_config: FitConfig,
    seed: int = 0,
    eval_y: np.ndarray | None = None,
) -> list[Shadow]:
    """``n_shadows`` shadows, each trained on its own random half of ``(x, y)``; shadow ``i``
    uses init and fit seed ``fit_config.seed + i`` and a split from ``seed``. Accuracies are
    against ``eval_y`` (default ``y``)."""
    if n_shadows < 1:
        raise ValueError("n_shadows must be >= 1")
    arch = arch or models.default_for(input_shape)
    eval_y = y if eval_y is None else eval_y
    rng = np.random.default_rng(seed)
    shadows = []
    for i in range(n_shadows):
        in_idx, out_idx = split_in_out(len(x), rng)
        s = fit_config.seed + i
        model = fit_shadow(
            arch,
            input_shape,
            num_classes,
            x[in_idx],
            y[in_idx],
            dataclasses.replace(fit_config, seed=s),
            init_seed=s,
        )
        pred = predict_proba(model, x).argmax(1)
        shadows.append(
            Shadow(
                model,
                in_idx,
                out_idx,
                float((pred[in_idx] == eval_y[in_idx]).mean()),
                float((pred[out_idx] == eval_y[out_idx]).mean()),
            )
        )
    return shadows


def shadow_summary(shadows: list[Shadow]) -> dict:
    return {
        "n_shadows": len(shadows),
        "train_accuracy": float(np.mean([s.train_accuracy for s in shadows])),
        "test_accuracy": float(np.mean([s.test_accuracy for s in shadows])),
        "in_size": int(np.mean([len(s.in_idx) for s in shadows])),
    }


@dataclass
class ShadowSet:
    """Shadows trained for one attack run, with how their answers are read: through the
    victim's output ``policy`` (None: full probabilities), noise drawn from ``rng`` (which
    the attack keeps using afterwards, so its draws stay in one sequence)."""

    shadows: list[Shadow]
    arch: str | dict
    policy: PolicyInfo | None
    rng: np.random.Generator

    def answers(self, shadow: Shadow, x: np.ndarray) -> Answers:
        return shadow_answers(shadow.model, x, self.policy, self.rng)

    def summary(self) -> dict:
        return {**shadow_summary(self.shadows), "arch": self.arch}
