"""``digits``: scikit-learn's real handwritten digits (1,797 samples, 8x8, shipped)."""

from __future__ import annotations

import numpy as np

from .base import Dataset
from .registry import register


@register("digits", version=1)
def build_digits(seed: int = 0) -> Dataset:
    """Real handwritten digits from ``sklearn.datasets.load_digits`` as (n, 1, 8, 8) in [0, 1].

    The data ships with scikit-learn, so nothing is downloaded. Sample order is the
    original one; ``seed`` is accepted for a uniform builder signature and does not
    change the data (splits are the runner's business).
    """
    from sklearn.datasets import load_digits

    raw = load_digits()
    # Pixel values are integers 0..16.
    x = (raw.images.astype(np.float32) / 16.0)[:, None, :, :]
    y = raw.target.astype(np.int64)
    return Dataset(
        name="digits",
        x=x,
        y=y,
        class_names=tuple(str(i) for i in range(10)),
        kind="image",
        meta={"params": {"seed": seed}, "source": "sklearn.datasets.load_digits"},
    )
