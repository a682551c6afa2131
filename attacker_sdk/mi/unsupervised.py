"""Unsupervised membership inference (MExMI sec. 4.2, after ML-Leaks' adversary 3).

Score = the maximum posterior; a sample is called a member when its score exceeds a
threshold ``c`` set to the **top-t percentile** of the scores of known non-members:
``c = quantile(reference scores, 1 - t)`` (t = ``tol``). To save queries the reference
scores come from the **copy** model, not the victim (sec. 4.2), so calibration costs
nothing. The reference code (REFERENCE_SPECS 1) uses ``tol = 0.15`` for the Pre-Filter and
``0.06`` for the Post-Filter, with 1,000 pool points it knows to be non-members; without
any, it falls back to the fixed threshold 0.9, as we do (``fallback_threshold``).

Which rows are known non-members is the attacker's knowledge: :attr:`Pool.reference`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .features import max_prob

__all__ = ["UnsupervisedMI", "max_prob"]


@dataclass
class UnsupervisedMI:
    tol: float = 0.15
    fallback_threshold: float = 0.9
    max_reference: int = 1000  # the reference code calibrates on 1,000 known non-members

    def __post_init__(self):
        if not 0 < self.tol < 1:
            raise ValueError("tol must lie in (0, 1)")

    def threshold(self, reference_scores: np.ndarray | None) -> tuple[float, str]:
        """``(threshold, rule)``: the top-``tol`` percentile of the reference scores, or the
        fallback when there are none."""
        if reference_scores is None or len(reference_scores) == 0:
            return float(
                self.fallback_threshold
            ), f"fixed {self.fallback_threshold:g} (no reference non-members)"
        c = float(np.quantile(np.asarray(reference_scores, np.float64), 1.0 - self.tol))
        return (
            c,
            (
                f"top {self.tol * 100:g}% of {len(reference_scores)} reference non-members' "
                "copy max-probabilities"
            ),
        )
