"""The app's problem+json mapping through Flask's test client (no gunicorn, so fast): every
refusal has its status, ``application/problem+json``, a stable ``type``, a ``title`` and a
``detail``, and costs nothing. test_errors_http.py checks the same over real HTTP."""

import base64
import io
import json

import numpy as np
import pytest

from tests.conftest import auth

ADMIN = "app-test-admin"
MODEL = "tab"
FEATURES = 6
PREDICT = f"/v1/models/{MODEL}/predict"
MAX_BATCH = 8


@pytest.fixture(scope="module")
def app_root(tmp_path_factory):
    """A one-model store: logistic regression on random tabular data (trains in ~0.1 s)."""
    from victim_service.store import ArtifactStore
    from victim_service.training import Recipe, train_victim

    rng = np.random.default_rng(0)
    x = rng.random((64, FEATURES), dtype=np.float32)
    y = (x[:, 0] > 0.5).astype(np.int64)
    root = tmp_path_factory.mktemp("app")
    train_victim(
        MODEL,
        "logreg",
        (x[:48], y[:48]),
        (x[48:], y[48:]),
        ["no", "yes"],
        Recipe(epochs=2, batch_size=16),
        store=ArtifactStore(root / "store"),
        progress=False,
    )
    return root


def make_client(root, state: str, **config):
    import torch

    from victim_service.app import create_app
    from victim_service.config import ServiceConfig

    cfg = ServiceConfig(
        store=root / "store",
        state=root / state,
        max_batch=MAX_BATCH,
        max_body_bytes=4096,
        torch_threads=torch.get_num_threads(),
        **config,
    )
    return create_app(cfg).test_client()


@pytest.fixture(scope="module")
def client(app_root):
    return make_client(app_root, "state", admin_token=ADMIN)


@pytest.fixture(scope="module")
def make_key(client):
    def make(budget: int = 100, **fields) -> str:
        r = client.post("/admin/keys", json={"budget": budget, **fields}, headers=auth(ADMIN))
        assert r.status_code == 201, r.json
        return r.json["key"]

    return make


@pytest.fixture
def key(make_key, client):
    """A fresh key that must have been charged nothing when the test ends."""
    key = make_key()
    yield key
    assert client.get("/v1/usage", headers=auth(key)).json["used"] == 0


def assert_problem(r, status: int, slug: str, detail: str = "") -> dict:
    assert r.status_code == status, r.get_data(as_text=True)
    assert r.mimetype == "application/problem+json"
    body = json.loads(r.get_data())
    assert body["type"] == f"/problems/{slug}" and body["status"] == status
    assert body["title"] and body["detail"]
    assert detail in body["detail"], body["detail"]
    return body


def npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def inputs(n: int, value: float = 0.5) -> list:
    return [[value] * FEATURES] * n


def predict(client, key: str, path: str = PREDICT, **kw):
    """POST to a predict endpoint with ``key``; ``kw`` as for the test client (json=, data=)."""
    return client.post(path, headers=auth(key), **kw)


def test_answers_through_the_task(client, make_key):
    key = make_key(budget=10, policy="top1+round:2")
    model = client.get(f"/v1/models/{MODEL}", headers=auth(key)).json
    assert model["task"] == "classification"
    assert model["output_policy"] == {
        "policy": "top1+round:2",
        "reveals": "topk",
        "k": 1,
        "decimals": 2,
        "noise_sigma": None,
    }
    body = predict(client, key, json={"inputs": inputs(3)}).json
    assert list(body) == ["model", "policy", "labels", "probabilities", "top", "usage"]
    assert body["policy"] == "top1+round:2" and body["probabilities"] is None
    assert len(body["labels"]) == len(body["top"]) == 3
    assert body["usage"] == {"charged": 3, "used": 3, "budget": 10, "remaining": 7}


def test_401_no_bad_or_revoked_key(client, make_key):
    assert_problem(client.get("/v1/models"), 401, "unauthorized", "Authorization: Bearer")
    basic = {"Authorization": "Basic abc"}
    assert_problem(client.get("/v1/usage", headers=basic), 401, "unauthorized")
    r = predict(client, "mlr_000000000000_nope", json={"inputs": inputs(1)})
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert_problem(r, 401, "unauthorized", "unknown or revoked")
    key = make_key()
    assert client.delete(f"/admin/keys/{key.split('_')[1]}", headers=auth(ADMIN)).status_code == 200
    assert_problem(client.get(f"/v1/models/{MODEL}", headers=auth(key)), 401, "unauthorized")
    assert_problem(
        client.get("/admin/keys", headers=auth(key)), 401, "unauthorized", "MLRANGE_ADMIN_TOKEN"
    )


def test_402_budget_charges_nothing(client, make_key):
    key = make_key(budget=2)
    body = assert_problem(
        predict(client, key, json={"inputs": inputs(3)}),
        402,
        "budget-exceeded",
        "nothing was charged",
    )
    assert body["requested"] == 3 and body["usage"]["remaining"] == 2
    assert client.get("/v1/usage", headers=auth(key)).json["used"] == 0


def test_403_model_not_allowed_and_admin_disabled(client, make_key, app_root):
    key = make_key(models=[])
    assert_problem(predict(client, key, json={"inputs": inputs(1)}), 403, "forbidden")
    assert_problem(client.get(f"/v1/models/{MODEL}", headers=auth(key)), 403, "forbidden")
    assert client.get("/v1/models", headers=auth(key)).json == {"models": []}
    no_admin = make_client(app_root, "state-no-admin")
    assert_problem(
        no_admin.post("/admin/keys", json={"budget": 1}, headers=auth(ADMIN)),
        403,
        "forbidden",
        "disabled",
    )


