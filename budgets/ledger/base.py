"""The ledger interface every backend implements, and the values it answers with.

The public methods of :class:`Ledger` check their arguments, diagnose refused
charges and apply the idempotency-key rules here, once, so that every backend
raises the same errors with the same messages. A backend writes only its
atomic steps: the abstract ``_``-prefixed methods, plus :meth:`Ledger.from_url`
and :meth:`Ledger.close`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from budgets.errors import BudgetError, BudgetExceeded, IdempotencyConflict, UnknownAccount
from budgets.policy import DEFAULT_PRICE, BudgetPolicy, check_model_id

__all__ = [
    "DEFAULT_PENDING_TTL",
    "MAX_ACCOUNT_LEN",
    "MAX_INPUTS",
    "MAX_KEY_LEN",
    "MAX_REFUND",
    "AccountState",
    "Charge",
    "KeyRecord",
    "Ledger",
    "Refused",
    "SuiteURL",
    "Usage",
    "build_usage",
]

MAX_INPUTS = 2**31  # per charge; keeps n * price far from integer overflow
MAX_KEY_LEN = 200
MAX_ACCOUNT_LEN = 200
MAX_REFUND = 2**62  # per refund
DEFAULT_PENDING_TTL = 300.0
# A refusal read apart from the charge (not atomically with it) may find nothing
# exceeded because the account changed in between; the charge is then tried again.
_CHARGE_ATTEMPTS = 8


# -- what callers get back ---------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """An account's spend, in units.

    ``per_model`` has one entry per model that is capped or has spend:
    ``{"used": int, "cap": int | None, "price": int, "remaining": int}`` where
    ``remaining`` is what can still be spent on that model, i.e. the smaller of
    the cap's headroom and the account's remaining budget.
    """

    used: int
    budget: int
    remaining: int
    per_model: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, with ``per_model``."""
        return {
            "used": self.used,
            "budget": self.budget,
            "remaining": self.remaining,
            "per_model": {m: dict(v) for m, v in self.per_model.items()},
        }


@dataclass(frozen=True)
class Charge:
    """The outcome of :meth:`Ledger.charge`.

    ``charged`` is 0 when ``replayed`` (the stored ``result`` is returned instead
    of a new charge), and also when a stale pending key is taken over (the
    earlier attempt already paid; the caller answers and stores the result).
    """

    charged: int
    usage: Usage
    replayed: bool = False
    result: bytes | None = None

    def to_dict(self) -> dict[str, int]:
        """The HTTP answer's ``usage`` block: ``{"charged", "used", "budget", "remaining"}``."""
        return {
            "charged": self.charged,
            "used": self.usage.used,
            "budget": self.usage.budget,
            "remaining": self.usage.remaining,
        }


def build_usage(policy: BudgetPolicy, used: int, spend: Mapping[str, int]) -> Usage:
    """Usage of an account with ``policy`` that spent ``used`` units, ``spend[m]`` on model m."""
    remaining = max(0, policy.budget - used)
    per_model: dict[str, dict[str, Any]] = {}
    for model in sorted(set(policy.per_model) | {m for m, v in spend.items() if v}):
        m_used = int(spend.get(model, 0))
        cap = policy.per_model.get(model)
        m_remaining = remaining if cap is None else max(0, min(remaining, cap - m_used))
        per_model[model] = {
            "used": m_used,
            "cap": cap,
            "price": policy.prices.get(model, DEFAULT_PRICE),
            "remaining": m_remaining,
        }
    return Usage(used=used, budget=policy.budget, remaining=remaining, per_model=per_model)


# -- what backends hand to the base class ------------------------------------


class AccountState(NamedTuple):
    """An account's policy and usage, read together."""

    policy: BudgetPolicy
    usage: Usage


@dataclass(frozen=True)
class Refused:
    """A backend step that changed nothing, and the account as read when it refused.

    ``account`` is None when no such account exists.
    """

    account: AccountState | None


class KeyRecord(NamedTuple):
    """What a backend recorded under an idempotency key."""

    model: str
    n_inputs: int
    result: bytes | None  # None while the answer is pending
    updated: float  # time.time() of the charge, or of the last takeover


class SuiteURL(NamedTuple):
    """Where the shared ledger test suite (tests/budgets) opens a backend.

    ``url`` may contain ``{tmp}``, replaced by a fresh empty directory.
    ``multiprocess``: processes opening the URL share one ledger, and a ledger
    object keeps working in a forked child; the contention tests run on it.
    """

    url: str
    multiprocess: bool = False


# -- argument checks -----------------------------------------------------------


def _check_name(value: Any, what: str, max_len: int) -> str:
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise ValueError(
            f"{what} must be a non-empty str of at most {max_len} characters, got {value!r}"
        )
    return value


