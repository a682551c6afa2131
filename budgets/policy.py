"""Budget policies: how many units an account may spend, per model caps and prices.

A policy is pure data. One query (one input sample) costs ``price`` units for
the model it is sent to (1 unless the policy says otherwise); the account may
spend at most ``budget`` units in total and at most ``per_model[m]`` units on a
capped model ``m``. The ledger enforces it; the policy only computes costs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

__all__ = ["DEFAULT_PRICE", "MAX_UNITS", "BudgetPolicy", "check_model_id"]

DEFAULT_PRICE = 1
# Keeps every sum of units well inside SQLite's signed 64-bit INTEGER.
MAX_UNITS = 2**53
MAX_MODEL_ID_LEN = 200
_FIELDS = ("budget", "per_model", "prices")


def _check_units(value: Any, what: str) -> int:
    # bool is an int subclass; True as a budget is almost certainly a bug.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{what} must be an int, got {type(value).__name__} {value!r}")  # noqa: TRY004
    if not 0 <= value <= MAX_UNITS:
        raise ValueError(f"{what} must be between 0 and {MAX_UNITS}, got {value}")
    return value


def check_model_id(model: Any) -> str:
    """Return ``model`` if it is a valid model id, else raise ``ValueError``.

    Model ids become JSON keys and quoted JSON-path labels inside the ledger,
    so quotes, backslashes, control characters and lone surrogates are refused.
    """
    if not isinstance(model, str) or not model:
        raise ValueError(f"model id must be a non-empty str, got {model!r}")
    if len(model) > MAX_MODEL_ID_LEN:
        raise ValueError(f"model id longer than {MAX_MODEL_ID_LEN} characters: {model[:40]!r}...")
    if any(
        c in '"\\' or ord(c) < 0x20 or ord(c) == 0x7F or 0xD800 <= ord(c) <= 0xDFFF for c in model
    ):
        raise ValueError(
            "model id must not contain quotes, backslashes, control characters or surrogates: "
            f"{model!r}"
        )
    return model


def _frozen_units(mapping: Any, what: str) -> Mapping[str, int]:
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, Mapping):
        raise ValueError(  # noqa: TRY004
            f"{what} must be a mapping of model id to int, got {type(mapping).__name__}"
        )
    checked = {check_model_id(m): _check_units(v, f"{what}[{m!r}]") for m, v in mapping.items()}
    # Sorted so that equal policies serialise identically.
    return MappingProxyType(dict(sorted(checked.items())))


@dataclass(frozen=True)
class BudgetPolicy:
    """What an account may spend.

    Attributes:
        budget: total units the account may spend (one query costs its model's price).
        per_model: optional caps, in units, on what may be spent per model id.
        prices: optional price per query per model id; models not listed cost 1.
    """

    budget: int
    per_model: Mapping[str, int] = field(default_factory=dict)
    prices: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_units(self.budget, "budget")
        # Read-only views so that a frozen policy cannot be changed through its maps.
        object.__setattr__(self, "per_model", _frozen_units(self.per_model, "per_model"))
        object.__setattr__(self, "prices", _frozen_units(self.prices, "prices"))

    def __hash__(self) -> int:
        return hash((self.budget, tuple(self.per_model.items()), tuple(self.prices.items())))

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # MappingProxyType cannot be pickled; rebuild from plain dicts.
        return (type(self), (self.budget, dict(self.per_model), dict(self.prices)))

    def __repr__(self) -> str:
        return (
            f"BudgetPolicy(budget={self.budget}, per_model={dict(self.per_model)}, "
            f"prices={dict(self.prices)})"
        )

    def price(self, model: str) -> int:
        """Units one query to ``model`` costs."""
        return self.prices.get(check_model_id(model), DEFAULT_PRICE)

    def cap(self, model: str) -> int | None:
        """The cap in units on ``model``, or None if the model is not capped."""
        return self.per_model.get(check_model_id(model))

    def cost(self, model: str, n_inputs: int) -> int:
        """Units charged for ``n_inputs`` queries (input samples) to ``model``."""
        if not isinstance(n_inputs, int) or isinstance(n_inputs, bool) or n_inputs < 0:
            raise ValueError(f"n_inputs must be a non-negative int, got {n_inputs!r}")
        return n_inputs * self.price(model)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ``{"budget": int, "per_model": {...}, "prices": {...}}``."""
        return {
            "budget": self.budget,
            "per_model": dict(self.per_model),
            "prices": dict(self.prices),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BudgetPolicy:
        """Inverse of :meth:`to_dict`; ``per_model`` and ``prices`` may be omitted.

        Unknown keys are refused so that a typo in a scenario file is not silently ignored.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a budget policy must be a mapping, got {type(data).__name__}")  # noqa: TRY004
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown budget policy field(s) {unknown}; expected {list(_FIELDS)}")
        if "budget" not in data:
            raise ValueError("a budget policy needs a 'budget'")
        return cls(
            budget=data["budget"],
            per_model=data.get("per_model") or {},
            prices=data.get("prices") or {},
        )

    def to_json(self) -> str:
        """Compact, deterministic JSON (the form the ledger stores)."""
        # ensure_ascii=False: SQLite's JSON paths match keys by their raw text, so a
        # non-ASCII model id must not be stored as \u escapes.
        return json.dumps(self.to_dict(), separators=(",", ":"), sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> BudgetPolicy:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))
