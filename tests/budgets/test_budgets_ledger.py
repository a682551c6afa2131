"""The ledger contract, one process: charges, refusals, caps, prices, refunds, idempotency.

Runs on every backend's test URLs (see conftest.py for how a backend joins);
SQLite internals are tested in test_budgets_sqlite.py.
"""

import pickle
import threading

import pytest

from budgets import (
    BackendNotImplemented,
    BudgetExceeded,
    BudgetPolicy,
    IdempotencyConflict,
    UnknownAccount,
    open_ledger,
)
from budgets.errors import BudgetError
from budgets.ledger import Charge, Usage
from budgets.ledger.registry import registered_schemes


def test_charge_and_refuse_exactly_at_boundary(ledger):
    ledger.open_account("k", BudgetPolicy(10))
    c = ledger.charge("k", 9, "m")
    assert isinstance(c, Charge) and c.charged == 9 and not c.replayed and c.result is None
    assert (c.usage.used, c.usage.budget, c.usage.remaining) == (9, 10, 1)
    assert c.to_dict() == {"charged": 9, "used": 9, "budget": 10, "remaining": 1}
    with pytest.raises(BudgetExceeded) as e:
        ledger.charge("k", 2, "m")
    assert e.value.requested == 2 and e.value.limit == "budget" and e.value.usage.used == 9
    assert "nothing was charged" in str(e.value)
    c = ledger.charge("k", 1, "m")  # exactly the last unit
    assert c.usage.used == 10 and c.usage.remaining == 0
    with pytest.raises(BudgetExceeded):
        ledger.charge("k", 1, "m")
    assert ledger.usage("k").used == 10


def test_refused_charge_changes_nothing(ledger):
    ledger.open_account("k", BudgetPolicy(5, per_model={"capped": 2}))
    ledger.charge("k", 1, "capped")
    ledger.charge("k", 2, "free")
    before = ledger.usage("k")
    for n, model in ((3, "free"), (2, "capped"), (100, "other")):
        with pytest.raises(BudgetExceeded):
            ledger.charge("k", n, model)
    with pytest.raises(BudgetExceeded):
        ledger.charge("k", 3, "other", idempotency_key="key-1")
    assert ledger.usage("k") == before
    # A refused key was not recorded: once affordable, the same key charges.
    assert ledger.charge("k", 2, "other", idempotency_key="key-1").charged == 2


def test_zero_budget_refuses_everything(ledger):
    ledger.open_account("k", BudgetPolicy(0))
    with pytest.raises(BudgetExceeded):
        ledger.charge("k", 1, "m")
    assert ledger.usage("k") == Usage(used=0, budget=0, remaining=0, per_model={})


def test_per_model_caps(ledger):
    ledger.open_account("k", BudgetPolicy(100, per_model={"a": 5, "b": 50}))
    u = ledger.usage("k")
    assert u.per_model["a"] == {"used": 0, "cap": 5, "price": 1, "remaining": 5}
    ledger.charge("k", 5, "a")
    with pytest.raises(BudgetExceeded) as e:
        ledger.charge("k", 1, "a")
    assert e.value.limit == "model" and e.value.model == "a"
    assert "cap" in str(e.value)
    ledger.charge("k", 50, "b")
    ledger.charge("k", 45, "c")  # uncapped: only the total applies
    with pytest.raises(BudgetExceeded) as e:
        ledger.charge("k", 1, "c")
    assert e.value.limit == "budget"
    u = ledger.usage("k")
    assert u.used == 100
    assert {m: v["used"] for m, v in u.per_model.items()} == {"a": 5, "b": 50, "c": 45}
    assert all(v["remaining"] == 0 for v in u.per_model.values())


def test_cap_remaining_is_bounded_by_total(ledger):
    ledger.open_account("k", BudgetPolicy(10, per_model={"a": 8}))
    ledger.charge("k", 6, "b")
    assert ledger.usage("k").per_model["a"]["remaining"] == 4


def test_prices(ledger):
    ledger.open_account("k", BudgetPolicy(20, per_model={"big": 12}, prices={"big": 4, "free": 0}))
    assert ledger.charge("k", 3, "big").charged == 12
    with pytest.raises(BudgetExceeded) as e:
        ledger.charge("k", 1, "big")  # 4 more units would pass the cap of 12
    assert e.value.requested == 4 and e.value.limit == "model"
    assert ledger.charge("k", 1000, "free").charged == 0
    assert ledger.charge("k", 8, "small").charged == 8
    with pytest.raises(BudgetExceeded):
        ledger.charge("k", 1, "small")
    u = ledger.usage("k")
    assert u.used == 20
    assert u.per_model["big"]["price"] == 4


def test_price_change_by_policy_update_applies_at_once(ledger):
    ledger.open_account("k", BudgetPolicy(100))
    assert ledger.charge("k", 2, "m").charged == 2
    ledger.open_account("k", BudgetPolicy(100, prices={"m": 5}))
    assert ledger.charge("k", 2, "m").charged == 10
    assert ledger.usage("k").used == 12


