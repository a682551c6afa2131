"""ActiveThief: pool-based active model extraction (PAME).

Pal et al., "ActiveThief: Model Extraction Using Active Learning and Unannotated Public
Data", AAAI 2020; the loop as MExMI describes it (Xiao et al., NeurIPS 2022, sec. 3 and
its Appendix A) and as the reference code runs it (REFERENCE_SPECS 1-2):

1. **seed**: ``initial_seed`` pool samples drawn uniformly (default ``k``) are queried and
   a copy model is trained on the answers;
2. **rounds**: a selection strategy (:mod:`attacker_sdk.selection`) picks ``k`` unqueried
   pool samples from the copy's view of them; they are queried, the copy is retrained on
   everything queried so far; repeat until the budget is spent. The number of rounds
   follows from the budget: ``1 + ceil((budget - initial_seed) / k)`` training rounds;
   every round spends exactly ``k`` queries except the last when the budget is not a
   multiple (inputs already answered, e.g. duplicates in the pool, are free).

The copy is retrained **from scratch** every round, as ActiveThief and MExMI's code do
(``retrain="scratch"``); ``retrain="warm"`` continues from the previous round's copy for
``warm_epochs`` epochs on all queried data (much cheaper on a CPU; not in the papers).
Early stopping uses a held-out slice of the *queried* data only (``fit.patience``,
``fit.val_fraction``): ActiveThief holds out ``val_size`` extra queried points and stops on
validation F1 against the victim's labels; we carve the slice from the budget-funded
queried set instead and stop on top-1 agreement with the victim (no extra queries). A
slice smaller than ``min_val`` samples (early rounds of small runs) is too noisy to stop
on: the copy then trains for all ``fit.epochs``.

Labels (``labels``): ``"auto"`` (default) trains on the victim's probability vectors when
the policy reveals them (ActiveThief's ``copy_one_hot=False``) and on hard labels under
``topk`` / ``top1`` / ``label`` (the issue's and MExMI Table 4's setting); ``"soft"`` uses
the best vector the policy allows (top-k scores with the rest spread evenly, one-hot
under ``label``); ``"hard"`` always uses the victim's argmax.

Training defaults (ActiveThief's code: Adam, lr 1e-3, batch 50, patience 20 of <= 1000
epochs) are cut to CPU scale: at most 30 epochs, patience 5. As in that code, patience does
not run while the mean training loss is above 1.5 (``fit.patience_loss_floor``): on a task
with a long initial plateau (``shapes``) a copy stopped on a 50-sample validation slice
otherwise stays at chance for the first rounds and every strategy selects blind.

Subclasses (MExMI) plug in through hooks: ``_after_seed`` (train an MI model),
``_candidates`` (restrict what the strategy may pick: the Pre-Filter), ``_selected``
(see what was picked), ``_weights`` (per-sample loss weights: the Post-Filter) and
``_finish`` (semi-supervised boosting and the inferred training set).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .. import models, selection
from ..pool import Pool
from ..remote import RemoteClassifier
from ..training import FitConfig, FitResult, fit
from .base import (
    Checkpoint,
    ExtractionAttack,
    ExtractionResult,
    InferredMembers,
    SpendMeter,
    TimelineRow,
    check_budget,
    learn_server_budget,
    register,
)

LABEL_MODES = ("auto", "soft", "hard")
RETRAIN_MODES = ("scratch", "warm")


@dataclass
class RunState:
    """Everything one ``extract`` call carries between rounds (handed to the hooks)."""

    victim: RemoteClassifier
    pool: Pool
    rng: np.random.Generator
    meter: SpendMeter
    budget: int
    order: list[int] = field(default_factory=list)  # pool rows this attack queried, in query order
    copy: Any = None
    round: int = 0
    timeline: list[TimelineRow] = field(default_factory=list)
    artefacts: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(
        default_factory=dict
    )  # the current round's figures (its timeline row)

    @property
    def labelled(self) -> np.ndarray:
        return self.pool.queried_indices()


@register
@dataclass
class ActiveThief(ExtractionAttack):
    """Parameters; defaults follow the papers / reference code where a CPU allows (see the
    module docstring). ``strategy`` is a :mod:`attacker_sdk.selection` name (``random``,
    ``entropy``, ``margin``, ``kcenter``, ``deepfool``, ``adversarial-kcenter``) with its
    parameters in ``strategy_params`` (e.g. ``{"candidates": 1000}`` for DeepFool)."""

    strategy: str = "entropy"
    strategy_params: dict = field(default_factory=dict)
    k: int = 200  # queries per round (MExMI code k=200; its CIFAR experiments 2,000)
    initial_seed: int | None = None  # None: k (MExMI sec. 3)
    retrain: str = "scratch"  # scratch (ActiveThief, MExMI) | warm
    warm_epochs: int | None = None  # epochs of a warm-started round (None: fit.epochs)
    labels: str = "auto"  # auto | soft | hard (module docstring)
    copy_arch: str | dict | None = (
        None  # None: a CNN for images (ActiveThief's cnn_x_y), an MLP otherwise
    )
    fit: FitConfig = field(
        default_factory=lambda: FitConfig(
            epochs=30,
            batch_size=50,
            lr=1e-3,
            optimizer="adam",
            patience=5,
            patience_loss_floor=1.5,
            val_fraction=0.1,
        )
    )
    min_val: int = 20  # early stopping only when the held-out slice has at least this many samples
    seed: int = 0

    name = "activethief"
    reveals = "label"  # labels are enough: ActiveThief works under every classification policy
    run_state: ClassVar[type[RunState]] = RunState  # subclasses carry more between rounds
    DEEPFOOL_MAX_ITER: ClassVar[int] = 20  # ActiveThief's DeepFool `epochs` (REFERENCE_SPECS 2)

    def __post_init__(self):
        if self.k < 1:
            raise ValueError("k must be >= 1")
        if self.initial_seed is not None and self.initial_seed < 1:
            raise ValueError("initial_seed must be >= 1")
        if self.retrain not in RETRAIN_MODES:
            raise ValueError(f"retrain must be one of {RETRAIN_MODES}")
        if self.labels not in LABEL_MODES:
            raise ValueError(f"labels must be one of {LABEL_MODES}")
        if self.warm_epochs is not None and self.warm_epochs < 1:
            raise ValueError("warm_epochs must be >= 1")
        self.make_strategy()  # unknown strategies / parameters fail now, not after the seed round

    # -- the loop -------------------------------------------------------------------------

    def extract(
        self,
        victim: RemoteClassifier,
        pool: Pool,
        budget: int,
        on_checkpoint: Checkpoint | None = None,
        progress: bool = True,
    ) -> ExtractionResult:
        victim.require(self.needs(), self.name)
        learn_server_budget(victim)
        budget = check_budget(budget, victim)
        meter = SpendMeter(victim)
        price = max(victim.info.price, 1)
        run = self.run_state(victim, pool, np.random.default_rng(self.seed), meter, budget)
        strategy = self.make_strategy()
        run.artefacts.update(
            {
                "labels": "soft" if self._use_soft(victim) else "hard",
                "policy": victim.info.policy.policy,
                "strategy": strategy.describe(),
                "copy_arch": self.copy_arch or models.default_for(victim.input_shape),
                "planned_rounds": self.planned_rounds(budget // price),
            }
        )

        with victim.client.phase(self.name):
            unq = pool.unqueried_indices()
            n_seed = min(self.initial_seed or self.k, budget // price, len(unq))
            if n_seed < 1:
                raise ValueError(
                    f"{self.name}: nothing to query (budget {budget}, "
                    f"{len(unq)} unqueried pool rows)"
                )
            seed_idx = np.sort(run.rng.choice(unq, size=n_seed, replace=False))
            t0 = time.perf_counter()
            with victim.client.phase(f"{self.name}/seed"):
                pool.query(victim, seed_idx, progress=progress)
            run.order.extend(seed_idx.tolist())
            run.stats = {"selected": int(n_seed), "query_s": round(time.perf_counter() - t0, 2)}
            self._after_seed(run)
            self._train_round(run)
            self._checkpoint(run, on_checkpoint)

            while True:
                left = (budget - meter.spent) // price
                unq = pool.unqueried_indices()
                if left < 1 or len(unq) == 0:
                    break
                run.round += 1
                n = min(self.k, left, len(unq))
                run.stats = {}
                t0 = time.perf_counter()
                ctx = selection.Context(
                    run.copy, pool.x, unq, run.labelled, run.rng, victim.info.input_range
                )
                allowed = self._candidates(run, ctx, n)
                sub = ctx if allowed is None else ctx.restrict(allowed)
                picked = strategy.select(sub, n)
                chosen, strategy_stats = sub.candidates[picked.positions], picked.stats
                if len(chosen) < n:  # a filter left too few: fill up from the rest, by the strategy
                    rest = ctx.restrict(np.flatnonzero(~np.isin(unq, chosen)))
                    more = strategy.select(rest, n - len(chosen))
                    chosen = np.concatenate([chosen, rest.candidates[more.positions]])
                    strategy_stats = more.stats or strategy_stats
                self._selected(run, ctx, chosen)
                run.stats.update(
                    {
                        "selected": len(chosen),
                        "candidates": len(sub.candidates),
                        "select_s": round(time.perf_counter() - t0, 2),
                        "copy_forward_rows": int(ctx.probs.computed)
                        if ctx.probs is not None
                        else 0,
                    }
                )
                if strategy_stats:
                    run.stats["strategy_stats"] = dict(strategy_stats)
                t0 = time.perf_counter()
                with victim.client.phase(f"{self.name}/round-{run.round}"):
                    pool.query(victim, chosen, progress=progress)
                run.stats["query_s"] = round(time.perf_counter() - t0, 2)
                run.order.extend(np.asarray(chosen).tolist())
                self._train_round(run)
                self._checkpoint(run, on_checkpoint)

            run.copy = self._finish(run, on_checkpoint)

        return ExtractionResult(
            attack=self.name,
            params=self.params,
            queries=meter.spent,
            seconds=meter.seconds,
            spend_by_phase=meter.by_phase(),
            timeline=run.timeline,
            artefacts=run.artefacts,
            copy_model=run.copy,
            queried_indices=np.asarray(run.order, dtype=np.int64),
            membership=self._membership(run),
        )

    def planned_rounds(self, n_queries: int) -> int:
        seed = min(self.initial_seed or self.k, n_queries)
        return 1 + max(0, math.ceil((n_queries - seed) / self.k))

    # -- pieces ---------------------------------------------------------------------------

    def make_strategy(self) -> selection.Strategy:
        params = dict(self.strategy_params)
        if self.strategy in ("deepfool", "adversarial", "adversarial-kcenter"):
            params.setdefault("max_iter", self.DEEPFOOL_MAX_ITER)
        return selection.make(self.strategy, **params)

    def _use_soft(self, victim: RemoteClassifier) -> bool:
        if self.labels == "soft":
            return True
        if self.labels == "hard":
            return False
        return victim.gives("probabilities")

    def targets(self, victim: RemoteClassifier, pool: Pool, idx: np.ndarray) -> np.ndarray:
        """What the copy is trained on for pool rows ``idx`` (soft vectors or labels)."""
        return pool.soft[idx] if self._use_soft(victim) else pool.labels[idx]

    def new_copy(self, victim: RemoteClassifier, round_: int):
        arch = self.copy_arch or models.default_for(victim.input_shape)
        return models.build(
            arch, victim.input_shape, victim.num_classes, seed=self.seed * 1009 + round_
        )

    def train_copy(self, run: RunState, idx: np.ndarray, weights: np.ndarray | None) -> FitResult:
        """Scratch: a fresh copy on every round; warm: continue from the previous copy."""
        victim, pool = run.victim, run.pool
        config = dataclasses.replace(self.fit, seed=self.fit.seed + run.round)
        if config.patience and int(len(idx) * config.val_fraction) < self.min_val:
            config = dataclasses.replace(
                config, patience=None
            )  # a handful of samples is noise, not a signal
        if self.retrain == "warm" and run.copy is not None:
            model = run.copy
            if self.warm_epochs is not None:
                config = dataclasses.replace(config, epochs=self.warm_epochs)
        else:
            model = self.new_copy(victim, run.round)
        return fit(
            model,
            pool.x[idx],
            self.targets(victim, pool, idx),
            config,
            weights=weights,
            num_classes=victim.num_classes,
        )

    def _train_round(self, run: RunState) -> None:
        idx = run.labelled
        t0 = time.perf_counter()
        weights = self._weights(run, idx)
        t1 = time.perf_counter()
        res = self.train_copy(run, idx, weights)
        run.copy = res.model
        run.stats.update(
            {
                "labelled": len(idx),
                "train_s": round(time.perf_counter() - t1, 2),
                "epochs": len(res.history),
                "best_epoch": res.best_epoch,
            }
        )
        if weights is not None:
            run.stats["weights_s"] = round(t1 - t0, 2)
        if res.val_agreement is not None:
            run.stats["val_agreement"] = round(res.val_agreement, 4)

    def _checkpoint(self, run: RunState, on_checkpoint: Checkpoint | None) -> None:
        run.timeline.append(
            TimelineRow(
                run.meter.spent,
                round(run.meter.seconds, 2),
                round=run.round,
                stats=dict(run.stats),
                metrics=on_checkpoint(run.copy, run.meter.spent) if on_checkpoint else {},
            )
        )

    # -- hooks (MExMI overrides them) -----------------------------------------------------

    def _after_seed(self, run: RunState) -> None:
        """Called once after the seed queries, before the first copy is trained."""

    def _candidates(self, run: RunState, ctx: selection.Context, n: int) -> np.ndarray | None:
        """Positions into ``ctx.candidates`` the strategy may pick from (None: all)."""
        return None

    def _selected(self, run: RunState, ctx: selection.Context, chosen: np.ndarray) -> None:
        """Called with the pool rows picked this round, before they are queried."""

    def _weights(self, run: RunState, idx: np.ndarray) -> np.ndarray | None:
        """Per-sample loss weights for the queried rows ``idx`` (None: all 1)."""
        return None

    def _finish(self, run: RunState, on_checkpoint: Checkpoint | None) -> Any:
        """After the last round; returns the released copy."""
        return run.copy

    def _membership(self, run: RunState) -> InferredMembers | None:
        """The inferred training set over the pool, for attacks that infer one."""
        return None