def _check_count(value: Any, what: str, minimum: int, maximum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise ValueError(f"{what} must be an int between {minimum} and {maximum}, got {value!r}")
    return value


def _charge_refusal(
    state: AccountState | None, account: str, model: str, n: int
) -> BudgetError | None:
    """Why a charge was refused, or None if nothing is exceeded (any more)."""
    if state is None:
        return UnknownAccount(account)
    policy, usage = state
    cost = policy.cost(model, n)
    if usage.used + cost > usage.budget:
        return BudgetExceeded(usage, cost, model, "budget")
    cap = policy.per_model.get(model)
    if cap is not None and usage.per_model[model]["used"] + cost > cap:
        return BudgetExceeded(usage, cost, model, "model")
    return None


# -- the interface -------------------------------------------------------------


class Ledger(ABC):
    """Where accounts, their policies and their spend live.

    Every method is safe to call from several threads and, for backends that
    say so, from several processes at once; :meth:`charge` is one atomic
    check-and-charge.

    A backend subclass implements :meth:`from_url`, :meth:`close` and the
    abstract ``_`` steps, each one atomic; it is registered by URL scheme in
    :mod:`budgets.ledger.registry` and declares where the shared test suite
    opens it with :meth:`suite_urls`.
    """

    #: Seconds after which a pending idempotency key whose answer was never
    #: stored (e.g. its worker died) may be taken over by a retry.
    pending_ttl: float = DEFAULT_PENDING_TTL

    # -- opening ---------------------------------------------------------------

    @classmethod
    @abstractmethod
    def from_url(cls, url: str, **options: Any) -> Ledger:
        """Open the ledger at ``url`` (its scheme is one registered for this class).

        Accepts at least the option ``pending_ttl``; raises ``ValueError`` for a
        URL it cannot parse.
        """

    @classmethod
    def suite_urls(cls) -> dict[str, SuiteURL]:
        """The shared test suite's targets for this backend, by name (none by default).

        Return none when the backend cannot run here (e.g. no server configured).
        """
        return {}

    @abstractmethod
    def close(self) -> None:
        """Release this process's connections; afterwards every call raises ``BudgetError``."""

    def __enter__(self) -> Ledger:  # noqa: PYI034 - typing.Self needs Python 3.11
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- accounts --------------------------------------------------------------

    def open_account(self, account: str, policy: BudgetPolicy) -> None:
        """Create ``account`` with ``policy``; if it exists, replace its policy, keep its spend."""
        _check_name(account, "account", MAX_ACCOUNT_LEN)
        if not isinstance(policy, BudgetPolicy):
            # ValueError, as for every bad argument: callers answer all of them alike.
            raise ValueError(  # noqa: TRY004
                f"policy must be a BudgetPolicy, got {type(policy).__name__}"
            )
        self._open_account(account, policy)

    def policy(self, account: str) -> BudgetPolicy:
        """The account's policy; raises ``UnknownAccount``."""
        return self._known(account).policy

    def usage(self, account: str) -> Usage:
        """The account's usage; raises ``UnknownAccount``."""
        return self._known(account).usage

    def accounts(self) -> list[str]:
        """Names of all accounts, sorted."""
        return sorted(self._accounts())

    def _known(self, account: str) -> AccountState:
        state = self._account(account)
        if state is None:
            raise UnknownAccount(account)
        return state

    # -- charging --------------------------------------------------------------

    def charge(
        self, account: str, n_inputs: int, model: str, idempotency_key: str | None = None
    ) -> Charge:
        """Charge ``policy.cost(model, n_inputs)`` units, atomically, or refuse.

        The cost is charged in full only if both the account's budget and the
        model's cap allow it; otherwise ``BudgetExceeded`` is raised and nothing
        is charged. With ``idempotency_key``: the first call charges and records
        the key as pending; once :meth:`store_result` stored the answer, a later
        call with the same key returns ``Charge(0, usage, replayed=True,
        result=...)`` without charging; while the key is still pending, or if it
        is reused for another model or size, ``IdempotencyConflict`` is raised.
        Raises ``UnknownAccount`` and ``ValueError`` (bad arguments).
        """
        _check_count(n_inputs, "n_inputs", 1, MAX_INPUTS)
        check_model_id(model)
        if idempotency_key is not None:
            _check_name(idempotency_key, "idempotency_key", MAX_KEY_LEN)
        for _ in range(_CHARGE_ATTEMPTS):
            if idempotency_key is None:
                outcome = self._charge(account, n_inputs, model)
            else:
                outcome = self._charge_idempotent(account, n_inputs, model, idempotency_key)
            if isinstance(outcome, Charge):
                return outcome
            refusal = _charge_refusal(outcome.account, account, model, n_inputs)
            if refusal is not None:
                raise refusal
        raise BudgetError(f"charge to {account!r} kept racing with concurrent changes")

    def _reuse_key(
        self,
        account: str,
        key: str,
        model: str,
        n_inputs: int,
        seen: KeyRecord,
        usage: Usage,
        now: float,
    ) -> Charge:
        """The answer to a charge under a key recorded before; may raise ``IdempotencyConflict``.

        For backends to call inside the atomic step that found ``seen``. A
        returned charge that is not ``replayed`` means the key was pending past
        ``pending_ttl`` (its worker likely died): the caller takes it over by
        setting its ``updated`` time to ``now`` in that same step, and this
        retry answers without paying again.
        """
        if (seen.model, seen.n_inputs) != (model, n_inputs):
            raise IdempotencyConflict(
                account,
                key,
                "mismatch",
                f"idempotency key {key!r} was used for {seen.n_inputs} input(s) to "
                f"{seen.model!r}, not {n_inputs} input(s) to {model!r}",
            )
        if seen.result is not None:
            return Charge(charged=0, usage=usage, replayed=True, result=seen.result)
        if now - seen.updated < self.pending_ttl:
            raise IdempotencyConflict(
                account,
                key,
                "pending",
                f"a request with idempotency key {key!r} is still being answered; retry later",
            )
        return Charge(charged=0, usage=usage)

    def store_result(self, account: str, idempotency_key: str, result: bytes) -> None:
        """Store the answer given under a pending key so that retries replay it.

        A key whose answer is already stored keeps its first answer.
        """
        if not isinstance(result, (bytes, bytearray, memoryview)):
            raise ValueError(f"result must be bytes, got {type(result).__name__}")  # noqa: TRY004
        if self._store_result(account, idempotency_key, bytes(result)):
            return
        self._known(account)
        raise IdempotencyConflict(
            account,
            idempotency_key,
            "unknown",
            f"no charge is recorded under idempotency key {idempotency_key!r} "
            "(never charged, or refunded)",
        )

    def refund(
        self, account: str, amount: int, model: str, idempotency_key: str | None = None
    ) -> Usage:
        """Give back ``amount`` units charged to ``model`` (e.g. inference failed).

        With ``idempotency_key`` the key is forgotten too, so a retry charges anew.
        Raises ``ValueError`` if fewer than ``amount`` units were charged to ``model``.
        """
        _check_count(amount, "amount", 0, MAX_REFUND)
        check_model_id(model)
        outcome = self._refund(account, amount, model, idempotency_key)
        if isinstance(outcome, Usage):
            return outcome
        if outcome.account is None:
            raise UnknownAccount(account)
        spent = outcome.account.usage.per_model.get(model, {}).get("used", 0)
        raise ValueError(
            f"cannot refund {amount} units to {account!r}: only {spent} were charged for {model!r}"
        )

    # -- the backend's atomic steps (arguments are checked already) --------------

    @abstractmethod
    def _open_account(self, account: str, policy: BudgetPolicy) -> None:
        """Insert the account with no spend, or replace the policy of an existing one."""

    @abstractmethod
    def _account(self, account: str) -> AccountState | None:
        """The account's policy and usage read together, or None if there is no such account."""

    @abstractmethod
    def _accounts(self) -> Iterable[str]:
        """Names of all accounts, in any order."""

    @abstractmethod
    def _charge(self, account: str, n_inputs: int, model: str) -> Charge | Refused:
        """Charge atomically if neither the budget nor the model's cap would be passed.

        Adds ``policy.cost(model, n_inputs)`` to the account's and the model's
        spend, reading the policy in the same atomic step. Returns the charge
        (``charged`` as actually added, the usage after it), or ``Refused`` with
        the account as read after the refusal; if that read is not atomic with
        the refusal and finds nothing exceeded, the step is called again.
        """

    @abstractmethod
    def _charge_idempotent(
        self, account: str, n_inputs: int, model: str, key: str
    ) -> Charge | Refused:
        """Charge once per key, in one atomic step.

        If ``key`` is recorded for the account, return :meth:`_reuse_key`'s
        answer (taking a stale key over); otherwise charge as :meth:`_charge`
        does and, if charged, record ``key`` as pending (a :class:`KeyRecord`
        without result). A refusal records nothing.
        """

    @abstractmethod
    def _store_result(self, account: str, key: str, result: bytes) -> bool:
        """Atomically store ``result`` under the pending ``key`` (a stored result stays).

        Returns whether ``key`` is recorded for the account at all.
        """

    @abstractmethod
    def _refund(self, account: str, amount: int, model: str, key: str | None) -> Usage | Refused:
        """Refund atomically, unless fewer than ``amount`` units were spent on the model.

        Takes ``amount`` off the account's and the model's spend and forgets
        ``key`` (if given). Returns the usage after the refund, or ``Refused``
        (nothing changed) with the account as read then.
        """
