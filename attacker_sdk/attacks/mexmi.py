"""MExMI: pool-based active model extraction crossover membership inference.

Xiao, Hu, Fang, Ye, Zheng, Shi, "MExMI: Pool-based Active Model Extraction Crossover
Membership Inference", NeurIPS 2022. The extraction loop is :class:`ActiveThief`'s (sec. 3,
Appendix A); MExMI adds three modules, each switchable on its own (sec. 3: "they are
orthogonal to each other, so they can be turned on or off independently"):

- **MI Pre-Filter** (sec. 3.1, ``pre_filter``): before each AL selection, MI on the
  **copy** model's outputs (no queries) restricts the candidates to pool samples it calls
  members. Shadow MI: per predicted class, ``p_member > 0.5``; a class with fewer than
  ``ceil(size / K)`` passing samples contributes its top ``ceil(size / K)`` instead
  (reference: ``size / 10``, 10 classes hard-coded), ``size = pre_filter_size`` (default
  ``k``; the reference's semi-supervised file uses ``15 k``). Unsupervised MI: copy
  max-probability above the ``tol = 0.15`` threshold; if fewer than ``5 k`` pass, the top
  ``5 k`` (REFERENCE_SPECS 1). The AL strategy then picks ``k`` among them.
- **MI Post-Filter** (sec. 3.2, ``post_filter``): MI on the **victim's own answers** for
  every queried sample; members weigh ``omega = 5`` times non-members in the copy's
  loss (``training.fit(weights=...)``, not renormalised, REFERENCE_SPECS 1). Shadow MI:
  ``p_member > 0.65`` (reference); unsupervised: victim max-probability above the
  ``tol = 0.06`` threshold calibrated on the copy (before the first copy exists, the fixed
  0.9).
- **Semi-supervised boosting** (sec. 3.3, ``ssl_boost``): after the last round, MixMatch
  (:mod:`attacker_sdk.ssl.mixmatch`) on the queried set (Post-Filter weights) plus the
  MI-positive **unqueried** pool samples (never queried), at most ``ssl_max_unlabelled``
  of them (highest MI score first); the EMA model is released.

**MI** (sec. 4, ``mi``): ``"shadow"`` = adaptive shadow-model MI
(:class:`attacker_sdk.mi.AdaptiveShadowMI`: candidates scored by ``Q = -log10(l_s) n^0.05``,
attack model = logistic regression on the top-3 sorted posteriors), trained **once**,
after the seed round, on the seed samples labelled by the victim's argmax (sec. 5.3.1:
"F_MIA is trained on initial seed samples"; REFERENCE_SPECS 1). We do not retrain it as
queries accumulate: later queried samples are chosen *by* the MI model (Pre-Filter), so a
shadow trained on them would learn from a sample it selected itself. ``"unsupervised"`` =
max-probability MI (:class:`attacker_sdk.mi.UnsupervisedMI`) with its threshold
recalibrated every round on the current copy's scores of the pool rows the attacker knows
are non-members (``Pool.reference``; with none, the reference code's fixed 0.9).

**Output** (sec. 3): the copy model and ``result.membership``
(:class:`~attacker_sdk.attacks.base.InferredMembers`), the inferred training set D-hat as a
decision and a score over **all** pool rows: queried rows by the Post-Filter
decision on the victim's answers, unqueried rows by MI on the final copy (before
boosting) with the Pre-Filter's threshold (``p_member > 0.5`` / the ``tol = 0.15``
threshold; no size fallback). The artefacts also carry the Q table, per-round MI stats
(also in the timeline rows) and the boosting history.

**Our extension, off by default** (``dhat_calibration="victim-agreement"``): at our scale
the copy is much less confident than the shadow the attack model was fitted on, so the
fixed 0.5 on copy outputs calls almost no unqueried row a member (small D-hat, little for
boosting). The option re-chooses the copy-side threshold, for D-hat's unqueried rows
only, as the one whose decisions agree best (balanced accuracy) with the Post-Filter's
victim-side decisions on the rows queried after the seed, each scored by the copy that
selected it (so never by a copy trained on it). It needs no query; it needs scores from
the victim (not under ``label``).

**Output policies** (sec. 5.5, Table 4): MI features are the top-``m`` sorted posteriors
with ``m = min(3, what the policy reveals)``: top-1 features under ``top1`` (the paper's
top-1 setting), top-k under ``topk:k``. The copy is trained on hard labels under top-k
policies (``labels="auto"``). Under ``label`` the victim reveals no scores, so the
Post-Filter cannot read its answers: with ``label_post_filter="selection-copy"``
(default) a queried sample's membership is decided by MI on the copy that **selected** it
(computed before it was queried, so that copy was never trained on it); the seed samples
have no such copy and count as non-members (weight 1, not in D-hat). ``"off"`` disables
the Post-Filter under ``label``. ``artefacts["post_filter_source"]`` says which was used.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .. import models, selection
from ..mi import (
    AdaptiveShadowMI,
    ShadowMIConfig,
    UnsupervisedMI,
    best_threshold,
    max_prob,
    per_class_filter,
    score_filter,
)
from ..remote import RemoteClassifier
from ..selection.base import ProbCache
from ..ssl.mixmatch import MixMatchConfig, mixmatch
from ..training import to_targets
from .active_thief import ActiveThief, RunState
from .base import Checkpoint, InferredMembers, TimelineRow, register

MI_KINDS = ("shadow", "unsupervised")
LABEL_POST_FILTER = ("selection-copy", "off")
DHAT_CALIBRATION = ("none", "victim-agreement")


@dataclass
class MExMIRun(RunState):
    """ActiveThief's run state plus what MExMI's modules carry between rounds."""

    shadow: AdaptiveShadowMI | None = None  # the shadow MI, trained once after the seed round
    selection_mi: dict[int, tuple[float, bool]] = field(
        default_factory=dict
    )  # row -> MI by its selecting copy
    feature_width: int = 0  # m of the top-m MI features
    membership: InferredMembers | None = None  # D-hat, once the last round is done


@register
@dataclass
class MExMI(ActiveThief):
    """Defaults: the paper's / reference code's values (module docstring); the loop's
    parameters (``strategy``, ``k``, ``retrain``, ``fit``...) are :class:`ActiveThief`'s."""

    pre_filter: bool = True
    post_filter: bool = True
    ssl_boost: bool = True
    mi: str = "shadow"  # shadow | unsupervised (sec. 4.1 / 4.2)
    shadow: ShadowMIConfig = field(default_factory=ShadowMIConfig)
    mi_top: int = 3  # top-m sorted posteriors, capped at what the policy reveals
    pre_filter_threshold: float = 0.5  # reference (comment: 0.55)
    pre_filter_size: int | None = None  # None: k (reference main); 15k in its semi-supervised file
    post_filter_threshold: float = 0.65  # reference (comment: 0.67)
    omega: float = 5.0  # sec. 5.3.1: 5 : 1
    unsup_pre_tol: float = 0.15  # reference
    unsup_post_tol: float = 0.06  # reference
    unsup_pre_size_factor: int = 5  # reference: top 5k when too few pass
    unsup_fallback_threshold: float = 0.9  # reference, when no reference non-members are known
    label_post_filter: str = "selection-copy"  # under `label` (module docstring)
    dhat_calibration: str = "none"  # none (paper) | victim-agreement (module docstring)
    ssl: MixMatchConfig = field(default_factory=MixMatchConfig)
    ssl_max_unlabelled: int = 5000

    name = "mexmi"
    run_state: ClassVar[type[RunState]] = MExMIRun
    DEEPFOOL_MAX_ITER: ClassVar[int] = 50  # MExMI's DeepFool max_iter (REFERENCE_SPECS 1)

    def __post_init__(self):
        super().__post_init__()
        if self.mi not in MI_KINDS:
            raise ValueError(f"mi must be one of {MI_KINDS}")
        if self.label_post_filter not in LABEL_POST_FILTER:
            raise ValueError(f"label_post_filter must be one of {LABEL_POST_FILTER}")
        if self.dhat_calibration not in DHAT_CALIBRATION:
            raise ValueError(f"dhat_calibration must be one of {DHAT_CALIBRATION}")
        if self.omega <= 0:
            raise ValueError("omega must be positive")
        if self.mi_top < 1:
            raise ValueError("mi_top must be >= 1")
        if self.pre_filter_size is not None and self.pre_filter_size < 1:
            raise ValueError("pre_filter_size must be >= 1")
        self.shadow.candidate_list()

    # -- MI helpers -----------------------------------------------------------------------

    def feature_width(self, victim: RemoteClassifier) -> int:
        p = victim.info.policy
        if p.reveals == "topk":
            return max(1, min(self.mi_top, int(p.k or 1)))
        return min(self.mi_top, victim.num_classes)

    def _victim_scores_available(self, victim: RemoteClassifier) -> bool:
        return victim.gives("topk")

    def _reference_threshold(
        self, run: MExMIRun, probs: ProbCache | None, tol: float
    ) -> tuple[float, str]:
        unsup = UnsupervisedMI(tol=tol, fallback_threshold=self.unsup_fallback_threshold)
        ref = np.flatnonzero(run.pool.reference)
        if probs is None or len(ref) == 0:
            return unsup.threshold(None)
        if len(ref) > unsup.max_reference:
            ref = np.sort(
                np.random.default_rng(self.seed + 17).choice(
                    ref, unsup.max_reference, replace=False
                )
            )
        return unsup.threshold(max_prob(probs(ref)))

    def copy_membership(
        self, run: MExMIRun, probs: np.ndarray, cache: ProbCache
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """MI on copy outputs ``probs``: (member score, member decision, threshold)."""
        if self.mi == "shadow":
            score = run.shadow.member_proba(probs)
            thr = self.pre_filter_threshold
        else:
            score = max_prob(probs)
            thr, _ = self._reference_threshold(run, cache, self.unsup_pre_tol)
        return score, score > thr, thr

    def victim_membership(
        self, run: MExMIRun, idx: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Post-Filter MI on the victim's answers for queried rows ``idx``: (score,
        decision); None when the victim reveals no scores (``label``)."""
        if not self._victim_scores_available(run.victim):
            return None
        answers = run.pool.soft[idx]  # probabilities, or the completed top-k vector (exact top-m)
        if self.mi == "shadow":
            score = run.shadow.member_proba(answers)
            return score, score > self.post_filter_threshold
        cache = None if run.copy is None else ProbCache(run.copy, run.pool.x)
        thr, rule = self._reference_threshold(run, cache, self.unsup_post_tol)
        run.stats["post_threshold"] = round(thr, 4)
        run.artefacts["post_threshold_rule"] = rule
        score = max_prob(answers)
        return score, score > thr

    def queried_membership(
        self, run: MExMIRun, idx: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Membership of queried rows: the victim's answers, or (under ``label``) the copy
        that selected each row."""
        vm = self.victim_membership(run, idx)
        if vm is not None:
            return vm
        if self.label_post_filter == "off":
            return None
        sel = run.selection_mi
        score = np.array([sel.get(int(i), (0.0, False))[0] for i in idx], dtype=np.float64)
        member = np.array([sel.get(int(i), (0.0, False))[1] for i in idx], dtype=bool)
        return score, member

    # -- hooks ------------------------------------------------------------------------------

    def _after_seed(self, run: MExMIRun) -> None:
        victim, pool = run.victim, run.pool
        run.feature_width = m = self.feature_width(victim)
        source = (
            "victim answers"
            if self._victim_scores_available(victim)
            else "copy at selection (label policy)"
            if self.label_post_filter == "selection-copy"
            else "off (label policy: no scores)"
        )
        run.artefacts.update(
            {
                "mi": self.mi,
                "mi_features": f"top-{m} sorted posteriors",
                "modules": {
                    "pre_filter": self.pre_filter,
                    "post_filter": self.post_filter,
                    "ssl_boost": self.ssl_boost,
                },
                "post_filter_source": source if self.post_filter else "off",
                "reference_rows": int(pool.reference.sum()),
            }
        )
        if self.mi != "shadow":
            return
        t0 = time.perf_counter()
        seed_idx = np.asarray(run.order, dtype=np.int64)
        unq = pool.unqueried_indices()
        n_out = min(len(seed_idx), self.shadow.max_train, len(unq))
        out_idx = np.sort(run.rng.choice(unq, n_out, replace=False))
        arch = self.copy_arch or models.default_for(victim.input_shape)
        shadow = AdaptiveShadowMI(
            self.shadow, arch, victim.input_shape, victim.num_classes, top=m, seed=self.seed
        )
        shadow.fit(pool.x[seed_idx], pool.labels[seed_idx], pool.x[out_idx])
        run.shadow = shadow
        run.artefacts["shadow_mi"] = shadow.summary()
        run.stats["mi_train_s"] = round(time.perf_counter() - t0, 2)

    def _candidates(self, run: MExMIRun, ctx: selection.Context, n: int) -> np.ndarray | None:
        if not self.pre_filter:
            return None
        t0 = time.perf_counter()
        probs = ctx.candidate_probs()
        score, _, thr = self.copy_membership(run, probs, ctx.probs)
        if self.mi == "shadow":
            size = self.pre_filter_size or n
            pos, stats = per_class_filter(
                score, probs.argmax(1), size, probs.shape[1], self.pre_filter_threshold
            )
        else:
            size = self.unsup_pre_size_factor * n
            pos, stats = score_filter(score, thr, size)
        run.stats.update(
            {
                "prefilter_kept": len(pos),
                "prefilter_passed": int(stats["passed"]),
                "prefilter_threshold": round(float(thr), 4),
                "prefilter_s": round(time.perf_counter() - t0, 2),
            }
        )
        return pos

    def _selected(self, run: MExMIRun, ctx: selection.Context, chosen: np.ndarray) -> None:
        """MI on the selecting copy (never trained on these rows): the Post-Filter's source
        under ``label``, and the calibration pairs of ``dhat_calibration``."""
        probs = ctx.probs(chosen)
        score, member, _ = self.copy_membership(run, probs, ctx.probs)
        run.selection_mi.update(
            {int(i): (float(s), bool(m)) for i, s, m in zip(chosen, score, member)}
        )

    def _weights(self, run: MExMIRun, idx: np.ndarray) -> np.ndarray | None:
        if not self.post_filter:
            return None
        qm = self.queried_membership(run, idx)
        if qm is None:
            return None
        member = qm[1]
        run.stats["post_members"] = int(member.sum())
        run.stats["post_member_fraction"] = round(float(member.mean()), 4)
        return np.where(member, self.omega, 1.0).astype(np.float32)

    def _finish(self, run: MExMIRun, on_checkpoint: Checkpoint | None) -> Any:
        victim, pool = run.victim, run.pool
        t0 = time.perf_counter()
        run.stats = {}
        inferred = np.zeros(len(pool), bool)
        mi_score = np.zeros(len(pool))
        q = pool.queried_indices()
        qm = self.queried_membership(run, q)
        if qm is not None:
            mi_score[q], inferred[q] = qm
        unq = pool.unqueried_indices()
        cache = ProbCache(run.copy, pool.x)
        if len(unq):
            s, m, thr = self.copy_membership(run, cache(unq), cache)
            cal = (
                self._calibrate_copy_threshold(run, qm) if self.dhat_calibration != "none" else None
            )
            if cal is not None:
                thr = cal["threshold"]
                m = s >= thr
                run.artefacts["dhat_calibration"] = cal
            mi_score[unq], inferred[unq] = s, m
            run.artefacts["dhat_unqueried_threshold"] = float(thr)
        run.membership = InferredMembers(
            inferred, mi_score
        )  # D-hat over all pool rows (scored by the runner)
        run.artefacts.update(
            {
                "dhat": {
                    "queried": int(inferred[q].sum()),
                    "unqueried": int(inferred[unq].sum()),
                    "total": int(inferred.sum()),
                    "pool": len(pool),
                },
            }
        )
        mi_s = time.perf_counter() - t0
        if not self.ssl_boost:
            return run.copy
        unl = unq[inferred[unq]]
        unl = unl[np.argsort(-mi_score[unl], kind="stable")][: self.ssl_max_unlabelled]
        if len(unl) == 0 or len(q) < 2:
            run.artefacts["ssl"] = {
                "skipped": "no MI-positive unqueried pool samples"
                if len(unl) == 0
                else "fewer than 2 labelled samples"
            }
            return run.copy
        t1 = time.perf_counter()
        weights = self._weights(run, q) if self.post_filter else None
        targets = to_targets(self.targets(victim, pool, q), victim.num_classes)
        ssl_config = dataclasses.replace(self.ssl, seed=self.ssl.seed + self.seed)
        boosted, history = mixmatch(
            run.copy, pool.x[q], targets, pool.x[unl], ssl_config, weights=weights
        )
        run.artefacts["ssl"] = {
            "unlabelled": len(unl),
            "labelled": len(q),
            "history": history,
            "config": ssl_config.to_dict(),
            "never_queried": True,
        }
        run.artefacts["ssl_unlabelled_rows"] = (
            unl  # pool rows used unlabelled (an array: kept out of JSON)
        )
        run.timeline.append(
            TimelineRow(
                run.meter.spent,
                round(run.meter.seconds, 2),
                phase="ssl-boost",
                round=run.round,
                stats={
                    "labelled": len(q),
                    "unlabelled": len(unl),
                    "dhat_s": round(mi_s, 2),
                    "ssl_s": round(time.perf_counter() - t1, 2),
                },
                metrics=on_checkpoint(boosted, run.meter.spent) if on_checkpoint else {},
            )
        )
        return boosted

    def _membership(self, run: MExMIRun) -> InferredMembers | None:
        return run.membership

    def _calibrate_copy_threshold(self, run: MExMIRun, qm) -> dict | None:
        """``victim-agreement``: the copy-side score threshold that best reproduces (balanced
        accuracy) the victim-side decisions on the rows queried after the seed, scored by
        the copy that selected them (which had not been trained on them). Costs nothing."""
        if qm is None or not self._victim_scores_available(run.victim):
            return None
        sel = run.selection_mi
        q = run.pool.queried_indices()
        pos = np.array([i for i, row in enumerate(q) if int(row) in sel], dtype=np.int64)
        if len(pos) < 20:
            return None
        copy_score = np.array([sel[int(q[i])][0] for i in pos])
        victim_member = qm[1][pos]
        if victim_member.all() or not victim_member.any():
            return None
        thr, bal = best_threshold(copy_score[victim_member], copy_score[~victim_member])
        return {
            "rule": "copy score threshold agreeing best with the victim-side decisions",
            "threshold": thr,
            "balanced_accuracy": round(bal, 4),
            "pairs": len(pos),
            "victim_member_fraction": round(float(victim_member.mean()), 4),
        }
