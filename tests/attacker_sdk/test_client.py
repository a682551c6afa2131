"""The budgeted client against the real service: local budget guard, content-hash cache,
typed errors, retries on 429, and the policy-aware remote views."""

import numpy as np
import pytest
import requests

from attacker_sdk.client import Client
from attacker_sdk.errors import (
    BudgetExhausted,
    Forbidden,
    InvalidInput,
    NotFound,
    PolicyUnsupported,
    Unauthorized,
)
from tests.conftest import ADMIN_TOKEN, KeyMaker, digits_arrays

X, Y = digits_arrays()


def server_used(service, key):
    return requests.get(
        service.url + "/v1/usage", headers={"Authorization": f"Bearer {key}"}, timeout=10
    ).json()["used"]


def test_local_budget_refuses_before_sending(service, make_key):
    key = make_key(budget=100)
    c = Client(service.url, key, budget=5)
    with pytest.raises(BudgetExhausted) as e:
        c.predict("digits-cnn", X[:8])
    assert e.value.local and e.value.requested == 8
    assert c.requests_sent == 0 and server_used(service, key) == 0
    assert len(c.predict("digits-cnn", X[:5]).labels) == 5
    assert c.budget.spent == 5 and c.budget.remaining == 0


def test_server_budget_is_adopted_and_402_is_typed(service, make_key):
    key = make_key(budget=6)
    c = Client(service.url, key, batch_size=4)  # no local limit: the server's 402 speaks
    c.predict("digits-cnn", X[:4])
    assert c.budget.total == 6  # learned from the answer's usage
    with pytest.raises(BudgetExhausted) as e:
        c.predict("digits-cnn", X[10:14])
    assert e.value.local  # refused locally: the client knows the server budget now
    c2 = Client(service.url, key)
    with pytest.raises(BudgetExhausted) as e2:
        c2.predict("digits-cnn", X[20:25])
    assert not e2.value.local and e2.value.status == 402 and e2.value.remaining == 2
    assert server_used(service, key) == 4


def test_cache_makes_repeats_free(service, make_key):
    key = make_key(budget=100)
    c = Client(service.url, key)
    first = c.predict("digits-cnn", X[:10])
    again = c.predict("digits-cnn", X[:10])
    assert first.charged == 10 and again.charged == 0 and again.from_cache.all()
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_allclose(first.probabilities, again.probabilities)
    mixed = c.predict("digits-cnn", X[[0, 50, 50, 1, 51]])  # repeats inside one batch are paid once
    assert mixed.charged == 2 and mixed.from_cache.tolist() == [True, False, False, True, False]
    assert server_used(service, key) == 12 == c.budget.spent
    assert c.uncached("digits-cnn", X[[0, 52, 52]]).tolist() == [False, True, False]


def test_batches_are_split(service, make_key):
    key = make_key(budget=100)
    c = Client(service.url, key, batch_size=7, payload="npy")
    a = c.predict("digits-cnn", X[:30])
    assert c.requests_sent == 5 and a.charged == 30 and len(a) == 30


@pytest.mark.parametrize("payload", ["b64", "npy", "json"])
def test_payloads_agree(service, make_key, payload):
    c = Client(service.url, make_key(budget=10), payload=payload)
    assert (
        c.predict("digits-cnn", X[:3]).labels.tolist()
        == Client(service.url, make_key(budget=10)).predict("digits-cnn", X[:3]).labels.tolist()
    )


def test_typed_errors(service, make_key):
    with pytest.raises(Unauthorized):
        Client(service.url, "mlr_000000000000_nope").models()
    c = Client(service.url, make_key(models=["tab-logreg"]))
    with pytest.raises(NotFound):
        c.model("ghost")
    with pytest.raises(Forbidden):
        c.model("digits-cnn")
    with pytest.raises(InvalidInput):
        c.predict("tab-logreg", np.full((2, 20), 5.0))  # out of range: 422
    assert (
        c.budget.spent == 0 and c.budget.reserved == 0
    )  # the refused request's reservation was released


def test_policy_views(service, make_key):
    label = Client(service.url, make_key(policy="label")).classifier("digits-cnn")
    assert label.reveals == "label" and not label.gives("topk")
    with pytest.raises(PolicyUnsupported):
        label.predict_proba(X[:3])
    assert label.client.budget.spent == 0
    soft = label.soft_labels(X[:3])
    assert (soft.max(1) == 1).all() and soft.sum() == 3
    top = Client(service.url, make_key(policy="topk:3")).classifier("digits-cnn")
    s = top.soft_labels(X[:4])
    assert np.allclose(s.sum(1), 1) and top.top1(X[:4])[1].shape == (4,)
    full = Client(service.url, make_key()).classifier("digits-cnn")
    _lab, score = full.top1(X[:4])
    np.testing.assert_allclose(score, full.predict_proba(X[:4]).max(1), rtol=1e-6)
    assert full.client.budget.spent == 4  # predict_proba after top1 came from the cache


def test_phases_attribute_spend(service, make_key):
    c = Client(service.url, make_key(budget=50))
    with c.phase("seed"):
        c.predict("digits-cnn", X[:5])
    with c.phase("round-1"):
        c.predict("digits-cnn", X[5:12])
        c.predict("digits-cnn", X[:5])  # cached: costs nothing
    assert c.budget.by_phase == {"seed": 5, "round-1": 7}


def test_retries_honour_429(small_store, tmp_path):
    from victim_service.config import ServiceConfig
    from victim_service.serve import ServiceProcess

    cfg = ServiceConfig(
        store=small_store / "store",
        state=tmp_path / "state",
        admin_token=ADMIN_TOKEN,
        rate_limit="4/second",
    )
    with ServiceProcess(cfg, workers=1) as svc:
        key = KeyMaker(svc.url)(budget=100)
        raw = [
            requests.post(
                svc.url + "/v1/models/digits-cnn/predict",
                json={"inputs": X[i : i + 1].tolist()},
                headers={"Authorization": f"Bearer {key}"},
                timeout=10,
            )
            for i in range(8)
        ]
        limited = [r for r in raw if r.status_code == 429]
        assert limited and limited[0].headers["Content-Type"].startswith("application/problem+json")
        assert "Retry-After" in limited[0].headers
        used_before = server_used(svc, key)
        c = Client(svc.url, key, batch_size=1, backoff=0.05)
        a = c.predict("digits-cnn", X[20:32])
        assert len(a) == 12 and c.retries_made > 0
        assert (
            server_used(svc, key) - used_before == 12
        )  # 429s cost nothing, every answer paid once