def test_refund(ledger):
    ledger.open_account("k", BudgetPolicy(10))
    ledger.charge("k", 6, "m")
    u = ledger.refund("k", 4, "m")
    assert (u.used, u.remaining) == (2, 8) and u.per_model["m"]["used"] == 2
    with pytest.raises(ValueError, match="only 2 were charged"):
        ledger.refund("k", 3, "m")
    with pytest.raises(ValueError):
        ledger.refund("k", 1, "never-charged")
    with pytest.raises(ValueError):
        ledger.refund("k", -1, "m")
    assert ledger.refund("k", 0, "m").used == 2
    ledger.refund("k", 2, "m")
    assert ledger.usage("k").per_model == {}  # no spend, no cap: not listed
    assert ledger.charge("k", 10, "m").usage.used == 10


def test_idempotent_replay_returns_stored_result_and_charges_nothing(ledger):
    ledger.open_account("k", BudgetPolicy(10))
    first = ledger.charge("k", 3, "m", idempotency_key="req-1")
    assert first.charged == 3 and not first.replayed
    ledger.store_result("k", "req-1", b"\x00answer\xff")
    again = ledger.charge("k", 3, "m", idempotency_key="req-1")
    assert again.replayed and again.charged == 0 and again.result == b"\x00answer\xff"
    assert again.usage.used == 3
    assert again.to_dict()["charged"] == 0
    assert ledger.usage("k").used == 3
    # A replay is served even when the budget is now exhausted.
    ledger.charge("k", 7, "m")
    assert ledger.charge("k", 3, "m", idempotency_key="req-1").result == b"\x00answer\xff"
    # Storing again keeps the first answer.
    ledger.store_result("k", "req-1", b"other")
    assert ledger.charge("k", 3, "m", idempotency_key="req-1").result == b"\x00answer\xff"


def test_idempotency_keys_are_per_account(ledger):
    ledger.open_account("a", BudgetPolicy(10))
    ledger.open_account("b", BudgetPolicy(10))
    ledger.charge("a", 1, "m", idempotency_key="same")
    assert ledger.charge("b", 1, "m", idempotency_key="same").charged == 1


def test_pending_conflict_and_mismatch(ledger):
    ledger.open_account("k", BudgetPolicy(10))
    ledger.charge("k", 2, "m", idempotency_key="req")
    with pytest.raises(IdempotencyConflict) as e:
        ledger.charge("k", 2, "m", idempotency_key="req")
    assert e.value.reason == "pending"
    with pytest.raises(IdempotencyConflict) as e:
        ledger.charge("k", 3, "m", idempotency_key="req")
    assert e.value.reason == "mismatch"
    with pytest.raises(IdempotencyConflict) as e:
        ledger.charge("k", 2, "other", idempotency_key="req")
    assert e.value.reason == "mismatch"
    ledger.store_result("k", "req", b"r")
    with pytest.raises(IdempotencyConflict) as e:
        ledger.charge("k", 1, "m", idempotency_key="req")
    assert e.value.reason == "mismatch"
    assert ledger.usage("k").used == 2


def test_refund_forgets_pending_key(ledger):
    ledger.open_account("k", BudgetPolicy(10))
    c = ledger.charge("k", 4, "m", idempotency_key="req")
    u = ledger.refund("k", c.charged, "m", idempotency_key="req")
    assert u.used == 0
    with pytest.raises(IdempotencyConflict) as e:
        ledger.store_result("k", "req", b"late")
    assert e.value.reason == "unknown"
    retry = ledger.charge("k", 4, "m", idempotency_key="req")
    assert retry.charged == 4 and not retry.replayed


def test_stale_pending_key_is_taken_over_without_paying_again(ledger_url):
    led = open_ledger(ledger_url, pending_ttl=0.0)
    led.open_account("k", BudgetPolicy(10))
    assert led.charge("k", 4, "m", idempotency_key="req").charged == 4
    retry = led.charge("k", 4, "m", idempotency_key="req")  # the first worker "died"
    assert retry.charged == 0 and not retry.replayed and retry.result is None
    led.store_result("k", "req", b"ans")
    assert led.charge("k", 4, "m", idempotency_key="req").result == b"ans"
    assert led.usage("k").used == 4
    led.close()


def test_open_account_update_keeps_spend(ledger):
    ledger.open_account("k", BudgetPolicy(10, per_model={"a": 5}))
    ledger.charge("k", 4, "a")
    ledger.charge("k", 4, "b")
    ledger.open_account("k", BudgetPolicy(20))  # raise the budget, drop the cap
    u = ledger.usage("k")
    assert (u.used, u.budget, u.remaining) == (8, 20, 12)
    assert ledger.policy("k") == BudgetPolicy(20)
    ledger.charge("k", 12, "a")
    ledger.open_account("k", BudgetPolicy(15))  # lower below what is spent
    u = ledger.usage("k")
    assert (u.used, u.budget, u.remaining) == (20, 15, 0)
    with pytest.raises(BudgetExceeded):
        ledger.charge("k", 1, "a")
    assert ledger.accounts() == ["k"]


