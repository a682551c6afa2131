"""The `Dataset` container shared by every builder and loader.

Conventions for ``meta``:

* values that are ``numpy.ndarray`` with ``len == n`` (the number of samples) are
  *per-sample* extras (e.g. ``meta["family"]`` for shapes); :meth:`Dataset.subset`
  slices them and the on-disk cache stores them as arrays;
* everything else is dataset-level information (builder params, feature names,
  published marginal statistics, ...) and must be JSON-serialisable, so that it can
  go into model cards and reports unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

KINDS = ("image", "tabular")


def compute_content_hash(x: np.ndarray, y: np.ndarray, class_names: Sequence[str]) -> str:
    """sha256 over x, y and class names.

    The shape and dtype go in too, so that a reshaped array with the same bytes does not
    collide; arrays are made C-contiguous with a fixed dtype so the hash does not depend
    on memory layout.
    """
    xa = np.ascontiguousarray(x, dtype=np.float32)
    ya = np.ascontiguousarray(y, dtype=np.int64)
    h = hashlib.sha256()
    h.update(b"mlrange-dataset-v1\0")
    h.update(json.dumps({"x": list(xa.shape), "y": list(ya.shape)}).encode())
    h.update(xa.tobytes())
    h.update(ya.tobytes())
    h.update(json.dumps(list(class_names)).encode())
    return h.hexdigest()


def is_per_sample(value: Any, n: int) -> bool:
    """True for meta values that hold one entry per sample (see module docstring)."""
    return isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == n


@dataclass(frozen=True, eq=False)  # eq=False: arrays make field-wise == ambiguous
class Dataset:
    """An in-memory labelled dataset.

    Compare datasets by ``content_hash``; ``==`` is identity.
    """

    name: str
    x: np.ndarray  # float32; images NCHW in [0, 1]; tabular (n, d) in [0, 1]
    y: np.ndarray  # int64 class indices 0..K-1
    class_names: tuple[str, ...]
    kind: str  # "image" or "tabular"
    content_hash: str = ""  # filled in by __post_init__ when empty
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Normalise types once here so every producer gets the same guarantees.
        x = np.ascontiguousarray(self.x, dtype=np.float32)
        y = np.ascontiguousarray(self.y, dtype=np.int64)
        names = tuple(str(c) for c in self.class_names)
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if x.shape[0] != y.shape[0] or y.ndim != 1:
            raise ValueError(f"x has {x.shape[0]} samples but y has shape {y.shape}")
        if self.kind == "image" and x.ndim != 4:
            raise ValueError(f"image data must be NCHW, got shape {x.shape}")
        if self.kind == "tabular" and x.ndim != 2:
            raise ValueError(f"tabular data must be (n, d), got shape {x.shape}")
        if y.size and (y.min() < 0 or y.max() >= len(names)):
            raise ValueError(f"labels must lie in 0..{len(names) - 1}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "class_names", names)
        object.__setattr__(self, "meta", dict(self.meta))
        if not self.content_hash:
            object.__setattr__(self, "content_hash", compute_content_hash(x, y, names))

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, kind={self.kind!r}, n={len(self)}, "
            f"x={tuple(self.x.shape)}, classes={self.num_classes}, "
            f"hash={self.content_hash[:12]})"
        )

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_spec(self) -> dict:
        """What a model serving this data accepts (shape excludes the batch axis)."""
        return {"shape": list(self.x.shape[1:]), "dtype": "float32", "min": 0.0, "max": 1.0}

    def per_sample_meta(self) -> dict[str, np.ndarray]:
        """The per-sample entries of ``meta``."""
        return {k: v for k, v in self.meta.items() if is_per_sample(v, len(self))}

    def subset(self, idx: Any) -> Dataset:
        """A new Dataset with the samples ``idx`` (index array or boolean mask).

        Per-sample meta arrays are sliced alongside; dataset-level meta (e.g. published
        statistics of the full population) is kept as is, and ``meta["parent_hash"]``
        records where the subset came from. The content hash is recomputed.
        """
        idx = np.asarray(idx)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ValueError(f"boolean mask must have shape ({len(self)},)")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64, copy=False).reshape(-1)
        meta = {**self.meta, **{k: v[idx] for k, v in self.per_sample_meta().items()}}
        meta["parent_hash"] = self.content_hash
        return Dataset(
            name=self.name,
            x=self.x[idx],
            y=self.y[idx],
            class_names=self.class_names,
            kind=self.kind,
            meta=meta,
        )
