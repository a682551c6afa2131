"""The membership-inference toolkit every membership attack (and MExMI) builds on.

- :mod:`.features`: per-record features on answers or posteriors (``sorted_top``,
  ``true_class_prob``, entropies, LiRA's ``lira_phi``...), and how each degrades under
  coarsened outputs;
- :mod:`.policy`: the victim's output policy simulated on local posteriors;
- :mod:`.shadows`: the one shadow trainer and the per-attack shadow sets;
- :mod:`.adaptive_shadow`: MExMI's adaptive shadow-model MI (sec. 4.1, quality metric Q);
- :mod:`.unsupervised`: MExMI's unsupervised max-probability MI (sec. 4.2);
- :mod:`.thresholds`: Song & Mittal's threshold search, global or per class;
- :mod:`.filters`: the MI Pre-Filter's candidate filters (MExMI sec. 3.1).
"""

from .adaptive_shadow import DEFAULT_SHADOW_CANDIDATES, AdaptiveShadowMI, ShadowMIConfig, quality
from .features import max_prob, sorted_top
from .filters import per_class_filter, score_filter
from .policy import shadow_answers, simulate_policy
from .shadows import (
    DEFAULT_SHADOW_FIT,
    Shadow,
    ShadowSet,
    fit_shadow,
    shadow_summary,
    train_shadows,
)
from .thresholds import best_threshold, class_thresholds
from .unsupervised import UnsupervisedMI

__all__ = [
    "DEFAULT_SHADOW_CANDIDATES",
    "DEFAULT_SHADOW_FIT",
    "AdaptiveShadowMI",
    "Shadow",
    "ShadowMIConfig",
    "ShadowSet",
    "UnsupervisedMI",
    "best_threshold",
    "class_thresholds",
    "fit_shadow",
    "max_prob",
    "per_class_filter",
    "quality",
    "score_filter",
    "shadow_answers",
    "shadow_summary",
    "simulate_policy",
    "sorted_top",
    "train_shadows",
]
