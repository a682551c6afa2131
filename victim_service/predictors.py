"""Loaded models that answer ``predict_proba``: the only thing the API needs of a model."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from .card import Card

TORCH_WEIGHTS = "weights.pt"
XGB_WEIGHTS = "model.json"


class Predictor(Protocol):
    card: Card

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """(n, *input_shape) float32 -> (n, num_classes) float32 probabilities."""


class TorchPredictor:
    def __init__(self, card: Card, module, chunk: int = 512):
        import torch

        self.card = card
        self.module = module.eval()
        self.chunk = chunk
        self._torch = torch

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        torch = self._torch
        xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        with torch.inference_mode():
            out = [torch.softmax(self.module(xt[i : i + self.chunk]), 1) for i in range(0, len(xt), self.chunk)]
        return torch.cat(out).numpy()


class XGBoostPredictor:
    def __init__(self, card: Card, booster):
        self.card = card
        self.booster = booster

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = self.booster.inplace_predict(np.asarray(x, dtype=np.float32).reshape(len(x), -1))
        p = np.asarray(p, dtype=np.float32)
        if p.ndim == 1:  # binary:logistic gives P(class 1) only
            p = np.stack([1.0 - p, p], axis=1)
        return p


def load_predictor(folder: Path) -> Predictor:
    card = Card.load(folder)
    if card.framework == "xgboost":
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(str(folder / XGB_WEIGHTS))
        booster.set_param({"nthread": 1})
        return XGBoostPredictor(card, booster)
    import torch

    from . import architectures

    module = architectures.build(card.architecture, card.input_spec["shape"], card.num_classes)
    if card.dp is not None:
        from .training.dp import fix_for_dp

        module = fix_for_dp(module)
    state = torch.load(folder / TORCH_WEIGHTS, map_location="cpu", weights_only=True)
    module.load_state_dict(state)
    return TorchPredictor(card, module)
