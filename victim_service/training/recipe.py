"""Training recipes: every knob of how a victim is trained, as a JSON-safe dataclass.

Training-time defences live here too (weight decay, augmentation, early stopping,
DP-SGD), so a scenario can compare a victim with and without them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .. import tasks


@dataclass(frozen=True)
class DPConfig:
    """DP-SGD through opacus. Give ``epsilon`` (noise found by the accountant) or
    ``noise_multiplier`` (epsilon reported after training)."""

    epsilon: float | None = 8.0
    delta: float = 1e-5
    max_grad_norm: float = 1.0
    noise_multiplier: float | None = None
    accountant: str = "prv"

    def __post_init__(self):
        if (self.epsilon is None) == (self.noise_multiplier is None):
            raise ValueError("DP needs exactly one of epsilon or noise_multiplier")
        if self.max_grad_norm <= 0 or not 0 < self.delta < 1:
            raise ValueError("DP needs max_grad_norm > 0 and 0 < delta < 1")


@dataclass(frozen=True)
class Recipe:
    epochs: int = 30
    batch_size: int = 128
    optimizer: str = "adam"  # adam | sgd
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str | None = None  # None | "cosine" | "step:<every>:<gamma>"
    augment: str | None = None  # None | "flip" | "crop" | "crop_flip"
    label_smoothing: float = 0.0
    early_stopping: int | None = None  # patience in epochs, on a validation split
    val_fraction: float = 0.1  # carved from the training data when early stopping has no val set
    dp: DPConfig | None = None
    seed: int = 0
    xgb: dict[str, Any] = field(default_factory=dict)  # n_estimators, max_depth, learning_rate, ...
    task: str = tasks.DEFAULT  # written to the card: how the service loads and answers the model

    def __post_init__(self):
        if self.task not in tasks.names():
            raise ValueError(f"task must be one of {tasks.names()}, not {self.task!r}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be adam or sgd, not {self.optimizer!r}")
        if self.augment not in (None, "flip", "crop", "crop_flip"):
            raise ValueError(f"augment must be None, flip, crop or crop_flip, not {self.augment!r}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("epochs, batch_size and lr must be positive")
        if self.schedule is not None and not (
            self.schedule == "cosine" or self.schedule.startswith("step:")
        ):
            raise ValueError(
                f"schedule must be None, cosine or step:<every>:<gamma>, not {self.schedule!r}"
            )
        if not 0 < self.val_fraction < 1:
            raise ValueError("val_fraction must lie in (0, 1)")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> Recipe:
        d = dict(d or {})
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown recipe fields: {sorted(unknown)}")
        if isinstance(d.get("dp"), dict):
            d["dp"] = DPConfig(**d["dp"])
        return cls(**d)
