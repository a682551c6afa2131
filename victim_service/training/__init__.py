"""One recipe API for every victim: ``train_victim`` fits an architecture on arrays and
writes an artifact-store entry (weights + card)."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import architectures
from ..card import Card, ServingSpec
from ..store import ArtifactStore
from ..tasks import classification
from .recipe import DPConfig, Recipe
from .torch_trainer import TrainResult, train_torch
from .xgb_trainer import train_xgboost

__all__ = ["DPConfig", "Recipe", "TrainResult", "TrainedVictim", "train_model", "train_victim"]


@dataclass
class TrainedVictim:
    card: Card
    result: TrainResult


def train_model(
    architecture: str | dict[str, Any],
    x: np.ndarray,
    y: np.ndarray,
    num_classes: int,
    recipe: Recipe,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool = True,
    desc: str = "train",
) -> TrainResult:
    spec = architectures.normalise_spec(architecture)
    if spec["name"] == "xgboost":
        return train_xgboost(x, y, num_classes, recipe)
    if recipe.dp is not None and spec["name"] == "small_cnn":
        spec["params"].setdefault("norm", "group")
    module = architectures.build(spec, x.shape[1:], num_classes, seed=recipe.seed)
    if recipe.dp is not None:
        from .dp import fix_for_dp

        module = fix_for_dp(module)
    return train_torch(module, x, y, recipe, val=val, progress=progress, desc=desc)


def _proba(result: TrainResult, card: Card, x: np.ndarray) -> np.ndarray:
    return classification.wrap(card, result.model).predict_proba(x)


def train_victim(
    model_id: str,
    architecture: str | dict[str, Any],
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    class_names: list[str],
    recipe: Recipe | None = None,
    store: ArtifactStore | None = None,
    data_hash: str = "",
    input_range: tuple[float, float] = (0.0, 1.0),
    serving: ServingSpec | None = None,
    description: str = "",
    progress: bool = True,
) -> TrainedVictim:
    """Train on ``train``, score on ``train``/``test``, and (with a store) save the entry.
    Training and scoring are a classifier's (the only task registered so far); the card's
    task comes from the recipe.

    ``result.member_indices`` says which rows of ``train`` the model was fitted on; the
    caller (the scenario runner) keeps that as membership ground truth, outside the store.
    """
    recipe = recipe or Recipe()
    spec = architectures.normalise_spec(architecture)
    x, y = np.asarray(train[0], dtype=np.float32), np.asarray(train[1], dtype=np.int64)
    xt, yt = np.asarray(test[0], dtype=np.float32), np.asarray(test[1], dtype=np.int64)
    result = train_model(spec, x, y, len(class_names), recipe, progress=progress, desc=model_id)
    framework = "xgboost" if spec["name"] == "xgboost" else "torch"
    if framework == "torch" and recipe.dp is not None and spec["name"] == "small_cnn":
        spec["params"].setdefault("norm", "group")
    card = Card(
        id=model_id,
        task=recipe.task,
        input_spec={
            "shape": list(x.shape[1:]),
            "dtype": "float32",
            "min": float(input_range[0]),
            "max": float(input_range[1]),
        },
        class_names=list(class_names),
        architecture=spec,
        framework=framework,
        train_accuracy=0.0,
        test_accuracy=0.0,
        train_size=len(result.member_indices),
        data_hash=data_hash,
        seed=recipe.seed,
        recipe=recipe.to_dict(),
        dp=None
        if recipe.dp is None
        else {
            "epsilon": result.epsilon,
            "delta": recipe.dp.delta,
            "noise_multiplier": result.noise_multiplier,
            "max_grad_norm": recipe.dp.max_grad_norm,
        },
        training_seconds=round(result.seconds, 3),
        epochs_run=result.epochs_run,
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        serving=serving or ServingSpec(),
        description=description,
    )
    members = result.member_indices
    card.train_accuracy = float((_proba(result, card, x[members]).argmax(1) == y[members]).mean())
    card.test_accuracy = (
        float((_proba(result, card, xt).argmax(1) == yt).mean()) if len(xt) else float("nan")
    )
    if store is not None:
        store.save(card, result.model)
    return TrainedVictim(card=card, result=result)
