"""MixMatch semi-supervised training (Berthelot et al., "MixMatch: A Holistic Approach to
Semi-Supervised Learning", NeurIPS 2019), as MExMI's semi-supervised boosting uses it
(MExMI sec. 3.3; REFERENCE_SPECS 1).

One step, for a labelled batch ``(x, t, w)`` (inputs, target vectors, per-sample loss
weights) and an unlabelled batch ``u``:

1. augment: one view of ``x``, ``K = 2`` views of ``u`` (random shifts and, where they
   preserve the label, horizontal flips: :func:`attacker_sdk.augment.random_shift_flip`).
   The augmentations must preserve the label: consistency to a label-changing
   transformation (flipped digits) drives the copy to a constant output;
2. label guessing: the mean of the model's softmax over the K views of ``u``, sharpened
   with temperature ``T = 0.5`` (``p^(1/T)`` renormalised); no gradient through it. The
   guesses are made in eval mode (the reference guesses in train mode, which also moves
   BatchNorm's running statistics and applies dropout to the guesses);
3. MixUp of the concatenated batch ``W = [x, u_1, ..., u_K]`` with a shuffled copy of
   itself: ``lambda ~ Beta(alpha, alpha)`` with ``alpha = 0.75``, ``lambda = max(lambda,
   1 - lambda)`` so each mixed sample stays closer to its own half; targets (and the
   labelled weights) are mixed alike. One ``lambda`` per batch, as the reference
   implementation;
4. loss ``Lx + lambda_u * ramp(step) * Lu``: ``Lx`` = weighted soft cross-entropy on the
   mixed labelled part (MExMI's Post-Filter weights, mixed with the samples, mean over the
   batch without renormalisation, REFERENCE_SPECS 1), ``Lu`` = mean squared error between
   the softmax and the mixed guessed labels on the unlabelled part; ``lambda_u = 75``
   (MExMI's reference; MixMatch uses 75 for CIFAR-10 too) ramped up linearly over the
   whole run;
5. EMA teacher: after each optimiser step ``theta_ema = d * theta_ema + (1 - d) * theta``,
   ``d = 0.999``, then weight decay ``theta *= 1 - wd`` on the student (the reference's
   ``0.02 * lr`` per step); BatchNorm's running statistics are averaged like the
   weights (as the reference, which averages every float entry of the state dict). The EMA
   model is what is returned (the reference evaluates and saves the EMA model).

Iterations per epoch: ``3 x`` the number of labelled batches (MExMI's reference).

**BatchNorm recalibration (our addition, ``recalibrate_bn``).** Training forward passes
see only mixed (MixUp) batches, whose statistics differ from clean inputs'; over the
reference's millions of steps this washes out, over our few hundred CPU steps it costs
several fidelity points at evaluation time. At the end the released model's BatchNorm
running statistics are re-estimated on the clean labelled and unlabelled inputs (no
labels involved). With ``ema_decay = 0.999`` and a few hundred steps the EMA model stays
close to the starting copy; ``release="student"`` releases the student instead.

**Batches are not interleaved.** The reference implementation runs one forward pass per
chunk and interleaves labelled and unlabelled samples across chunks so that every
BatchNorm call sees a representative batch; we run a single forward pass over the whole
mixed batch (labelled and unlabelled together), which gives BatchNorm the same batch
statistics without the interleaving.

Nothing here queries anything: the unlabelled inputs are plain arrays.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..augment import random_shift_flip
from ..training import soft_cross_entropy


@dataclass(frozen=True)
class MixMatchConfig:
    epochs: int = 5
    batch_size: int = 64
    iterations_per_epoch: int | None = None  # None: 3 x labelled batches (MExMI reference)
    optimizer: str = "adam"  # adam (MixMatch paper) | sgd (MExMI reference: Nesterov, lr 0.03)
    # MixMatch paper 2e-3; lower because the copy is already trained (2e-3 and 1e-3 collapse it)
    lr: float = 3e-4
    momentum: float = 0.9
    K: int = 2  # augmentations of each unlabelled sample
    shift: float = 0.125  # random translation, fraction of the width
    flip: bool = True  # horizontal flips: only where they preserve the label (not for digits)
    T: float = 0.5  # sharpening temperature
    alpha: float = 0.75  # Beta(alpha, alpha) for MixUp
    lambda_u: float = 75.0  # unlabelled loss weight (MExMI reference 75)
    rampup: bool = True  # linear ramp-up of lambda_u over the whole run
    ema_decay: float = 0.999
    release: str = "ema"  # ema (reference) | student
    recalibrate_bn: bool = True  # re-estimate BatchNorm statistics on clean inputs at the end
    wd_per_step: float | None = None  # None: 0.02 * lr (the reference's EMA weight decay)
    seed: int = 0

    def __post_init__(self):
        if self.K < 1 or self.epochs < 1 or self.batch_size < 2:
            raise ValueError("MixMatch needs K >= 1, epochs >= 1 and batch_size >= 2")
        if not 0 < self.T <= 1 or self.alpha <= 0 or not 0 <= self.ema_decay < 1:
            raise ValueError("MixMatch needs 0 < T <= 1, alpha > 0 and 0 <= ema_decay < 1")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError("optimizer must be adam or sgd")
        if self.release not in ("ema", "student"):
            raise ValueError("release must be ema or student")

    def to_dict(self) -> dict:
        return asdict(self)


def sharpen(p: torch.Tensor, T: float) -> torch.Tensor:
    q = p.clamp_min(1e-12) ** (1.0 / T)
    return q / q.sum(1, keepdim=True)


class EMA:
    """Exponential moving average of a model's parameters and float buffers."""

    def __init__(self, model: nn.Module, decay: float):
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)
        self.decay = decay

    @torch.no_grad()
    def update(self, student: nn.Module) -> None:
        for e, s in zip(self.model.parameters(), student.parameters()):
            e.mul_(self.decay).add_(s.detach(), alpha=1.0 - self.decay)
        for e, s in zip(self.model.buffers(), student.buffers()):
            if e.is_floating_point():  # BatchNorm running statistics: averaged like the weights
                e.mul_(self.decay).add_(s, alpha=1.0 - self.decay)
            else:
                e.copy_(s)


