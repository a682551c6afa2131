"""Loaders for user data in local folders (never downloads anything).

* :func:`load_image_folder` - torchvision ``ImageFolder`` layout (one folder per class);
* :func:`load_cifar10`      - the standard ``cifar-10-batches-py`` pickles;
* :func:`load_csv`          - numeric CSV with a label column.

Registered as ``load("folder", path=...)``, ``load("cifar10", path=...)`` and
``load("csv", path=...)``. These are *not* cached: the data already sits on local disk,
reading it is quick, and a cache keyed by path + mtime would miss edits inside a folder
(a directory's mtime does not change when a file in it is rewritten).
"""

from __future__ import annotations

import csv
import os
import pickle
import warnings
from pathlib import Path

import numpy as np

from .base import Dataset
from .registry import register

CIFAR10_DIR = "cifar-10-batches-py"


def load_image_folder(path: str | os.PathLike, size: int = 32) -> Dataset:
    """Images in ``path/<class>/<image>`` as RGB (n, 3, size, size) float32 in [0, 1].

    Class names are the folder names (sorted, as torchvision does); ``meta["file"]``
    gives each sample's file.
    """
    from torchvision import transforms
    from torchvision.datasets import ImageFolder

    root = Path(path).expanduser().resolve()
    tf = transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor()])
    folder = ImageFolder(str(root), transform=tf)  # its loader converts to RGB
    n = len(folder)
    x = np.empty((n, 3, size, size), np.float32)
    y = np.empty(n, np.int64)
    for i in range(n):
        img, label = folder[i]
        x[i] = img.numpy()
        y[i] = label
    files = np.array([os.path.relpath(p, root) for p, _ in folder.samples], dtype=np.str_)
    return Dataset(
        name="folder",
        x=x,
        y=y,
        class_names=tuple(folder.classes),
        kind="image",
        meta={"params": {"path": str(root), "size": int(size)}, "file": files},
    )


def _cifar_root(path: str | os.PathLike) -> Path:
    """Accept either the folder holding ``cifar-10-batches-py`` or that folder itself."""
    p = Path(path).expanduser().resolve()
    if (p / CIFAR10_DIR).is_dir():
        return p
    if p.name == CIFAR10_DIR and p.is_dir():
        return p.parent
    raise FileNotFoundError(f"no {CIFAR10_DIR} folder at or under {p}")


def _read_cifar_pickles(root: Path, train: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read the python-pickle CIFAR-10 format directly (same files torchvision reads)."""
    base = root / CIFAR10_DIR
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    files = [base / f for f in names if (base / f).exists()]
    if not files:
        raise FileNotFoundError(f"no {'training' if train else 'test'} batches in {base}")
    xs, ys = [], []
    for f in files:
        with open(f, "rb") as fh:
            entry = pickle.load(fh, encoding="latin1")
        xs.append(np.asarray(entry["data"], np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(entry.get("labels", entry.get("fine_labels")), np.int64))
    with open(base / "batches.meta", "rb") as fh:
        classes = list(pickle.load(fh, encoding="latin1")["label_names"])
    return np.concatenate(xs), np.concatenate(ys), classes


def load_cifar10(path: str | os.PathLike, train: bool = True) -> Dataset:
    """CIFAR-10 from a local ``cifar-10-batches-py`` folder as (n, 3, 32, 32) in [0, 1].

    Uses ``torchvision.datasets.CIFAR10(download=False)``, which checks the official md5
    sums. When that check fails (partial copies, test fixtures), the same pickle files are
    read directly, with a warning and ``meta["verified"] = False``.
    """
    from torchvision.datasets import CIFAR10

    root = _cifar_root(path)
    try:
        tv = CIFAR10(str(root), train=train, download=False)
        data = np.asarray(tv.data).transpose(0, 3, 1, 2)  # NHWC uint8 -> NCHW
        labels = np.asarray(tv.targets, np.int64)
        classes, verified = list(tv.classes), True
    except RuntimeError as e:  # "Dataset not found or corrupted"
        warnings.warn(
            f"torchvision rejected {root / CIFAR10_DIR} ({e}); reading the pickles "
            "directly without md5 verification",
            stacklevel=2,
        )
        data, labels, classes = _read_cifar_pickles(root, train)
        verified = False
    return Dataset(
        name="cifar10",
        x=data.astype(np.float32) / 255.0,
        y=labels,
        class_names=tuple(classes),
        kind="image",
        meta={"params": {"path": str(root), "train": bool(train)}, "verified": verified},
    )


def _label_order(values: list[str]) -> list[str]:
    """Distinct label values, numerically sorted when they are all numbers."""
    uniq = sorted(set(values))
    try:
        return sorted(uniq, key=float)
    except ValueError:
        return uniq


def load_csv(path: str | os.PathLike, label_column: str = "label") -> Dataset:
    """Numeric CSV (header row) -> tabular Dataset scaled to [0, 1] per feature.

    Features are min-max scaled; ``meta["feature_min"]`` / ``meta["feature_max"]`` record
    the scale so new inputs can be mapped the same way (constant columns map to 0).
    Labels are mapped to 0..K-1 in sorted order (numeric order for numeric labels);
    class names are the original values as text.
    """
    p = Path(path).expanduser().resolve()
    with open(p, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ValueError(f"{p} is empty")
    header = [h.strip() for h in rows[0]]
    if label_column not in header:
        raise ValueError(f"{p}: no column {label_column!r}; columns: {', '.join(header)}")
    li = header.index(label_column)
    feature_names = [h for i, h in enumerate(header) if i != li]
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    if not body:
        raise ValueError(f"{p} has a header but no rows")
    x = np.empty((len(body), len(feature_names)), np.float64)
    labels: list[str] = []
    for r_i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValueError(f"{p}:{r_i}: {len(row)} fields, header has {len(header)}")
        labels.append(row[li].strip())
        feats = [c for i, c in enumerate(row) if i != li]
        for j, cell in enumerate(feats):
            try:
                x[r_i - 2, j] = float(cell)
            except ValueError:
                raise ValueError(
                    f"{p}:{r_i}: column {feature_names[j]!r} is not numeric: {cell!r}"
                ) from None
    if not np.isfinite(x).all():
        raise ValueError(f"{p}: missing or infinite feature values")
    lo, hi = x.min(axis=0), x.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)  # constant columns -> 0, not NaN
    classes = _label_order(labels)
    index = {c: k for k, c in enumerate(classes)}
    return Dataset(
        name="csv",
        x=((x - lo) / span).astype(np.float32),
        y=np.array([index[v] for v in labels], np.int64),
        class_names=tuple(classes),
        kind="tabular",
        meta={
            "params": {"path": str(p), "label_column": label_column},
            "feature_names": feature_names,
            "feature_min": lo.tolist(),
            "feature_max": hi.tolist(),
        },
    )


@register("folder", cached=False)
def _folder(path: str, size: int = 32) -> Dataset:
    """User images in an ImageFolder layout (``path/<class>/<image>``)."""
    return load_image_folder(path, size=size)


@register("cifar10", cached=False)
def _cifar10(path: str, train: bool = True) -> Dataset:
    """CIFAR-10 from a local ``cifar-10-batches-py`` folder (download=False)."""
    return load_cifar10(path, train=train)


@register("csv", cached=False)
def _csv(path: str, label_column: str = "label") -> Dataset:
    """Numeric CSV with a label column, min-max scaled to [0, 1]."""
    return load_csv(path, label_column=label_column)
