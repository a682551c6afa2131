"""The Python client of the admin endpoints (``/admin/keys``), for the operator's side:
the CLI, the scenario runner, the tests and the benchmarks issue keys through it rather
than each hand-writing the request. Attackers never need it (they are handed keys).

>>> with AdminClient(url, os.environ["MLRANGE_ADMIN_TOKEN"]) as admin:
...     key = admin.create_key(1000, models=["digits-cnn"], policy="top1")["key"]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11


class AdminError(RuntimeError):
    """The service refused an admin request: its status and problem+json ``detail``."""

    def __init__(self, status: int, detail: str, problem: dict | None = None):
        super().__init__(f"{status}: {detail}")
        self.status, self.detail, self.problem = status, detail, problem or {}


class AdminClient:
    def __init__(self, url: str, token: str, timeout: float = 30.0):
        self.url, self.timeout = url.rstrip("/"), timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def create_key(
        self,
        budget: int,
        models: list[str] | None = None,
        policy: str | None = None,
        label: str = "",
        per_model: Mapping[str, int] | None = None,
    ) -> dict[str, Any]:
        """Issue a key; the answer's ``key`` is the secret, shown only now."""
        body: dict[str, Any] = {"budget": budget, "label": label}
        optional = {"models": models, "policy": policy, "per_model": per_model}
        body.update({k: v for k, v in optional.items() if v is not None})
        return self._call("POST", "/admin/keys", json=body)

    def list_keys(self) -> list[dict[str, Any]]:
        return self._call("GET", "/admin/keys")["keys"]

    def get_key(self, key_id: str) -> dict[str, Any]:
        return self._call("GET", f"/admin/keys/{key_id}")

    def revoke_key(self, key_id: str) -> dict[str, Any]:
        return self._call("DELETE", f"/admin/keys/{key_id}")

    def _call(self, method: str, path: str, **kw) -> dict[str, Any]:
        r = self.session.request(method, self.url + path, timeout=self.timeout, **kw)
        if r.status_code >= 400:
            try:
                problem = r.json()
            except ValueError:  # not our service, or a proxy's error page
                problem = None
            detail = problem.get("detail") if isinstance(problem, dict) else None
            raise AdminError(
                r.status_code,
                detail or r.text.strip() or r.reason,
                problem if isinstance(problem, dict) else None,
            )
        return r.json()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
