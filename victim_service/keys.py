"""API keys: created by the operator, shown once, stored hashed, checked in constant time.

A key reads ``mlr_<id>_<secret>``. The id finds the row; only ``sha256(secret)`` is stored
and compared with ``hmac.compare_digest``, so neither the database nor a timing side
channel gives a key away. Budgets are not kept here: the ledger (``budgets``) holds them,
one account per key id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from budgets.sqlite_conn import FileConnections, enable_wal, immediate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    models TEXT,            -- JSON list, NULL = every hosted model
    policy TEXT,            -- output policy override, NULL = the model's own
    label TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0
);
"""
_DUMMY_DIGEST = hashlib.sha256(b"no such key").hexdigest()


@dataclass(frozen=True)
class ApiKey:
    id: str
    models: tuple[str, ...] | None
    policy: str | None
    label: str
    created: str
    revoked: bool = False

    def allows(self, model_id: str) -> bool:
        return self.models is None or model_id in self.models

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "models": None if self.models is None else list(self.models),
            "policy": self.policy,
            "label": self.label,
            "created": self.created,
            "revoked": self.revoked,
        }


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """SQLite-backed key table; safe across forked workers (budgets' per-process,
    per-thread connections)."""

    def __init__(self, path: str | Path, busy_timeout: float = 30.0):
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._conns = FileConnections(self.path, busy_timeout)
        conn = self._conn()
        enable_wal(conn, busy_timeout)
        with immediate(conn):
            conn.execute(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        with self._conns.connection() as conn:
            return conn

    def create(
        self, models: list[str] | None = None, policy: str | None = None, label: str = ""
    ) -> tuple[str, ApiKey]:
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        self._conn().execute(
            "INSERT INTO api_keys (id, secret_sha256, models, policy, label, created) "
            "VALUES (?,?,?,?,?,?)",
            (
                key_id,
                _digest(secret),
                None if models is None else json.dumps(list(models)),
                policy,
                label,
                created,
            ),
        )
        return f"mlr_{key_id}_{secret}", ApiKey(
            key_id, None if models is None else tuple(models), policy, label, created
        )

    def authenticate(self, token: str | None) -> ApiKey | None:
        """The key for a presented token, or None. Unknown ids still pay for a digest
        comparison so that timing does not tell valid ids from invalid ones."""
        parts = (token or "").split("_", 2)
        key_id, secret = (
            (parts[1], parts[2]) if len(parts) == 3 and parts[0] == "mlr" else ("", token or "")
        )
        row = (
            self._conn().execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
            if key_id
            else None
        )
        stored = row[1] if row else _DUMMY_DIGEST
        ok = hmac.compare_digest(_digest(secret), stored)
        if not ok or row is None or row[6]:
            return None
        return self._row(row)

    def get(self, key_id: str) -> ApiKey | None:
        row = self._conn().execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return self._row(row) if row else None

    def list(self) -> list[ApiKey]:
        return [
            self._row(r)
            for r in self._conn().execute("SELECT * FROM api_keys ORDER BY created, id")
        ]

    def revoke(self, key_id: str) -> bool:
        return (
            self._conn().execute("UPDATE api_keys SET revoked = 1 WHERE id = ?", (key_id,)).rowcount
            == 1
        )

    @staticmethod
    def _row(row) -> ApiKey:
        key_id, _, models, policy, label, created, revoked = row
        return ApiKey(
            key_id,
            None if models is None else tuple(json.loads(models)),
            policy,
            label,
            created,
            bool(revoked),
        )
