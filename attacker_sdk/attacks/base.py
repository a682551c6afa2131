"""What every attack is, returns and shares.

An attack is one dataclass registered with :func:`register`: its parameters (with the
paper's defaults) are the dataclass fields, ``name`` (class-level) is its registry key and
its results' ``attack``, ``reveals`` says what the output policy must reveal at least
(``label`` < ``topk`` < ``probabilities``). Two families:

- :class:`ExtractionAttack`: ``extract(victim, pool, budget)`` -> :class:`ExtractionResult`
  (the copy model, the pool rows queried, and for MExMI the inferred training set);
- :class:`MembershipAttack`: ``infer(victim, targets, aux, budget)`` ->
  :class:`MembershipResult`. The base owns everything the attacks share: refusing a policy
  that cannot serve the attack and data it cannot use before anything is spent, learning
  the server's budget, refusing a run the budget cannot pay for, metering the spend,
  querying the targets, building the result. A subclass writes ``calibrate`` (shadows,
  thresholds; may buy aux labels) and ``score`` only.

Ground truth never enters an attack: the runner scores results afterwards, and may pass an
``on_checkpoint`` callback to measure intermediate copies (fidelity vs queries) with data
only it holds.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .. import models
from ..answers import Answers
from ..errors import BudgetExhausted, SDKError
from ..mi import ShadowSet, train_shadows
from ..pool import Pool
from ..remote import REVEAL_ORDER, RemoteClassifier
from ..training import FitConfig

Checkpoint = Callable[[Any, int], dict]  # (copy model, queries spent so far) -> metrics

REGISTRY: dict[str, type[Attack]] = {}


def register(cls: type[Attack]) -> type[Attack]:
    """Class decorator: make ``cls`` buildable by its ``name`` (scenario files, ``build``)."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls.__name__}: an attack is a dataclass (its fields are its parameters)")
    if cls.kind not in ("extraction", "membership") or not cls.name:
        raise TypeError(
            f"{cls.__name__}: subclass ExtractionAttack or MembershipAttack and set `name`"
        )
    if cls.reveals not in REVEAL_ORDER:
        raise TypeError(f"{cls.__name__}: reveals must be one of {sorted(REVEAL_ORDER)}")
    if REGISTRY.get(cls.name, cls) is not cls:
        raise ValueError(f"attack name {cls.name!r} is taken by {REGISTRY[cls.name].__name__}")
    REGISTRY[cls.name] = cls
    return cls


# -- results --------------------------------------------------------------------------------


@dataclass
class TimelineRow:
    """One step of an attack: where the spend stood (``queries``) after ``t`` seconds, the
    step's own figures (``stats``) and what the runner's checkpoint measured (``metrics``)."""

    queries: int
    t: float
    phase: str | None = None
    round: int | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        head = {k: v for k, v in (("phase", self.phase), ("round", self.round)) if v is not None}
        return {**head, "queries": self.queries, **self.stats, "t": self.t, **self.metrics}


@dataclass
class AttackResult:
    attack: str
    params: dict[str, Any]
    queries: int  # units the victim charged for this attack's answers
    seconds: float
    spend_by_phase: dict[str, int] = field(default_factory=dict)
    timeline: list[TimelineRow] = field(default_factory=list)
    artefacts: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """JSON-safe headline (no models or arrays)."""
        return {
            "attack": self.attack,
            "params": self.params,
            "queries": self.queries,
            "seconds": round(self.seconds, 2),
            "spend_by_phase": self.spend_by_phase,
            "timeline": [row.to_dict() for row in self.timeline],
        }


@dataclass
class InferredMembers:
    """An extraction attack's inferred training set over its pool (MExMI's D-hat): a
    decision and a score per pool row."""

    members: np.ndarray  # bool (n_pool,)
    scores: np.ndarray  # float (n_pool,), higher = more likely a member

    def __len__(self) -> int:
        return int(self.members.sum())


@dataclass
class ExtractionResult(AttackResult):
    copy_model: Any = None
    queried_indices: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    membership: InferredMembers | None = None


@dataclass
class MembershipResult(AttackResult):
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))  # higher = more likely member
    predictions: np.ndarray = field(
        default_factory=lambda: np.zeros(0, bool)
    )  # the attack's hard decision
    threshold: float | None = None


