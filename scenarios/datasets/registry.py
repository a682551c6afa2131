"""Name -> builder registry with on-disk caching (``load`` / ``available``)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import cache as _cache
from .base import Dataset


@dataclass(frozen=True)
class Builder:
    name: str
    fn: Callable[..., Dataset]
    version: int  # bump whenever the builder's output changes: it is part of the cache key
    cached: bool  # False for loaders of user data that live on local disk already
    description: str
    signature: inspect.Signature  # accepted params and their defaults (part of the key)


_REGISTRY: dict[str, Builder] = {}


def register(
    name: str, *, version: int = 1, cached: bool = True, description: str = ""
) -> Callable[[Callable[..., Dataset]], Callable[..., Dataset]]:
    """Decorator registering ``fn(**params) -> Dataset`` under ``name``."""

    def deco(fn: Callable[..., Dataset]) -> Callable[..., Dataset]:
        doc = description or (inspect.getdoc(fn) or "").split("\n", 1)[0]
        _REGISTRY[name] = Builder(name, fn, version, cached, doc, inspect.signature(fn))
        return fn

    return deco


def available() -> list[str]:
    """Names accepted by :func:`load`, sorted."""
    return sorted(_REGISTRY)


def describe() -> dict[str, str]:
    """Name -> one-line description (for CLI help)."""
    return {k: _REGISTRY[k].description for k in available()}


def resolve_params(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Params with the builder's defaults filled in (so equal requests share a cache key)."""
    sig = _get(name).signature
    try:
        bound = sig.bind(**params)
    except TypeError as e:
        accepted = ", ".join(sig.parameters) or "none"
        raise ValueError(f"bad parameters for dataset {name!r}: {e}; accepted: {accepted}")
    bound.apply_defaults()
    return dict(bound.arguments)


def load(name: str, *, cache: bool = True, **params: Any) -> Dataset:
    """Build (or read from the cache) the dataset ``name`` with ``params``.

    ``cache=False`` skips the on-disk cache both ways. Unknown names raise ValueError.
    """
    builder = _get(name)
    full = resolve_params(name, params)
    use_cache = cache and builder.cached
    path = _cache.cache_path(name, full, builder.version) if use_cache else None
    if path is not None:
        hit = _cache.load(path)
        if hit is not None:
            return hit
    ds = builder.fn(**full)
    if path is not None:
        _cache.save(ds, path)
    return ds


def _get(name: str) -> Builder:
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(available())
        raise ValueError(f"unknown dataset {name!r}; known datasets: {known}") from None
