"""Batch-wise image augmentation on tensors (no per-sample Python loop)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop(
    x: torch.Tensor, pad: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Pad by reflection and take a random crop of the original size per sample."""
    n, c, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    di = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dj = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    rows = (di[:, None] + torch.arange(h))[:, None, :, None]
    cols = (dj[:, None] + torch.arange(w))[:, None, None, :]
    return padded[
        torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols
    ]


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    out = x.clone()
    out[flip] = out[flip].flip(-1)
    return out


def augment(
    x: torch.Tensor, kind: str | None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Apply a recipe's augmentation to an image batch; tabular data is returned as is."""
    if kind is None or x.dim() != 4:
        return x
    if "crop" in kind:
        x = random_crop(x, pad=max(1, x.shape[-1] // 8), generator=generator)
    if "flip" in kind:
        x = random_flip(x, generator=generator)
    return x