# -- spending ---------------------------------------------------------------------------------


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
        return {
            p: v - self.start_phase.get(p, 0)
            for p, v in now.items()
            if v - self.start_phase.get(p, 0)
        }


def learn_server_budget(victim: RemoteClassifier) -> None:
    """Reconcile with the server once (``GET /v1/usage``, free) so the local budget knows
    the key's real remaining budget before the attack plans its spend. Call it before a
    :class:`SpendMeter` starts, so the adopted figure is not counted as the attack's."""
    budget = victim.client.budget
    if budget.total is None or budget.available is None:
        try:
            victim.client.usage()
        except SDKError:
            pass  # a server without /v1/usage: the local figure is all we have


def check_budget(budget: int, victim: RemoteClassifier) -> int:
    """The units this attack may spend: its own budget, capped by what the client has left."""
    if budget is None or budget < 0:
        raise ValueError("an attack needs a non-negative query budget")
    left = victim.client.budget.available
    return (
        budget
        if left is None
        else min(budget, left // max(victim.info.price, 1) * victim.info.price)
    )


def cost_of(victim: RemoteClassifier, *arrays: np.ndarray) -> int:
    """Units that answering every input of ``arrays`` would cost: only inputs neither
    cached nor repeated are paid for."""
    xs = [np.asarray(a, np.float32).reshape((-1, *victim.input_shape)) for a in arrays if len(a)]
    if not xs:
        return 0
    return (
        int(victim.client.uncached(victim.model_id, np.concatenate(xs)).sum()) * victim.info.price
    )


def ensure_budget(victim: RemoteClassifier, budget: int, need: int, who: str) -> int:
    """Refuse (``BudgetExhausted``, nothing sent) when ``need`` units exceed what the attack
    may spend (its ``budget``, capped by the client's remaining budget)."""
    allowed = check_budget(budget, victim)
    if need > allowed:
        raise BudgetExhausted(
            f"{who} needs {need} units ({need // max(victim.info.price, 1)} queries at price "
            f"{victim.info.price}) but may spend {allowed}; nothing was spent",
            local=True,
            requested=need,
            remaining=allowed,
        )
    return allowed


# -- the attack classes -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A parameter value as JSON-safe data (nested dataclasses as dicts, tuples as lists)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    return value


class Attack:
    """Base of every attack (see the module docstring)."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    reveals: ClassVar[str] = "label"  # the least the output policy must reveal

    def needs(self) -> str:
        """What the policy must reveal for these parameters (default: ``reveals``)."""
        return self.reveals

    @property
    def params(self) -> dict[str, Any]:
        """The constructor parameters, as JSON-safe data."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self) if f.init}


class ExtractionAttack(Attack):
    kind: ClassVar[str] = "extraction"

    def extract(
        self,
        victim: RemoteClassifier,
        pool: Pool,
        budget: int,
        on_checkpoint: Checkpoint | None = None,
        progress: bool = True,
    ) -> ExtractionResult:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class MembershipRun:
    """One ``infer`` call: the victim, the data, the meter, and what the steps record."""

    attack: str
    victim: RemoteClassifier
    targets: Pool
    aux: Pool | None
    meter: SpendMeter
    progress: bool
    timeline: list[TimelineRow] = field(default_factory=list)
    artefacts: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int:
        return self.victim.num_classes

    def mark(self, phase: str, **stats: Any) -> None:
        """A timeline row for the step just finished."""
        self.timeline.append(
            TimelineRow(self.meter.spent, round(self.meter.seconds, 3), phase=phase, stats=stats)
        )

    @contextlib.contextmanager
    def phase(self, step: str) -> Iterator[None]:
        """Bill what is bought inside to ``<attack>`` and ``<attack>/<step>``."""
        client = self.victim.client
        with client.phase(self.attack), client.phase(f"{self.attack}/{step}"):
            yield

    def query_pool(self, pool: Pool, step: str) -> Answers:
        """Every record of ``pool`` asked once, in order (cached answers are free)."""
        with self.phase(step):
            return pool.query(self.victim, np.arange(len(pool)), progress=self.progress)

    def query(self, x: np.ndarray, step: str) -> Answers:
        with self.phase(step):
            return self.victim.query(x, self.progress)

    def aux_labels(self, from_victim: bool) -> np.ndarray:
        """The labels shadows are trained on: the attacker's own (free), or the victim's
        answers on ``aux`` (one query per record, step ``aux-labels``)."""
        if not from_victim:
            if self.aux.y is None:
                raise ValueError("aux has no labels: give aux.y or label_aux_with_victim=True")
            return self.aux.y
        labels = self.query_pool(self.aux, "aux-labels").labels
        self.mark("aux-labels", n=len(self.aux))
        return labels


class MembershipAttack(Attack):
    kind: ClassVar[str] = "membership"
    needs_target_labels: ClassVar[bool] = True  # the targets' true labels (targets.y)

    def infer(
        self,
        victim: RemoteClassifier,
        targets: Pool,
        aux: Pool | None = None,
        budget: int = 0,
        progress: bool = True,
    ) -> MembershipResult:
        """Score every target (higher = more likely a member of the victim's training set),
        spending at most ``budget`` units; refuse before spending when the policy, the data
        or the budget cannot serve the attack."""
        victim.require(self.needs(), self.name)
        if self.needs_target_labels and targets.y is None:
            raise ValueError("targets need their true labels (targets.y)")
        self.check_aux(aux)
        learn_server_budget(victim)
        meter = SpendMeter(victim)
        ensure_budget(
            victim,
            budget,
            cost_of(victim, targets.x, *self.extra_inputs(victim, targets, aux)),
            self.name,
        )
        run = MembershipRun(self.name, victim, targets, aux, meter, progress)
        run.artefacts["policy"] = victim.info.policy.to_dict()
        calibration = self.calibrate(run)
        answers = run.query_pool(targets, "targets")
        run.mark("targets", n=len(targets))
        scores, threshold = self.score(run, answers, calibration)
        scores = np.asarray(scores, np.float64)
        return MembershipResult(
            attack=self.name,
            params=self.params,
            queries=meter.spent,
            seconds=meter.seconds,
            spend_by_phase=meter.by_phase(),
            timeline=run.timeline,
            artefacts=run.artefacts,
            scores=scores,
            predictions=scores >= threshold,
            threshold=float(threshold),
        )

    # -- what a subclass writes -----------------------------------------------------------------

    def check_aux(self, aux: Pool | None) -> None:
        """Refuse auxiliary data the attack cannot use (default: any is fine)."""

    def extra_inputs(
        self, victim: RemoteClassifier, targets: Pool, aux: Pool | None
    ) -> list[np.ndarray]:
        """Inputs the run will buy besides the targets (for the budget check)."""
        return []

    def calibrate(self, run: MembershipRun) -> Any:
        """Before the targets are asked: shadows, thresholds, attack models."""
        return None

    def score(
        self, run: MembershipRun, answers: Answers, calibration: Any
    ) -> tuple[np.ndarray, float]:
        """The targets' scores and the threshold of the attack's own decision
        (member iff score >= threshold)."""
        raise NotImplementedError


class ShadowMembershipAttack(MembershipAttack):
    """A membership attack calibrated on shadow models trained on the attacker's ``aux``
    data. A subclass declares the fields this relies on (with its paper's defaults):
    ``n_shadows``, ``shadow_arch`` (None: the attacker's default for the input shape),
    ``shadow_fit``, ``match_policy`` (read shadow answers through the victim's output
    policy) and ``seed``."""

    n_shadows: int
    shadow_arch: str | dict | None
    shadow_fit: FitConfig
    match_policy: bool
    seed: int

    def train_shadow_set(
        self, run: MembershipRun, y: np.ndarray, eval_y: np.ndarray | None = None
    ) -> ShadowSet:
        """Shadows each on a random half of ``run.aux`` labelled ``y``; their summary goes in
        the artefacts."""
        victim = run.victim
        arch = self.shadow_arch or models.default_for(victim.input_shape)
        shadows = train_shadows(
            run.aux.x,
            y,
            self.n_shadows,
            victim.input_shape,
            run.num_classes,
            arch,
            self.shadow_fit,
            self.seed,
            eval_y=eval_y,
        )
        sset = ShadowSet(
            shadows,
            arch,
            victim.info.policy if self.match_policy else None,
            np.random.default_rng(self.seed + 7),
        )
        run.artefacts["shadow"] = sset.summary()
        return sset
