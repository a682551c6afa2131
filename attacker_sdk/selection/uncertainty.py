"""Uncertainty sampling on the copy model's probabilities.

- **entropy** (Lewis & Gale 1994; MExMI sec. 5.3.1 "entropy uncertainty"): the ``k``
  candidates with the highest Shannon entropy ``scipy.stats.entropy(p)`` of the copy's
  output, as ActiveThief's and MExMI's ``uncertainty`` strategies (REFERENCE_SPECS 1-2).
- **margin**: the ``k`` smallest gaps ``p(1) - p(2)`` between the copy's two largest
  probabilities (MExMI's margin strategy, REFERENCE_SPECS 1).

Both are one vectorised pass over the candidate matrix plus a partial sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import entropy as _scipy_entropy

from .base import Context, Strategy, top_k


def entropy_scores(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy (nats) of each row, as ``scipy.stats.entropy`` (rows renormalised)."""
    p = np.asarray(probs, dtype=np.float64)
    return _scipy_entropy(p, axis=1)


def margin_scores(probs: np.ndarray) -> np.ndarray:
    """``p(1) - p(2)``: the gap between each row's two largest probabilities."""
    p = np.asarray(probs, dtype=np.float64)
    if p.shape[1] < 2:
        return np.zeros(len(p))
    two = -np.partition(-p, 1, axis=1)[:, :2]
    return two[:, 0] - two[:, 1]


def entropy_positions(probs: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` highest-entropy rows (most uncertain first)."""
    return top_k(entropy_scores(probs), k, largest=True)


def margin_positions(probs: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` smallest margins (most uncertain first)."""
    return top_k(margin_scores(probs), k, largest=False)


@dataclass
class EntropyStrategy(Strategy):
    name = "entropy"

    def _select(self, ctx: Context, k: int) -> np.ndarray:
        return entropy_positions(ctx.candidate_probs(), k)


@dataclass
class MarginStrategy(Strategy):
    name = "margin"

    def _select(self, ctx: Context, k: int) -> np.ndarray:
        return margin_positions(ctx.candidate_probs(), k)
