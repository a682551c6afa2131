"""SQLite-only: the file (WAL, schema version), its URLs, its locks and its connections.

The ledger contract itself is tested on SQLite with every other backend, in
test_budgets_ledger.py and test_budgets_contention.py.
"""

import multiprocessing as mp
import sqlite3
import threading

import pytest

from budgets import BudgetPolicy, LedgerUnavailable, open_ledger
from budgets.errors import BudgetError
from budgets.ledger.sqlite import SCHEMA_VERSION, SqliteLedger


def test_file_is_created_in_wal_mode_with_its_schema_version(tmp_path):
    url = f"sqlite://{tmp_path}/sub/dir/ledger.db"  # tmp_path is absolute: sqlite:///tmp/...
    with open_ledger(url) as led:
        led.open_account("k", BudgetPolicy(10))
    conn = sqlite3.connect(tmp_path / "sub/dir/ledger.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    conn.close()


def test_schema_version_mismatch_is_refused(tmp_path):
    SqliteLedger(tmp_path / "l.db").close()
    conn = sqlite3.connect(tmp_path / "l.db")
    conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with pytest.raises(BudgetError, match="schema version 999"):
        SqliteLedger(tmp_path / "l.db")


def test_sqlite_urls(tmp_path):
    with pytest.raises(ValueError, match="query parameters"):
        open_ledger(f"sqlite:///{tmp_path}/x.db?mode=ro")
    for url in ("sqlite:///:memory:", "sqlite://"):
        led = open_ledger(url)
        assert led.path is None
        led.close()
    for url in (f"sqlite://{tmp_path}/a.db", f"sqlite:///{tmp_path}/a.db"):  # 3 or 4 slashes
        led = open_ledger(url)
        assert led.path == f"{tmp_path}/a.db"
        led.close()


def test_lock_held_too_long_is_ledger_unavailable(tmp_path):
    led = SqliteLedger(tmp_path / "l.db", busy_timeout=0.05)
    led.open_account("k", BudgetPolicy(10))
    blocker = sqlite3.connect(tmp_path / "l.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(LedgerUnavailable):
            led.charge("k", 1, "m")
        with pytest.raises(LedgerUnavailable):
            led.charge("k", 1, "m", idempotency_key="x")
        assert led.usage("k").used == 0  # WAL: readers are not blocked
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert led.charge("k", 1, "m").charged == 1
    led.close()


def test_connections_of_finished_threads_are_closed(tmp_path):
    led = SqliteLedger(tmp_path / "l.db")
    led.open_account("k", BudgetPolicy(1000))
    for _ in range(20):  # a thread per request, as a threaded dev server does
        t = threading.Thread(target=led.charge, args=("k", 1, "m"))
        t.start()
        t.join()
    led.usage("k")
    assert len(led._conns._open) <= 2  # this thread's, and at most the last thread's
    assert led.usage("k").used == 20
    led.close()


def _use_after_fork(ledger, out):
    try:
        ledger.usage("acct")
    except Exception as e:  # noqa: BLE001 - reported to the parent
        out.put(type(e).__name__ + ": " + str(e))
    else:
        out.put("ok")


def test_memory_ledger_refuses_use_after_fork():
    ctx = mp.get_context("fork")
    led = open_ledger("sqlite:///:memory:")
    led.open_account("acct", BudgetPolicy(1))
    out = ctx.Queue()
    p = ctx.Process(target=_use_after_fork, args=(led, out))
    p.start()
    msg = out.get(timeout=30)
    p.join(timeout=30)
    assert msg.startswith("BudgetError") and "across processes" in msg
    assert led.usage("acct").used == 0
    led.close()
