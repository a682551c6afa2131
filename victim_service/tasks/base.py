"""What the service needs of a task, so that the predict route, key issuing, the CLI and
training never branch on a task's name.

A task (classification, captioning, ...) is one module beside this one holding a ``Task``
subclass, registered by name in ``victim_service.tasks``. It says how a model of the
task is loaded from its store folder, which output policies it accepts, and how a batch
is answered under one. Input decoding and validation, metering and the shared answer
fields (``model``, ``policy``, ``usage``) stay in the app.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from ..card import Card


class PolicyError(ValueError):
    """A policy string that does not parse or does not make sense for the task."""


class Policy(Protocol):
    """A parsed output policy. ``str()`` is its canonical text (what keys store and answers
    echo); ``describe()`` is what GET /v1/models shows as ``output_policy``."""

    def __str__(self) -> str: ...

    def describe(self) -> dict[str, Any]: ...


class Predictor(Protocol):
    """A loaded model; each task adds the method its ``infer`` calls."""

    card: Card


class Task(ABC):
    name: ClassVar[str]  # the card's ``task`` field

    @abstractmethod
    def load(self, card: Card, folder: Path) -> Predictor:
        """The model of ``card`` from its store folder (weights via victim_service.weights)."""

    @abstractmethod
    def parse_policy(self, text: str) -> Policy:
        """Parse a policy string; raise PolicyError when the task does not accept it."""

    @abstractmethod
    def infer(self, predictor: Predictor, x: np.ndarray, policy: Policy) -> Any:
        """Run the model on a validated batch. Kept apart from ``encode`` because the app
        times it and refunds the charge when it fails. Takes the policy because some
        answers change what must be computed (beam candidates, say)."""

    @abstractmethod
    def encode(self, output: Any, policy: Policy, rng: np.random.Generator) -> dict[str, Any]:
        """The task's answer fields (JSON-safe) for ``infer``'s output under ``policy``;
        ``rng`` drives randomised policies (noise)."""
