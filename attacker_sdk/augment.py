"""Image augmentation for copy, shadow and semi-supervised training: one batched affine
warp per call (random translation up to ``shift`` of the width, horizontal flips), each
sample its own draw. Tabular batches pass through unchanged."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_shift_flip(
    x: torch.Tensor,
    shift: float = 0.125,
    flip: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    if x.dim() != 4:
        return x
    n = x.shape[0]
    theta = torch.zeros(n, 2, 3, dtype=x.dtype)
    sx = torch.ones(n)
    if flip:
        sx = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta[:, 0, 0] = sx
    theta[:, 1, 1] = 1.0
    # grid coordinates span [-1, 1], so a shift of s of the width is 2s
    theta[:, :, 2] = (torch.rand(n, 2, generator=generator) * 2 - 1) * 2 * shift
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="reflection", align_corners=False)
