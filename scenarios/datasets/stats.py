"""Published marginal statistics of binary tabular datasets.

Statistics-based data synthesis (SocInf's attack) does not see records, only per-feature
frequencies, class priors and how many features a record typically has set; this module
computes exactly those, as plain JSON-serialisable Python values.
"""

from __future__ import annotations

import numpy as np

from .base import Dataset

_DIGITS = 6  # rounding keeps the JSON small and stable across platforms


def _r(a: np.ndarray) -> list[float]:
    return [round(float(v), _DIGITS) for v in np.asarray(a).ravel()]


def marginal_statistics(ds: Dataset) -> dict:
    """Per-feature marginals of a binary tabular dataset.

    Returns a JSON-serialisable dict::

        {"n", "num_features", "class_names", "feature_names" (or None),
         "class_priors":               {class name: fraction},
         "feature_frequency":          [P(x_j = 1)] * d,
         "feature_frequency_by_class": {class name: [P(x_j = 1 | class)] * d},
         "keywords_per_sample": {"count": [0, 1, ...], "probability": [...],
                                 "mean": float, "std": float},
         "keywords_per_sample_by_class": {class name: {"mean", "std"}}}

    ``keywords_per_sample`` is the distribution of the number of ones in a record
    (keywords per tweet, products per customer). Raises ValueError for non-binary data.
    """
    if ds.kind != "tabular":
        raise ValueError("marginal statistics need tabular data")
    x = ds.x
    if not np.isin(x, (0.0, 1.0)).all():
        raise ValueError("marginal statistics need binary (0/1) features")
    n, d = x.shape
    names = list(ds.class_names)
    counts = x.sum(axis=1).astype(np.int64)
    hist = np.bincount(counts, minlength=1)
    by_class = {}
    len_by_class = {}
    for k, name in enumerate(names):
        sel = ds.y == k
        if sel.any():
            by_class[name] = _r(x[sel].mean(axis=0))
            len_by_class[name] = {
                "mean": round(float(counts[sel].mean()), _DIGITS),
                "std": round(float(counts[sel].std()), _DIGITS),
            }
        else:
            by_class[name] = [0.0] * d
            len_by_class[name] = {"mean": 0.0, "std": 0.0}
    feature_names = ds.meta.get("feature_names")
    return {
        "n": int(n),
        "num_features": int(d),
        "class_names": names,
        "feature_names": list(feature_names) if feature_names is not None else None,
        "class_priors": {
            name: round(float((ds.y == k).mean()), _DIGITS) for k, name in enumerate(names)
        },
        "feature_frequency": _r(x.mean(axis=0)),
        "feature_frequency_by_class": by_class,
        "keywords_per_sample": {
            "count": list(range(len(hist))),
            "probability": _r(hist / n),
            "mean": round(float(counts.mean()), _DIGITS),
            "std": round(float(counts.std()), _DIGITS),
        },
        "keywords_per_sample_by_class": len_by_class,
    }
