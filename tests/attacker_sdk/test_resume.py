"""An attack killed half-way and resumed from its journal spends no query twice and ends
with the same result as an uninterrupted run with the same seed."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[2]


def run_job(service, key, journal, out, kill_after_rows=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.attacker_sdk.resume_job",
            "--url",
            service.url,
            "--key",
            key,
            "--journal",
            str(journal),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
    )
    if kill_after_rows is None:
        assert proc.wait(timeout=300) == 0
        return None
    deadline = time.monotonic() + 120
    rows = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.exists():
            try:
                with sqlite3.connect(journal, timeout=1) as c:
                    rows = c.execute("SELECT COUNT(*) FROM answers").fetchone()[0]
            except sqlite3.OperationalError:
                rows = 0
            if rows >= kill_after_rows:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return rows
        time.sleep(0.02)
    raise AssertionError(
        f"job finished or hung before {kill_after_rows} answers were journaled (saw {rows})"
    )


def used(service, key):
    return requests.get(
        service.url + "/v1/usage", headers={"Authorization": f"Bearer {key}"}, timeout=10
    ).json()["used"]


def test_killed_and_resumed_equals_uninterrupted(service, make_key, tmp_path):
    key_a, key_b = make_key(budget=1000), make_key(budget=1000)
    run_job(service, key_a, tmp_path / "a.db", tmp_path / "a.json")
    whole = json.loads((tmp_path / "a.json").read_text())

    rows_at_kill = run_job(
        service, key_b, tmp_path / "b.db", tmp_path / "b-killed.json", kill_after_rows=150
    )
    assert 150 <= rows_at_kill < 400 and not (tmp_path / "b-killed.json").exists()
    spent_at_kill = used(service, key_b)
    run_job(service, key_b, tmp_path / "b.db", tmp_path / "b.json")
    resumed = json.loads((tmp_path / "b.json").read_text())

    assert used(service, key_a) == used(service, key_b) == 400  # nothing paid twice
    assert resumed["resumed_answers"] >= rows_at_kill
    assert (
        resumed["requests_sent"] * 20 <= 400 - rows_at_kill + 20
    )  # only the missing answers were asked for
    assert spent_at_kill >= rows_at_kill
    assert resumed["queried"] == whole["queried"] and resumed["queries"] == whole["queries"] == 400
    np.testing.assert_allclose(
        np.array(resumed["copy_probs"]), np.array(whole["copy_probs"]), atol=1e-5
    )
