"""The model card: everything the service (and a curious operator) needs to know about a
hosted model, stored as ``store/<model-id>/card.json``. Membership ground truth is never
written here: the service reads the store, and the service must not know it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

CARD_FILE = "card.json"
TASKS = ("classification", "captioning")


@dataclass
class ServingSpec:
    """How the model is offered: default output policy (keys may override) and price."""

    policy: str = "probabilities"
    price: int = 1


@dataclass
class Card:
    id: str
    task: str
    input_spec: dict[str, Any]  # shape (per sample), dtype, min, max
    class_names: list[str]
    architecture: dict[str, Any]  # {"name", "params"}
    framework: str  # "torch" | "xgboost"
    train_accuracy: float
    test_accuracy: float
    train_size: int
    data_hash: str
    seed: int
    recipe: dict[str, Any] = field(default_factory=dict)
    dp: dict[str, Any] | None = None  # epsilon, delta, noise multiplier when DP-SGD was used
    training_seconds: float = 0.0
    epochs_run: int = 0
    created: str = ""
    serving: ServingSpec = field(default_factory=ServingSpec)
    description: str = ""

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}")
        if isinstance(self.serving, dict):
            self.serving = ServingSpec(**self.serving)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Card:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def save(self, folder: Path) -> None:
        tmp = folder / (CARD_FILE + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2))
        tmp.replace(folder / CARD_FILE)

    @classmethod
    def load(cls, folder: Path) -> Card:
        return cls.from_dict(json.loads((folder / CARD_FILE).read_text()))

    def public(self) -> dict[str, Any]:
        """What an API client may see: no recipe, seed, data hash or accuracy."""
        return {
            "id": self.id,
            "task": self.task,
            "input_spec": self.input_spec,
            "class_names": self.class_names,
            "num_classes": self.num_classes,
            "description": self.description,
        }
