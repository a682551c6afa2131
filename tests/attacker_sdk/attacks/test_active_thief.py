"""ActiveThief (pool-based active extraction) against the REAL service (gunicorn, 2 workers,
loopback HTTP): every strategy spends exactly k queries a round, checked against the
server's ledger; query order, warm/scratch retraining, labels under each policy.

The world (shared with test_mexmi.py): a small CNN trained on 700 real digits; the
attacker's pool = those 700 members + 400 other digits (non-members, 200 of them known to
the attacker as non-members) + 4,500 out-of-distribution inverted noisy digits; the
remaining 697 digits are the runner-side evaluation set.
"""

from __future__ import annotations

import numpy as np
import pytest
import requests
import torch

from attacker_sdk.attacks import build
from attacker_sdk.attacks.active_thief import ActiveThief
from attacker_sdk.client import Client
from attacker_sdk.pool import Pool
from attacker_sdk.training import FitConfig, predict_proba
from tests.conftest import ADMIN_TOKEN, KeyMaker, auth, digits_arrays

MODEL = "pal-digits"
N_MEM, N_NON, N_OOD, N_REF = 700, 400, 4500, 200
TINY = {"name": "cnn", "params": {"blocks": 2, "width": 16, "convs": 1, "hidden": 64}}
FAST = FitConfig(epochs=4, batch_size=32, lr=1e-3)
STRATEGIES = ["random", "entropy", "margin", "kcenter", "deepfool", "adversarial-kcenter"]


class World:
    """Digits victim data, the pool and the ground truth (kept away from the attacks)."""

    def __init__(self):
        x, y = digits_arrays()
        rng = np.random.default_rng(0)
        perm = rng.permutation(len(x))
        self.members, self.non, self.test = (
            perm[:N_MEM],
            perm[N_MEM : N_MEM + N_NON],
            perm[N_MEM + N_NON :],
        )
        src = x[rng.choice(len(x), N_OOD)]
        ood = np.clip(1.0 - src + rng.normal(0, 0.1, src.shape), 0, 1).astype(np.float32)
        self.x, self.y = x, y
        self.pool_x = np.concatenate([x[self.members], x[self.non], ood])
        self.kind = np.r_[
            np.zeros(N_MEM, int), np.ones(N_NON, int), np.full(N_OOD, 2)
        ]  # 0 member 1 non 2 ood
        self.is_member = self.kind == 0
        self.reference = np.zeros(len(self.pool_x), bool)
        self.reference[N_MEM : N_MEM + N_REF] = True

    def pool(self) -> Pool:
        return Pool(self.pool_x, name="pal-pool", reference=self.reference)


_TRAINED: dict = {}  # one victim per pytest process, shared by test_active_thief and test_mexmi


def start_world(tmp_path_factory):
    """Train the victim (once per process), start a service on it: (service, world)."""
    from victim_service.config import ServiceConfig
    from victim_service.serve import ServiceProcess
    from victim_service.store import ArtifactStore
    from victim_service.training import Recipe, train_victim

    if "world" not in _TRAINED:
        torch.manual_seed(0)
        world = World()
        root = tmp_path_factory.mktemp("pal-store")
        store = ArtifactStore(root / "store")
        v = train_victim(
            MODEL,
            "small_cnn",
            (world.x[world.members], world.y[world.members]),
            (world.x[world.test], world.y[world.test]),
            [str(i) for i in range(10)],
            Recipe(epochs=20, batch_size=64),
            store=store,
            progress=False,
        )
        world.card = v.card
        world.victim_labels = store.load(MODEL).predict_proba(world.x[world.test]).argmax(1)
        _TRAINED.update(world=world, store=root / "store")
    world = _TRAINED["world"]
    state = tmp_path_factory.mktemp("pal-state")
    config = ServiceConfig(
        store=_TRAINED["store"],
        state=state,
        admin_token=ADMIN_TOKEN,
        max_batch=512,
        max_body_bytes=8 * 2**20,
    )
    return ServiceProcess(config, workers=2, log_path=state / "gunicorn.log"), world


@pytest.fixture(scope="module")
def pal(tmp_path_factory):
    prev = torch.get_num_threads()
    torch.set_num_threads(1)  # 2 threads crawl when the 2 cores are shared (OpenMP barriers)
    svc, world = start_world(tmp_path_factory)
    with svc:
        yield svc, world
    torch.set_num_threads(prev)


def connect(svc, policy: str = "probabilities", budget: int = 1000):
    key = KeyMaker(svc.url)(budget=budget, models=[MODEL], policy=policy)
    client = Client(svc.url, key, budget=budget)
    return client.classifier(MODEL), key


def server_used(svc, key) -> int:
    return requests.get(f"{svc.url}/v1/usage", headers=auth(key), timeout=10).json()["used"]


def fidelity(world: World, model) -> float:
    return float(
        (predict_proba(model, world.x[world.test]).argmax(1) == world.victim_labels).mean()
    )


