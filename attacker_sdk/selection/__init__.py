"""Active-learning selection strategies for pool-based model extraction (ActiveThief,
MExMI). One module per family:

- :mod:`.random_sampling`: ``random``;
- :mod:`.uncertainty`: ``entropy`` (top-k entropy) and ``margin`` (smallest p1 - p2);
- :mod:`.kcenter`: ``kcenter`` (greedy farthest-first on copy probabilities);
- :mod:`.adversarial`: ``deepfool`` (smallest DeepFool perturbation on the copy) and
  ``adversarial-kcenter``.

Each strategy is a small dataclass with ``select(ctx, k)`` returning a ``Selection``: ``k``
distinct positions into ``ctx.candidates`` and the strategy's statistics (see :mod:`.base`);
the pure functions underneath (``entropy_positions``, ``kcenter_greedy``, ``deepfool``...)
work on plain arrays.
"""

from __future__ import annotations

from typing import Any

from .adversarial import AdversarialKCenterStrategy, DeepFoolStrategy, deepfool, deepfool_positions
from .base import Context, ProbCache, Selection, Strategy, top_k
from .kcenter import KCenterStrategy, kcenter_greedy, min_sq_distances
from .random_sampling import RandomStrategy, random_positions
from .uncertainty import (
    EntropyStrategy,
    MarginStrategy,
    entropy_positions,
    entropy_scores,
    margin_positions,
    margin_scores,
)

STRATEGIES: dict[str, type[Strategy]] = {
    "random": RandomStrategy,
    "entropy": EntropyStrategy,
    "uncertainty": EntropyStrategy,  # ActiveThief's name for it
    "margin": MarginStrategy,
    "kcenter": KCenterStrategy,
    "deepfool": DeepFoolStrategy,
    "adversarial": DeepFoolStrategy,  # ActiveThief's name for it
    "adversarial-kcenter": AdversarialKCenterStrategy,
}


def available() -> list[str]:
    return sorted(STRATEGIES)


def make(name: str, **params: Any) -> Strategy:
    """``make("deepfool", candidates=1000)``; unknown names or parameters raise ValueError."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown selection strategy {name!r}; known: {available()}")
    try:
        return STRATEGIES[name](**params)
    except TypeError as e:
        raise ValueError(f"strategy {name!r}: {e}") from None


__all__ = [
    "STRATEGIES",
    "AdversarialKCenterStrategy",
    "Context",
    "DeepFoolStrategy",
    "EntropyStrategy",
    "KCenterStrategy",
    "MarginStrategy",
    "ProbCache",
    "RandomStrategy",
    "Selection",
    "Strategy",
    "available",
    "deepfool",
    "deepfool_positions",
    "entropy_positions",
    "entropy_scores",
    "kcenter_greedy",
    "make",
    "margin_positions",
    "margin_scores",
    "min_sq_distances",
    "random_positions",
    "top_k",
]
