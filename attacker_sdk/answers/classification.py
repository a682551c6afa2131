"""Classification answers: a label always, scores where the output policy allows
(``probabilities``: the whole vector; ``topk:k`` / ``top1``: the k best (label, score) pairs)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .base import answer_type


@dataclass(frozen=True)
class Answer:
    """What the service said about one input."""

    task: ClassVar[str] = "classification"

    label: int
    probabilities: np.ndarray | None = None  # (K,) float32 when the policy reveals them
    top_labels: tuple[int, ...] | None = None  # top-k when the policy reveals them
    top_scores: tuple[float, ...] | None = None

    def to_record(self) -> dict[str, Any]:
        # float32 -> Python float is exact, and back to float32 gives the same bits
        return {
            "label": int(self.label),
            "probabilities": None
            if self.probabilities is None
            else np.asarray(self.probabilities, np.float32).tolist(),
            "top": None
            if self.top_labels is None
            else [list(self.top_labels), list(self.top_scores)],
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Answer:
        probs, top = record.get("probabilities"), record.get("top")
        return cls(
            int(record["label"]),
            None if probs is None else np.asarray(probs, np.float32),
            None if top is None else tuple(int(v) for v in top[0]),
            None if top is None else tuple(float(v) for v in top[1]),
        )


def parse(body: dict) -> list[Answer]:
    """One :class:`Answer` per input of a classification predict body."""
    probs, top = body.get("probabilities"), body.get("top")
    out = []
    for i, label in enumerate(body["labels"]):
        p = None if probs is None else np.asarray(probs[i], dtype=np.float32)
        tl = ts = None
        if top is not None:
            tl = tuple(int(e["label"]) for e in top[i])
            ts = tuple(float(e["score"]) for e in top[i])
        out.append(Answer(int(label), p, tl, ts))
    return out


@dataclass
class Answers:
    """A batch of answers in the order asked. ``probabilities`` / ``top_*`` are None when
    the policy does not reveal them."""

    labels: np.ndarray
    probabilities: np.ndarray | None
    top_labels: np.ndarray | None
    top_scores: np.ndarray | None
    policy: str
    charged: int  # units paid by this call (0 when everything came from the cache)
    from_cache: np.ndarray  # bool per input

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def collect(
        cls, answers: list[Answer], policy: str, charged: int, from_cache: np.ndarray
    ) -> Answers:
        labels = np.array([a.label for a in answers], dtype=np.int64)
        probs = tops_l = tops_s = None
        if answers and answers[0].probabilities is not None:
            probs = np.stack([a.probabilities for a in answers]).astype(np.float32)
        if answers and answers[0].top_labels is not None:
            k = min(len(a.top_labels) for a in answers)
            tops_l = np.array([a.top_labels[:k] for a in answers], dtype=np.int64)
            tops_s = np.array([a.top_scores[:k] for a in answers], dtype=np.float32)
        return cls(labels, probs, tops_l, tops_s, policy, charged, from_cache)


def answers_to_soft(a: Answers, num_classes: int) -> np.ndarray:
    """The best probability vector each answer allows: the probabilities (renormalised);
    or the top-k scores with the rest of the mass spread evenly over the unseen classes;
    or one-hot under ``label``. A row whose revealed scores carry no mass at all (e.g. every
    score rounded to 0) falls back to one-hot on its label, which is always answered."""
    n = len(a)
    if a.probabilities is not None:
        soft = np.clip(a.probabilities.astype(np.float32), 0, None)
    elif a.top_labels is not None:
        k = a.top_labels.shape[1]
        rest = np.clip(1.0 - a.top_scores.sum(1), 0, None) / max(num_classes - k, 1)
        soft = (
            np.repeat(rest.astype(np.float32)[:, None], num_classes, axis=1)
            if k < num_classes
            else np.zeros((n, num_classes), np.float32)
        )
        np.put_along_axis(soft, a.top_labels, a.top_scores, axis=1)
    else:
        soft = np.zeros((n, num_classes), np.float32)
    empty = soft.sum(1) <= 0
    soft[empty] = 0.0
    soft[np.flatnonzero(empty), a.labels[empty]] = 1.0
    return soft / np.maximum(soft.sum(1, keepdims=True), 1e-12)


answer_type("classification", parse, Answer.from_record, Answers.collect)
