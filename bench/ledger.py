"""Micro-benchmark of the SQLite ledger: charges per second, 1 and 2 processes.

Every case charges one account in one ledger file in a temporary directory;
the processes start together (a barrier) and the rate is the total number of
charges over the span from the first start to the last finish. After each
case the ledger's ``used`` is checked against the charges made.

    python bench/ledger.py [N]      # prints the figures, writes bench/results/ledger.json
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import platform
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from budgets import BudgetPolicy, open_ledger

ACCOUNT = "bench"
CASES: dict[str, dict[str, Any]] = {
    "single_process": {"processes": 1, "mode": "plain"},
    "two_processes": {"processes": 2, "mode": "plain"},
    "two_processes_caps_prices": {"processes": 2, "mode": "caps"},
    "two_processes_idempotent": {"processes": 2, "mode": "idempotent"},
}


def _policy(mode: str, n: int) -> BudgetPolicy:
    if mode == "caps":
        # Two capped models, one priced: the cap and price lookups are on the hot path.
        return BudgetPolicy(3 * n, per_model={"a": 3 * n, "b": 3 * n}, prices={"b": 2})
    return BudgetPolicy(n)


def _worker(url: str, mode: str, worker: int, count: int, start: Any, out: Any) -> None:
    ledger = open_ledger(url)
    ledger.usage(ACCOUNT)  # open this process's connection before the clock starts
    start.wait()
    t0 = time.perf_counter()
    charged = 0
    if mode == "plain":
        for _ in range(count):
            charged += ledger.charge(ACCOUNT, 1, "m").charged
    elif mode == "caps":
        for i in range(count):
            charged += ledger.charge(ACCOUNT, 1, "ab"[i % 2]).charged
    else:  # the service's full cycle for a request carrying a key: charge, answer, store
        for i in range(count):
            key = f"{worker}-{i}"
            charged += ledger.charge(ACCOUNT, 1, "m", idempotency_key=key).charged
            ledger.store_result(ACCOUNT, key, b"x" * 64)
    t1 = time.perf_counter()
    ledger.close()
    out.put((t0, t1, charged))


def _case(directory: str, name: str, processes: int, mode: str, n: int) -> dict[str, Any]:
    url = f"sqlite://{directory}/{name}.db"
    ledger = open_ledger(url)
    ledger.open_account(ACCOUNT, _policy(mode, n))
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    start, out = ctx.Barrier(processes), ctx.Queue()
    counts = [n // processes + (i < n % processes) for i in range(processes)]
    procs = [
        ctx.Process(target=_worker, args=(url, mode, i, c, start, out))
        for i, c in enumerate(counts)
    ]
    for p in procs:
        p.start()
    spans = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join()
        if p.exitcode != 0:
            raise RuntimeError(f"benchmark worker failed with exit code {p.exitcode}")
    used = ledger.usage(ACCOUNT).used
    ledger.close()
    charged = sum(s[2] for s in spans)
    if used != charged:
        raise RuntimeError(
            f"{name}: the ledger says {used} units used, the workers charged {charged}"
        )
    seconds = max(s[1] for s in spans) - min(s[0] for s in spans)
    return {
        "processes": processes,
        "mode": mode,
        "charges": n,
        "seconds": round(seconds, 4),
        "charges_per_s": round(n / seconds),
        "units_charged": charged,
    }


def run(n: int = 20000) -> dict[str, Any]:
    """Run every case with ``n`` charges each; return the figures (nothing is written)."""
    results: dict[str, Any] = {
        "benchmark": "ledger",
        "backend": "sqlite",
        "n": n,
        "sqlite_version": sqlite3.sqlite_version,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "cases": {},
    }
    with tempfile.TemporaryDirectory(prefix="mlrange-bench-ledger-") as directory:
        for name, spec in CASES.items():
            results["cases"][name] = _case(directory, name, spec["processes"], spec["mode"], n)
    return results


def main(argv: list[str]) -> None:
    n = int(argv[1]) if len(argv) > 1 else 20000
    results = run(n)
    results["when"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print(
        f"SQLite ledger, {n} charges per case (SQLite {results['sqlite_version']}, "
        f"{results['cpus']} CPUs)"
    )
    for name, r in results["cases"].items():
        print(
            f"  {name:<28} {r['processes']} proc  {r['charges_per_s']:>8,} charges/s  "
            f"({r['seconds']:.3f} s)"
        )
    path = ROOT / "bench" / "results" / "ledger.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv)
