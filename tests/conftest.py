"""Shared fixtures: a small artifact store and the real service under gunicorn."""

from __future__ import annotations

import os

import numpy as np
import pytest

from victim_service.admin_client import AdminClient

os.environ.setdefault("OMP_NUM_THREADS", "2")
ADMIN_TOKEN = "test-admin-token-0123456789"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    # Dataset builders cache under MLRANGE_CACHE: keep test runs off the user's cache.
    os.environ["MLRANGE_CACHE"] = str(tmp_path_factory.mktemp("cache"))


def digits_arrays():
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.images / 16.0).astype(np.float32)[:, None], d.target.astype(np.int64)


@pytest.fixture(scope="session")
def small_store(tmp_path_factory):
    """Three quick victims: a digits CNN, a tabular logistic regression, a tabular XGBoost."""
    import torch

    from victim_service.store import ArtifactStore
    from victim_service.training import Recipe, train_victim

    torch.set_num_threads(2)
    root = tmp_path_factory.mktemp("service")
    store = ArtifactStore(root / "store")
    x, y = digits_arrays()
    train_victim(
        "digits-cnn",
        "small_cnn",
        (x[:1000], y[:1000]),
        (x[1000:], y[1000:]),
        [str(i) for i in range(10)],
        Recipe(epochs=4, batch_size=64),
        store=store,
        progress=False,
    )
    rng = np.random.default_rng(0)
    xt = (rng.random((600, 20)) < 0.3).astype(np.float32)
    yt = (xt[:, :5].sum(1) > 1).astype(np.int64)
    train_victim(
        "tab-logreg",
        "logreg",
        (xt[:400], yt[:400]),
        (xt[400:], yt[400:]),
        ["no", "yes"],
        Recipe(epochs=20, lr=0.01),
        store=store,
        progress=False,
    )
    train_victim(
        "tab-xgb",
        "xgboost",
        (xt[:400], yt[:400]),
        (xt[400:], yt[400:]),
        ["no", "yes"],
        Recipe(xgb={"n_estimators": 20, "max_depth": 3}),
        store=store,
        progress=False,
    )
    return root


@pytest.fixture(scope="session")
def service(small_store):
    """The real service: gunicorn, 2 sync workers, on a free loopback port."""
    from victim_service.config import ServiceConfig
    from victim_service.serve import ServiceProcess

    config = ServiceConfig(
        store=small_store / "store",
        state=small_store / "state",
        admin_token=ADMIN_TOKEN,
        max_batch=512,
        max_body_bytes=4 * 2**20,
    )
    with ServiceProcess(config, workers=2, log_path=small_store / "gunicorn.log") as svc:
        yield svc


class KeyMaker:
    """``KeyMaker(url)(budget, models, policy, per_model) -> key``, through the admin client."""

    def __init__(self, url: str):
        self.admin = AdminClient(url, ADMIN_TOKEN)

    def __call__(self, budget: int = 1000, models=None, policy=None, per_model=None) -> str:
        return self.admin.create_key(budget, models=models, policy=policy, per_model=per_model)[
            "key"
        ]


@pytest.fixture(scope="session")
def make_key(service):
    return KeyMaker(service.url)


def auth(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}
