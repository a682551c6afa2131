"""Fork- and thread-safe SQLite connections, for the ledger and for any other small
SQLite table a gunicorn worker keeps (the service's API keys).

SQLite connections must never cross a ``fork()`` (gunicorn forks its workers
after the app may have touched the ledger) and are cheapest used by one thread
each. :class:`FileConnections` therefore opens one connection per process and
per thread, lazily, and notices a changed pid after a fork. An in-memory
database exists only inside one connection, so :class:`MemoryConnections`
shares a single connection between threads behind a lock.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from budgets.errors import BudgetError, LedgerUnavailable

__all__ = ["FileConnections", "MemoryConnections", "connect", "enable_wal", "immediate"]

# Connections inherited from a parent process: neither used nor closed (closing
# could disturb the parent's locks or WAL), only kept alive so the garbage
# collector never finalises them in the child.
_INHERITED: list[sqlite3.Connection] = []

_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def connect(path: str, busy_timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode (we issue BEGIN ourselves) with the ledger's pragmas."""
    # isolation_level=None: the sqlite3 module must not open transactions behind our back.
    conn = sqlite3.connect(
        path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    # NORMAL is durable in WAL mode except for the last commits before a power loss.
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def enable_wal(conn: sqlite3.Connection, timeout: float = 30.0) -> None:
    """Put the database file in WAL mode (persistent; a no-op once done).

    Switching needs an exclusive lock, and SQLite may refuse it at once with "database is
    locked" instead of waiting in the busy handler, e.g. when two freshly forked workers
    open a new file together. So retry until ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
            continue
        if str(mode).lower() != "wal":
            raise BudgetError(f"could not put the SQLite database in WAL mode (got {mode})")
        return


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction, taken up front (BEGIN IMMEDIATE) so reads and writes are atomic."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite may already have rolled back (e.g. disk full)
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@contextmanager
def _translate_busy() -> Iterator[None]:
    try:
        yield
    except sqlite3.OperationalError as e:
        code = getattr(e, "sqlite_errorcode", None)
        if code is not None and code & 0xFF in _BUSY_CODES:
            raise LedgerUnavailable(f"the ledger database stayed locked: {e}") from e
        raise


class FileConnections:
    """One connection per (process, thread) to a database file.

    A connection whose thread has ended is closed when the next one is opened,
    so servers that start a thread per request do not leak file descriptors.
    """

    def __init__(self, path: str, busy_timeout: float):
        self.path = path
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._open: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._closed = False

    def _adopt_fork(self) -> None:
        # First use in a forked child: what the parent opened is not ours to use.
        with _fork_guard:
            if self._pid != os.getpid():
                _INHERITED.extend(conn for _, conn in self._open)
                self._open = []
                self._lock = threading.Lock()
                self._pid = os.getpid()

    def _get(self) -> sqlite3.Connection:
        if self._closed:
            raise BudgetError("the ledger is closed")
        pid = os.getpid()
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None and local.pid == pid:
            return conn
        if self._pid != pid:
            self._adopt_fork()
        conn = connect(self.path, self.busy_timeout)
        local.conn, local.pid = conn, pid
        with self._lock:
            finished = [c for t, c in self._open if not t.is_alive()]
            self._open = [(t, c) for t, c in self._open if t.is_alive()]
            self._open.append((threading.current_thread(), conn))
        for old in finished:
            old.close()
        return conn

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection; lock timeouts surface as ``LedgerUnavailable``."""
        with _translate_busy():
            yield self._get()

    def close(self) -> None:
        """Close the connections this process opened (from any of its threads)."""
        if self._pid != os.getpid():
            self._adopt_fork()
        with self._lock:
            conns, self._open = self._open, []
            self._closed = True
        for _, conn in conns:
            conn.close()


class MemoryConnections:
    """A private in-memory database: one connection, one thread at a time, one process."""

    def __init__(self, busy_timeout: float):
        self._conn: sqlite3.Connection | None = connect(":memory:", busy_timeout)
        self._lock = threading.RLock()
        self._pid = os.getpid()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The connection, held exclusively for the duration of the block."""
        if self._pid != os.getpid():
            raise BudgetError(
                "an in-memory ledger cannot be shared across processes; use sqlite:///PATH.db"
            )
        with self._lock:
            if self._conn is None:
                raise BudgetError("the ledger is closed")
            with _translate_busy():
                yield self._conn

    def close(self) -> None:
        """Close the connection (in the process that opened it)."""
        if self._pid != os.getpid():
            return
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _reset_fork_guard() -> None:
    global _fork_guard
    _fork_guard = threading.Lock()


_fork_guard = threading.Lock()
# A lock held by another thread at fork time would stay held forever in the child.
os.register_at_fork(after_in_child=_reset_fork_guard)
