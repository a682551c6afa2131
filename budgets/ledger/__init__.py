"""The server-side ledger: the truth about what every account has spent.

The interface (:class:`Ledger`), its value types (:class:`Usage`,
:class:`Charge`) and the factory :func:`open_ledger`. Backends live in
submodules (``budgets.ledger.sqlite``; Redis is a later issue).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from budgets.errors import BackendNotImplemented
from budgets.policy import DEFAULT_PRICE, BudgetPolicy

__all__ = ["Usage", "Charge", "Ledger", "open_ledger", "build_usage"]


@dataclass(frozen=True)
class Usage:
    """An account's spend, in units.

    ``per_model`` has one entry per model that is capped or has spend:
    ``{"used": int, "cap": int | None, "price": int, "remaining": int}`` where
    ``remaining`` is what can still be spent on that model, i.e. the smaller of
    the cap's headroom and the account's remaining budget.
    """

    used: int
    budget: int
    remaining: int
    per_model: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, with ``per_model``."""
        return {
            "used": self.used,
            "budget": self.budget,
            "remaining": self.remaining,
            "per_model": {m: dict(v) for m, v in self.per_model.items()},
        }


@dataclass(frozen=True)
class Charge:
    """The outcome of :meth:`Ledger.charge`.

    ``charged`` is 0 when ``replayed`` (the stored ``result`` is returned instead
    of a new charge), and also when a stale pending key is taken over (the
    earlier attempt already paid; the caller answers and stores the result).
    """

    charged: int
    usage: Usage
    replayed: bool = False
    result: bytes | None = None

    def to_dict(self) -> dict[str, int]:
        """The HTTP answer's ``usage`` block: ``{"charged", "used", "budget", "remaining"}``."""
        return {
            "charged": self.charged,
            "used": self.usage.used,
            "budget": self.usage.budget,
            "remaining": self.usage.remaining,
        }


def build_usage(policy: BudgetPolicy, used: int, spend: Mapping[str, int]) -> Usage:
    """Usage of an account with ``policy`` that spent ``used`` units, ``spend[m]`` on model m."""
    remaining = max(0, policy.budget - used)
    per_model: dict[str, dict[str, Any]] = {}
    for model in sorted(set(policy.per_model) | {m for m, v in spend.items() if v}):
        m_used = int(spend.get(model, 0))
        cap = policy.per_model.get(model)
        m_remaining = remaining if cap is None else max(0, min(remaining, cap - m_used))
        per_model[model] = {
            "used": m_used,
            "cap": cap,
            "price": policy.prices.get(model, DEFAULT_PRICE),
            "remaining": m_remaining,
        }
    return Usage(used=used, budget=policy.budget, remaining=remaining, per_model=per_model)


class Ledger(ABC):
    """Where accounts, their policies and their spend live.

    Every method is safe to call from several threads and, for backends that
    say so, from several processes at once; :meth:`charge` is one atomic
    check-and-charge.
    """

    @abstractmethod
    def open_account(self, account: str, policy: BudgetPolicy) -> None:
        """Create ``account`` with ``policy``; if it exists, replace its policy, keep its spend."""

    @abstractmethod
    def policy(self, account: str) -> BudgetPolicy:
        """The account's policy; raises ``UnknownAccount``."""

    @abstractmethod
    def charge(
        self, account: str, n_inputs: int, model: str, idempotency_key: str | None = None
    ) -> Charge:
        """Charge ``policy.cost(model, n_inputs)`` units, atomically, or refuse.

        The cost is charged in full only if both the account's budget and the
        model's cap allow it; otherwise ``BudgetExceeded`` is raised and nothing
        is charged. With ``idempotency_key``: the first call charges and records
        the key as pending; once :meth:`store_result` stored the answer, a later
        call with the same key returns ``Charge(0, usage, replayed=True,
        result=...)`` without charging; while the key is still pending, or if it
        is reused for another model or size, ``IdempotencyConflict`` is raised.
        Raises ``UnknownAccount`` and ``ValueError`` (bad arguments).
        """

    @abstractmethod
    def store_result(self, account: str, idempotency_key: str, result: bytes) -> None:
        """Store the answer given under a pending key so that retries replay it."""

    @abstractmethod
    def refund(
        self, account: str, amount: int, model: str, idempotency_key: str | None = None
    ) -> Usage:
        """Give back ``amount`` units charged to ``model`` (e.g. inference failed).

        With ``idempotency_key`` the key is forgotten too, so a retry charges anew.
        """

    @abstractmethod
    def usage(self, account: str) -> Usage:
        """The account's usage; raises ``UnknownAccount``."""

    @abstractmethod
    def accounts(self) -> list[str]:
        """Names of all accounts, sorted."""

    @abstractmethod
    def close(self) -> None:
        """Release this process's connections; the ledger may not be used afterwards."""

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_ledger(url: str, **options: Any) -> Ledger:
    """Open the ledger at ``url``.

    - ``sqlite:///abs/path.db``: a SQLite file (created, with its parent
      directory, if missing), shared by every process that opens it;
    - ``sqlite:///:memory:`` (or ``sqlite://``): a private in-memory ledger for
      one process (tests, single-process demos);
    - ``redis://...``: not available yet (raises ``BackendNotImplemented``).

    ``options`` go to the backend (SQLite: ``busy_timeout``, ``pending_ttl``).
    """
    if not isinstance(url, str):
        raise ValueError(f"ledger URL must be a str, got {type(url).__name__}")
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if sep and scheme == "sqlite":
        from budgets.ledger.sqlite import SqliteLedger

        if "?" in rest:
            raise ValueError(
                f"query parameters are not supported in {url!r}; pass options as keyword arguments"
            )
        if rest in ("", "/:memory:", ":memory:"):
            return SqliteLedger(None, **options)
        # "sqlite:///abs/x.db" -> "/abs/x.db"; SQLAlchemy's "sqlite:////abs/x.db" too;
        # "sqlite://rel/x.db" -> "rel/x.db" (relative to the working directory).
        if rest.startswith("//"):
            rest = "/" + rest.lstrip("/")
        return SqliteLedger(rest, **options)
    if sep and scheme in ("redis", "rediss", "unix"):
        raise BackendNotImplemented(
            f"the Redis ledger is not available yet (planned in a later issue); "
            f"use sqlite:///PATH instead of {url!r}"
        )
    raise ValueError(
        f"unsupported ledger URL {url!r}: expected sqlite:///ABS/PATH.db or sqlite:///:memory: "
        f"(redis://HOST:PORT/DB is planned)"
    )