def mixmatch(
    model: nn.Module,
    x_l: np.ndarray,
    t_l: np.ndarray,
    x_u: np.ndarray,
    config: MixMatchConfig = MixMatchConfig(),
    weights: np.ndarray | None = None,
    augment=None,
) -> tuple[nn.Module, list[dict]]:
    """Train ``model`` (in place) with MixMatch on labelled ``(x_l, t_l)`` (``t_l`` target
    vectors, ``weights`` per labelled sample) and unlabelled ``x_u``; returns the EMA model
    and a per-epoch history."""
    c = config
    if augment is None:

        def augment(t, generator=None):
            return random_shift_flip(t, shift=c.shift, flip=c.flip, generator=generator)

    if len(x_l) < 2 or len(x_u) < 1:
        raise ValueError(
            f"MixMatch needs >= 2 labelled and >= 1 unlabelled samples, got {len(x_l)} / {len(x_u)}"
        )
    gen = torch.Generator().manual_seed(c.seed)
    rng = np.random.default_rng(c.seed)
    torch.manual_seed(c.seed)
    xl = torch.as_tensor(np.asarray(x_l, np.float32))
    tl = torch.as_tensor(np.asarray(t_l, np.float32))
    wl = torch.as_tensor(
        np.ones(len(x_l), np.float32) if weights is None else np.asarray(weights, np.float32)
    )
    xu = torch.as_tensor(np.asarray(x_u, np.float32))
    bs = min(c.batch_size, len(xl))
    steps_per_epoch = c.iterations_per_epoch or 3 * max(1, -(-len(xl) // bs))
    total = c.epochs * steps_per_epoch
    if c.optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=c.lr, momentum=c.momentum, nesterov=True)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=c.lr)
    wd = 0.02 * c.lr if c.wd_per_step is None else c.wd_per_step
    ema = EMA(model, c.ema_decay)
    beta = torch.distributions.Beta(torch.tensor(c.alpha), torch.tensor(c.alpha))
    history = []
    step = 0
    for epoch in range(c.epochs):
        model.train()
        sums = {"loss": 0.0, "lx": 0.0, "lu": 0.0}
        for _ in range(steps_per_epoch):
            bl = torch.as_tensor(rng.choice(len(xl), bs, replace=False))
            bu = torch.as_tensor(rng.choice(len(xu), bs, replace=len(xu) < bs))
            x_aug = augment(xl[bl], generator=gen)
            u_views = [augment(xu[bu], generator=gen) for _ in range(c.K)]
            with torch.no_grad():
                model.eval()  # guessing must not move BatchNorm statistics
                guess = torch.stack([torch.softmax(model(v), 1) for v in u_views]).mean(0)
                model.train()
                q = sharpen(guess, c.T)
            w_all = torch.cat([x_aug] + u_views)
            t_all = torch.cat([tl[bl]] + [q] * c.K)
            ws_all = torch.cat([wl[bl]] + [torch.ones(bs)] * c.K)
            lam = float(beta.sample())
            lam = max(lam, 1.0 - lam)
            perm = torch.randperm(len(w_all), generator=gen)
            mixed_x = lam * w_all + (1 - lam) * w_all[perm]
            mixed_t = lam * t_all + (1 - lam) * t_all[perm]
            mixed_w = lam * ws_all + (1 - lam) * ws_all[perm]
            logits = model(
                mixed_x
            )  # one pass: BatchNorm sees the whole mixed batch (no interleaving)
            lx = soft_cross_entropy(logits[:bs], mixed_t[:bs], mixed_w[:bs])
            lu = F.mse_loss(torch.softmax(logits[bs:], 1), mixed_t[bs:])
            ramp = min(1.0, (step + 1) / total) if c.rampup else 1.0
            loss = lx + c.lambda_u * ramp * lu
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            ema.update(model)
            if wd:
                with torch.no_grad():
                    for p in model.parameters():
                        p.mul_(1.0 - wd)
            step += 1
            sums["loss"] += float(loss.detach())
            sums["lx"] += float(lx.detach())
            sums["lu"] += float(lu.detach())
        history.append(
            {
                "epoch": epoch + 1,
                "steps": steps_per_epoch,
                **{k: round(v / steps_per_epoch, 5) for k, v in sums.items()},
            }
        )
    out = ema.model if c.release == "ema" else model
    if c.recalibrate_bn:
        recalibrate_bn(
            out, np.concatenate([np.asarray(x_l, np.float32), np.asarray(x_u, np.float32)])
        )
    model.eval()
    out.eval()
    return out, history


@torch.no_grad()
def recalibrate_bn(model: nn.Module, x: np.ndarray, batch_size: int = 256) -> None:
    """Re-estimate every BatchNorm layer's running mean and variance as the plain average
    over clean (un-augmented, un-mixed) inputs ``x``; nothing else changes."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    model.eval()
    saved = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
        m.train()
    xt = torch.as_tensor(np.asarray(x, np.float32))
    for i in range(0, len(xt), batch_size):
        if len(xt[i : i + batch_size]) > 1:
            model(xt[i : i + batch_size])
    for m, mom in zip(bns, saved):
        m.momentum = mom
    model.eval()
