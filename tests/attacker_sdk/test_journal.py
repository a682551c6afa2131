"""The journal stores answers of any task as JSON records, reads them back bit for bit,
and opens journals written before records existed (schema 0) without losing a row."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from attacker_sdk.answers import Answer, answer_type, for_task, from_record, to_record
from attacker_sdk.journal import Journal

_SCHEMA_V0 = """
CREATE TABLE answers (
    model TEXT NOT NULL, policy TEXT NOT NULL, input_hash TEXT NOT NULL, label INTEGER NOT NULL,
    probabilities BLOB, top TEXT, charged INTEGER NOT NULL, phase TEXT NOT NULL, request_id TEXT,
    t REAL NOT NULL, PRIMARY KEY (model, policy, input_hash));
"""


def _answers():
    p = np.array([0.1, 0.7, 0.2], np.float32) / np.float32(1.0000001)  # not round in decimal
    return [Answer(1, p), Answer(2, None, (2, 0), (0.61, 0.3)), Answer(0)]


def _same(a, b) -> bool:
    same_p = (a.probabilities is None and b.probabilities is None) or (
        a.probabilities is not None
        and b.probabilities is not None
        and a.probabilities.dtype == b.probabilities.dtype == np.float32
        and a.probabilities.tobytes() == b.probabilities.tobytes()
    )
    return same_p and (a.label, a.top_labels, a.top_scores) == (b.label, b.top_labels, b.top_scores)


def test_record_round_trip_is_exact():
    for a in _answers():
        rec = json.loads(json.dumps(to_record(a)))
        assert rec["task"] == "classification"
        assert _same(from_record(rec), a)


def test_journal_keeps_order_charges_and_phases(tmp_path):
    j = Journal(tmp_path / "j.db")
    ans = _answers()
    j.record("m", "probabilities", ["h1", "h2"], ans[:2], [1, 1], "seed", "r1")
    j.record("m", "probabilities", ["h3"], ans[2:], [2], "round-1", "r2")
    j.close()
    rows = list(Journal(tmp_path / "j.db").entries())
    assert [r[2] for r in rows] == ["h1", "h2", "h3"]
    assert all(_same(r[3], a) for r, a in zip(rows, ans))
    assert [(r[4], r[5]) for r in rows] == [(1, "seed"), (1, "seed"), (2, "round-1")]


def test_schema_0_journal_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.db"
    ans = _answers()
    conn = sqlite3.connect(path)
    conn.executescript(_SCHEMA_V0)
    for i, (h, a) in enumerate(zip(["h1", "h2", "h3"], ans)):
        conn.execute(
            "INSERT INTO answers VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                "m",
                "top1",
                h,
                a.label,
                None if a.probabilities is None else a.probabilities.tobytes(),
                None
                if a.top_labels is None
                else json.dumps([list(a.top_labels), list(a.top_scores)]),
                1,
                "p",
                None,
                100.0 + i,
            ),
        )
    conn.commit()
    conn.close()
    j = Journal(path)
    rows = list(j.entries())
    assert [r[2] for r in rows] == ["h1", "h2", "h3"] and len(j) == 3
    assert all(_same(r[3], a) for r, a in zip(rows, ans))
    assert j.spend_by_phase() == {"p": 3}
    j.close()
    assert [r[2] for r in Journal(path).entries()] == [
        "h1",
        "h2",
        "h3",
    ]  # opening again changes nothing


def test_unknown_task_is_refused_clearly():
    with pytest.raises(ValueError, match="cannot read answers of task 'captioning'"):
        for_task("captioning")
    with pytest.raises(ValueError, match="registered twice"):
        answer_type("classification", lambda b: [], Answer.from_record, lambda *a: None)
