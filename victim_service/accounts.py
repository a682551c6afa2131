"""Issuing API keys: a key row (victim_service.keys) plus a ledger account (budgets) of
the same id. One function so the CLI and the admin endpoint agree."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from budgets.ledger import Ledger
from budgets.policy import BudgetPolicy

from . import tasks
from .card import Card
from .keys import ApiKey, KeyStore


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
        scope = cards if models is None else models
        policy = canonical_policy(policy, {cards[m].task for m in scope})
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


def canonical_policy(text: str, task_names: Collection[str]) -> str:
    """``text`` in canonical form, checked against the task of every model a key may use:
    one override must be valid, and mean the same, for all of them. With no model in
    scope it is checked as a policy of the default task."""
    names = sorted(task_names) or [tasks.DEFAULT]
    canonical = set()
    for name in names:
        try:
            canonical.add(str(tasks.get(name).parse_policy(text)))
        except tasks.PolicyError as e:
            raise tasks.PolicyError(f"{name} models: {e}" if len(names) > 1 else str(e)) from None
    if len(canonical) > 1:
        raise tasks.PolicyError(f"policy {text!r} reads differently for the tasks {names}")
    return canonical.pop()
