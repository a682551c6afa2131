"""The artifact store: one folder per model, ``<root>/<model-id>/{card.json, weights}``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from . import tasks, weights
from .card import CARD_FILE, Card

MODEL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class ArtifactStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / CARD_FILE).is_file())

    def __contains__(self, model_id: str) -> bool:
        return (self.root / model_id / CARD_FILE).is_file()

    def card(self, model_id: str) -> Card:
        return Card.load(self.root / model_id)

    def load(self, model_id: str) -> tasks.Predictor:
        """The model ready to answer, loaded by its card's task."""
        folder = self.root / model_id
        card = Card.load(folder)
        return tasks.get(card.task).load(card, folder)

    def save(self, card: Card, model) -> Path:
        """Write weights then the card (the card last, so a half-written entry is invisible).
        ``model`` is an nn.Module or an xgboost Booster."""
        if not MODEL_ID.match(card.id):
            raise ValueError(f"model id {card.id!r} must match {MODEL_ID.pattern}")
        folder = self.root / card.id
        tmp = self.root / f".{card.id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        weights.save(card.framework, model, tmp)
        card.save(tmp)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.replace(folder)
        return folder

    def set_serving(
        self, model_id: str, policy: str | None = None, price: int | None = None
    ) -> Card:
        card = self.card(model_id)
        if policy is not None:
            card.serving.policy = policy
        if price is not None:
            card.serving.price = price
        card.save(self.root / model_id)
        return card
