"""The client-side Budget: local refusal, reservations, reconcile, phases, timeline."""

import json
import threading

import pytest

from budgets import Budget, LocalBudgetExceeded
from budgets.tracker import UNPHASED


def test_local_refusal_before_sending():
    b = Budget(10)
    r = b.reserve(6)
    assert (b.spent, b.reserved, b.available, b.remaining) == (0, 6, 4, 10)
    with pytest.raises(LocalBudgetExceeded) as e:
        b.reserve(5)  # 0 spent + 6 reserved + 5 > 10
    assert (e.value.requested, e.value.spent, e.value.reserved, e.value.total) == (5, 0, 6, 10)
    assert "nothing was sent" in str(e.value)
    r.commit(6)
    b.reserve(4).commit(4)
    assert (b.spent, b.remaining, b.available) == (10, 0, 0)
    with pytest.raises(LocalBudgetExceeded):
        b.reserve(1)
    b.reserve(0).commit(0)  # a free request still fits


def test_unlimited_budget():
    b = Budget()
    b.reserve(10**9).commit()
    assert b.spent == 10**9 and b.total is None and b.remaining is None and b.available is None


def test_reservation_context_manager():
    b = Budget(10)
    with pytest.raises(RuntimeError, match="boom"), b.reserve(7):
        raise RuntimeError("boom")
    assert (b.spent, b.reserved) == (0, 0)  # released on the exception
    with b.reserve(3) as r:
        r.commit(2)  # the server charged less (e.g. a cached answer)
    assert (b.spent, b.reserved) == (2, 0)
    with b.reserve(3):
        pass  # no commit: the reserved amount is assumed spent
    assert (b.spent, b.reserved) == (5, 0)


def test_settle_once():
    b = Budget(10)
    r = b.reserve(2)
    r.commit(2)
    with pytest.raises(RuntimeError):
        r.commit(2)
    r.release()  # no-op after a commit
    assert (b.spent, b.reserved) == (2, 0)
    r2 = b.reserve(3)
    r2.release()
    r2.release()
    assert b.reserved == 0 and r2.done and r2.charged is None
    with pytest.raises(ValueError):
        b.reserve(1).commit(-1)
    with pytest.raises(ValueError):
        b.reserve(-1)
    with pytest.raises(ValueError):
        Budget(-5)


def test_reconcile_adopts_server_truth_and_records_drift():
    b = Budget(100)
    with b.reserve(5) as r:
        r.commit(5)
    assert b.reconcile({"charged": 5, "used": 5, "budget": 50, "remaining": 45}) == 0
    assert b.total == 50 and b.remaining == 45 and b.drift == 0  # the smaller limit applies
    # The key had been used elsewhere: the server says 25, we thought 10.
    b.reserve(5).commit(5)
    assert b.reconcile({"charged": 5, "used": 25, "budget": 50, "remaining": 25}) == 15
    assert b.spent == 25 and b.drift == 15 and b.drifts[0].local == 10 and b.drifts[0].server == 25
    with pytest.raises(LocalBudgetExceeded):
        b.reserve(26)
    # The operator raised the budget; our own limit of 100 still applies above it.
    b.reconcile({"used": 25, "budget": 1000})
    assert b.total == 100
    with pytest.raises(KeyError):
        b.reconcile({"used": 1})


def test_reconcile_with_requests_in_flight_does_not_double_count():
    b = Budget(100)
    ra, rb = b.reserve(10), b.reserve(10)
    # The server charged a then b; b's answer (used=20) arrives first.
    rb.commit(10)
    assert b.reconcile({"charged": 10, "used": 20, "budget": 100}) == 0
    assert b.spent == 20  # the server's mark counts a, which is still in flight here
    ra.commit(10)
    assert b.reconcile({"charged": 10, "used": 10, "budget": 100}) == 0  # stale: ignored
    assert b.spent == 20 and b.drift == 0
    b.reserve(1).commit(1)
    assert b.reconcile({"used": 21, "budget": 100}) == 0
    assert b.spent == 21


def test_phases_nested_and_timeline():
    b = Budget(100)
    b.reserve(1).commit()
    with b.phase("recon"):
        assert b.current_phase == "recon"
        b.reserve(2).commit()
        with b.phase("extract"):
            b.reserve(3).commit()
            r = b.reserve(4)  # attributed to the phase current when reserved
        b.reserve(5).commit()
    r.commit()
    assert b.current_phase == UNPHASED
    with b.phase("idle"):
        pass
    assert b.by_phase == {UNPHASED: 1, "recon": 7, "extract": 7, "idle": 0}
    tl = b.timeline
    assert [(e.phase, e.charged, e.spent) for e in tl] == [
        (UNPHASED, 1, 1),
        ("recon", 2, 3),
        ("extract", 3, 6),
        ("recon", 5, 11),
        ("extract", 4, 15),
    ]
    assert all(tl[i].t <= tl[i + 1].t for i in range(len(tl) - 1))
    _t, phase, charged, spent = tl[0]  # plain tuples too
    assert (phase, charged, spent) == (UNPHASED, 1, 1)
    with pytest.raises(ValueError), b.phase(""):
        pass


def test_phases_from_threads():
    b = Budget(100_000)
    start = threading.Barrier(4)

    def work(name, n):
        with b.phase(name):
            start.wait()  # all four phases are open at once
            for _ in range(n):
                with b.reserve(1):
                    pass

    threads = [threading.Thread(target=work, args=(f"p{i}", 500 * (i + 1))) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert b.by_phase == {"p0": 500, "p1": 1000, "p2": 1500, "p3": 2000}
    assert b.spent == 5000 and b.reserved == 0
    tl = b.timeline
    assert len(tl) == 5000 and [e.spent for e in tl] == list(range(1, 5001))


def test_threads_never_overspend():
    b = Budget(1000)
    refused = []

    def work():
        while True:
            try:
                r = b.reserve(3)
            except LocalBudgetExceeded:
                refused.append(1)
                return
            r.commit(3)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert b.spent == 999 and len(refused) == 6


def test_to_dict_is_json_safe():
    b = Budget(10)
    with b.phase("x"):
        b.reserve(2).commit()
    b.reconcile({"charged": 2, "used": 3, "budget": 10, "remaining": 7})
    d = json.loads(json.dumps(b.to_dict()))
    assert d["total"] == 10 and d["spent"] == 3 and d["remaining"] == 7 and d["reserved"] == 0
    assert d["by_phase"] == {"x": 2} and d["drift"] == 1
    assert d["timeline"][0][1:] == ["x", 2, 2]
