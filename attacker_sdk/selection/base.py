"""What every active-learning selection strategy sees, and the helpers they share.

A strategy picks ``k`` distinct rows among ``candidates`` (row indices into the pool's
input array ``x``) from the copy model's view of them, and returns their **positions in
``candidates``** (``candidates[positions]`` are the pool rows to query) with its own
statistics, as one :class:`Selection`. The copy's
probabilities are computed lazily and at most once per row per round (:class:`ProbCache`),
so a pre-filter, a strategy and an MI step in the same round share one forward pass.

Strategies follow the ``sss/`` layer of ActiveThief (Pal et al., AAAI 2020) and MExMI's
``subset_selection_strategy/`` (REFERENCE_SPECS 1-2): each takes the copy's outputs and
returns k indices; ours are vectorised and never hard-code the class count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..training import predict_proba


class ProbCache:
    """The copy model's softmax outputs on rows of ``x``, computed on demand and kept.

    One cache belongs to one copy model: build a new one whenever the copy changes.
    """

    def __init__(self, model: nn.Module, x: np.ndarray, batch_size: int = 1024):
        self.model, self.x, self.batch_size = model, x, batch_size
        self.have = np.zeros(len(x), bool)
        self._store: np.ndarray | None = None
        self.computed = 0  # rows pushed through the model (for cost reports)

    def __call__(self, idx: np.ndarray) -> np.ndarray:
        idx = np.asarray(idx, dtype=np.int64)
        missing = np.unique(idx[~self.have[idx]])
        if len(missing):
            p = predict_proba(self.model, self.x[missing], self.batch_size).astype(np.float32)
            if self._store is None:
                self._store = np.zeros((len(self.x), p.shape[1]), np.float32)
            self._store[missing] = p
            self.have[missing] = True
            self.computed += len(missing)
        if self._store is None:  # nothing asked yet
            return np.zeros((0, 0), np.float32)
        return self._store[idx]


@dataclass
class Context:
    """One selection round: the copy ``model``, the pool inputs ``x`` (all rows), the
    ``candidates`` it may pick from, the already ``labelled`` rows (k-center's initial
    centres), a random generator, the inputs' value range (DeepFool clips to it) and the
    shared :class:`ProbCache`."""

    model: nn.Module | None
    x: np.ndarray
    candidates: np.ndarray
    labelled: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0))
    input_range: tuple[float | None, float | None] = (None, None)
    probs: ProbCache | None = None

    def __post_init__(self):
        self.candidates = np.asarray(self.candidates, dtype=np.int64)
        self.labelled = np.asarray(self.labelled, dtype=np.int64)
        if self.probs is None and self.model is not None:
            self.probs = ProbCache(self.model, self.x)

    def candidate_probs(self) -> np.ndarray:
        self._need_model()
        return self.probs(self.candidates)

    def labelled_probs(self) -> np.ndarray:
        self._need_model()
        return self.probs(self.labelled)

    def restrict(self, positions: np.ndarray) -> Context:
        """The same round with only ``candidates[positions]`` left (probabilities shared)."""
        return Context(
            self.model,
            self.x,
            self.candidates[np.asarray(positions, np.int64)],
            self.labelled,
            self.rng,
            self.input_range,
            self.probs,
        )

    def _need_model(self) -> None:
        if self.model is None:
            raise ValueError("this strategy needs the copy model")


@dataclass
class Selection:
    """What a strategy picked: ``positions`` into ``ctx.candidates`` and the figures of how
    it picked them (e.g. how many candidates DeepFool ran on)."""

    positions: np.ndarray
    stats: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.positions)


class Strategy:
    """Base class: ``select(ctx, k)`` -> a :class:`Selection` of ``min(k, n_candidates)``
    distinct positions into ``ctx.candidates``."""

    name = "strategy"

    def select(self, ctx: Context, k: int) -> Selection:
        k = check_k(k, len(ctx.candidates))
        if k == len(ctx.candidates):
            return Selection(np.arange(k, dtype=np.int64))
        if k == 0:
            return Selection(np.zeros(0, np.int64))
        out = self._select(ctx, k)
        out = out if isinstance(out, Selection) else Selection(out)
        out.positions = np.asarray(out.positions, dtype=np.int64)
        assert len(out) == k and len(np.unique(out.positions)) == k, (
            f"{self.name} returned {len(out)} positions for k={k}"
        )
        return out

    def _select(
        self, ctx: Context, k: int
    ) -> Selection | np.ndarray:  # pragma: no cover - abstract
        """Positions (or a :class:`Selection` when the strategy has figures to report)."""
        raise NotImplementedError

    def describe(self) -> dict:
        return {"name": self.name}


def check_k(k: int, n: int) -> int:
    if k < 0:
        raise ValueError("k must be >= 0")
    return min(int(k), int(n))


def top_k(scores: np.ndarray, k: int, largest: bool = True) -> np.ndarray:
    """Positions of the ``k`` largest (or smallest) scores, best first; ties go to the
    lower position (stable), so results are reproducible."""
    scores = np.asarray(scores, dtype=np.float64)
    k = check_k(k, len(scores))
    if k == 0:
        return np.zeros(0, np.int64)
    s = -scores if largest else scores
    s = np.where(np.isnan(s), np.inf, s)
    if k < len(s):
        part = np.argpartition(s, k - 1)[:k]
        # argpartition is not stable on ties at the boundary: resolve them by position
        kth = s[part].max()
        inside = np.flatnonzero(s < kth)
        ties = np.flatnonzero(s == kth)[: k - len(inside)]
        part = np.concatenate([inside, ties])
    else:
        part = np.arange(len(s))
    order = np.lexsort((part, s[part]))
    return part[order].astype(np.int64)


def as_tensor(x: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32))
