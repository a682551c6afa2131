"""The attacker-side budget: refuse locally before overspending, reconcile with the server.

The SDK's HTTP client reserves the cost of a request before sending it
(:meth:`Budget.reserve` raises ``LocalBudgetExceeded`` if it would not fit),
commits what the server says it charged, and feeds every answer's ``usage``
block to :meth:`Budget.reconcile`. Spend is attributed to the phase (a
context variable, so nested phases and threads each see their own) that was
current when the reservation was made.

How the server's truth is adopted: requests may be in flight concurrently and
their answers may arrive out of order, so a server ``used`` cannot simply
replace the local figure (an answer's ``used`` may already include requests
whose answers, and local commits, are still to come). While requests are in
flight, server figures only raise a high-water mark (``spent`` is the larger
of the local figure and that mark). When nothing is in flight, a server figure
at least as recent as the mark is adopted exactly, and any difference from
the local figure is recorded as drift.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NamedTuple

from budgets.errors import LocalBudgetExceeded

__all__ = ["UNPHASED", "Budget", "DriftEvent", "Reservation", "TimelineEntry"]

UNPHASED = "unphased"  # phase name for spend outside any ``phase()`` block


class TimelineEntry(NamedTuple):
    """One committed charge: seconds since the budget was created, phase, units, spent after."""

    t: float
    phase: str
    charged: int
    spent: int


class DriftEvent(NamedTuple):
    """A difference between the local figure and the server's, found at a quiet reconcile."""

    t: float
    local: int
    server: int
    drift: int  # server - local


def _check_units(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what} must be a non-negative int, got {value!r}")
    return value


class Reservation:
    """Units set aside for one request; :meth:`commit` or :meth:`release` it exactly once.

    As a context manager: an exception releases it; leaving the block without
    a commit commits the reserved amount (the conservative assumption).
    """

    def __init__(self, budget: Budget, amount: int, phase: str):
        self.budget = budget
        self.amount = amount
        self.phase = phase
        self.charged: int | None = None
        self._done = False

    @property
    def done(self) -> bool:
        """Whether it was committed or released."""
        return self._done

    def commit(self, actual_charged: int | None = None) -> None:
        """Record what the server charged (defaults to the reserved amount)."""
        if actual_charged is None:
            charged = self.amount
        else:
            charged = _check_units(actual_charged, "actual_charged")
        self.budget._settle(self, charged)

    def release(self) -> None:
        """Give the reservation back (nothing was charged); no-op once settled."""
        self.budget._settle(self, None)

    def __enter__(self) -> Reservation:  # noqa: PYI034 - typing.Self needs Python 3.11
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._done:
            if exc_type is None:
                self.commit()
            else:
                self.release()

    def __repr__(self) -> str:
        state = "open" if not self._done else f"charged={self.charged}"
        return f"Reservation(amount={self.amount}, phase={self.phase!r}, {state})"


