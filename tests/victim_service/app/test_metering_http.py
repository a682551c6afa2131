"""Budget semantics through the real service and its SQLite ledger (2 gunicorn workers)."""

import base64
import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import requests

from tests.conftest import auth, digits_arrays

X, _ = digits_arrays()


def post(service, key, x, **extra):
    return requests.post(
        f"{service.url}/v1/models/digits-cnn/predict",
        json={"inputs": x.tolist(), **extra},
        headers=auth(key),
        timeout=60,
    )


def usage(service, key):
    return requests.get(f"{service.url}/v1/usage", headers=auth(key), timeout=10).json()


def test_overspending_batch_is_refused_whole(service, make_key):
    key = make_key(budget=10)
    assert post(service, key, X[:7]).json()["usage"] == {
        "charged": 7,
        "used": 7,
        "budget": 10,
        "remaining": 3,
    }
    r = post(service, key, X[:4])
    assert r.status_code == 402
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert r.json()["usage"]["remaining"] == 3 and r.json()["requested"] == 4
    assert usage(service, key)["used"] == 7  # nothing charged
    assert post(service, key, X[:3]).status_code == 200
    assert usage(service, key)["remaining"] == 0


def test_racing_threads_never_overspend(service, make_key):
    """32 threads race one key: exactly min(B, asked) inputs answered and charged."""
    budget, batch, requests_n = 150, 3, 96  # asks 288 inputs, can afford 150 = 50 batches
    key = make_key(budget=budget)
    xs = X[:batch]

    def one(_):
        r = post(service, key, xs)
        return r.status_code, (len(r.json()["labels"]) if r.status_code == 200 else 0)

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(requests_n)))
    statuses = [s for s, _ in results]
    answered = sum(n for _, n in results)
    assert set(statuses) <= {200, 402}
    assert answered == min(budget, batch * requests_n) == 150
    u = usage(service, key)
    assert u["used"] == answered and u["remaining"] == 0


def test_racing_threads_batch_size_one(service, make_key):
    budget = 77
    key = make_key(budget=budget)
    with ThreadPoolExecutor(32) as pool:
        codes = list(
            pool.map(lambda i: post(service, key, X[i % 50 : i % 50 + 1]).status_code, range(120))
        )
    assert codes.count(200) == budget and codes.count(402) == 120 - budget
    assert usage(service, key)["used"] == budget


def test_base64_and_raw_npy_are_charged_alike(service, make_key):
    key = make_key(budget=100)
    buf = io.BytesIO()
    np.save(buf, X[:5])
    r = requests.post(
        f"{service.url}/v1/models/digits-cnn/predict",
        json={"inputs_b64": base64.b64encode(buf.getvalue()).decode()},
        headers=auth(key),
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["usage"]["charged"] == 5
    r2 = requests.post(
        f"{service.url}/v1/models/digits-cnn/predict",
        data=buf.getvalue(),
        headers={**auth(key), "Content-Type": "application/x-npy"},
        timeout=30,
    )
    assert r2.status_code == 200 and r2.json()["usage"]["used"] == 10
    assert r.json()["labels"] == r2.json()["labels"]


def test_idempotent_retry_is_free(service, make_key):
    key = make_key(budget=50)
    first = post(service, key, X[:4], idempotency_key="retry-1")
    again = post(service, key, X[:4], idempotency_key="retry-1")
    assert first.status_code == again.status_code == 200
    assert again.json()["replayed"] is True and again.json()["usage"]["charged"] == 0
    assert again.json()["labels"] == first.json()["labels"]
    assert usage(service, key)["used"] == 4
    # the same key for a different batch size is a conflict, not a free answer
    assert post(service, key, X[:2], idempotency_key="retry-1").status_code == 409


def test_per_model_cap(service, make_key):
    key = make_key(budget=100, per_model={"digits-cnn": 5})
    assert post(service, key, X[:5]).status_code == 200
    assert post(service, key, X[:1]).status_code == 402
    x = np.zeros((3, 20), np.float32)
    r = requests.post(
        f"{service.url}/v1/models/tab-logreg/predict",
        json={"inputs": x.tolist()},
        headers=auth(key),
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["usage"]["used"] == 8


def test_metrics_count_answers_across_workers(service, make_key):
    def answered():
        text = requests.get(service.url + "/metrics", timeout=10).text
        line = [
            l
            for l in text.splitlines()
            if l.startswith('mlrange_inputs_answered_total{model="digits-cnn"}')
        ]
        return float(line[0].split()[-1]) if line else 0.0

    before = answered()
    key = make_key(budget=40)
    for _ in range(8):
        assert post(service, key, X[:5]).status_code == 200
    assert answered() - before == 40
