"""Classification: models answer ``predict_proba(x) -> (n, K)``; answers always carry the
labels and, as the key's output policy allows, probabilities or the top-k scores.

Output policies (API-layer defences). A policy string is one or more parts joined by ``+``:

- ``probabilities``: the full probability vector;
- ``round:<d>``: probabilities rounded to d decimals;
- ``noise:<sigma>``: Gaussian noise on the probabilities, clipped and renormalised; the
  label stays the clean argmax (a defence that keeps utility for honest users);
- ``topk:<k>``: only the k best (label, score) pairs;
- ``top1``: ``topk:1``;
- ``label``: the label only.

Order of application does not depend on the order written: noise, then truncation
(top-k / label), then rounding, so ``top1+round:2`` and ``round:2+top1`` are one policy.
The SDK re-implements these semantics to simulate a policy on its own models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .. import weights
from ..card import Card
from .base import PolicyError, Task

# --- output policies: what an answer reveals

_PART = re.compile(
    r"^(probabilities|top1|label|round:(\d+)|topk:(\d+)|noise:([0-9]*\.?[0-9]+(?:e-?\d+)?))$"
)


@dataclass(frozen=True)
class OutputPolicy:
    reveal: str = "probabilities"  # probabilities | topk | label
    k: int | None = None  # for topk
    decimals: int | None = None
    sigma: float | None = None

    @classmethod
    def parse(cls, text: str) -> OutputPolicy:
        reveal, k, decimals, sigma = None, None, None, None
        parts = [p.strip() for p in str(text).split("+") if p.strip()]
        if not parts:
            raise PolicyError("empty output policy")
        for part in parts:
            m = _PART.match(part)
            if not m:
                raise PolicyError(
                    f"unknown policy part {part!r}: use probabilities, round:<d>, "
                    "topk:<k>, top1, label, noise:<sigma>"
                )
            if part.startswith("round:"):
                if decimals is not None:
                    raise PolicyError("round given twice")
                decimals = int(m.group(2))
                if decimals > 8:
                    raise PolicyError("round:<d> takes d <= 8")
            elif part.startswith("noise:"):
                if sigma is not None:
                    raise PolicyError("noise given twice")
                sigma = float(m.group(4))
            else:
                kind, kk = (
                    ("topk", int(m.group(3)))
                    if part.startswith("topk:")
                    else (("topk", 1) if part == "top1" else (part, None))
                )
                if kind == "topk" and kk < 1:
                    raise PolicyError("topk:<k> takes k >= 1")
                if reveal is not None and (reveal, k) != (kind, kk):
                    raise PolicyError(f"{part!r} conflicts with another reveal part in {text!r}")
                reveal, k = kind, kk
        reveal = reveal or "probabilities"
        if reveal == "label" and (decimals is not None or sigma is not None):
            raise PolicyError("label reveals no scores, so round/noise make no sense with it")
        return cls(reveal=reveal, k=k, decimals=decimals, sigma=sigma)

    def __str__(self) -> str:
        parts = []
        if self.reveal == "topk":
            parts.append("top1" if self.k == 1 else f"topk:{self.k}")
        elif self.reveal == "label" or (self.sigma is None and self.decimals is None):
            parts.append(self.reveal)
        if self.sigma is not None:
            parts.append(f"noise:{self.sigma:g}")
        if self.decimals is not None:
            parts.append(f"round:{self.decimals}")
        return "+".join(parts)

    def describe(self) -> dict:
        return {
            "policy": str(self),
            "reveals": self.reveal,
            "k": self.k,
            "decimals": self.decimals,
            "noise_sigma": self.sigma,
        }

    def apply(self, probs: np.ndarray, rng: np.random.Generator | None = None) -> dict:
        """Turn a (n, K) probability matrix into the answer fields
        ``labels``, ``probabilities`` and ``top``."""
        probs = np.asarray(probs, dtype=np.float64)
        labels = probs.argmax(1)
        if self.sigma:
            rng = rng or np.random.default_rng()
            probs = np.clip(probs + rng.normal(0.0, self.sigma, probs.shape), 0.0, None)
            s = probs.sum(1, keepdims=True)
            probs = np.where(s > 0, probs / np.where(s > 0, s, 1), 1.0 / probs.shape[1])
        answer = {"labels": labels.tolist(), "probabilities": None, "top": None}
        if self.reveal == "probabilities":
            p = np.round(probs, self.decimals) if self.decimals is not None else probs
            answer["probabilities"] = p.tolist()
        elif self.reveal == "topk":
            k = min(self.k, probs.shape[1])
            # stable order: highest score first, ties by lower label, clean argmax first for top1
            order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
            if k == 1:
                order = labels[:, None]
            scores = np.take_along_axis(probs, order, 1)
            if self.decimals is not None:
                scores = np.round(scores, self.decimals)
            answer["top"] = [
                [{"label": int(a), "score": float(b)} for a, b in zip(row_l, row_s)]
                for row_l, row_s in zip(order.tolist(), scores.tolist())
            ]
        return answer


# --- predictors: loaded models answering predict_proba


class ClassificationPredictor(Protocol):
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
            out = [
                torch.softmax(self.module(xt[i : i + self.chunk]), 1)
                for i in range(0, len(xt), self.chunk)
            ]
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


def wrap(card: Card, model) -> ClassificationPredictor:
    """A predictor around an in-memory model (just trained, or just loaded)."""
    if card.framework == "xgboost":
        return XGBoostPredictor(card, model)
    return TorchPredictor(card, model)


# --- the task, as the app, key issuing and the CLI see it


class Classification(Task):
    name = "classification"

    def load(self, card: Card, folder: Path) -> ClassificationPredictor:
        if card.framework == "xgboost":
            booster = weights.load_xgboost(folder)
            booster.set_param({"nthread": 1})  # one thread per gunicorn worker
            return wrap(card, booster)
        from .. import architectures

        module = architectures.build(card.architecture, card.input_spec["shape"], card.num_classes)
        if card.dp is not None:  # opacus-trained modules have their layers swapped
            from ..training.dp import fix_for_dp

            module = fix_for_dp(module)
        module.load_state_dict(weights.load_torch_state(folder))
        return wrap(card, module)

    def parse_policy(self, text: str) -> OutputPolicy:
        return OutputPolicy.parse(text)

    def infer(
        self, predictor: ClassificationPredictor, x: np.ndarray, policy: OutputPolicy
    ) -> np.ndarray:
        return predictor.predict_proba(x)

    def encode(
        self, output: np.ndarray, policy: OutputPolicy, rng: np.random.Generator
    ) -> dict[str, Any]:
        return policy.apply(output, rng)
