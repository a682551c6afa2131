"""What every attack returns, and the small contract every attack class follows.

An attack is one class: parameters (with the paper's defaults) in the constructor, one
verb that runs it against a :class:`RemoteClassifier` and a :class:`Pool` within a budget,
and a result dataclass with the queries spent, the artefacts, the scores and a timeline.
Ground truth never enters an attack: the runner scores results afterwards, and may pass an
``on_checkpoint`` callback to measure intermediate copies (fidelity vs queries) with data
only it holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..remote import RemoteClassifier

Checkpoint = Callable[[Any, int], dict]  # (copy model, queries spent so far) -> metrics


@dataclass
class AttackResult:
    attack: str
    params: dict[str, Any]
    queries: int  # units the victim charged for this attack's answers
    seconds: float
    spend_by_phase: dict[str, int] = field(default_factory=dict)
    timeline: list[dict[str, Any]] = field(default_factory=list)
    artefacts: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-safe headline (no models or arrays)."""
        return {"attack": self.attack, "params": self.params, "queries": self.queries,
                "seconds": round(self.seconds, 2), "spend_by_phase": self.spend_by_phase, "timeline": self.timeline}


@dataclass
class ExtractionResult(AttackResult):
    copy_model: Any = None
    queried_indices: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))


@dataclass
class MembershipResult(AttackResult):
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))  # higher = more likely member
    predictions: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # the attack's hard decision
    threshold: float | None = None


class SpendMeter:
    """Measures an attack's spend and wall time on a shared client budget."""

    def __init__(self, victim: RemoteClassifier):
        self.budget = victim.client.budget
        self.start_spent = self.budget.spent
        self.start_phase = self.budget.by_phase
        self.t0 = time.perf_counter()

    @property
    def spent(self) -> int:
        return self.budget.spent - self.start_spent

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.t0

    def by_phase(self) -> dict[str, int]:
        now = self.budget.by_phase
        return {p: v - self.start_phase.get(p, 0) for p, v in now.items() if v - self.start_phase.get(p, 0)}


def check_budget(budget: int, victim: RemoteClassifier) -> int:
    """The units this attack may spend: its own budget, capped by what the client has left."""
    if budget is None or budget < 0:
        raise ValueError("an attack needs a non-negative query budget")
    left = victim.client.budget.available
    return budget if left is None else min(budget, left // max(victim.info.price, 1) * victim.info.price)
