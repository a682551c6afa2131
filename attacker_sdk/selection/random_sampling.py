"""Random selection: the passive baseline (ActiveThief's ``random`` strategy,
REFERENCE_SPECS 2): ``k`` candidates uniformly without replacement."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .base import Context, Strategy, check_k


def random_positions(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct positions out of ``range(n)``, uniformly."""
    return np.asarray(rng.choice(n, size=check_k(k, n), replace=False), dtype=np.int64)


@dataclass
class RandomStrategy(Strategy):
    name = "random"

    def _select(self, ctx: Context, k: int) -> np.ndarray:
        return random_positions(len(ctx.candidates), k, ctx.rng)
