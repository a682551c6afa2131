"""Model weights on disk, by framework: the files of a store entry besides its card.

The store writes them whatever the task; a task's loader reads them back into the model
it builds from the card. Heavy imports (torch, xgboost) happen only when used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TORCH_WEIGHTS = "weights.pt"
XGB_WEIGHTS = "model.json"


def save(framework: str, model: Any, folder: Path) -> None:
    """Write ``model`` (an nn.Module, or an xgboost Booster for ``framework == "xgboost"``)."""
    if framework == "xgboost":
        model.save_model(str(folder / XGB_WEIGHTS))
        return
    import torch

    torch.save(model.state_dict(), folder / TORCH_WEIGHTS)


def load_torch_state(folder: Path) -> dict:
    """The state dict saved by ``save``, on CPU, tensors only (no pickled code)."""
    import torch

    return torch.load(folder / TORCH_WEIGHTS, map_location="cpu", weights_only=True)


def load_xgboost(folder: Path):
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(str(folder / XGB_WEIGHTS))
    return booster
