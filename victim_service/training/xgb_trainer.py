"""XGBoost victims (SocInf's tabular targets)."""

from __future__ import annotations

import time

import numpy as np

from .recipe import Recipe
from .torch_trainer import TrainResult

XGB_DEFAULTS = {"n_estimators": 200, "max_depth": 6, "learning_rate": 0.1, "tree_method": "hist"}


def train_xgboost(x: np.ndarray, y: np.ndarray, num_classes: int, recipe: Recipe) -> TrainResult:
    import xgboost as xgb

    if recipe.dp is not None:
        raise ValueError("DP-SGD applies to torch models only, not XGBoost")
    params = {**XGB_DEFAULTS, **recipe.xgb}
    clf = xgb.XGBClassifier(
        **params,
        objective="binary:logistic" if num_classes == 2 else "multi:softprob",
        random_state=recipe.seed,
        n_jobs=2,
    )
    t0 = time.perf_counter()
    clf.fit(x.reshape(len(x), -1), y)
    return TrainResult(
        model=clf.get_booster(),
        epochs_run=params["n_estimators"],
        seconds=time.perf_counter() - t0,
        member_indices=np.arange(len(x)),
    )