def check_rounds(res, pool: Pool, sizes: list[int]) -> None:
    """Per-round spend equals the planned sizes, queried rows are distinct, in query order."""
    spent = [r.queries for r in res.timeline]
    assert np.diff([0] + spent).tolist() == sizes, res.timeline
    by_round = [res.spend_by_phase.get(f"{res.attack}/seed", 0)] + [
        res.spend_by_phase.get(f"{res.attack}/round-{i}", 0) for i in range(1, len(sizes))
    ]
    assert by_round == sizes, res.spend_by_phase
    q = res.queried_indices
    assert len(q) == sum(sizes) == len(np.unique(q))
    assert sorted(q.tolist()) == pool.queried_indices().tolist()
    assert q.tolist() == pool.query_order  # in the order they were bought
    assert [r.stats["selected"] for r in res.timeline] == sizes


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_strategy_spends_exactly_k_a_round(pal, strategy):
    svc, world = pal
    victim, key = connect(svc, budget=150)
    pool = world.pool()
    params = {"candidates": 150} if strategy in ("deepfool", "adversarial-kcenter") else {}
    attack = ActiveThief(
        strategy=strategy, strategy_params=params, k=40, initial_seed=30, copy_arch=TINY, fit=FAST
    )
    res = attack.extract(victim, pool, 150, progress=False)
    check_rounds(res, pool, [30, 40, 40, 40])
    assert res.queries == 150 == server_used(svc, key) == victim.client.budget.spent
    assert victim.client.inputs_sent == 150  # nothing bought twice
    assert res.artefacts["strategy"]["name"] in (strategy, "deepfool")
    if strategy in ("deepfool", "adversarial-kcenter"):
        assert res.artefacts["strategy"]["max_iter"] == 20  # ActiveThief's DeepFool epochs
        assert all(r.stats["strategy_stats"]["ran_on"] <= 150 for r in res.timeline[1:])
    assert res.copy_model is not None and 0.0 <= fidelity(world, res.copy_model) <= 1.0


def test_budget_not_a_multiple_of_k_and_warm_start(pal):
    svc, world = pal
    victim, key = connect(svc, budget=125)
    pool = world.pool()
    attack = ActiveThief(
        strategy="entropy",
        k=40,
        initial_seed=30,
        retrain="warm",
        warm_epochs=2,
        copy_arch=TINY,
        fit=FAST,
    )
    assert attack.planned_rounds(125) == 4
    res = attack.extract(victim, pool, 125, progress=False)
    check_rounds(res, pool, [30, 40, 40, 15])
    assert server_used(svc, key) == 125
    assert [r.stats["epochs"] for r in res.timeline] == [
        4,
        2,
        2,
        2,
    ]  # warm rounds continue the copy
    assert res.params["retrain"] == "warm"


def test_initial_seed_defaults_to_k_and_checkpoints_are_called(pal):
    svc, world = pal
    victim, key = connect(svc, budget=90)
    seen = []

    def judge(model, queries):
        seen.append(queries)
        return {"fidelity": fidelity(world, model)}

    res = ActiveThief(strategy="margin", k=30, copy_arch=TINY, fit=FAST).extract(
        victim, world.pool(), 90, on_checkpoint=judge, progress=False
    )
    assert seen == [30, 60, 90] and all("fidelity" in r.metrics for r in res.timeline)
    assert server_used(svc, key) == 90


@pytest.mark.parametrize(
    "policy,expect",
    [("probabilities", "soft"), ("top1", "hard"), ("label", "hard"), ("topk:3", "hard")],
)
def test_labels_follow_the_policy(pal, policy, expect, monkeypatch):
    svc, world = pal
    victim, key = connect(svc, policy=policy, budget=60)
    targets = []
    import attacker_sdk.attacks.active_thief as at

    real_fit = at.fit

    def spy(model, x, y, config, weights=None, num_classes=None):
        targets.append(np.asarray(y))
        return real_fit(model, x, y, config, weights=weights, num_classes=num_classes)

    monkeypatch.setattr(at, "fit", spy)
    res = ActiveThief(strategy="entropy", k=30, copy_arch=TINY, fit=FAST).extract(
        victim, world.pool(), 60, progress=False
    )
    assert res.artefacts["labels"] == expect and server_used(svc, key) == 60
    assert all(t.ndim == (2 if expect == "soft" else 1) for t in targets)
    if policy == "top1":  # labels="soft" trains on the completed top-1 vectors instead
        victim2, _ = connect(svc, policy=policy, budget=30)
        targets.clear()
        ActiveThief(strategy="entropy", k=30, labels="soft", copy_arch=TINY, fit=FAST).extract(
            victim2, world.pool(), 30, progress=False
        )
        assert targets[0].ndim == 2 and np.allclose(targets[0].sum(1), 1.0)


def test_stops_when_the_pool_runs_out(pal):
    svc, world = pal
    victim, key = connect(svc, budget=500)
    small = Pool(world.pool_x[:70])
    res = ActiveThief(strategy="kcenter", k=25, copy_arch=TINY, fit=FAST).extract(
        victim, small, 500, progress=False
    )
    assert res.queries == 70 == server_used(svc, key) and small.queried.all()
    assert [r.stats["selected"] for r in res.timeline] == [25, 25, 20]


def test_registry_builds_from_yaml_dicts():
    a = build(
        "activethief",
        {
            "strategy": "deepfool",
            "strategy_params": {"candidates": 100},
            "fit": {"epochs": 3},
            "k": 10,
        },
    )
    assert a.fit.epochs == 3 and a.fit.batch_size == 50 and a.make_strategy().max_iter == 20
    m = build("mexmi", {"strategy": "deepfool", "ssl": {"epochs": 2}, "shadow": {"top": 1}})
    assert m.make_strategy().max_iter == 50 and m.ssl.epochs == 2 and m.shadow.top == 1
    with pytest.raises(ValueError):
        build("activethief", {"strategy": "bald"})
    with pytest.raises(ValueError):
        build("activethief", {"retrain": "sometimes"})
