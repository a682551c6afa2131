"""Random (Knockoff-random) model extraction.

Knockoff Nets (Orekondy et al., CVPR 2019), "random" policy (Sec. 4.1; REFERENCE_SPECS 2):
draw transfer inputs uniformly without replacement from the attacker's pool, label them by
querying the victim, and train a copy on the answers: soft labels when the output policy
gives probabilities, the best the policy allows otherwise (top-k completed to a vector, or
one-hot labels under ``label``). Budgets are prefixes of one transfer set, so the
fidelity-vs-queries curve comes from a single run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import models
from ..pool import Pool
from ..remote import RemoteClassifier
from ..training import FitConfig, fit
from .base import (
    Checkpoint,
    ExtractionAttack,
    ExtractionResult,
    SpendMeter,
    TimelineRow,
    check_budget,
    register,
)


@register
@dataclass
class RandomExtraction(ExtractionAttack):
    """Knockoff's batch size (64); the optimiser deviates on purpose. knockoffnets trains
    with SGD (lr 0.01, momentum 0.5) for 100 epochs over tens of thousands of answers; at
    our budgets of hundreds to a few thousand queries that schedule underfits badly. Measured
    on the default shapes victim (78.5% test accuracy), 2,000 soft-labelled random queries,
    the default CNN copy, 15 epochs with augmentation: SGD 0.01/0.5 reached 39.8% fidelity,
    Adam 1e-3 64.1%, and Adam for 30 epochs 78.3%. Pass ``fit`` to get Knockoff's SGD back."""

    copy_arch: str | dict | None = None  # None: a CNN for images, an MLP for tabular inputs
    fit: FitConfig = field(
        default_factory=lambda: FitConfig(
            epochs=30, batch_size=64, lr=1e-3, optimizer="adam", augment=False
        )
    )
    soft: bool | None = None  # None: soft labels whenever the policy reveals scores
    checkpoints: tuple[int, ...] = ()  # extra query counts at which to train and measure a copy
    seed: int = 0

    name = "random"
    reveals = "label"

    def extract(
        self,
        victim: RemoteClassifier,
        pool: Pool,
        budget: int,
        on_checkpoint: Checkpoint | None = None,
        progress: bool = True,
    ) -> ExtractionResult:
        meter = SpendMeter(victim)
        budget = check_budget(budget, victim)
        n_total = min(budget // victim.info.price, len(pool.unqueried_indices()))
        order = np.random.default_rng(self.seed).permutation(pool.unqueried_indices())[:n_total]
        marks = sorted({c for c in self.checkpoints if 0 < c < n_total} | {n_total})
        timeline, copy_model, done = [], None, 0
        with victim.client.phase(self.name):
            for mark in marks:
                pool.query(victim, order[done:mark], progress=progress)
                done = mark
                copy_model = self.train_copy(victim, pool, order[:mark])
                timeline.append(
                    TimelineRow(
                        meter.spent,
                        round(meter.seconds, 2),
                        stats={"labelled": int(mark)},
                        metrics=on_checkpoint(copy_model, meter.spent) if on_checkpoint else {},
                    )
                )
        soft = self._use_soft(victim)
        return ExtractionResult(
            attack=self.name,
            params=self.params,
            queries=meter.spent,
            seconds=meter.seconds,
            spend_by_phase=meter.by_phase(),
            timeline=timeline,
            copy_model=copy_model,
            queried_indices=order,
            artefacts={
                "labels": "soft" if soft else "hard",
                "policy": victim.info.policy.policy,
                "copy_arch": self.copy_arch or models.default_for(victim.input_shape),
            },
        )

    def _use_soft(self, victim: RemoteClassifier) -> bool:
        return victim.gives("topk") if self.soft is None else (self.soft and victim.gives("topk"))

    def train_copy(self, victim: RemoteClassifier, pool: Pool, idx: np.ndarray):
        arch = self.copy_arch or models.default_for(victim.input_shape)
        model = models.build(arch, victim.input_shape, victim.num_classes, seed=self.seed)
        targets = pool.soft[idx] if self._use_soft(victim) else pool.labels[idx]
        fit(model, pool.x[idx], targets, self.fit, num_classes=victim.num_classes)
        return model
