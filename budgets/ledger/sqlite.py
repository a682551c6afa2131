"""The SQLite ledger: the embedded default, exact across threads and processes.

Layout: one row per account holding its policy (JSON), its total spend and
its spend per model (JSON); one row per idempotency key. The common charge
(no idempotency key) is a single ``UPDATE ... RETURNING`` whose WHERE clause
reads the price and the model's cap from the stored policy, so the check and
the charge are one atomic statement and a policy changed by another process is
seen at once. Charges with an idempotency key, refunds and schema setup run in
``BEGIN IMMEDIATE`` transactions. WAL mode lets readers run beside the writer.
Argument checks, refusal diagnosis and the idempotency-key rules are the base
class's (:mod:`budgets.ledger.base`); this module holds only the atomic steps.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from budgets.errors import BudgetError
from budgets.ledger.base import (
    DEFAULT_PENDING_TTL,
    AccountState,
    Charge,
    KeyRecord,
    Ledger,
    Refused,
    SuiteURL,
    Usage,
    build_usage,
)
from budgets.policy import DEFAULT_PRICE, BudgetPolicy
from budgets.sqlite_conn import FileConnections, MemoryConnections, enable_wal, immediate

__all__ = ["SCHEMA_VERSION", "SqliteLedger"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS accounts (
    account TEXT PRIMARY KEY,
    budget  INTEGER NOT NULL CHECK (budget >= 0),   -- copy of policy.budget, for the WHERE clause
    used    INTEGER NOT NULL DEFAULT 0 CHECK (used >= 0),
    spend   TEXT NOT NULL DEFAULT '{}',             -- JSON {model id: units spent}
    policy  TEXT NOT NULL,                          -- BudgetPolicy.to_json()
    created REAL NOT NULL,
    updated REAL NOT NULL                           -- last policy change
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS idempotency (
    account  TEXT NOT NULL,
    key      TEXT NOT NULL,
    model    TEXT NOT NULL,
    n_inputs INTEGER NOT NULL,
    charged  INTEGER NOT NULL,
    state    TEXT NOT NULL CHECK (state IN ('pending', 'done')),
    result   BLOB,
    created  REAL NOT NULL,
    updated  REAL NOT NULL,
    PRIMARY KEY (account, key)
) WITHOUT ROWID;
"""

# The price, the cap and the model's spend are read from the row being updated,
# so the statement needs no prior read. :price/:cap/:spend are JSON paths.
_COST = f":n * coalesce(json_extract(policy, :price), {DEFAULT_PRICE})"
_CHARGE = f"""
UPDATE accounts
   SET used  = used + {_COST},
       spend = json_set(spend, :spend, coalesce(json_extract(spend, :spend), 0) + {_COST})
 WHERE account = :account
   AND used + {_COST} <= budget
   AND (json_extract(policy, :cap) IS NULL
        OR coalesce(json_extract(spend, :spend), 0) + {_COST} <= json_extract(policy, :cap))
RETURNING used, spend, policy, {_COST}
"""
_REFUND = """
UPDATE accounts
   SET used  = used - :amount,
       spend = json_set(spend, :spend, coalesce(json_extract(spend, :spend), 0) - :amount)
 WHERE account = :account
   AND coalesce(json_extract(spend, :spend), 0) >= :amount
RETURNING used, spend, policy
"""
_OPEN = """
INSERT INTO accounts (account, budget, used, spend, policy, created, updated)
VALUES (:account, :budget, 0, '{}', :policy, :now, :now)
ON CONFLICT (account) DO UPDATE
   SET budget = excluded.budget, policy = excluded.policy, updated = excluded.updated
"""
_ROW = "SELECT used, spend, policy FROM accounts WHERE account = ?"


@lru_cache(maxsize=1024)
def _policy(text: str) -> BudgetPolicy:
    # Every charge returns the policy's JSON; policies are immutable, so parse each text once.
    return BudgetPolicy.from_json(text)


def _usage(row: tuple[int, str, str]) -> Usage:
    used, spend, policy = row
    return build_usage(_policy(policy), used, json.loads(spend))


def _read(conn: sqlite3.Connection, account: str) -> AccountState | None:
    row = conn.execute(_ROW, (account,)).fetchone()
    return None if row is None else AccountState(_policy(row[2]), _usage(row))


def _charged(row: tuple[int, str, str, int]) -> Charge:
    # The cost as the charging statement computed it: what was actually added.
    return Charge(charged=row[3], usage=_usage(row[:3]))


def _paths(model: str) -> dict[str, str]:
    # check_model_id forbids quotes and backslashes, so the quoted labels are exact.
    return {
        "price": f'$.prices."{model}"',
        "cap": f'$.per_model."{model}"',
        "spend": f'$."{model}"',
    }


