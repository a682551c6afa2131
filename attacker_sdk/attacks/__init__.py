"""Every attack, by name, so that scenario files (and users) can build one from a config.

``build("random", {"budget"...})`` returns the attack object; ``kind(name)`` says whether its
verb is ``extract`` (model extraction) or ``infer`` (membership inference).
"""

from __future__ import annotations

import dataclasses
import importlib
import typing
from typing import Any

# name -> (module, class, kind)
REGISTRY: dict[str, tuple[str, str, str]] = {
    "random": ("random_extraction", "RandomExtraction", "extraction"),
    "activethief": ("active_thief", "ActiveThief", "extraction"),
    "mexmi": ("mexmi", "MExMI", "extraction"),
    "metric": ("metric_mi", "MetricAttack", "membership"),
    "ml_leaks": ("ml_leaks", "MLLeaks", "membership"),
    "shokri": ("shokri", "ShokriShadow", "membership"),
    "gap": ("label_only", "GapAttack", "membership"),
    "lira": ("lira", "LiRAOffline", "membership"),
}


def available() -> list[str]:
    return sorted(REGISTRY)


def attack_class(name: str) -> type:
    if name not in REGISTRY:
        raise ValueError(f"unknown attack {name!r}; known: {available()}")
    module, cls, _ = REGISTRY[name]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)


def kind(name: str) -> str:
    attack_class(name)
    return REGISTRY[name][2]


def build(name: str, params: dict[str, Any] | None = None):
    """Instantiate attack ``name``; nested dataclass parameters (e.g. ``fit``) may be
    given as dicts, tuples as lists."""
    return from_dict(attack_class(name), params or {})


def from_dict(cls: type, params: dict[str, Any]):
    """Build dataclass ``cls`` from plain data, recursing into dataclass-typed fields."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(params) - set(fields)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown parameters {sorted(unknown)}; known: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in params.items():
        hint = hints.get(key)
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            default = _default(fields[key])
            # a partial override keeps the attack's own defaults for the rest
            value = dataclasses.replace(default, **value) if dataclasses.is_dataclass(default) else from_dict(hint, value)
        elif isinstance(value, list) and typing.get_origin(hint) is tuple:
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None
