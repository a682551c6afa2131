"""SQLite journal of every answered query: an interrupted attack resumes from it without
re-buying a single answer (the client loads it into its cache and its budget on start).

One row per answered input, written in the same transaction for a whole batch, right after
the answer arrives and before it is handed to the attack. An answer is stored as its task's
JSON record (:func:`attacker_sdk.answers.to_record`), so a caption resumes like a label.

Journals written before records existed (schema 0: ``label``, ``probabilities`` BLOB and
``top`` columns, classification only) are upgraded in place when opened, in one
transaction: every row keeps its hash, charge, phase and order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .answers import from_record, to_record

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    model TEXT NOT NULL,
    policy TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    record TEXT NOT NULL,       -- the answer, as its task's JSON record
    charged INTEGER NOT NULL,   -- units paid for this input
    phase TEXT NOT NULL,
    request_id TEXT,
    t REAL NOT NULL,
    PRIMARY KEY (model, policy, input_hash)
);
"""


class Journal:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(self.path), check_same_thread=False, isolation_level=None, timeout=30
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # a paid answer must survive a crash
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            columns = {r[1] for r in self._conn.execute("PRAGMA table_info(answers)")}
            if "label" in columns:
                _upgrade_from_v0(self._conn)
            self._conn.execute(_SCHEMA)
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    def record(
        self,
        model: str,
        policy: str,
        hashes: list[str],
        answers: list[Any],
        charged: list[int],
        phase: str,
        request_id: str | None,
    ) -> None:
        now = time.time()
        rows = [
            (model, policy, h, json.dumps(to_record(a)), c, phase, request_id, now)
            for h, a, c in zip(hashes, answers, charged)
        ]
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR IGNORE INTO answers VALUES (?,?,?,?,?,?,?,?)", rows)
            self._conn.execute("COMMIT")

    def entries(self) -> Iterator[tuple[str, str, str, Any, int, str]]:
        """(model, policy, input hash, answer, charged, phase) in the order answered."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT model, policy, input_hash, record, charged, phase FROM answers "
                "ORDER BY t, rowid"
            ).fetchall()
        for model, policy, h, record, charged, phase in rows:
            yield model, policy, h, from_record(json.loads(record)), int(charged), phase

    def spend_by_phase(self) -> dict[str, int]:
        with self._lock:
            return dict(
                self._conn.execute(
                    "SELECT phase, SUM(charged) FROM answers GROUP BY phase"
                ).fetchall()
            )

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _upgrade_from_v0(conn: sqlite3.Connection) -> None:
    """Rewrite a schema-0 table (label / probabilities BLOB / top columns) as records, in
    the caller's transaction, keeping the answer order (``t``, then the old rowid)."""
    old = conn.execute(
        "SELECT model, policy, input_hash, label, probabilities, top, charged, phase, "
        "request_id, t "
        "FROM answers ORDER BY t, rowid"
    ).fetchall()
    conn.execute("ALTER TABLE answers RENAME TO answers_v0")
    conn.execute(_SCHEMA)
    rows = []
    for model, policy, h, label, probs, top, charged, phase, request_id, t in old:
        record = {
            "task": "classification",
            "label": int(label),
            "probabilities": None if probs is None else np.frombuffer(probs, np.float32).tolist(),
            "top": None if top is None else json.loads(top),
        }
        rows.append((model, policy, h, json.dumps(record), charged, phase, request_id, t))
    conn.executemany("INSERT INTO answers VALUES (?,?,?,?,?,?,?,?)", rows)
    conn.execute("DROP TABLE answers_v0")
