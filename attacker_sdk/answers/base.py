"""Task-neutral value types of the prediction API, as the attacker sees them.

The HTTP client, the cache, the journal, the pools and the attacks all speak these types;
none of them needs the client to read an answer. What is specific to a task (how one
answer is parsed from a predict body, stored as a JSON record, and gathered into a batch)
lives in one module per task beside this one (``classification.py``; captioning adds its
own), registered with :func:`answer_type`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np


@dataclass(frozen=True)
class PolicyInfo:
    """What the output policy in force for this key reveals (``GET /v1/models/{id}``'s
    ``output_policy``). ``reveals`` is task-specific: ``probabilities`` / ``topk`` / ``label``
    for classification."""

    policy: str
    reveals: str
    k: int | None = None
    decimals: int | None = None
    noise_sigma: float | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict:
        return {
            "policy": self.policy,
            "reveals": self.reveals,
            "k": self.k,
            "decimals": self.decimals,
            "noise_sigma": self.noise_sigma,
        }

    @classmethod
    def from_json(cls, d: dict) -> PolicyInfo:
        return cls(
            d["policy"],
            d["reveals"],
            d.get("k"),
            d.get("decimals"),
            d.get("noise_sigma"),
            raw=dict(d),
        )


@dataclass(frozen=True)
class ModelInfo:
    """One hosted model as ``GET /v1/models/{id}`` describes it to this key."""

    id: str
    task: str
    input_shape: tuple[int, ...]
    input_dtype: str
    input_range: tuple[float | None, float | None]
    class_names: tuple[str, ...]
    policy: PolicyInfo
    price: int
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @classmethod
    def from_json(cls, d: dict) -> ModelInfo:
        spec = d["input_spec"]
        return cls(
            id=d["id"],
            task=d["task"],
            input_shape=tuple(spec["shape"]),
            input_dtype=spec.get("dtype", "float32"),
            input_range=(spec.get("min"), spec.get("max")),
            class_names=tuple(d.get("class_names", ())),
            policy=PolicyInfo.from_json(d["output_policy"]),
            price=int(d.get("price_per_query", 1)),
            raw=d,
        )


class TaskAnswer(Protocol):
    """What the service said about one input, for one task. Stored in the cache as is and
    in the journal as :meth:`to_record` (JSON), so every task resumes alike."""

    task: ClassVar[str]

    def to_record(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class AnswerType:
    """How a task's answers are read and gathered: ``parse`` turns a predict body into one
    answer per input, ``from_record`` reads a journal record back, ``collect`` gathers the
    answers of one ``predict`` call into the task's batch type."""

    task: str
    parse: Callable[[dict], list]
    from_record: Callable[[dict], Any]
    collect: Callable[[list, str, int, np.ndarray], Any]


_TYPES: dict[str, AnswerType] = {}


def answer_type(task: str, parse: Callable, from_record: Callable, collect: Callable) -> AnswerType:
    """Register how answers of ``task`` are handled (one call per task module)."""
    if task in _TYPES:
        raise ValueError(f"answers of task {task!r} are registered twice")
    _TYPES[task] = AnswerType(task, parse, from_record, collect)
    return _TYPES[task]


def for_task(task: str) -> AnswerType:
    if task not in _TYPES:
        raise ValueError(
            f"this SDK cannot read answers of task {task!r}; it knows {sorted(_TYPES)}"
        )
    return _TYPES[task]


def to_record(answer: TaskAnswer) -> dict[str, Any]:
    """The JSON-safe journal record of one answer; it names its task."""
    return {"task": answer.task, **answer.to_record()}


def from_record(record: dict[str, Any]) -> Any:
    return for_task(record.get("task", "classification")).from_record(record)
