"""Built-in datasets of the range (nothing is downloaded: data is generated or shipped).

Public API::

    from scenarios.datasets import Dataset, load, available
    ds = load("shapes", n=6000, family="A", seed=0)   # cached on disk after the first call
    ds.x, ds.y, ds.class_names, ds.content_hash, ds.input_spec, ds.subset(idx)

Built-ins (``available()``):

* ``digits``   scikit-learn's real handwritten digits, (n, 1, 8, 8);
* ``shapes``   procedural 32x32 RGB scenes, 10 classes, families A / B / C;
* ``purchase`` Purchase-100-like binary purchase vectors, k-means labels;
* ``tweets``   Tweet-emotion-like binary keywords, 4 emotions (or joy vs rest);
* ``folder`` / ``cifar10`` / ``csv``  user data from local paths (not cached).

Builders are seeded and deterministic; results are cached as .npz under
``$MLRANGE_CACHE/datasets`` (default ``~/.cache/mlrange/datasets``), keyed by
(name, params with defaults filled in, builder version).
"""

from __future__ import annotations

# Importing the builder modules registers them.
from . import digits as _digits  # noqa: F401
from . import local as _local  # noqa: F401
from . import purchase as _purchase  # noqa: F401
from . import shapes as _shapes  # noqa: F401
from . import tweets as _tweets  # noqa: F401
from .base import Dataset, compute_content_hash
from .cache import cache_dir
from .local import load_cifar10, load_csv, load_image_folder
from .registry import available, describe, load
from .tweets import marginal_statistics

__all__ = [
    "Dataset",
    "available",
    "cache_dir",
    "compute_content_hash",
    "describe",
    "load",
    "load_cifar10",
    "load_csv",
    "load_image_folder",
    "marginal_statistics",
]
