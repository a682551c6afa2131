"""Victims from declarative specs: load a built-in dataset, split it with a seed, train
through ``victim_service.training`` into an artifact store, and keep the membership
ground truth in a separate folder the service never reads.

Building is cached: an entry is reused when its spec hash (spec + dataset content hash)
matches the one recorded beside the ground truth.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from victim_service.card import Card, ServingSpec
from victim_service.store import ArtifactStore
from victim_service.training import Recipe, train_victim

from . import datasets

TRUTH_VERSION = 1


@dataclass
class SplitSpec:
    """Rows of the dataset, permuted with ``seed``: the first ``train`` are offered to the
    trainer, the next ``test`` are the held-out test set, the rest are ``spare`` (never
    trained on: the runner may give them to the attacker as same-distribution non-members)."""

    train: int
    test: int
    seed: int = 0


@dataclass
class VictimSpec:
    id: str
    dataset: str
    architecture: str | dict
    split: SplitSpec
    dataset_params: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    serving: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> VictimSpec:
        d = dict(d)
        ds = d.pop("dataset")
        if isinstance(ds, str):
            ds = {"name": ds}
        split = d.pop("split")
        unknown = set(d) - {"id", "architecture", "recipe", "serving", "description"}
        if unknown:
            raise ValueError(f"victim {d.get('id')!r}: unknown fields {sorted(unknown)}")
        Recipe.from_dict(d.get("recipe"))  # validate early, before any training
        return cls(
            dataset=ds["name"],
            dataset_params=dict(ds.get("params", {})),
            split=SplitSpec(**split),
            **d,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class GroundTruth:
    """Which dataset rows the victim was (and was not) trained on."""

    model_id: str
    spec_hash: str
    dataset_hash: str
    members: np.ndarray  # dataset row indices the model was fitted on
    test: np.ndarray  # held-out rows (non-members)
    spare: np.ndarray  # never trained on, not in the test set (non-members)
    offered: np.ndarray  # rows handed to the trainer (members plus any early-stopping holdout)

    @property
    def non_members(self) -> np.ndarray:
        held_out = np.setdiff1d(self.offered, self.members)
        return np.concatenate([self.test, self.spare, held_out])

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(
            folder / f"{self.model_id}.npz",
            members=self.members,
            test=self.test,
            spare=self.spare,
            offered=self.offered,
        )
        (folder / f"{self.model_id}.json").write_text(
            json.dumps(
                {
                    "model_id": self.model_id,
                    "spec_hash": self.spec_hash,
                    "dataset_hash": self.dataset_hash,
                    "version": TRUTH_VERSION,
                },
                indent=2,
            )
        )

    @classmethod
    def load(cls, folder: Path, model_id: str) -> GroundTruth:
        meta = json.loads((folder / f"{model_id}.json").read_text())
        arrays = np.load(folder / f"{model_id}.npz")
        return cls(
            model_id=model_id,
            spec_hash=meta["spec_hash"],
            dataset_hash=meta["dataset_hash"],
            **{k: arrays[k] for k in ("members", "test", "spare", "offered")},
        )


def default_truth_dir(store: Path) -> Path:
    return Path(store).parent / f"{Path(store).name}.truth"


def spec_hash(spec: VictimSpec, dataset_hash: str) -> str:
    blob = json.dumps(
        {"spec": spec.to_dict(), "data": dataset_hash, "v": TRUTH_VERSION},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def split_indices(n: int, split: SplitSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if split.train + split.test > n:
        raise ValueError(
            f"split asks for {split.train} train + {split.test} test rows but the dataset has {n}"
        )
    perm = np.random.default_rng(split.seed).permutation(n)
    return (
        perm[: split.train],
        perm[split.train : split.train + split.test],
        perm[split.train + split.test :],
    )


def _arch_name(architecture: str | dict) -> str:
    return architecture if isinstance(architecture, str) else architecture["name"]


@dataclass
class BuiltVictim:
    spec: VictimSpec
    card: Card
    truth: GroundTruth
    dataset: datasets.Dataset
    reused: bool


def build_victim(
    spec: VictimSpec,
    store: ArtifactStore,
    truth_dir: Path,
    force: bool = False,
    progress: bool = True,
) -> BuiltVictim:
    ds = datasets.load(spec.dataset, **spec.dataset_params)
    h = spec_hash(spec, ds.content_hash)
    truth_dir = Path(truth_dir)
    if not force and spec.id in store and (truth_dir / f"{spec.id}.json").exists():
        truth = GroundTruth.load(truth_dir, spec.id)
        if truth.spec_hash == h:
            card = store.card(spec.id)
            if spec.serving and (card.serving.policy, card.serving.price) != (
                spec.serving.get("policy", "probabilities"),
                spec.serving.get("price", 1),
            ):
                card = store.set_serving(
                    spec.id, spec.serving.get("policy"), spec.serving.get("price")
                )
            return BuiltVictim(spec, card, truth, ds, reused=True)
    train_idx, test_idx, spare_idx = split_indices(len(ds.y), spec.split)
    trained = train_victim(
        model_id=spec.id,
        architecture=spec.architecture,
        train=(ds.x[train_idx], ds.y[train_idx]),
        test=(ds.x[test_idx], ds.y[test_idx]),
        class_names=list(ds.class_names),
        recipe=Recipe.from_dict(spec.recipe),
        store=store,
        data_hash=ds.content_hash,
        input_range=(ds.input_spec["min"], ds.input_spec["max"]),
        serving=ServingSpec(**spec.serving) if spec.serving else None,
        description=spec.description or f"{_arch_name(spec.architecture)} on {spec.dataset}",
        progress=progress,
    )
    truth = GroundTruth(
        model_id=spec.id,
        spec_hash=h,
        dataset_hash=ds.content_hash,
        members=np.sort(train_idx[trained.result.member_indices]),
        test=np.sort(test_idx),
        spare=np.sort(spare_idx),
        offered=np.sort(train_idx),
    )
    truth.save(truth_dir)
    return BuiltVictim(spec, trained.card, truth, ds, reused=False)


def load_preset(name: str) -> list[VictimSpec]:
    import yaml

    path = Path(__file__).parent / "presets" / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in path.parent.glob("*.yaml"))
        raise ValueError(f"unknown preset {name!r}; known: {known}")
    return [VictimSpec.from_dict(v) for v in yaml.safe_load(path.read_text())["victims"]]
