"""Errors raised by policies, ledgers and the client-side tracker.

Every error carries the facts a caller needs to answer (the service maps
``BudgetExceeded`` to HTTP 402, ``LedgerUnavailable`` to 503) and pickles
cleanly, so it can cross a process boundary.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # avoid an import cycle: the ledger module imports these errors
    from budgets.ledger import Usage

__all__ = [
    "BackendNotImplemented",
    "BudgetError",
    "BudgetExceeded",
    "IdempotencyConflict",
    "LedgerUnavailable",
    "LocalBudgetExceeded",
    "UnknownAccount",
]


class BudgetError(Exception):
    """Base class of every error of the ``budgets`` package."""


class BudgetExceeded(BudgetError):
    """The server-side ledger refused a charge; nothing was charged.

    Attributes:
        usage: the account's usage at the time of the refusal.
        requested: units the refused request would have cost.
        model: the model the request was for.
        limit: ``"budget"`` (the account's total) or ``"model"`` (the model's cap).
    """

    def __init__(
        self, usage: Usage, requested: int, model: str | None = None, limit: str = "budget"
    ):
        self.usage = usage
        self.requested = requested
        self.model = model
        self.limit = limit
        if limit == "model" and model is not None:
            m = usage.per_model.get(model, {})
            detail = (
                f"the cap on model {model!r} would be exceeded: the request costs {requested} "
                f"units, {m.get('used', 0)} of the model's cap of {m.get('cap')} are used"
            )
        else:
            detail = (
                f"budget would be exceeded: the request costs {requested} units, "
                f"{usage.remaining} of {usage.budget} remain; nothing was charged"
            )
        super().__init__(detail)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), (self.usage, self.requested, self.model, self.limit))


class UnknownAccount(BudgetError, LookupError):
    """No account of that name exists in the ledger."""

    def __init__(self, account: str):
        self.account = account
        super().__init__(f"unknown budget account {account!r}")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), (self.account,))


class IdempotencyConflict(BudgetError):
    """An idempotency key cannot be used as asked.

    ``reason`` is ``"pending"`` (a request with that key is still in flight),
    ``"mismatch"`` (the key was used before for a different model or size) or
    ``"unknown"`` (no charge was recorded under that key).
    """

    def __init__(self, account: str, key: str, reason: str, detail: str | None = None):
        self.account = account
        self.key = key
        self.reason = reason
        self.detail = detail
        super().__init__(detail or f"idempotency key {key!r} of account {account!r}: {reason}")

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), (self.account, self.key, self.reason, self.detail))


class LocalBudgetExceeded(BudgetError):
    """The client-side tracker refused a request before anything was sent."""

    def __init__(self, requested: int, spent: int, reserved: int, total: int):
        self.requested = requested
        self.spent = spent
        self.reserved = reserved
        self.total = total
        super().__init__(
            f"local budget would be exceeded: {requested} more units requested, "
            f"{spent} spent and {reserved} reserved of {total}; nothing was sent"
        )

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (type(self), (self.requested, self.spent, self.reserved, self.total))


class LedgerUnavailable(BudgetError):
    """The ledger cannot serve the request now (e.g. the database stayed locked too long)."""


class BackendNotImplemented(BudgetError, NotImplementedError):
    """The ledger URL names a backend this version does not provide (e.g. Redis)."""
