"""Look at a dataset: ``render(ds, "out.png")`` (used by ``mlrange data show``).

Image data: a grid of samples (classes interleaved so every class shows up) titled
with class names. Tabular data: per-class feature frequencies as a heatmap, with the
overall frequency and the class sizes beside it.
"""

from __future__ import annotations

import math
import os

import numpy as np

from .base import Dataset


def _pick(ds: Dataset, n: int, seed: int = 0) -> np.ndarray:
    """Up to n indices, round-robin over classes so that rare classes are shown too."""
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(ds.y == k)) for k in range(ds.num_classes)]
    out: list[int] = []
    depth = 0
    while len(out) < min(n, len(ds)):
        for idx in per_class:
            if depth < len(idx) and len(out) < n:
                out.append(int(idx[depth]))
        depth += 1
    return np.array(out, dtype=np.int64)


def _render_images(ds: Dataset, n: int, plt) -> object:
    idx = _pick(ds, n)
    cols = max(1, math.ceil(math.sqrt(len(idx))))
    rows = max(1, math.ceil(len(idx) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.3, rows * 1.45), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), idx):
        img = ds.x[i]
        if img.shape[0] == 1:
            ax.imshow(img[0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(np.clip(img[:3].transpose(1, 2, 0), 0, 1), interpolation="nearest")
        title = ds.class_names[ds.y[i]]
        fam = ds.meta.get("family")
        if isinstance(fam, np.ndarray) and fam.shape[0] == len(ds):
            title += f" ({fam[i]})"
        ax.set_title(title, fontsize=7)
    fig.suptitle(f"{ds.name}: {len(ds)} samples, {ds.num_classes} classes", fontsize=9)
    return fig


def _render_tabular(ds: Dataset, plt) -> object:
    k, d = ds.num_classes, ds.x.shape[1]
    freq = np.zeros((k, d), np.float32)
    for c in range(k):
        sel = ds.y == c
        if sel.any():
            freq[c] = ds.x[sel].mean(axis=0)
    counts = np.bincount(ds.y, minlength=k)
    fig = plt.figure(figsize=(11, 2.5 + min(k, 100) * 0.06 + 2))
    grid = fig.add_gridspec(2, 2, height_ratios=[1, 4], width_ratios=[12, 1.5])
    ax_top = fig.add_subplot(grid[0, 0])
    ax_top.bar(np.arange(d), ds.x.mean(axis=0), width=1.0, color="tab:blue")
    ax_top.set_xlim(-0.5, d - 0.5)
    ax_top.set_ylabel("mean value")
    ax_top.set_title(f"{ds.name}: {len(ds)} samples, {d} features, {k} classes", fontsize=9)
    ax = fig.add_subplot(grid[1, 0], sharex=ax_top)
    im = ax.imshow(freq, aspect="auto", cmap="viridis", interpolation="nearest")
    ax.set_xlabel("feature")
    ax.set_ylabel("class")
    if k <= 20:
        ax.set_yticks(range(k))
        ax.set_yticklabels(ds.class_names, fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.02, pad=0.01, label="mean per class")
    ax_n = fig.add_subplot(grid[1, 1], sharey=ax)
    ax_n.barh(np.arange(k), counts, color="tab:gray")
    ax_n.set_xlabel("samples")
    ax_n.tick_params(labelleft=False)
    return fig


def render(ds: Dataset, out_png: str | os.PathLike, n: int = 64) -> str:
    """Write a PNG overview of ``ds`` to ``out_png`` and return its path."""
    import matplotlib

    matplotlib.use("Agg")  # headless: the CLI and tests have no display
    import matplotlib.pyplot as plt

    fig = _render_images(ds, n, plt) if ds.kind == "image" else _render_tabular(ds, plt)
    out = os.fspath(out_png)
    parent = os.path.dirname(out)
    if parent:
        os.makedirs(parent, exist_ok=True)
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return out
