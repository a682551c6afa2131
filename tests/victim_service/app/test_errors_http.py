"""Every refusal is problem+json with the right status, costs nothing, and nothing
malformed ever produces a 500."""

import base64
import io
import json

import numpy as np
import pytest
import requests

from tests.conftest import ADMIN_TOKEN, auth, digits_arrays

X, _ = digits_arrays()
PREDICT = "/v1/models/digits-cnn/predict"


def assert_problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["detail"] and body["type"].startswith("/problems/")
    return body


def npy_b64(a) -> str:
    buf = io.BytesIO()
    np.save(buf, a)
    return base64.b64encode(buf.getvalue()).decode()


def test_unknown_key_401(service):
    r = requests.post(
        service.url + PREDICT,
        json={"inputs": X[:1].tolist()},
        headers=auth("mlr_000000000000_nope"),
        timeout=10,
    )
    assert_problem(r, 401)
    assert_problem(requests.get(service.url + "/v1/models", timeout=10), 401)
    assert_problem(
        requests.get(service.url + "/v1/usage", headers={"Authorization": "Basic abc"}, timeout=10),
        401,
    )


def test_foreign_model_403_unknown_model_404(service, make_key):
    key = make_key(models=["tab-logreg"])
    assert_problem(
        requests.post(
            service.url + PREDICT, json={"inputs": X[:1].tolist()}, headers=auth(key), timeout=10
        ),
        403,
    )
    assert_problem(
        requests.post(
            service.url + "/v1/models/nope/predict",
            json={"inputs": [[0]]},
            headers=auth(key),
            timeout=10,
        ),
        404,
    )
    listed = requests.get(service.url + "/v1/models", headers=auth(key), timeout=10).json()[
        "models"
    ]
    assert [m["id"] for m in listed] == ["tab-logreg"]


def test_oversize_413(service, make_key):
    key = make_key(budget=10_000)
    big = np.zeros((513, 1, 8, 8), np.float32)  # max_batch is 512 in the test service
    assert_problem(
        requests.post(
            service.url + PREDICT, json={"inputs_b64": npy_b64(big)}, headers=auth(key), timeout=30
        ),
        413,
    )
    assert_problem(
        requests.post(
            service.url + PREDICT, json={"inputs": big.tolist()}, headers=auth(key), timeout=30
        ),
        413,
    )
    body = b"x" * (5 * 2**20)  # over the 4 MiB body limit
    r = requests.post(
        service.url + PREDICT,
        data=body,
        headers={**auth(key), "Content-Type": "application/x-npy"},
        timeout=30,
    )
    assert_problem(r, 413)
    assert (
        requests.get(service.url + "/v1/usage", headers=auth(key), timeout=10).json()["used"] == 0
    )


