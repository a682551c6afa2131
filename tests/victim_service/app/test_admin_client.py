"""victim_service.admin_client against the real service: the one Python client of the
admin endpoints (used by the CLI, the scenario runner, the tests and the benchmarks)."""

import pytest
import requests

from tests.conftest import ADMIN_TOKEN, auth
from victim_service.admin_client import AdminClient, AdminError


def test_create_get_list_revoke(service):
    with AdminClient(service.url + "/", ADMIN_TOKEN) as admin:
        record = admin.create_key(
            7,
            models=["tab-logreg"],
            policy="round:2+top1",
            label="client test",
            per_model={"tab-logreg": 5},
        )
        assert record["key"].startswith(f"mlr_{record['id']}_")
        assert record["policy"] == "top1+round:2" and record["models"] == ["tab-logreg"]
        got = admin.get_key(record["id"])
        assert got["usage"]["budget"] == 7 and "key" not in got
        assert record["id"] in {k["id"] for k in admin.list_keys()}
        assert admin.revoke_key(record["id"]) == {"id": record["id"], "revoked": True}
        assert admin.get_key(record["id"])["revoked"]
    r = requests.get(service.url + "/v1/usage", headers=auth(record["key"]), timeout=10)
    assert r.status_code == 401


@pytest.mark.parametrize(
    "token,call,status,detail",
    [
        (ADMIN_TOKEN, lambda a: a.create_key(5, policy="top7x"), 422, "unknown policy part"),
        (ADMIN_TOKEN, lambda a: a.create_key(5, models=["ghost"]), 422, "ghost"),
        (ADMIN_TOKEN, lambda a: a.revoke_key("ghost"), 404, "no key"),
        ("wrong-token", lambda a: a.list_keys(), 401, "MLRANGE_ADMIN_TOKEN"),
    ],
)
def test_refusals_are_typed(service, token, call, status, detail):
    with AdminClient(service.url, token) as admin, pytest.raises(AdminError) as err:
        call(admin)
    assert err.value.status == status and detail in err.value.detail
    assert err.value.problem["status"] == status
