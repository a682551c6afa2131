"""Budgets for mlrange: policies, the server-side ledger and the client-side tracker.

Standard library only: the victim service and the attacker SDK both import
this package, and neither drags the other's dependencies in through it.
"""

from budgets.errors import (
    BackendNotImplemented,
    BudgetError,
    BudgetExceeded,
    IdempotencyConflict,
    LedgerUnavailable,
    LocalBudgetExceeded,
    UnknownAccount,
)
from budgets.ledger import Charge, Ledger, Usage, open_ledger
from budgets.policy import BudgetPolicy
from budgets.tracker import Budget, Reservation

__all__ = [
    "BackendNotImplemented",
    "Budget",
    "BudgetError",
    "BudgetExceeded",
    "BudgetPolicy",
    "Charge",
    "IdempotencyConflict",
    "Ledger",
    "LedgerUnavailable",
    "LocalBudgetExceeded",
    "Reservation",
    "UnknownAccount",
    "Usage",
    "open_ledger",
]
