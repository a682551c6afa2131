"""Issuing API keys: a key row (victim_service.keys) plus a ledger account (budgets) of
the same id. One function so the CLI and the admin endpoint agree."""

from __future__ import annotations

from collections.abc import Mapping

from budgets.ledger import Ledger
from budgets.policy import BudgetPolicy

from .card import Card
from .keys import ApiKey, KeyStore
from .policies import OutputPolicy


def issue_key(
    keys: KeyStore,
    ledger: Ledger,
    cards: Mapping[str, Card],
    budget: int,
    models: list[str] | None = None,
    policy: str | None = None,
    label: str = "",
    per_model: Mapping[str, int] | None = None,
) -> tuple[str, ApiKey]:
    """Create a key with ``budget`` units. Prices per query are the models' own at issue
    time (the key's contract); ``policy`` overrides the models' output policies."""
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
        raise ValueError("budget must be a non-negative integer")
    if models is not None:
        unknown = sorted(set(models) - set(cards))
        if unknown:
            raise ValueError(f"unknown models {unknown}; hosted: {sorted(cards)}")
    if policy is not None:
        policy = str(OutputPolicy.parse(policy))
    for m in per_model or {}:
        if m not in cards:
            raise ValueError(f"per-model budget for unknown model {m!r}")
    budget_policy = BudgetPolicy(
        budget=budget,
        per_model=dict(per_model or {}),
        prices={m: c.serving.price for m, c in cards.items() if c.serving.price != 1},
    )
    token, key = keys.create(models=models, policy=policy, label=label)
    try:
        ledger.open_account(key.id, budget_policy)
    except Exception:
        keys.revoke(key.id)  # no key may exist without an account to charge
        raise
    return token, key