class Budget:
    """Client-side accounting of a query budget, safe to share between threads.

    Args:
        total: the most this client will spend, in units; None for no local
            limit. Once the server's budget is known (from :meth:`reconcile`)
            the smaller of the two applies.
    """

    def __init__(self, total: int | None = None):
        self._local_total = None if total is None else _check_units(total, "total")
        self._server_budget: int | None = None
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._started_at = time.time()
        self._committed = 0  # sum of local commits
        self._offset = 0  # adjustments adopted from the server
        self._server_mark = 0  # highest server `used` seen since the last exact adoption
        self._reserved = 0
        self._in_flight = 0
        self._by_phase: dict[str, int] = {}
        self._timeline: list[TimelineEntry] = []
        self._drifts: list[DriftEvent] = []
        # One variable per budget, so phases of one budget do not leak into another.
        self._phase: ContextVar[tuple[str, ...]] = ContextVar(
            f"budget_phase_{id(self)}", default=()
        )

    # -- figures (call with the lock held) ---------------------------------

    def _spent(self) -> int:
        return max(self._committed + self._offset, self._server_mark)

    def _total(self) -> int | None:
        known = [t for t in (self._local_total, self._server_budget) if t is not None]
        return min(known) if known else None

    # -- reservations ------------------------------------------------------

    def reserve(self, n: int) -> Reservation:
        """Set ``n`` units aside, or raise ``LocalBudgetExceeded`` if they would not fit."""
        _check_units(n, "n")
        phase = self.current_phase
        with self._lock:
            total, spent = self._total(), self._spent()
            if total is not None and spent + self._reserved + n > total:
                raise LocalBudgetExceeded(n, spent, self._reserved, total)
            self._reserved += n
            self._in_flight += 1
        return Reservation(self, n, phase)

    def _settle(self, res: Reservation, charged: int | None) -> None:
        with self._lock:
            if res._done:
                if charged is None:
                    return
                raise RuntimeError(f"{res!r} was already settled")
            res._done = True
            res.charged = charged
            self._reserved -= res.amount
            self._in_flight -= 1
            if charged is None:
                return
            self._committed += charged
            self._by_phase[res.phase] = self._by_phase.get(res.phase, 0) + charged
            self._timeline.append(
                TimelineEntry(time.monotonic() - self._t0, res.phase, charged, self._spent())
            )

    # -- the server's truth ------------------------------------------------

    def reconcile(self, server_usage: Mapping[str, Any]) -> int:
        """Adopt the server's ``usage`` block (``used`` and ``budget``); return the drift recorded.

        Call it after committing the request the usage came with.
        """
        used = _check_units(server_usage["used"], "usage['used']")
        budget = _check_units(server_usage["budget"], "usage['budget']")
        with self._lock:
            self._server_budget = budget
            if self._in_flight or used < self._server_mark:
                # In flight: `used` may include requests not committed here yet.
                # Below the mark: an older answer overtaken by a newer one.
                self._server_mark = max(self._server_mark, used)
                return 0
            local = self._committed + self._offset
            drift = used - local
            if drift:
                self._offset += drift
                self._drifts.append(DriftEvent(time.monotonic() - self._t0, local, used, drift))
            self._server_mark = used
            return drift

    # -- phases ------------------------------------------------------------

    @contextmanager
    def phase(self, name: str) -> Iterator[str]:
        """Attribute spend reserved inside the block to ``name`` (innermost phase wins).

        Phases live in a context variable: each thread or asyncio task sees its
        own. A new thread starts outside any phase (run it under
        ``contextvars.copy_context().run`` to carry the caller's phase along).
        """
        if not isinstance(name, str) or not name:
            raise ValueError(f"phase name must be a non-empty str, got {name!r}")
        token = self._phase.set(self._phase.get() + (name,))
        with self._lock:
            self._by_phase.setdefault(name, 0)
        try:
            yield name
        finally:
            self._phase.reset(token)

    @property
    def current_phase(self) -> str:
        """The innermost phase in this context (thread/task), or ``UNPHASED``."""
        stack = self._phase.get()
        return stack[-1] if stack else UNPHASED

    # -- read-outs ---------------------------------------------------------

    @property
    def total(self) -> int | None:
        """The limit in force: the smaller of the local total and the server's budget."""
        with self._lock:
            return self._total()

    @property
    def spent(self) -> int:
        """Units spent, as best known (the server's figure once reconciled)."""
        with self._lock:
            return self._spent()

    @property
    def reserved(self) -> int:
        """Units set aside for requests in flight."""
        with self._lock:
            return self._reserved

    @property
    def remaining(self) -> int | None:
        """``total - spent`` (not counting reservations), or None without a limit."""
        with self._lock:
            total = self._total()
            return None if total is None else max(0, total - self._spent())

    @property
    def available(self) -> int | None:
        """What a new reservation may still take, or None without a limit."""
        with self._lock:
            total = self._total()
            return None if total is None else max(0, total - self._spent() - self._reserved)

    @property
    def by_phase(self) -> dict[str, int]:
        """Committed units per phase (phases entered without spend show 0)."""
        with self._lock:
            return dict(self._by_phase)

    @property
    def timeline(self) -> list[TimelineEntry]:
        """Every commit, in order: ``(t, phase, charged, spent)``."""
        with self._lock:
            return list(self._timeline)

    @property
    def drift(self) -> int:
        """Net units the server's figures differed from the local ones."""
        with self._lock:
            return sum(d.drift for d in self._drifts)

    @property
    def drifts(self) -> list[DriftEvent]:
        """Every drift found at a reconcile."""
        with self._lock:
            return list(self._drifts)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe snapshot, for reports."""
        with self._lock:
            total = self._total()
            spent = self._spent()
            return {
                "total": total,
                "local_total": self._local_total,
                "server_budget": self._server_budget,
                "spent": spent,
                "reserved": self._reserved,
                "remaining": None if total is None else max(0, total - spent),
                "by_phase": dict(self._by_phase),
                "started_at": self._started_at,
                "timeline": [list(e) for e in self._timeline],
                "drift": sum(d.drift for d in self._drifts),
                "drifts": [list(d) for d in self._drifts],
            }

    def __repr__(self) -> str:
        d = self.to_dict()
        return f"Budget(total={d['total']}, spent={d['spent']}, reserved={d['reserved']})"