class SqliteLedger(Ledger):
    """A ledger in one SQLite file (or in memory, for one process).

    Args:
        path: the database file (created with its directory if missing), or
            None for a private in-memory ledger.
        busy_timeout: seconds to wait for another writer before giving up
            with ``LedgerUnavailable``.
        pending_ttl: seconds after which a pending idempotency key whose
            answer was never stored (e.g. the worker died) may be taken over by
            a retry, which then answers without paying again.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        *,
        busy_timeout: float = 30.0,
        pending_ttl: float = DEFAULT_PENDING_TTL,
    ):
        self.path = None if path is None else str(path)
        self.pending_ttl = float(pending_ttl)
        if self.path is None:
            self._conns: FileConnections | MemoryConnections = MemoryConnections(busy_timeout)
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conns = FileConnections(self.path, busy_timeout)
        self._init_schema()

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SqliteLedger:
        """``sqlite:///abs/path.db`` (a file), ``sqlite:///:memory:`` or ``sqlite://`` (memory).

        SQLAlchemy's ``sqlite:////abs/x.db`` is read as ``/abs/x.db`` too, and
        ``sqlite://rel/x.db`` as ``rel/x.db``, relative to the working directory.
        """
        rest = url.partition("://")[2]
        if "?" in rest:
            raise ValueError(
                f"query parameters are not supported in {url!r}; pass options as keyword arguments"
            )
        if rest in ("", "/:memory:", ":memory:"):
            return cls(None, **options)
        if rest.startswith("//"):
            rest = "/" + rest.lstrip("/")
        return cls(rest, **options)

    @classmethod
    def suite_urls(cls) -> dict[str, SuiteURL]:
        return {
            "file": SuiteURL("sqlite://{tmp}/ledger.db", multiprocess=True),
            "memory": SuiteURL("sqlite:///:memory:"),
        }

    def __repr__(self) -> str:
        return f"SqliteLedger({self.path or ':memory:'!r})"

    def _init_schema(self) -> None:
        with self._conns.connection() as conn:
            if self.path is not None:
                enable_wal(conn, self._conns.busy_timeout)
            with immediate(conn):
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is None:
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
                elif int(row[0]) != SCHEMA_VERSION:
                    raise BudgetError(
                        f"ledger {self.path} has schema version {row[0]}; "
                        f"this version of mlrange reads version {SCHEMA_VERSION}"
                    )

    def close(self) -> None:
        self._conns.close()

    # -- the atomic steps ----------------------------------------------------

    def _open_account(self, account: str, policy: BudgetPolicy) -> None:
        args = {
            "account": account,
            "budget": policy.budget,
            "policy": policy.to_json(),
            "now": time.time(),
        }
        with self._conns.connection() as conn:
            conn.execute(_OPEN, args)

    def _account(self, account: str) -> AccountState | None:
        with self._conns.connection() as conn:
            return _read(conn, account)

    def _accounts(self) -> list[str]:
        with self._conns.connection() as conn:
            return [r[0] for r in conn.execute("SELECT account FROM accounts")]

    def _charge(self, account: str, n_inputs: int, model: str) -> Charge | Refused:
        args = {"account": account, "n": n_inputs, **_paths(model)}
        with self._conns.connection() as conn:
            # fetchall() steps the statement to its end, which commits it.
            rows = conn.execute(_CHARGE, args).fetchall()
            # A refusal is read by a second statement: the account may have changed since.
            return _charged(rows[0]) if rows else Refused(_read(conn, account))

    def _charge_idempotent(
        self, account: str, n_inputs: int, model: str, key: str
    ) -> Charge | Refused:
        args = {"account": account, "n": n_inputs, **_paths(model)}
        now = time.time()
        with self._conns.connection() as conn, immediate(conn):
            seen = conn.execute(
                "SELECT model, n_inputs, state, result, updated FROM idempotency "
                "WHERE account = ? AND key = ?",
                (account, key),
            ).fetchone()
            if seen is not None:
                seen_model, seen_n, state, result, updated = seen
                record = KeyRecord(
                    seen_model, seen_n, bytes(result) if state == "done" else None, updated
                )
                usage = _usage(conn.execute(_ROW, (account,)).fetchone())
                charge = self._reuse_key(account, key, model, n_inputs, record, usage, now)
                if not charge.replayed:  # a stale pending key: take it over
                    conn.execute(
                        "UPDATE idempotency SET updated = ? WHERE account = ? AND key = ?",
                        (now, account, key),
                    )
                return charge
            rows = conn.execute(_CHARGE, args).fetchall()
            if not rows:
                return Refused(_read(conn, account))  # same transaction: the refusal is certain
            charge = _charged(rows[0])
            conn.execute(
                "INSERT INTO idempotency "
                "(account, key, model, n_inputs, charged, state, created, updated) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                (account, key, model, n_inputs, charge.charged, now, now),
            )
            return charge

    def _store_result(self, account: str, key: str, result: bytes) -> bool:
        with self._conns.connection() as conn:
            done = conn.execute(
                "UPDATE idempotency SET state = 'done', result = ?, updated = ? "
                "WHERE account = ? AND key = ? AND state = 'pending' RETURNING 1",
                (result, time.time(), account, key),
            ).fetchall()
            if done:
                return True
            # Already stored (by a slow first attempt): the first answer stands.
            known = conn.execute(
                "SELECT 1 FROM idempotency WHERE account = ? AND key = ?", (account, key)
            )
            return known.fetchone() is not None

    def _refund(self, account: str, amount: int, model: str, key: str | None) -> Usage | Refused:
        args = {"account": account, "amount": amount, **_paths(model)}
        with self._conns.connection() as conn, immediate(conn):
            rows = conn.execute(_REFUND, args).fetchall()
            if not rows:
                return Refused(_read(conn, account))
            if key is not None:
                conn.execute(
                    "DELETE FROM idempotency WHERE account = ? AND key = ?", (account, key)
                )
            return _usage(rows[0])
