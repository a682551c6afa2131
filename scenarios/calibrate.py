"""How hard are the built-in datasets for the range's own victims? Trains the victim
architectures through ``victim_service.training`` (the exact code the victims use) and
prints held-out accuracies.

    python -m scenarios.calibrate shapes [--epochs 30]    # small_cnn on 5,000 family-A images
    python -m scenarios.calibrate tabular                 # MICO MLP on purchase, MLPs on tweets

Targets: shapes CIFAR-like (about 80-92% on held-out family A, clearly less on the other
families, which are out of distribution); tabular "learnable, not separable" (well above
chance, well below 100% on test, with the train/test gap membership inference feeds on).
Measured figures are in the docstrings of ``scenarios.datasets.shapes`` /
``purchase`` / ``tweets``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from victim_service.training import Recipe, train_victim

from . import datasets


def _fit(name: str, arch, train, test, recipe: Recipe, extra: dict) -> dict:
    t0 = time.perf_counter()
    tv = train_victim(
        name,
        arch,
        (train.x, train.y),
        (test.x, test.y),
        list(train.class_names),
        recipe,
        progress=True,
    )
    out = {
        "model": name,
        "architecture": tv.card.architecture,
        "train_acc": round(tv.card.train_accuracy, 4),
        "test_acc": round(tv.card.test_accuracy, 4),
        "seconds": round(time.perf_counter() - t0, 1),
        "images_per_s": round(
            len(train.y) * tv.card.epochs_run / max(tv.card.training_seconds, 1e-9)
        ),
    }
    from victim_service.tasks.classification import TorchPredictor

    pred = TorchPredictor(tv.card, tv.result.model)
    for label, ds in extra.items():
        out[f"acc_{label}"] = round(float((pred.predict_proba(ds.x).argmax(1) == ds.y).mean()), 4)
    majority = np.bincount(test.y).max() / len(test.y)
    out["majority_class"] = round(float(majority), 4)
    return out


def shapes(epochs: int, n_train: int = 5000, n_test: int = 2000, seed: int = 0) -> list[dict]:
    a = datasets.load("shapes", n=n_train + n_test, family="A", seed=seed)
    train, test = a.subset(np.arange(n_train)), a.subset(np.arange(n_train, len(a)))
    ood = {f"family_{f}": datasets.load("shapes", n=n_test, family=f, seed=seed + 1) for f in "BC"}
    recipe = Recipe(epochs=epochs, batch_size=128, lr=1e-3, augment="crop_flip", seed=seed)
    return [_fit("shapes-small_cnn", "small_cnn", train, test, recipe, ood)]


def tabular(epochs: int, seed: int = 0) -> list[dict]:
    rows = []
    recipe = Recipe(epochs=epochs, batch_size=128, lr=1e-3, seed=seed)
    for name, params, arch in (
        ("purchase", {}, "mico_mlp"),
        ("tweets", {}, {"name": "mlp", "params": {"hidden": [64]}}),
        ("tweets", {"binary": True}, {"name": "mlp", "params": {"hidden": [64]}}),
    ):
        ds = datasets.load(name, seed=seed, **params)
        half = len(ds.y) // 2
        perm = np.random.default_rng(seed).permutation(len(ds.y))
        rows.append(
            _fit(
                f"{name}{'-binary' if params else ''}",
                arch,
                ds.subset(perm[:half]),
                ds.subset(perm[half:]),
                recipe,
                {},
            )
        )
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    ap = argparse.ArgumentParser(
        description="Calibrate the built-in datasets against the range's victims."
    )
    ap.add_argument("what", choices=["shapes", "tabular"])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="write the figures as JSON here")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    rows = shapes(args.epochs) if args.what == "shapes" else tabular(args.epochs)
    print(json.dumps(rows, indent=2))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
