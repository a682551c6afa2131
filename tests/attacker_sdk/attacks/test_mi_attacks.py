"""Membership-inference attacks against a deliberately overfit victim behind the REAL
service (gunicorn, 2 workers, loopback HTTP), with keys under several output policies.

The victim: an MLP on 300 noisy 8x8 digits (Gaussian pixel noise, sigma 0.5, fixed per
record), 150 epochs, no regularisation: train accuracy 1.0, test accuracy far lower.
Targets: 150 members + 150 non-members; aux: 600 other noisy digits (same process).
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import requests

from attacker_sdk.attacks.label_only import GapAttack
from attacker_sdk.attacks.lira import LiRAOffline, one_sided_score
from attacker_sdk.attacks.metric_mi import MetricAttack
from attacker_sdk.attacks.ml_leaks import MLLeaks
from attacker_sdk.attacks.shokri import ShokriShadow
from attacker_sdk.client import Client
from attacker_sdk.errors import BudgetExhausted, PolicyUnsupported
from attacker_sdk.pool import Pool
from attacker_sdk.training import FitConfig
from tests.conftest import ADMIN_TOKEN, KeyMaker, auth, digits_arrays

MODEL = "digits-mlp-overfit"
N_MEMBERS = 150
FAST_FIT = FitConfig(epochs=100, batch_size=32, lr=1e-3)  # shadows trained like the victim
SHADOW = {"shadow_arch": "mlp", "shadow_fit": FAST_FIT}
RESULTS: dict[str, dict] = {}


def _auc(is_member, scores) -> float:
    try:
        from attacker_sdk.metrics import auc

        return auc(is_member, scores)
    except ImportError:  # Mann-Whitney with ties counted one half
        m, s = np.asarray(is_member, bool), np.asarray(scores, float)
        pos, neg = s[m], s[~m]
        return float(
            ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum())
            / (len(pos) * len(neg))
        )


def _tpr_at_1pct(is_member, scores) -> float | None:
    try:
        from attacker_sdk.metrics import tpr_at_fpr

        return tpr_at_fpr(is_member, scores, 0.01)
    except ImportError:
        return None


# -- fixtures: data, victim, service ------------------------------------------------------


@pytest.fixture(scope="module")
def mi_data():
    x, y = digits_arrays()
    rng = np.random.default_rng(1234)
    x = np.clip(x + rng.normal(0.0, 0.5, x.shape), 0.0, 1.0).astype(np.float32)
    perm = rng.permutation(len(x))
    train, nonmem, aux, test = perm[:300], perm[300:450], perm[450:1050], perm[1050:]
    target_idx = np.concatenate([train[:N_MEMBERS], nonmem])
    is_member = np.r_[np.ones(N_MEMBERS, bool), np.zeros(len(nonmem), bool)]
    return {
        "x": x,
        "y": y,
        "train": train,
        "test": test,
        "target_idx": target_idx,
        "is_member": is_member,
        "aux": aux,
    }


@pytest.fixture(scope="module")
def mi_service(mi_data, tmp_path_factory):
    import torch

    from victim_service.config import ServiceConfig
    from victim_service.serve import ServiceProcess
    from victim_service.store import ArtifactStore
    from victim_service.training import Recipe, train_victim

    prev_threads = torch.get_num_threads()
    torch.set_num_threads(2)
    root = tmp_path_factory.mktemp("mi-service")
    store = ArtifactStore(root / "store")
    x, y, tr, te = mi_data["x"], mi_data["y"], mi_data["train"], mi_data["test"]
    victim = train_victim(
        MODEL,
        "mlp",
        (x[tr], y[tr]),
        (x[te], y[te]),
        [str(i) for i in range(10)],
        Recipe(epochs=150, batch_size=32, lr=1e-3),
        store=store,
        progress=False,
    )
    assert len(victim.result.member_indices) == len(tr)  # no hold-out: all 300 are members
    config = ServiceConfig(
        store=root / "store",
        state=root / "state",
        admin_token=ADMIN_TOKEN,
        max_batch=512,
        max_body_bytes=4 * 2**20,
    )
    with ServiceProcess(config, workers=2, log_path=root / "gunicorn.log") as svc:
        svc.victim_card = victim.card
        yield svc
    torch.set_num_threads(prev_threads)


@pytest.fixture(scope="module")
def connect(mi_service):
    make_key = KeyMaker(mi_service.url)

    def _connect(policy: str = "probabilities", budget: int = 10_000):
        key = make_key(budget=budget, models=[MODEL], policy=policy)
        client = Client(mi_service.url, key)
        return client.classifier(MODEL), key

    return _connect


@pytest.fixture(scope="module")
def pools(mi_data):
    x, y = mi_data["x"], mi_data["y"]
    t, a = mi_data["target_idx"], mi_data["aux"]
    return lambda: (Pool(x[t], y[t], "targets"), Pool(x[a], y[a], "aux"))


def server_used(service, key) -> int:
    return requests.get(f"{service.url}/v1/usage", headers=auth(key), timeout=10).json()["used"]


def check_result(res, n_targets, is_member, tag, extra_queries=0):
    assert res.scores.shape == (n_targets,) and np.isfinite(res.scores).all()
    assert res.predictions.dtype == bool and res.predictions.shape == (n_targets,)
    assert res.timeline and all(r.queries >= 0 and r.t >= 0 for r in res.timeline)
    assert res.queries == n_targets + extra_queries
    assert sum(res.spend_by_phase.values()) == res.queries
    auc = _auc(is_member, res.scores)
    RESULTS[tag] = {
        "auc": round(auc, 3),
        "tpr@1%fpr": _tpr_at_1pct(is_member, res.scores),
        "queries": res.queries,
        "seconds": round(res.seconds, 2),
        "pred_acc": round(float((res.predictions == is_member).mean()), 3),
    }
    assert auc >= 0.6, (tag, RESULTS[tag], res.artefacts)
    return auc


# -- the victim really is overfit -----------------------------------------------------------


def test_victim_is_overfit(mi_service):
    card = mi_service.victim_card
    RESULTS["victim"] = {
        "train_accuracy": card.train_accuracy,
        "test_accuracy": round(card.test_accuracy, 3),
    }
    assert card.train_accuracy >= 0.99 and card.test_accuracy <= card.train_accuracy - 0.2


# -- every attack under full probabilities --------------------------------------------------

ATTACKS = {
    "metric-mentropy": lambda: MetricAttack("mentropy", **SHADOW),
    "metric-confidence": lambda: MetricAttack("confidence", **SHADOW),
    "metric-entropy": lambda: MetricAttack("entropy", **SHADOW),
    "metric-correctness": lambda: MetricAttack("correctness"),
    "gap": lambda: GapAttack(),
    "ml-leaks": lambda: MLLeaks(**SHADOW),
    "ml-leaks-adv3": lambda: MLLeaks(adversary=3, adv3_noise_queries=20),
    "shokri": lambda: ShokriShadow(n_shadows=2, **SHADOW),
    "lira-offline": lambda: LiRAOffline(n_shadows=4, **SHADOW),
}


@pytest.mark.parametrize("tag", list(ATTACKS))
def test_attack_under_probabilities(tag, connect, pools, mi_data, mi_service):
    victim, key = connect("probabilities")
    targets, aux = pools()
    res = ATTACKS[tag]().infer(victim, targets, aux, budget=1000, progress=False)
    extra = 20 if tag == "ml-leaks-adv3" else 0
    check_result(res, len(targets), mi_data["is_member"], tag, extra)
    assert server_used(mi_service, key) == res.queries
    assert res.artefacts["policy"]["policy"] == "probabilities"
    if tag.startswith("metric-") and tag != "metric-correctness":
        assert len(res.artefacts["thresholds"]) == 10 and res.threshold == 0.0
        assert np.array_equal(res.predictions, res.scores >= 0)
    if tag in ("ml-leaks", "shokri"):
        assert res.artefacts["attack_accuracy_holdout"] > 0.5
        assert res.artefacts["shadow"]["train_accuracy"] > res.artefacts["shadow"]["test_accuracy"]


# -- coarsened outputs ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag,policy",
    [
        ("ml-leaks", "topk:3"),
        ("metric-mentropy", "round:2"),
        ("metric-confidence", "round:2"),
        ("metric-entropy", "round:2"),
        ("lira-offline", "round:3"),
        ("lira-offline", "topk:3"),
        ("ml-leaks", "top1"),
        ("metric-confidence", "top1"),
        ("shokri", "noise:0.01"),
    ],
)
def test_attack_under_coarse_policy(tag, policy, connect, pools, mi_data, mi_service):
    victim, key = connect(policy)
    targets, aux = pools()
    res = ATTACKS[tag]().infer(victim, targets, aux, budget=1000, progress=False)
    check_result(res, len(targets), mi_data["is_member"], f"{tag}@{policy}")
    assert server_used(mi_service, key) == res.queries
    assert res.artefacts["policy"]["policy"] == policy


def test_label_policy(connect, pools, mi_data, mi_service):
    """Label-only attacks work; every score-based attack refuses before spending."""
    for tag in (
        "metric-mentropy",
        "metric-confidence",
        "metric-entropy",
        "ml-leaks",
        "ml-leaks-adv3",
        "shokri",
        "lira-offline",
    ):
        victim, key = connect("label")
        targets, aux = pools()
        with pytest.raises(PolicyUnsupported):
            ATTACKS[tag]().infer(victim, targets, aux, budget=1000, progress=False)
        assert victim.client.budget.spent == 0 and server_used(mi_service, key) == 0, tag
    for tag in ("gap", "metric-correctness"):
        victim, key = connect("label")
        targets, aux = pools()
        res = ATTACKS[tag]().infer(victim, targets, aux, budget=1000, progress=False)
        check_result(res, len(targets), mi_data["is_member"], f"{tag}@label")
        assert server_used(mi_service, key) == len(targets)


# -- budgets and spend bookkeeping ------------------------------------------------------------


@pytest.mark.parametrize("tag", ["gap", "metric-mentropy", "ml-leaks", "shokri", "lira-offline"])
def test_small_budget_refused_before_spending(tag, connect, pools, mi_service):
    victim, key = connect("probabilities")
    targets, aux = pools()
    with pytest.raises(BudgetExhausted):
        ATTACKS[tag]().infer(victim, targets, aux, budget=len(targets) - 1, progress=False)
    assert server_used(mi_service, key) == 0 and victim.client.budget.spent == 0


def test_key_budget_too_small_refused_before_spending(connect, pools, mi_service):
    """The attack's own budget is ample, the key's is not: learnt from /v1/usage, refused
    before a first batch is bought."""
    victim, key = connect("probabilities", budget=200)
    targets, aux = pools()
    with pytest.raises(BudgetExhausted):
        GapAttack().infer(victim, targets, aux, budget=10_000, progress=False)
    assert server_used(mi_service, key) == 0


def test_aux_labelled_by_victim_and_cache(connect, pools, mi_data, mi_service):
    victim, key = connect("probabilities")
    targets, aux = pools()
    with pytest.raises(BudgetExhausted):  # targets + aux do not fit in len(targets) + len(aux) - 1
        MLLeaks(label_aux_with_victim=True, **SHADOW).infer(
            victim, targets, aux, len(targets) + len(aux) - 1, progress=False
        )
    res = MLLeaks(label_aux_with_victim=True, **SHADOW).infer(
        victim, targets, aux, budget=10_000, progress=False
    )
    check_result(
        res, len(targets), mi_data["is_member"], "ml-leaks+aux-labels", extra_queries=len(aux)
    )
    assert res.spend_by_phase == {"ml_leaks/aux-labels": len(aux), "ml_leaks/targets": len(targets)}
    # Another attack on the same client re-reads the cached answers: nothing more is spent,
    # and a budget of 0 is enough.
    again = MetricAttack("confidence", **SHADOW).infer(
        victim, targets, aux, budget=0, progress=False
    )
    assert again.queries == 0 and server_used(mi_service, key) == len(targets) + len(aux)
    assert _auc(mi_data["is_member"], again.scores) >= 0.6


def test_lira_flip_augmentation_costs_double(connect, pools, mi_data, mi_service):
    victim, key = connect("probabilities")
    targets, aux = pools()
    with pytest.raises(BudgetExhausted):
        LiRAOffline(n_shadows=2, augmentations=True, **SHADOW).infer(
            victim, targets, aux, len(targets) * 2 - 1, progress=False
        )
    res = LiRAOffline(n_shadows=2, fix_variance=True, augmentations=True, **SHADOW).infer(
        victim, targets, aux, budget=2 * len(targets), progress=False
    )
    check_result(
        res,
        len(targets),
        mi_data["is_member"],
        "lira-offline+flip+fixvar",
        extra_queries=len(targets),
    )
    assert server_used(mi_service, key) == 2 * len(targets) and res.artefacts["views"] == 2


def test_report_results():
    """Not a check: writes the measured figures (``MI_RESULTS_JSON`` or stdout with -s)."""
    text = json.dumps(RESULTS, indent=1, default=float)
    print(text)
    if os.environ.get("MI_RESULTS_JSON"):
        with open(os.environ["MI_RESULTS_JSON"], "w") as f:
            f.write(text)


def test_lira_one_sided_score():
    """Above the OUT mean scores higher than the same distance below it."""
    s = one_sided_score(np.array([1.0, -1.0]), np.zeros(2), np.ones(2))
    assert s[0] > s[1] > 0