def test_wrong_content_type_415(service, make_key):
    key = make_key()
    r = requests.post(
        service.url + PREDICT,
        data="inputs=1",
        headers={**auth(key), "Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert_problem(r, 415)
    r = requests.post(
        service.url + PREDICT,
        data=json.dumps({"inputs": X[:1].tolist()}),
        headers={**auth(key), "Content-Type": "text/plain"},
        timeout=10,
    )
    assert_problem(r, 415)


MALFORMED_JSON = [
    {"inputs": X[:2, :, :4].tolist()},  # wrong shape
    {"inputs": X[0].tolist()},  # a single sample without the batch dimension
    {"inputs": []},  # empty batch
    {"inputs": [[[[float("nan")] * 8] * 8]]},  # NaN (json allows NaN literal via python)
    {"inputs": (X[:1] * 3).tolist()},  # out of range
    {"inputs": (X[:1] - 1).tolist()},  # out of range, negative
    {"inputs": [[["a"] * 8] * 8]},  # strings
    {"inputs": [[[1, 2], [3]]]},  # ragged
    {"inputs": "nope"},  # not a list
    {"inputs": None},
    {"inputs": [{"x": 1}]},
    {"inputs_b64": "not base64!!"},
    {"inputs_b64": base64.b64encode(b"not an npy file").decode()},
    {"inputs_b64": npy_b64(np.zeros((2, 1, 8, 8), np.complex64))},  # complex dtype
    {"inputs_b64": npy_b64(np.array([["a"] * 8] * 8, dtype="U1")[None, None])},  # string dtype
    {"inputs_b64": npy_b64(np.zeros((2, 64), np.float32))},  # wrong shape
    {"inputs_b64": npy_b64(np.full((1, 1, 8, 8), np.inf, np.float32))},  # infinity
    {"inputs_b64": 12},
    {"inputs": X[:1].tolist(), "inputs_b64": npy_b64(X[:1])},  # both
    {},  # neither
    {"inputs": X[:1].tolist(), "extra": 1},  # unknown field
    {"inputs": X[:1].tolist(), "idempotency_key": 5},
    {"inputs": [[[[1e40] * 8] * 8]]},  # overflows float32
]


@pytest.mark.parametrize("body", MALFORMED_JSON, ids=range(len(MALFORMED_JSON)))
def test_malformed_json_422(service, make_key, body):
    key = make_key(budget=100)
    r = requests.post(
        service.url + PREDICT,
        data=json.dumps(body),
        headers={**auth(key), "Content-Type": "application/json"},
        timeout=10,
    )
    assert_problem(r, 422)
    assert (
        requests.get(service.url + "/v1/usage", headers=auth(key), timeout=10).json()["used"] == 0
    )


RAW_BODIES = [b"", b"{", b"[1,2,3]", b"\xff\xfe\x00", b'"string"', b"null", b'{"inputs": [1, 2,]}']


@pytest.mark.parametrize("raw", RAW_BODIES, ids=range(len(RAW_BODIES)))
def test_malformed_bytes_never_500(service, make_key, raw):
    key = make_key()
    for ctype in ("application/json", "application/x-npy"):
        r = requests.post(
            service.url + PREDICT,
            data=raw,
            headers={**auth(key), "Content-Type": ctype},
            timeout=10,
        )
        assert 400 <= r.status_code < 500, (ctype, raw, r.status_code, r.text)
        assert r.headers["Content-Type"].startswith("application/problem+json")


def test_pickled_npy_is_refused(service, make_key):
    key = make_key()
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    r = requests.post(
        service.url + PREDICT,
        data=buf.getvalue(),
        headers={**auth(key), "Content-Type": "application/x-npy"},
        timeout=10,
    )
    assert_problem(r, 422)


def test_unknown_route_and_method(service):
    assert_problem(requests.get(service.url + "/v2/nothing", timeout=10), 404)
    assert_problem(requests.put(service.url + "/healthz", timeout=10), 405)


def test_admin_needs_its_own_token(service, make_key):
    key = make_key()
    assert_problem(
        requests.post(
            service.url + "/admin/keys", json={"budget": 5}, headers=auth(key), timeout=10
        ),
        401,
    )
    r = requests.post(
        service.url + "/admin/keys", json={"budget": -1}, headers=auth(ADMIN_TOKEN), timeout=10
    )
    assert_problem(r, 422)
    r = requests.post(
        service.url + "/admin/keys",
        json={"budget": 5, "policy": "top7x"},
        headers=auth(ADMIN_TOKEN),
        timeout=10,
    )
    assert_problem(r, 422)
    r = requests.post(
        service.url + "/admin/keys",
        json={"budget": 5, "models": ["ghost"]},
        headers=auth(ADMIN_TOKEN),
        timeout=10,
    )
    assert_problem(r, 422)


def test_revoked_key_401(service, make_key):
    key = make_key()
    key_id = key.split("_")[1]
    assert (
        requests.delete(
            f"{service.url}/admin/keys/{key_id}", headers=auth(ADMIN_TOKEN), timeout=10
        ).status_code
        == 200
    )
    assert_problem(requests.get(service.url + "/v1/usage", headers=auth(key), timeout=10), 401)


def test_meta_endpoints(service):
    assert requests.get(service.url + "/healthz", timeout=10).json()["status"] == "ok"
    spec = requests.get(service.url + "/openapi.json", timeout=10).json()
    assert spec["openapi"].startswith("3.") and "/v1/models/{model_id}/predict" in spec["paths"]
    assert "mlrange_requests_total" in requests.get(service.url + "/metrics", timeout=10).text
