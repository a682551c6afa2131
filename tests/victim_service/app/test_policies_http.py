"""Every output policy's answer shape, through the real service."""

import numpy as np
import pytest
import requests

from tests.conftest import auth, digits_arrays

X, _ = digits_arrays()


def predict(service, key, n=4, model="digits-cnn"):
    r = requests.post(
        f"{service.url}/v1/models/{model}/predict",
        json={"inputs": X[:n].tolist()},
        headers=auth(key),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_probabilities(service, make_key):
    body = predict(service, make_key(policy="probabilities"))
    p = np.array(body["probabilities"])
    assert p.shape == (4, 10) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert body["labels"] == p.argmax(1).tolist()
    assert body["top"] is None and body["policy"] == "probabilities"


def test_round(service, make_key):
    body = predict(service, make_key(policy="round:2"))
    p = np.array(body["probabilities"])
    assert np.allclose(p, np.round(p, 2))
    assert body["policy"] == "round:2"


@pytest.mark.parametrize("policy,k", [("topk:3", 3), ("top1", 1)])
def test_topk(service, make_key, policy, k):
    body = predict(service, make_key(policy=policy))
    assert body["probabilities"] is None
    assert [len(t) for t in body["top"]] == [k] * 4
    assert [t[0]["label"] for t in body["top"]] == body["labels"]
    for row in body["top"]:
        scores = [e["score"] for e in row]
        assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1


def test_label_only(service, make_key):
    body = predict(service, make_key(policy="label"))
    assert body["probabilities"] is None and body["top"] is None
    assert len(body["labels"]) == 4 and all(0 <= v < 10 for v in body["labels"])


def test_noise_keeps_labels_changes_scores(service, make_key):
    clean = predict(service, make_key(policy="probabilities"))
    noisy = predict(service, make_key(policy="noise:0.05"))
    p, q = np.array(clean["probabilities"]), np.array(noisy["probabilities"])
    assert noisy["labels"] == clean["labels"]
    assert np.allclose(q.sum(1), 1, atol=1e-6) and (q >= 0).all()
    assert not np.allclose(p, q)


def test_composition_top1_round(service, make_key):
    body = predict(service, make_key(policy="top1+round:1"))
    assert body["policy"] == "top1+round:1"
    for row in body["top"]:
        assert len(row) == 1 and row[0]["score"] == round(row[0]["score"], 1)


def test_model_description_states_policy(service, make_key):
    key = make_key(policy="top1")
    r = requests.get(f"{service.url}/v1/models/digits-cnn", headers=auth(key), timeout=10)
    d = r.json()
    assert d["output_policy"]["reveals"] == "topk" and d["output_policy"]["k"] == 1
    assert d["input_spec"] == {"shape": [1, 8, 8], "dtype": "float32", "min": 0.0, "max": 1.0}
    assert d["class_names"] == [str(i) for i in range(10)] and d["price_per_query"] == 1


def test_tabular_models_answer(service, make_key):
    key = make_key()
    x = (np.random.default_rng(1).random((5, 20)) < 0.3).astype(np.float32)
    for model in ("tab-logreg", "tab-xgb"):
        r = requests.post(
            f"{service.url}/v1/models/{model}/predict",
            json={"inputs": x.tolist()},
            headers=auth(key),
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert np.array(r.json()["probabilities"]).shape == (5, 2)
