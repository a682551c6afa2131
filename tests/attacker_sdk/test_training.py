"""Copy/shadow fitting: early stopping and ActiveThief's loss-floor rule."""

import numpy as np
import pytest
import torch
from torch import nn

from attacker_sdk import models
from attacker_sdk.training import FitConfig, fit


def _frozen_run(floor: float | None) -> int:
    # lr 0: validation agreement never improves, so only the stopping rule decides the length.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4)).astype(np.float32)
    y = rng.integers(0, 3, 80)
    config = FitConfig(epochs=12, batch_size=16, lr=0.0, patience=2, patience_loss_floor=floor)
    return len(fit(nn.Linear(4, 3), x, y, config, num_classes=3).history)


@pytest.mark.parametrize("floor, epochs", [(None, 3), (1e9, 3), (0.0, 12)])
def test_patience_does_not_run_while_loss_is_above_the_floor(floor, epochs):
    # The loss of an untrained 3-class model is about log 3 = 1.1: above a floor of 0 the
    # copy trains every epoch; below a floor of 1e9 patience stops it as usual.
    assert _frozen_run(floor) == epochs


def test_stopping_keeps_the_best_epoch():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    result = fit(
        nn.Linear(5, 2),
        x,
        y,
        FitConfig(epochs=20, batch_size=20, lr=0.05, patience=3),
        num_classes=2,
    )
    best = max(r["val_agreement"] for r in result.history)
    assert result.val_agreement == best
    assert result.history[result.best_epoch - 1]["val_agreement"] == best


def test_seeded_build_ignores_and_keeps_the_global_generator():
    a = models.build("cnn", (3, 32, 32), 10, seed=5)
    torch.rand(100)  # whatever ran before must not change a seeded copy's initial weights
    b = models.build("cnn", (3, 32, 32), 10, seed=5)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    torch.manual_seed(1)
    expected = torch.rand(3)
    torch.manual_seed(1)
    models.build("cnn", (3, 32, 32), 10, seed=5)
    assert torch.equal(torch.rand(3), expected)