def test_404_unknown_model_route_and_key(client, key):
    ghost = predict(client, key, "/v1/models/ghost/predict", json={"inputs": inputs(1)})
    assert_problem(ghost, 404, "not-found", "ghost")
    assert_problem(client.get("/v2/nothing"), 404, "not-found")
    assert_problem(client.get("/admin/keys/ghost", headers=auth(ADMIN)), 404, "not-found")
    assert_problem(client.delete("/admin/keys/ghost", headers=auth(ADMIN)), 404, "not-found")


def test_405_wrong_method(client):
    assert_problem(client.get(PREDICT), 405, "method-not-allowed")
    assert_problem(client.put("/admin/keys"), 405, "method-not-allowed")


def test_409_idempotency_conflict(client, make_key):
    key = make_key()
    first = {"inputs": inputs(1, 0.1), "idempotency_key": "once"}
    assert predict(client, key, json=first).status_code == 200
    replay = predict(client, key, json=first).json
    assert replay["replayed"] and replay["usage"]["charged"] == 0
    conflict = {"inputs": inputs(2), "idempotency_key": "once"}  # the ledger compares sizes
    assert_problem(predict(client, key, json=conflict), 409, "conflict", "idempotency")
    assert client.get("/v1/usage", headers=auth(key)).json["used"] == 1


def test_413_too_large(client, key):
    too_many = np.full((MAX_BATCH + 1, FEATURES), 0.5, np.float32)
    assert_problem(
        predict(client, key, json={"inputs": too_many.tolist()}),
        413,
        "too-large",
        "exceeds the limit",
    )
    b64 = base64.b64encode(npy(too_many)).decode()
    assert_problem(predict(client, key, json={"inputs_b64": b64}), 413, "too-large")
    huge = b"x" * 5000  # over max_body_bytes
    assert_problem(
        predict(client, key, data=huge, content_type="application/x-npy"),
        413,
        "too-large",
        "4096 bytes",
    )


def test_415_content_type(client, key):
    form = predict(client, key, data="inputs=1", content_type="application/x-www-form-urlencoded")
    assert_problem(form, 415, "unsupported-media-type")
    assert_problem(
        client.post("/admin/keys", data="budget=1", content_type="text/plain", headers=auth(ADMIN)),
        415,
        "unsupported-media-type",
    )


BAD_INPUTS = {
    "bad JSON": (b"{", "application/json", "not valid JSON"),
    "not an object": (b"[1, 2]", "application/json", "JSON object"),
    "bad shape": (json.dumps({"inputs": [[0.5] * (FEATURES + 1)]}), "application/json", "shape"),
    "no batch dimension": (
        json.dumps({"inputs": [0.5] * FEATURES}),
        "application/json",
        "wrap a single",
    ),
    "NaN": (json.dumps({"inputs": [[float("nan")] * FEATURES]}), "application/json", "NaN"),
    "NaN in npy": (npy(np.full((1, FEATURES), np.nan, np.float32)), "application/x-npy", "NaN"),
    "out of range": (json.dumps({"inputs": inputs(1, 2.0)}), "application/json", "must lie in"),
    "empty batch": (npy(np.zeros((0, FEATURES), np.float32)), "application/x-npy", "empty batch"),
    "strings": (json.dumps({"inputs": [["a"] * FEATURES]}), "application/json", "numbers"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_422_invalid_input(client, key, case):
    data, ctype, detail = BAD_INPUTS[case]
    r = predict(client, key, data=data, content_type=ctype)
    assert_problem(r, 422, "invalid-input", detail)


@pytest.mark.parametrize(
    "body,detail",
    [
        ({"budget": -1}, "budget"),
        ({"budget": 1, "policy": "top7x"}, "unknown policy part"),
        ({"budget": 1, "models": ["ghost"]}, "unknown models"),
        ({"budget": 1, "colour": "red"}, "unknown fields"),
    ],
)
def test_422_admin_body(client, body, detail):
    r = client.post("/admin/keys", json=body, headers=auth(ADMIN))
    assert_problem(r, 422, "invalid-input", detail)


def test_429_rate_limited(app_root):
    limited = make_client(app_root, "state-limited", admin_token=ADMIN, rate_limit="1/minute")
    key = limited.post("/admin/keys", json={"budget": 5}, headers=auth(ADMIN)).json["key"]
    assert predict(limited, key, json={"inputs": inputs(1)}).status_code == 200
    r = predict(limited, key, json={"inputs": inputs(1)})
    assert_problem(r, 429, "rate-limited")
    assert "Retry-After" in r.headers


def test_503_failed_inference_is_refunded(client, make_key):
    rt = client.application.extensions["mlrange"]
    predictor = rt.predictors[MODEL]

    def broken(x):
        raise RuntimeError("out of memory")

    key = make_key()
    predictor.predict_proba = broken
    try:
        assert_problem(
            predict(client, key, json={"inputs": inputs(2)}), 503, "unavailable", "refunded"
        )
    finally:
        del predictor.predict_proba
    assert client.get("/v1/usage", headers=auth(key)).json["used"] == 0
