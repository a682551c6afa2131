"""Fitting copy and shadow models on what the victim answered: soft or hard targets,
per-sample weights (MExMI's Post-Filter), augmentation, and early stopping on a slice of
the queried data (the attacker has nothing else labelled)."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .augment import random_shift_flip


@dataclass(frozen=True)
class FitConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 1e-3
    optimizer: str = "adam"  # adam | sgd
    momentum: float = 0.9
    weight_decay: float = 0.0
    augment: bool = False
    patience: int | None = None  # early stopping on held-out queried data; None trains all epochs
    # ActiveThief's rule (REFERENCE_SPECS 2): patience does not run while the mean training
    # loss is above this, so a copy still on its initial plateau is not stopped at chance.
    patience_loss_floor: float | None = None
    val_fraction: float = 0.1
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FitResult:
    model: nn.Module
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    val_agreement: float | None = None


def to_targets(y: np.ndarray, num_classes: int) -> np.ndarray:
    """Hard labels (n,) become one-hot; soft (n, K) pass through."""
    y = np.asarray(y)
    if y.ndim == 1:
        out = np.zeros((len(y), num_classes), np.float32)
        out[np.arange(len(y)), y.astype(np.int64)] = 1.0
        return out
    return y.astype(np.float32)


def soft_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """mean_i w_i * sum_c -t_ic log softmax(z)_ic (MExMI's weighted loss is not renormalised
    by the weights, REFERENCE_SPECS 1)."""
    per = -(targets * F.log_softmax(logits, 1)).sum(1)
    if weights is not None:
        per = per * weights
    return per.mean()


@torch.inference_mode()
def predict_proba(model: nn.Module, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    model.eval()
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    return torch.cat(
        [torch.softmax(model(xt[i : i + batch_size]), 1) for i in range(0, len(xt), batch_size)]
    ).numpy()


def _optimizer(model: nn.Module, c: FitConfig) -> torch.optim.Optimizer:
    if c.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(),
            lr=c.lr,
            momentum=c.momentum,
            nesterov=True,
            weight_decay=c.weight_decay,
        )
    return torch.optim.Adam(model.parameters(), lr=c.lr, weight_decay=c.weight_decay)


def fit(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    config: FitConfig = FitConfig(),
    weights: np.ndarray | None = None,
    num_classes: int | None = None,
) -> FitResult:
    """Train ``model`` on inputs ``x`` and targets ``y`` (labels or probability vectors)."""
    if len(x) == 0:
        raise ValueError("nothing to train on")
    k = num_classes or (y.shape[1] if np.ndim(y) == 2 else int(np.max(y)) + 1)
    targets = to_targets(y, k)
    w = np.ones(len(x), np.float32) if weights is None else np.asarray(weights, np.float32)
    gen = torch.Generator().manual_seed(config.seed)
    torch.manual_seed(config.seed)
    idx = np.random.default_rng(config.seed).permutation(len(x))
    n_val = int(len(x) * config.val_fraction) if config.patience else 0
    n_val = n_val if len(x) - n_val >= 2 else 0
    val_idx, tr_idx = idx[:n_val], idx[n_val:]
    xt = torch.as_tensor(np.asarray(x, np.float32))
    tt, wt = torch.as_tensor(targets), torch.as_tensor(w)
    opt = _optimizer(model, config)
    result = FitResult(model)
    best, best_state, stale = -1.0, None, 0
    for epoch in range(config.epochs):
        model.train()
        perm = torch.as_tensor(tr_idx)[torch.randperm(len(tr_idx), generator=gen)]
        total = 0.0
        for i in range(0, len(perm), config.batch_size):
            b = perm[i : i + config.batch_size]
            if len(b) < 2 and any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
                continue  # BatchNorm cannot train on a single sample
            xb = random_shift_flip(xt[b], generator=gen) if config.augment else xt[b]
            loss = soft_cross_entropy(model(xb), tt[b], wt[b])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(b)
        row = {"epoch": epoch + 1, "loss": total / max(len(tr_idx), 1)}
        if n_val:
            agree = float(
                (predict_proba(model, x[val_idx]).argmax(1) == targets[val_idx].argmax(1)).mean()
            )
            row["val_agreement"] = agree
            if agree > best:
                best, best_state, stale, result.best_epoch = (
                    agree,
                    copy.deepcopy(model.state_dict()),
                    0,
                    epoch + 1,
                )
            elif (
                config.patience_loss_floor is not None and row["loss"] > config.patience_loss_floor
            ):
                stale = 0
            else:
                stale += 1
        result.history.append(row)
        if n_val and stale >= config.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
        result.val_agreement = best
    else:
        result.best_epoch = len(result.history)
    model.eval()
    return result
