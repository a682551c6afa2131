"""Offline Likelihood Ratio Attack (Carlini et al., "Membership Inference Attacks From
First Principles", IEEE S&P 2022, Sec. IV (offline variant, Sec. IV-C / Alg. 1 without
the IN models); REFERENCE_SPECS 5, tensorflow/privacy ``research/mi_lira_2021``).

Statistic (Sec. IV-B, "logit scaling"): φ = log(p_y + 1e-45) - log(sum_{j != y} p_j + 1e-45),
in float64, the rest mass summed explicitly (as ``score.py`` after its stable softmax).

OUT shadows: ``n_shadows`` models, each trained on a random half of the attacker's data
``aux`` (never on the targets), so every shadow is OUT for every target. Per target,
μ_out = the **median** of the shadows' φ on it (as the reference) and σ_out = their
standard deviation, or with ``fix_variance`` one global σ: the paper's global variance,
which we pool from the within-target deviations (the reference's ``np.std`` over the
whole array also mixes in the spread *between* targets). 1e-30 is added to σ as the
reference does.

Score, the paper's **one-sided** test (Sec. IV-C): a member's φ is unusually *high* for
an OUT model, so the membership evidence is how small P(φ_out >= φ_obs) is under
N(μ_out, σ_out²); score = -log of that upper-tail probability (monotone in the z-score
(φ_obs - μ_out)/σ_out). The public code's offline score is instead the two-sided
log N(φ_obs; μ_out, σ_out) ("lower means member"), which also flags records whose φ is
unusually *low*; we follow the paper. Hard decision: member iff the tail probability is
<= ``alpha`` (``threshold`` = -log(alpha); the expected FPR if the Gaussian fit holds).

``augmentations=True`` also queries each target's horizontal flip (images only): it
**doubles the cost** (2 queries per target); the score is then the mean of the per-query
scores (the reference averages over augmentations). Off by default.

Policies: φ needs p_y. Exact under ``probabilities``, ``round:d`` and ``noise:s`` (used as
answered: under rounding, p_y = 1 gives φ = log(1/1e-45) ≈ 103.6 for target and shadows
alike, since the shadows pass through the same policy, ``match_policy``). Under
``topk:k`` p_y is exact when the true label is revealed, else the upper bound
``min(s_k, 1 - sum s)`` (see :mod:`attacker_sdk.mi.features`). ``label`` raises
:class:`PolicyUnsupported` before any spend.

Cost: one query per target (two with ``augmentations``). Defaults: 8 OUT shadows
(the paper uses up to 256; the offline attack already works with few), shadows trained
with :data:`attacker_sdk.mi.DEFAULT_SHADOW_FIT` unless the victim's recipe is known (the
paper trains shadows exactly like the target: pass that recipe as ``shadow_fit``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from .. import mi
from ..answers import Answers
from ..mi.features import lira_phi
from ..pool import Pool
from ..remote import RemoteClassifier
from ..training import FitConfig
from .base import MembershipRun, ShadowMembershipAttack, register


def hflip(x: np.ndarray) -> np.ndarray:
    """Horizontal flip of a batch of images (n, C, H, W)."""
    if x.ndim != 4:
        raise ValueError("flip augmentation needs image inputs (n, C, H, W)")
    return np.ascontiguousarray(x[..., ::-1])


def one_sided_score(phi: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """-log P(Φ >= phi) for Φ ~ N(mu, sigma²): large when phi is far above mu."""
    return -norm.logsf((phi - mu) / sigma)


@register
@dataclass
class LiRAOffline(ShadowMembershipAttack):
    name = "lira"
    reveals = "topk"

    n_shadows: int = 8
    fix_variance: bool = False
    augmentations: bool = False
    alpha: float = 0.05
    shadow_arch: str | dict | None = None
    shadow_fit: FitConfig = field(default_factory=lambda: mi.DEFAULT_SHADOW_FIT)
    match_policy: bool = True
    seed: int = 0

    def __post_init__(self):
        if self.n_shadows < 2 and not self.fix_variance:
            raise ValueError("per-target variances need n_shadows >= 2 (or fix_variance=True)")
        if not 0 < self.alpha < 1:
            raise ValueError("alpha must lie in (0, 1)")

    def check_aux(self, aux: Pool | None) -> None:
        if aux is None or aux.y is None:
            raise ValueError("LiRA needs labelled aux data for its OUT shadows")

    def _views(self, targets: Pool) -> list[np.ndarray]:
        return [targets.x] + ([hflip(targets.x)] if self.augmentations else [])

    def extra_inputs(
        self, victim: RemoteClassifier, targets: Pool, aux: Pool | None
    ) -> list[np.ndarray]:
        return self._views(targets)[1:]

    def calibrate(self, run: MembershipRun) -> np.ndarray:
        """The OUT shadows' φ on every view of every target: (n_shadows, n_views, n_targets)."""
        y = run.targets.y
        sset = self.train_shadow_set(run, run.aux.y)
        views = self._views(run.targets)
        phi_out = np.stack([[lira_phi(sset.answers(s, v), y) for v in views] for s in sset.shadows])
        run.mark("shadows")
        return phi_out

    def score(
        self, run: MembershipRun, answers: Answers, phi_out: np.ndarray
    ) -> tuple[np.ndarray, float]:
        y = run.targets.y
        obs = [lira_phi(answers, y)]
        for i, view in enumerate(self._views(run.targets)[1:], 1):
            obs.append(lira_phi(run.query(view, "targets"), y))
            run.mark(f"targets-view-{i}", n=len(view))
        obs = np.stack(obs)  # (n_views, n_targets)
        mu = np.median(phi_out, axis=0)
        if self.fix_variance:
            resid = phi_out - phi_out.mean(axis=0, keepdims=True)
            sigma = np.full_like(mu, np.sqrt(np.mean(resid**2)) + 1e-30)
        else:
            sigma = phi_out.std(axis=0) + 1e-30
        run.artefacts.update(
            {
                "views": len(obs),
                "phi_targets_mean": float(obs.mean()),
                "mu_out_mean": float(mu.mean()),
                "sigma_out_median": float(np.median(sigma)),
                "test": "one-sided: -log P(phi_out >= phi_obs), Gaussian OUT fit",
            }
        )
        return one_sided_score(obs, mu, sigma).mean(axis=0), float(-np.log(self.alpha))
