"""Every attack, by name, so that scenario files (and users) can build one from a config.

An attack is one module here holding one dataclass decorated with
:func:`~attacker_sdk.attacks.base.register` (on :class:`ExtractionAttack` or
:class:`MembershipAttack`); the modules are discovered on first use, so adding an attack
is adding its file. ``build("random", {"checkpoints": [100]})`` returns the attack object;
``kind(name)`` says whether its verb is ``extract`` or ``infer``.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
import typing
from typing import Any

from .base import REGISTRY, Attack, ExtractionAttack, MembershipAttack, register

__all__ = [
    "REGISTRY",
    "Attack",
    "ExtractionAttack",
    "MembershipAttack",
    "attack_class",
    "available",
    "build",
    "from_dict",
    "kind",
    "register",
]

_NOT_ATTACKS = {"base"}
_discovered = False


def _discover() -> None:
    global _discovered
    if not _discovered:
        for info in pkgutil.iter_modules(__path__):
            if info.name not in _NOT_ATTACKS:
                importlib.import_module(f"{__name__}.{info.name}")
        _discovered = True


def available() -> list[str]:
    _discover()
    return sorted(REGISTRY)


def attack_class(name: str) -> type[Attack]:
    _discover()
    if name not in REGISTRY:
        raise ValueError(f"unknown attack {name!r}; known: {available()}")
    return REGISTRY[name]


def kind(name: str) -> str:
    return attack_class(name).kind


def build(name: str, params: dict[str, Any] | None = None) -> Attack:
    """Instantiate attack ``name``; nested dataclass parameters (e.g. ``fit``) may be
    given as dicts, tuples as lists."""
    return from_dict(attack_class(name), params or {})


def from_dict(cls: type, params: dict[str, Any]):
    """Build dataclass ``cls`` from plain data, recursing into dataclass-typed fields."""
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = set(params) - set(fields)
    if unknown:
        raise ValueError(
            f"{cls.__name__}: unknown parameters {sorted(unknown)}; known: {sorted(fields)}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for key, value in params.items():
        hint = hints.get(key)
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            default = _default(fields[key])
            # a partial override keeps the attack's own defaults for the rest
            value = (
                dataclasses.replace(default, **value)
                if dataclasses.is_dataclass(default)
                else from_dict(hint, value)
            )
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
