"""DP-SGD with opacus: module fixing (BatchNorm -> GroupNorm) and the private optimiser."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from .recipe import Recipe


def fix_for_dp(model: nn.Module) -> nn.Module:
    """Replace layers DP-SGD cannot use (BatchNorm mixes samples). The predictor applies the
    same fix when it rebuilds a DP-trained model, so saved weights load."""
    from opacus.validators import ModuleValidator

    return ModuleValidator.fix(model)


def make_private(model: nn.Module, opt, x: torch.Tensor, y: torch.Tensor, recipe: Recipe):
    from opacus import PrivacyEngine

    dp = recipe.dp
    loader = DataLoader(
        TensorDataset(x, y),
        batch_size=recipe.batch_size,
        shuffle=True,
        generator=torch.Generator().manual_seed(recipe.seed),
    )
    engine = PrivacyEngine(accountant=dp.accountant)
    if dp.noise_multiplier is not None:
        model, opt, loader = engine.make_private(
            module=model,
            optimizer=opt,
            data_loader=loader,
            noise_multiplier=dp.noise_multiplier,
            max_grad_norm=dp.max_grad_norm,
        )
    else:
        model, opt, loader = engine.make_private_with_epsilon(
            module=model,
            optimizer=opt,
            data_loader=loader,
            target_epsilon=dp.epsilon,
            target_delta=dp.delta,
            epochs=recipe.epochs,
            max_grad_norm=dp.max_grad_norm,
        )
    return model, opt, loader, engine
