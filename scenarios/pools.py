"""Composing the attacker's data from scenario sources, with the ground truth kept beside
it (and never handed to the attack): which rows are the victim's training members."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import datasets
from .spec import ScenarioError, SourceSpec
from .victims import BuiltVictim


@dataclass
class Composed:
    x: np.ndarray
    y: np.ndarray  # true labels (an MI attacker holds its records' labels; extraction ignores them)
    is_member: np.ndarray  # ground truth: in the victim's training set
    source: np.ndarray  # which source each row came from (for reports)
    reference: np.ndarray  # rows the attacker is told are non-members

    def __len__(self) -> int:
        return len(self.y)

    @classmethod
    def concat(cls, parts: list[Composed]) -> Composed:
        if not parts:
            raise ScenarioError("empty pool")
        return cls(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("x", "y", "is_member", "source", "reference")
            )
        )


class Allocator:
    """Draws disjoint rows for one attack run (seeded), so pool, targets and aux never share
    a sample, and the same seed gives the same draw."""

    def __init__(self, victims: dict[str, BuiltVictim], seed: int):
        self.victims = victims
        self.rng = np.random.default_rng(seed)
        self.used: dict[str, set[int]] = {}  # dataset content hash -> rows drawn

    def _rows_of_part(self, victim: BuiltVictim, part: str) -> np.ndarray:
        t = victim.truth
        return {
            "members": t.members,
            "test": t.test,
            "spare": np.setdiff1d(t.non_members, t.test),
            "non_members": t.non_members,
        }[part]

    def _take(self, key: str, rows: np.ndarray, n: int | None, what: str) -> np.ndarray:
        used = self.used.setdefault(key, set())
        free = np.array([r for r in rows if r not in used], dtype=np.int64)
        if n is None:
            n = len(free)
        if n > len(free):
            raise ScenarioError(f"{what}: asked for {n} rows but only {len(free)} are left")
        pick = self.rng.permutation(free)[:n]
        used.update(pick.tolist())
        return pick

    def draw(self, src: SourceSpec, default_victim: str) -> Composed:
        victim = self.victims[src.victim or default_victim]
        if src.part is not None:
            ds, rows = victim.dataset, self._rows_of_part(victim, src.part)
            pick = self._take(
                ds.content_hash, rows, src.n, f"source {src.label()} of {victim.spec.id}"
            )
            members = np.isin(pick, victim.truth.members)
        else:
            ds = datasets.load(src.dataset["name"], **src.dataset.get("params", {}))
            if ds.input_spec["shape"] != victim.dataset.input_spec["shape"]:
                raise ScenarioError(
                    f"source {src.label()}: inputs of shape {ds.input_spec['shape']} do not fit "
                    f"victim {victim.spec.id} ({victim.dataset.input_spec['shape']})"
                )
            pick = self._take(ds.content_hash, np.arange(len(ds.y)), src.n, f"source {src.label()}")
            # the same dataset as the victim's: membership is real, not assumed false
            members = (
                np.isin(pick, victim.truth.members)
                if ds.content_hash == victim.dataset.content_hash
                else np.zeros(len(pick), bool)
            )
        if src.reference and members.any():
            raise ScenarioError(
                f"source {src.label()} is declared 'reference' (known non-members) "
                "but holds members"
            )
        return Composed(
            ds.x[pick],
            ds.y[pick],
            members,
            np.full(len(pick), src.label(), dtype=object),
            np.full(len(pick), src.reference),
        )

    def compose(self, sources: list[SourceSpec], default_victim: str) -> Composed:
        return Composed.concat([self.draw(s, default_victim) for s in sources])

    def targets(self, spec: dict, victim_id: str) -> Composed:
        """MI targets: ``members`` training rows and ``non_members`` rows of ``from``
        (default: any non-member part)."""
        part = spec.get("from", "non_members")
        m = Composed.concat(
            [
                self.draw(SourceSpec(part="members", n=spec.get("members")), victim_id),
                self.draw(SourceSpec(part=part, n=spec.get("non_members")), victim_id),
            ]
        )
        order = self.rng.permutation(len(m))  # members first would leak through ordering
        return Composed(
            m.x[order], m.y[order], m.is_member[order], m.source[order], m.reference[order]
        )
