"""Typed exceptions of the attacker SDK: one per way the service (or the local budget)
can refuse, so an attack can react (stop, shrink a batch, wait) instead of parsing text."""

from __future__ import annotations


class SDKError(Exception):
    """Base of every SDK error. ``status`` and ``problem`` carry the HTTP refusal, if any."""

    def __init__(self, message: str, status: int | None = None, problem: dict | None = None):
        super().__init__(message)
        self.status, self.problem = status, problem or {}


class BudgetExhausted(SDKError):
    """The query would overspend: refused locally before sending (``local=True``) or by the
    server with 402 (nothing charged either way). ``answered`` inputs of the call were
    paid for and are in the cache/journal."""

    def __init__(
        self,
        message: str,
        local: bool,
        requested: int,
        remaining: int | None,
        answered: int = 0,
        status: int | None = None,
        problem: dict | None = None,
    ):
        super().__init__(message, status, problem)
        self.local, self.requested, self.remaining, self.answered = (
            local,
            requested,
            remaining,
            answered,
        )


class Unauthorized(SDKError):
    """401: missing, unknown or revoked API key."""


class Forbidden(SDKError):
    """403: the key may not use this model (or admin endpoints are off)."""


class NotFound(SDKError):
    """404: no such model or route."""


class InvalidInput(SDKError):
    """413 / 415 / 422: the request was malformed or too large; nothing was charged."""


class Conflict(SDKError):
    """409: an idempotency key still in flight or reused for another request."""


class ServiceUnavailable(SDKError):
    """5xx, connection failures or timeouts that outlasted the retries."""


class RateLimited(ServiceUnavailable):
    """429 that outlasted the retries."""


class PolicyUnsupported(SDKError):
    """The model's output policy does not give what an attack needs (e.g. LiRA under
    ``label``): the attack refuses before spending anything."""


STATUS_ERRORS: dict[int, type[SDKError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: InvalidInput,
    415: InvalidInput,
    422: InvalidInput,
    429: RateLimited,
}
