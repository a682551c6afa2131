"""SQLite journal of every answered query: an interrupted attack resumes from it without
re-buying a single answer (the client loads it into its cache and its budget on start).

One row per answered input, written in the same transaction for a whole batch, right after
the answer arrives and before it is handed to the attack.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .cache import Answer

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    model TEXT NOT NULL,
    policy TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    label INTEGER NOT NULL,
    probabilities BLOB,
    top TEXT,
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
        self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")  # a paid answer must survive a crash
        self._conn.executescript(_SCHEMA)

    def record(self, model: str, policy: str, hashes: list[str], answers: list[Answer], charged: list[int],
               phase: str, request_id: str | None) -> None:
        now = time.time()
        rows = [
            (model, policy, h, a.label,
             None if a.probabilities is None else np.asarray(a.probabilities, np.float32).tobytes(),
             None if a.top_labels is None else json.dumps([list(a.top_labels), list(a.top_scores)]),
             c, phase, request_id, now)
            for h, a, c in zip(hashes, answers, charged)
        ]
        with self._lock:
            self._conn.execute("BEGIN")
            self._conn.executemany("INSERT OR IGNORE INTO answers VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
            self._conn.execute("COMMIT")

    def entries(self) -> Iterator[tuple[str, str, str, Answer, int, str]]:
        """(model, policy, input hash, answer, charged, phase) in the order answered."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT model, policy, input_hash, label, probabilities, top, charged, phase FROM answers ORDER BY t, rowid"
            ).fetchall()
        for model, policy, h, label, probs, top, charged, phase in rows:
            tl, ts = (None, None) if top is None else map(tuple, json.loads(top))
            yield model, policy, h, Answer(
                int(label), None if probs is None else np.frombuffer(probs, np.float32).copy(), tl, ts
            ), int(charged), phase

    def spend_by_phase(self) -> dict[str, int]:
        with self._lock:
            return dict(self._conn.execute("SELECT phase, SUM(charged) FROM answers GROUP BY phase").fetchall())

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM answers").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
