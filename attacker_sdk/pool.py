"""The attacker's pool of unlabelled (or self-labelled) inputs, with queried / unqueried
bookkeeping and the victim's answers kept beside the inputs they answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .answers import Answers, answers_to_soft
from .remote import RemoteClassifier


class Pool:
    """Inputs ``x`` (n, *shape) float32, optional attacker-known labels ``y`` (e.g. the
    records an MI attacker holds), and per-index answers once queried.

    ``soft[i]`` is the best probability vector the policy gave for a queried input
    (one-hot under ``label``), ``labels[i]`` the victim's label (-1 until queried).
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray | None = None,
        name: str = "pool",
        groups: np.ndarray | None = None,
        reference: np.ndarray | None = None,
    ):
        self.x = np.ascontiguousarray(x, dtype=np.float32)
        n = len(self.x)
        if y is not None and len(y) != n:
            raise ValueError("x and y lengths differ")
        self.y = None if y is None else np.asarray(y, dtype=np.int64)
        self.name = name
        # Free-form tags the attacker knows (e.g. which public source an image came from).
        self.groups = None if groups is None else np.asarray(groups)
        # Rows the attacker knows are NOT in the victim's training set (e.g. data it made or
        # collected after the victim was trained): calibration for unsupervised MI.
        self.reference = np.zeros(n, bool) if reference is None else np.asarray(reference, bool)
        self.queried = np.zeros(n, bool)
        self.labels = np.full(n, -1, np.int64)
        self.soft: np.ndarray | None = None
        self.query_order: list[int] = []

    def __len__(self) -> int:
        return len(self.x)

    @classmethod
    def from_image_folder(cls, path: str | Path, size: int = 32, name: str | None = None) -> Pool:
        """Images under ``path`` (any nesting torchvision's ImageFolder reads), resized to
        ``size``; folder names become ``y`` only if the caller wants them as labels."""
        from torchvision import datasets, transforms

        ds = datasets.ImageFolder(
            str(path),
            transform=transforms.Compose([transforms.Resize((size, size)), transforms.ToTensor()]),
        )
        x = np.stack([np.asarray(img) for img, _ in ds]).astype(np.float32)
        return cls(x, np.array(ds.targets), name=name or Path(path).name)

    def queried_indices(self) -> np.ndarray:
        return np.flatnonzero(self.queried)

    def unqueried_indices(self) -> np.ndarray:
        return np.flatnonzero(~self.queried)

    def record(self, idx: np.ndarray, answers: Answers, num_classes: int) -> None:
        idx = np.asarray(idx, dtype=np.int64)
        if self.soft is None:
            self.soft = np.zeros((len(self), num_classes), np.float32)
        self.soft[idx] = answers_to_soft(answers, num_classes)
        self.labels[idx] = answers.labels
        new = idx[~self.queried[idx]]
        self.query_order.extend(new.tolist())
        self.queried[idx] = True

    def query(self, victim: RemoteClassifier, idx: np.ndarray, progress: bool = False) -> Answers:
        """Ask the victim about ``x[idx]`` (paying only for what the cache lacks) and keep
        the answers."""
        idx = np.asarray(idx, dtype=np.int64)
        if len(np.unique(idx)) != len(idx):
            raise ValueError("duplicate indices in one query")
        answers = victim.query(self.x[idx], progress=progress)
        self.record(idx, answers, victim.num_classes)
        return answers

    def subset(self, idx: np.ndarray, name: str | None = None) -> Pool:
        idx = np.asarray(idx, dtype=np.int64)
        sub = Pool(
            self.x[idx],
            None if self.y is None else self.y[idx],
            name or self.name,
            None if self.groups is None else self.groups[idx],
            self.reference[idx],
        )
        sub.queried, sub.labels = self.queried[idx].copy(), self.labels[idx].copy()
        sub.soft = None if self.soft is None else self.soft[idx].copy()
        return sub
