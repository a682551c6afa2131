"""Membership inference inside model extraction (MExMI sec. 4): MI that costs no queries
beyond the extraction's own.

- :mod:`.shadow`: adaptive shadow-model MI (sec. 4.1): shadow hyperparameters chosen among
  candidates by the quality metric ``Q = f(l_s) * n^a``; attack model on sorted top-m
  posteriors;
- :mod:`.unsupervised`: unsupervised MI (sec. 4.2): max-probability score, threshold = the
  top-t percentile of reference non-members' scores on the copy model;
- :mod:`.filters`: the per-class candidate filter of the MI Pre-Filter (sec. 3.1) with the
  reference code's fallback, and the top-m feature extraction shared by both MI kinds.
"""

from .filters import per_class_filter, score_filter, sorted_top
from .shadow import DEFAULT_SHADOW_CANDIDATES, AdaptiveShadowMI, ShadowMIConfig, quality
from .unsupervised import UnsupervisedMI, max_prob

__all__ = [
           "DEFAULT_SHADOW_CANDIDATES",
           "AdaptiveShadowMI",
           "ShadowMIConfig",
           "UnsupervisedMI",
           "max_prob",
           "per_class_filter",
           "quality",
           "score_filter",
           "sorted_top",
]