def test_unknown_account(ledger):
    for call in (
        lambda: ledger.charge("nobody", 1, "m"),
        lambda: ledger.charge("nobody", 1, "m", idempotency_key="x"),
        lambda: ledger.usage("nobody"),
        lambda: ledger.policy("nobody"),
        lambda: ledger.refund("nobody", 1, "m"),
        lambda: ledger.store_result("nobody", "x", b""),
    ):
        with pytest.raises(UnknownAccount):
            call()
    assert ledger.accounts() == []


@pytest.mark.parametrize(
    "args",
    [(0, "m"), (-1, "m"), (1.0, "m"), (True, "m"), (1, ""), (1, 'a"b'), (1, None)],
)
def test_bad_charge_arguments(ledger, args):
    ledger.open_account("k", BudgetPolicy(10))
    with pytest.raises(ValueError):
        ledger.charge("k", *args)
    with pytest.raises(ValueError):
        ledger.charge("k", 1, "m", idempotency_key="")
    with pytest.raises(ValueError):
        ledger.open_account("", BudgetPolicy(1))
    with pytest.raises(ValueError):
        ledger.open_account("x", {"budget": 1})
    assert ledger.usage("k").used == 0


def test_accounts_sorted(ledger):
    for name in ("zed", "alice", "bob"):
        ledger.open_account(name, BudgetPolicy(1))
    assert ledger.accounts() == ["alice", "bob", "zed"]


def test_reopening_the_url_sees_the_same_state(shared_ledger_url):
    with open_ledger(shared_ledger_url) as led:
        led.open_account("k", BudgetPolicy(10, per_model={"a": 3}, prices={"b": 2}))
        led.charge("k", 3, "a")
        led.charge("k", 1, "b", idempotency_key="r")
        led.store_result("k", "r", b"blob")
        before = led.usage("k")
    with open_ledger(shared_ledger_url) as led:
        assert led.usage("k") == before
        assert led.policy("k") == BudgetPolicy(10, per_model={"a": 3}, prices={"b": 2})
        assert led.charge("k", 1, "b", idempotency_key="r").result == b"blob"
        with pytest.raises(BudgetExceeded):
            led.charge("k", 1, "a")


def test_open_ledger_schemes():
    with pytest.raises(BackendNotImplemented, match="Redis ledger is not available"):
        open_ledger("redis://localhost:6379/0")
    with pytest.raises(NotImplementedError):
        open_ledger("redis://localhost:6379/0")
    for bad in ("postgres://x", "ledger.db", "", None):
        with pytest.raises(ValueError, match="ledger URL"):
            open_ledger(bad)
    with pytest.raises(ValueError) as e:
        open_ledger("postgres://x")
    assert all(f"{scheme}://" in str(e.value) for scheme in registered_schemes())
    assert {"sqlite", "redis"} <= set(registered_schemes())


def test_closed_ledger_refuses(ledger_url):
    led = open_ledger(ledger_url)
    led.open_account("k", BudgetPolicy(1))
    led.close()
    with pytest.raises(BudgetError):
        led.usage("k")


def test_connections_are_per_thread(tmp_path, ledger):
    ledger.open_account("k", BudgetPolicy(1000))
    errors = []

    def work():
        try:
            for _ in range(50):
                ledger.charge("k", 1, "m")
        except Exception as e:  # noqa: BLE001  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert ledger.usage("k").used == 200


def test_errors_pickle():
    per_model = {"m": {"used": 1, "cap": 1, "price": 1, "remaining": 0}}
    u = Usage(used=1, budget=2, remaining=1, per_model=per_model)
    for err in (
        BudgetExceeded(u, 5, "m", "model"),
        UnknownAccount("k"),
        IdempotencyConflict("k", "key", "pending"),
    ):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is type(err) and str(back) == str(err)
    assert pickle.loads(pickle.dumps(BudgetExceeded(u, 5))).usage == u


ODD_MODEL_IDS = ["a.b", "a[0]", "$x", "a'b", "org/model:1", "ünï", "模型", "a b", "#1"]


def test_odd_model_ids_are_priced_capped_and_refunded_exactly(ledger):
    policy = BudgetPolicy(
        1000, per_model={m: 5 for m in ODD_MODEL_IDS}, prices={m: 2 for m in ODD_MODEL_IDS}
    )
    ledger.open_account("k", policy)
    for m in ODD_MODEL_IDS:
        assert ledger.charge("k", 2, m).charged == policy.cost(m, 2) == 4
        with pytest.raises(BudgetExceeded) as e:
            ledger.charge("k", 1, m)
        assert e.value.limit == "model"
    u = ledger.usage("k")
    assert u.used == 4 * len(ODD_MODEL_IDS)
    assert {m: v["used"] for m, v in u.per_model.items()} == {m: 4 for m in ODD_MODEL_IDS}
    for m in ODD_MODEL_IDS:
        ledger.refund("k", 4, m)
    assert ledger.usage("k").used == 0
