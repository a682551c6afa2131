"""Ledger backends by URL scheme, and :func:`open_ledger`, which picks one.

A backend is registered as ``"module:Class"`` and imported on first use, so
opening a SQLite ledger never imports another backend (nor its client
library). A backend may be registered before its module exists: until then its
URLs raise ``BackendNotImplemented``.
"""

from __future__ import annotations

import importlib
from typing import Any

from budgets.errors import BackendNotImplemented
from budgets.ledger.base import Ledger

__all__ = ["available_backends", "open_ledger", "register_backend", "registered_schemes"]

# scheme -> ("module:Class", message while the module is absent, or None)
_BACKENDS: dict[str, tuple[str, str | None]] = {}


def register_backend(scheme: str, target: str, *, absent: str | None = None) -> None:
    """Let :func:`open_ledger` open ``scheme://`` URLs with ``target``, a ``"module:Class"``.

    ``absent``: the message of the ``BackendNotImplemented`` raised while the
    module does not exist in this version; ``{url}`` stands for the URL asked for.
    """
    if ":" not in target:
        raise ValueError(f"backend target must be 'module:Class', got {target!r}")
    _BACKENDS[scheme.lower()] = (target, absent)


def registered_schemes() -> list[str]:
    """Every registered scheme, sorted, including backends not in this version."""
    return sorted(_BACKENDS)


def _load(scheme: str) -> type[Ledger] | None:
    """The class registered for ``scheme``, imported now; None if its module is absent."""
    target, absent = _BACKENDS[scheme]
    module, _, name = target.partition(":")
    try:
        found = importlib.import_module(module)
    except ModuleNotFoundError as e:
        if absent is not None and e.name == module:
            return None
        raise
    return getattr(found, name)


def available_backends() -> dict[str, type[Ledger]]:
    """Scheme -> class of every backend present in this version (imports them all)."""
    loaded = {scheme: _load(scheme) for scheme in registered_schemes()}
    return {scheme: cls for scheme, cls in loaded.items() if cls is not None}


def open_ledger(url: str, **options: Any) -> Ledger:
    """Open the ledger at ``url`` with the backend registered for its scheme.

    - ``sqlite:///abs/path.db``: a SQLite file (created, with its parent
      directory, if missing), shared by every process that opens it;
    - ``sqlite:///:memory:`` (or ``sqlite://``): a private in-memory ledger for
      one process (tests, single-process demos);
    - ``redis://...``: not available yet (raises ``BackendNotImplemented``).

    ``options`` go to the backend's ``from_url`` (SQLite: ``busy_timeout``,
    ``pending_ttl``).
    """
    if not isinstance(url, str):
        raise ValueError(f"ledger URL must be a str, got {type(url).__name__}")  # noqa: TRY004
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in _BACKENDS:
        schemes = ", ".join(f"{s}://" for s in registered_schemes())
        raise ValueError(
            f"unsupported ledger URL {url!r}: expected one of {schemes} "
            "(e.g. sqlite:///ABS/PATH.db or sqlite:///:memory:)"
        )
    backend = _load(scheme)
    if backend is None:
        raise BackendNotImplemented(str(_BACKENDS[scheme][1]).format(url=url))
    return backend.from_url(url, **options)


register_backend("sqlite", "budgets.ledger.sqlite:SqliteLedger")
# Registered ahead of budgets/ledger/redis.py (issue 9): that module is all it takes.
for _scheme in ("redis", "rediss", "unix"):
    register_backend(
        _scheme,
        "budgets.ledger.redis:RedisLedger",
        absent="the Redis ledger is not available yet (planned in a later issue); "
        "use sqlite:///PATH instead of {url!r}",
    )
