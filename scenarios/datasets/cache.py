"""On-disk cache of built datasets (.npz under ``$MLRANGE_CACHE/datasets``).

Entries are keyed by a hash of (builder name, params, builder version), so changing a
builder's output only needs a version bump. Several processes (gunicorn workers, test
runners, scenario runs) may build the same dataset at once, so files are written to a
temporary name and moved into place with ``os.replace``: readers see either no file or
a whole one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .base import Dataset, is_per_sample

_META_PREFIX = "meta__"  # npz keys holding per-sample meta arrays


def cache_dir() -> Path:
    """``$MLRANGE_CACHE/datasets``, default ``~/.cache/mlrange/datasets`` (read each call)."""
    root = os.environ.get("MLRANGE_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "mlrange"
    )
    return Path(root) / "datasets"


def cache_key(name: str, params: dict[str, Any], version: int) -> str:
    """Stable hex key of (name, params, version); params must be JSON-serialisable."""
    blob = json.dumps({"name": name, "params": params, "version": version}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def cache_path(name: str, params: dict[str, Any], version: int) -> Path:
    return cache_dir() / f"{name}-{cache_key(name, params, version)[:20]}.npz"


def _jsonable(v: Any) -> Any:
    """numpy leftovers in dataset-level meta become plain lists / scalars."""
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(f"meta value of type {type(v).__name__} is not JSON-serialisable")


def save(ds: Dataset, path: Path) -> None:
    """Write ``ds`` to ``path`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(ds)
    arrays: dict[str, np.ndarray] = {
        "x": ds.x,
        "y": ds.y,
        "class_names": np.array(ds.class_names, dtype=np.str_),
    }
    scalar_meta = {}
    for k, v in ds.meta.items():
        if is_per_sample(v, n):
            arrays[_META_PREFIX + k] = v
        else:
            scalar_meta[k] = v
    header = {
        "name": ds.name,
        "kind": ds.kind,
        "content_hash": ds.content_hash,
        "meta": scalar_meta,
    }
    arrays["header"] = np.array(json.dumps(header, default=_jsonable), dtype=np.str_)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            # Uncompressed: most of our data (float images) barely compresses and
            # loading speed matters more than disk here.
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(path: Path) -> Dataset | None:
    """Read a cached dataset; None when missing or unreadable (it is then rebuilt)."""
    if not path.exists():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            meta = dict(header["meta"])
            for k in z.files:
                if k.startswith(_META_PREFIX):
                    meta[k[len(_META_PREFIX) :]] = z[k]
            return Dataset(
                name=header["name"],
                x=z["x"],
                y=z["y"],
                class_names=tuple(str(c) for c in z["class_names"]),
                kind=header["kind"],
                content_hash=header["content_hash"],
                meta=meta,
            )
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
        # A truncated or foreign file: treat as a miss; the rebuild overwrites it.
        return None
