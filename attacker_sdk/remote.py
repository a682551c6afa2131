"""Views of one remote model that expose exactly what its output policy gives, and say so.

``RemoteClassifier.reveals`` is ``"probabilities"``, ``"topk"`` or ``"label"``; methods that
need more than the policy gives raise :class:`PolicyUnsupported` before any query is sent.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .answers import Answers, ModelInfo, answers_to_soft
from .errors import PolicyUnsupported

if TYPE_CHECKING:  # the client builds views; a view only calls it back
    from .client import Client

REVEAL_ORDER = {"label": 0, "topk": 1, "probabilities": 2}


class RemoteClassifier:
    def __init__(self, client: Client, model_id: str):
        self.client, self.model_id = client, model_id
        self.info: ModelInfo = client.model(model_id)
        if self.info.task != "classification":
            raise PolicyUnsupported(f"{model_id} is a {self.info.task} model, not a classifier")

    @property
    def reveals(self) -> str:
        return self.info.policy.reveals

    @property
    def num_classes(self) -> int:
        return self.info.num_classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.info.input_shape

    def gives(self, need: str) -> bool:
        """Whether the policy reveals at least ``need`` (label < topk < probabilities)."""
        return REVEAL_ORDER[self.reveals] >= REVEAL_ORDER[need]

    def require(self, need: str, who: str) -> None:
        if not self.gives(need):
            raise PolicyUnsupported(
                f"{who} needs {need} but model {self.model_id} answers under policy "
                f"{self.info.policy.policy!r} (reveals {self.reveals}); nothing was spent"
            )

    def query(self, x: np.ndarray, progress: bool = False) -> Answers:
        return self.client.predict(self.model_id, x, progress=progress)

    def predict_proba(self, x: np.ndarray, progress: bool = False) -> np.ndarray:
        self.require("probabilities", "predict_proba")
        return self.query(x, progress).probabilities

    def top1(self, x: np.ndarray, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(labels, scores of those labels); needs at least top-1 scores."""
        self.require("topk", "top1")
        a = self.query(x, progress)
        if a.probabilities is not None:
            return a.labels, a.probabilities[np.arange(len(a)), a.labels]
        return a.top_labels[:, 0], a.top_scores[:, 0]

    def soft_labels(self, x: np.ndarray, progress: bool = False) -> np.ndarray:
        """The best probability vector the policy allows: the probabilities; or the top-k
        scores with the rest of the mass spread evenly over the unseen classes; or one-hot."""
        return answers_to_soft(self.query(x, progress), self.num_classes)
