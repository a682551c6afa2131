"""The SQLite ledger: the embedded default, exact across threads and processes.

Layout: one row per account holding its policy (JSON), its total spend and
its spend per model (JSON); one row per idempotency key. The common charge
(no idempotency key) is a single ``UPDATE ... RETURNING`` whose WHERE clause
reads the price and the model's cap from the stored policy, so the check and
the charge are one atomic statement and a policy changed by another process is
seen at once. Charges with an idempotency key, refunds and schema setup run in
``BEGIN IMMEDIATE`` transactions. WAL mode lets readers run beside the writer.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from budgets.errors import BudgetError, BudgetExceeded, IdempotencyConflict, UnknownAccount
from budgets.ledger import Charge, Ledger, Usage, build_usage
from budgets.sqlite_conn import FileConnections, MemoryConnections, enable_wal, immediate
from budgets.policy import DEFAULT_PRICE, BudgetPolicy, check_model_id

__all__ = ["SqliteLedger", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1
MAX_INPUTS = 2**31  # per charge; keeps n * price far from integer overflow
MAX_KEY_LEN = 200
MAX_ACCOUNT_LEN = 200

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


def _paths(model: str) -> dict[str, str]:
    # check_model_id forbids quotes and backslashes, so the quoted labels are exact.
    return {
        "price": f'$.prices."{model}"',
        "cap": f'$.per_model."{model}"',
        "spend": f'$."{model}"',
    }


def _check_name(value: Any, what: str, max_len: int) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ValueError(
            f"{what} must be a non-empty str of at most {max_len} characters, got {value!r}"
        )
    return value


def _check_count(value: Any, what: str, minimum: int, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise ValueError(f"{what} must be an int between {minimum} and {maximum}, got {value!r}")
    return value


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

    def __init__(self, path: str | os.PathLike[str] | None, *, busy_timeout: float = 30.0,
                 pending_ttl: float = 300.0):
        self.path = None if path is None else str(path)
        self.pending_ttl = float(pending_ttl)
        if self.path is None:
            self._conns: FileConnections | MemoryConnections = MemoryConnections(busy_timeout)
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._conns = FileConnections(self.path, busy_timeout)
        self._init_schema()

    def __repr__(self) -> str:
        return f"SqliteLedger({self.path or ':memory:'!r})"

    # -- setup ---------------------------------------------------------------

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

    # -- accounts ------------------------------------------------------------

    def open_account(self, account: str, policy: BudgetPolicy) -> None:
        _check_name(account, "account", MAX_ACCOUNT_LEN)
        if not isinstance(policy, BudgetPolicy):
            raise ValueError(f"policy must be a BudgetPolicy, got {type(policy).__name__}")
        args = {
            "account": account,
            "budget": policy.budget,
            "policy": policy.to_json(),
            "now": time.time(),
        }
        with self._conns.connection() as conn:
            conn.execute(_OPEN, args)

    def policy(self, account: str) -> BudgetPolicy:
        with self._conns.connection() as conn:
            row = conn.execute(
                "SELECT policy FROM accounts WHERE account = ?", (account,)
            ).fetchone()
        if row is None:
            raise UnknownAccount(account)
        return _policy(row[0])

    def usage(self, account: str) -> Usage:
        with self._conns.connection() as conn:
            row = conn.execute(_ROW, (account,)).fetchone()
        if row is None:
            raise UnknownAccount(account)
        return _usage(row)

    def accounts(self) -> list[str]:
        with self._conns.connection() as conn:
            return [r[0] for r in conn.execute("SELECT account FROM accounts ORDER BY account")]

    # -- charging ------------------------------------------------------------

    def charge(self, account: str, n_inputs: int, model: str,
               idempotency_key: str | None = None) -> Charge:
        _check_count(n_inputs, "n_inputs", 1, MAX_INPUTS)
        check_model_id(model)
        args = {"account": account, "n": n_inputs, **_paths(model)}
        if idempotency_key is None:
            return self._charge_plain(args, model)
        _check_name(idempotency_key, "idempotency_key", MAX_KEY_LEN)
        return self._charge_idempotent(args, model, idempotency_key)

    def _charge_plain(self, args: dict[str, Any], model: str) -> Charge:
        with self._conns.connection() as conn:
            # A refusal is diagnosed with a second read; if the account changed in
            # between (a refund, a raised budget) so that nothing is exceeded, try again.
            for _ in range(8):
                # fetchall() steps the statement to its end, which commits it.
                rows = conn.execute(_CHARGE, args).fetchall()
                if rows:
                    return self._charged(rows[0])
                row = conn.execute(_ROW, (args["account"],)).fetchone()
                refusal = self._refusal(row, args["account"], model, args["n"])
                if refusal is not None:
                    raise refusal
        raise BudgetError(f"charge to {args['account']!r} kept racing with concurrent changes")

    def _charge_idempotent(self, args: dict[str, Any], model: str, key: str) -> Charge:
        account, n = args["account"], args["n"]
        now = time.time()
        with self._conns.connection() as conn, immediate(conn):
            seen = conn.execute(
                "SELECT model, n_inputs, state, result, updated FROM idempotency "
                "WHERE account = ? AND key = ?",
                (account, key),
            ).fetchone()
            if seen is not None:
                return self._replay(conn, account, key, model, n, seen, now)
            rows = conn.execute(_CHARGE, args).fetchall()
            if not rows:
                # Inside the transaction nothing can change, so a refusal is certain.
                row = conn.execute(_ROW, (account,)).fetchone()
                raise self._refusal(row, account, model, n) or BudgetError("inconsistent refusal")
            charge = self._charged(rows[0])
            conn.execute(
                "INSERT INTO idempotency "
                "(account, key, model, n_inputs, charged, state, created, updated) "
                "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                (account, key, model, n, charge.charged, now, now),
            )
            return charge

    def _replay(self, conn: sqlite3.Connection, account: str, key: str, model: str, n: int,
                seen: tuple[Any, ...], now: float) -> Charge:
        seen_model, seen_n, state, result, updated = seen
        if (seen_model, seen_n) != (model, n):
            raise IdempotencyConflict(
                account, key, "mismatch",
                f"idempotency key {key!r} was used for {seen_n} input(s) to {seen_model!r}, "
                f"not {n} input(s) to {model!r}",
            )
        usage = _usage(conn.execute(_ROW, (account,)).fetchone())
        if state == "done":
            return Charge(charged=0, usage=usage, replayed=True, result=bytes(result))
        if now - updated < self.pending_ttl:
            raise IdempotencyConflict(
                account, key, "pending",
                f"a request with idempotency key {key!r} is still being answered; retry later",
            )
        # The earlier attempt paid but never stored its answer (its worker likely
        # died): this retry takes the key over and answers without paying again.
        conn.execute(
            "UPDATE idempotency SET updated = ? WHERE account = ? AND key = ?", (now, account, key)
        )
        return Charge(charged=0, usage=usage)

    @staticmethod
    def _charged(row: tuple[int, str, str, int]) -> Charge:
        # The cost as the charging statement computed it: what was actually added.
        return Charge(charged=row[3], usage=_usage(row[:3]))

    @staticmethod
    def _refusal(row: tuple[int, str, str] | None, account: str, model: str,
                 n: int) -> BudgetError | None:
        """Why a charge was refused, or None if nothing is exceeded (any more)."""
        if row is None:
            return UnknownAccount(account)
        usage = _usage(row)
        policy = _policy(row[2])
        cost = policy.cost(model, n)
        if usage.used + cost > usage.budget:
            return BudgetExceeded(usage, cost, model, "budget")
        cap = policy.per_model.get(model)
        if cap is not None and usage.per_model[model]["used"] + cost > cap:
            return BudgetExceeded(usage, cost, model, "model")
        return None

    def store_result(self, account: str, idempotency_key: str, result: bytes) -> None:
        if not isinstance(result, (bytes, bytearray, memoryview)):
            raise ValueError(f"result must be bytes, got {type(result).__name__}")
        with self._conns.connection() as conn:
            done = conn.execute(
                "UPDATE idempotency SET state = 'done', result = ?, updated = ? "
                "WHERE account = ? AND key = ? AND state = 'pending' RETURNING 1",
                (bytes(result), time.time(), account, idempotency_key),
            ).fetchall()
            if done:
                return
            row = conn.execute(
                "SELECT state FROM idempotency WHERE account = ? AND key = ?",
                (account, idempotency_key),
            ).fetchone()
            if row is not None:
                return  # already stored (by a slow first attempt): the first answer stands
            known = conn.execute("SELECT 1 FROM accounts WHERE account = ?", (account,))
            if known.fetchone() is None:
                raise UnknownAccount(account)
        raise IdempotencyConflict(
            account, idempotency_key, "unknown",
            f"no charge is recorded under idempotency key {idempotency_key!r} "
            "(never charged, or refunded)",
        )

    def refund(self, account: str, amount: int, model: str,
               idempotency_key: str | None = None) -> Usage:
        _check_count(amount, "amount", 0, 2**62)
        check_model_id(model)
        args = {"account": account, "amount": amount, **_paths(model)}
        with self._conns.connection() as conn, immediate(conn):
            rows = conn.execute(_REFUND, args).fetchall()
            if not rows:
                row = conn.execute(_ROW, (account,)).fetchone()
                if row is None:
                    raise UnknownAccount(account)
                spent = _usage(row).per_model.get(model, {}).get("used", 0)
                raise ValueError(
                    f"cannot refund {amount} units to {account!r}: "
                    f"only {spent} were charged for {model!r}"
                )
            if idempotency_key is not None:
                conn.execute(
                    "DELETE FROM idempotency WHERE account = ? AND key = ?",
                    (account, idempotency_key),
                )
            return _usage(rows[0])

    def close(self) -> None:
        self._conns.close()
