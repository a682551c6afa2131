"""Train a torch victim from arrays with a :class:`Recipe` (optionally DP-SGD)."""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .augment import augment
from .recipe import Recipe


@dataclass
class TrainResult:
    model: object  # nn.Module or an xgboost Booster
    history: list[dict] = field(default_factory=list)
    epochs_run: int = 0
    seconds: float = 0.0
    # Indices into the arrays handed to the trainer that the model was fitted on: the
    # members. Early stopping without an explicit validation set holds some out.
    member_indices: np.ndarray | None = None
    epsilon: float | None = None
    noise_multiplier: float | None = None


def holdout_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    n_val = max(1, round(n * fraction))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


@torch.inference_mode()
def predict_logits(model: nn.Module, x: torch.Tensor, batch_size: int = 1024) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def accuracy(model: nn.Module, x: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor) -> float:
    x = torch.as_tensor(x, dtype=torch.float32)
    y = torch.as_tensor(y)
    if len(x) == 0:
        return float("nan")
    return float((predict_logits(model, x).argmax(1) == y).float().mean())


def _optimizer(model: nn.Module, r: Recipe) -> torch.optim.Optimizer:
    if r.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=r.lr, momentum=r.momentum, weight_decay=r.weight_decay
        )
    # AdamW so weight decay is a real L2-style regulariser rather than folded into Adam's moments
    return torch.optim.AdamW(model.parameters(), lr=r.lr, weight_decay=r.weight_decay)


def _scheduler(opt: torch.optim.Optimizer, r: Recipe, steps_per_epoch: int):
    if r.schedule is None:
        return None
    if r.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=r.epochs * steps_per_epoch)
    _, every, gamma = r.schedule.split(":")
    return torch.optim.lr_scheduler.StepLR(
        opt, step_size=int(every) * steps_per_epoch, gamma=float(gamma)
    )


def _batches(n: int, batch_size: int, gen: torch.Generator):
    perm = torch.randperm(n, generator=gen)
    for i in range(0, n, batch_size):
        yield perm[i : i + batch_size]


def train_torch(
    model: nn.Module,
    x: np.ndarray,
    y: np.ndarray,
    recipe: Recipe,
    val: tuple[np.ndarray, np.ndarray] | None = None,
    progress: bool = True,
    desc: str = "train",
) -> TrainResult:
    """Fit ``model`` on (x, y). Early stopping monitors validation accuracy and restores
    the best weights; DP-SGD (opacus, Poisson sampling) replaces the plain loop."""
    torch.manual_seed(recipe.seed)
    gen = torch.Generator().manual_seed(recipe.seed)
    member_idx = np.arange(len(x))
    if recipe.early_stopping and val is None:
        member_idx, val_idx = holdout_split(len(x), recipe.val_fraction, recipe.seed)
        val = (x[val_idx], y[val_idx])
    xt = torch.as_tensor(x[member_idx], dtype=torch.float32)
    yt = torch.as_tensor(y[member_idx], dtype=torch.long)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.label_smoothing)
    opt = _optimizer(model, recipe)
    steps = math.ceil(len(xt) / recipe.batch_size)
    sched = _scheduler(opt, recipe, steps)
    result = TrainResult(model=model, member_indices=member_idx)

    engine = None
    if recipe.dp is not None:
        from .dp import make_private

        model, opt, loader, engine = make_private(model, opt, xt, yt, recipe)
        result.noise_multiplier = opt.noise_multiplier
        batch_iter = lambda: ((bx, by) for bx, by in loader if len(bx))
    else:
        batch_iter = lambda: ((xt[i], yt[i]) for i in _batches(len(xt), recipe.batch_size, gen))

    best = (-1.0, None)
    stale = 0
    t0 = time.perf_counter()
    bar = tqdm(range(recipe.epochs), desc=desc, disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        total, correct, loss_sum = 0, 0, 0.0
        for bx, by in batch_iter():
            bx = augment(bx, recipe.augment, gen)
            out = model(bx)
            loss = loss_fn(out, by)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            total += len(by)
            correct += int((out.argmax(1) == by).sum())
            loss_sum += float(loss.detach()) * len(by)
        row = {
            "epoch": epoch + 1,
            "loss": loss_sum / max(total, 1),
            "train_acc": correct / max(total, 1),
        }
        if val is not None:
            row["val_acc"] = accuracy(model, *val)
        result.history.append(row)
        bar.set_postfix({k: round(v, 4) for k, v in row.items() if k != "epoch"})
        if recipe.early_stopping:
            if row["val_acc"] > best[0]:
                best, stale = (row["val_acc"], copy.deepcopy(_unwrap(model).state_dict())), 0
            else:
                stale += 1
                if stale >= recipe.early_stopping:
                    break
    result.epochs_run = len(result.history)
    model = _unwrap(model)
    if recipe.early_stopping and best[1] is not None:
        model.load_state_dict(best[1])
    if engine is not None:
        result.epsilon = float(engine.get_epsilon(recipe.dp.delta))
    model.eval()
    result.model = model
    result.seconds = time.perf_counter() - t0
    return result


def _unwrap(model: nn.Module) -> nn.Module:
    # opacus wraps the module in GradSampleModule; the store keeps the plain module
    return getattr(model, "_module", model)
