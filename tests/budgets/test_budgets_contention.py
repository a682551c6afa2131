"""Exactness under contention: several processes x threads hammering one ledger.

Runs on every backend's test URLs marked ``multiprocess`` (see conftest.py).
The processes are forked after the parent has used the ledger, so this also
checks that connections are reopened per process after a fork.
"""

import multiprocessing as mp
import random
import threading

import pytest

from budgets import BudgetExceeded, BudgetPolicy, IdempotencyConflict, open_ledger

PROCESSES = 3
THREADS = 3

ctx = mp.get_context("fork")


def _hammer(ledger, models, seed):
    """Charge random sizes until every model refuses a single input; return (charged, successes)."""
    rng = random.Random(seed)
    charged = {m: 0 for m in models}
    successes = 0
    exhausted = set()
    while len(exhausted) < len(models):
        model = rng.choice([m for m in models if m not in exhausted])
        n = rng.randint(1, 4)
        while True:
            try:
                c = ledger.charge("acct", n, model)
            except BudgetExceeded:
                if n == 1:
                    exhausted.add(model)
                    break
                n = 1  # too big for what is left; keep going one input at a time
                continue
            charged[model] += c.charged
            successes += 1
            break
    return charged, successes


def _process(ledger, models, seed, out):
    results = []

    def thread(i):
        results.append(_hammer(ledger, models, seed * 100 + i))

    threads = [threading.Thread(target=thread, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(results)


def _run(ledger, models):
    out = ctx.Queue()
    procs = [ctx.Process(target=_process, args=(ledger, models, s, out)) for s in range(PROCESSES)]
    for p in procs:
        p.start()
    per_process = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    # Everyone got a share, so the processes really did race.
    assert all(sum(r[1] for r in rs) > 0 for rs in per_process)
    results = [r for rs in per_process for r in rs]
    assert len(results) == PROCESSES * THREADS
    charged = {m: sum(r[0][m] for r in results) for m in models}
    return charged, sum(r[1] for r in results)


@pytest.fixture
def ledger(shared_ledger_url):
    led = open_ledger(shared_ledger_url)
    yield led
    led.close()


def test_exact_total_under_contention(ledger, shared_ledger_url):
    budget = 20_000
    ledger.open_account("acct", BudgetPolicy(budget))
    ledger.charge("acct", 1, "m")  # the parent holds a connection when it forks
    charged, successes = _run(ledger, ["m"])
    assert successes > 0
    u = ledger.usage("acct")  # the parent's connection still works after the children
    assert u.used == budget == 1 + charged["m"]
    assert u.per_model["m"]["used"] == budget and u.remaining == 0
    with open_ledger(shared_ledger_url) as again:
        assert again.usage("acct") == u


def test_exact_caps_and_prices_under_contention(ledger):
    budget = 12_000
    ledger.open_account("acct", BudgetPolicy(budget, per_model={"a": 1500}, prices={"b": 3}))
    charged, _ = _run(ledger, ["a", "b"])
    u = ledger.usage("acct")
    assert u.used == charged["a"] + charged["b"]
    # b costs 3 per input: the last units may be left unspendable, never overspent.
    assert budget - 3 < u.used <= budget
    assert u.per_model["a"]["used"] == charged["a"] == 1500
    assert u.per_model["b"]["used"] == charged["b"]


def _race_keys(ledger, keys, seed, out):
    rng = random.Random(seed)
    order = list(keys)
    rng.shuffle(order)
    paid = replayed = conflicts = 0
    for key in order:
        try:
            c = ledger.charge("acct", 2, "m", idempotency_key=key)
        except IdempotencyConflict:
            conflicts += 1
            continue
        if c.replayed:
            assert c.result == key.encode()
            replayed += 1
        else:
            paid += c.charged
            ledger.store_result("acct", key, key.encode())
    out.put((paid, replayed, conflicts))


def test_each_idempotency_key_is_paid_once_under_contention(ledger):
    keys = [f"req-{i}" for i in range(1000)]
    ledger.open_account("acct", BudgetPolicy(10_000))
    out = ctx.Queue()
    procs = [ctx.Process(target=_race_keys, args=(ledger, keys, s, out)) for s in range(PROCESSES)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    paid = sum(r[0] for r in results)
    assert paid == ledger.usage("acct").used == 2 * len(keys)
    assert sum(r[0] // 2 + r[1] + r[2] for r in results) == PROCESSES * len(keys)
