"""The tasks the service can host, by name (a card's ``task`` field).

Each task is one module here (``classification.py``; ``captioning.py`` next) with a
``Task`` subclass (see ``base``): how its models load, which output policies it accepts,
how its answers are encoded. Adding a task = adding its module and one entry below.
"""

from __future__ import annotations

from .base import Policy, PolicyError, Predictor, Task
from .classification import Classification

__all__ = ["DEFAULT", "Policy", "PolicyError", "Predictor", "Task", "get", "names"]

TASKS: dict[str, Task] = {t.name: t for t in (Classification(),)}
DEFAULT = Classification.name


def get(name: str) -> Task:
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; this service hosts {names()}") from None


def names() -> list[str]:
    return sorted(TASKS)
