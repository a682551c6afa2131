"""The budgeted HTTP client: every query an attack makes goes through here.

``Client(base_url, api_key, budget=None)`` wraps a ``requests.Session`` (connection reuse)
and adds what paying for queries needs:

- batching to ``batch_size`` inputs per request, base64 ``.npy`` payloads (or raw .npy /
  JSON lists);
- a local :class:`budgets.Budget` that refuses a request *before sending* when it would
  overspend, reconciles with the server's ``usage`` on every answer and reports spend per
  attack phase (``with client.phase("shadow"): ...``);
- a content-hash :class:`QueryCache`: the same input is never paid for twice;
- an optional SQLite :class:`Journal` of every answered query: a resumed attack reloads it
  and re-buys nothing;
- retries with backoff on 429 / 503 / dropped connections honouring ``Retry-After``.
  Every predict request carries an idempotency key derived from its content, so a retry
  of a request the server may already have charged is answered from the server's replay
  store for free instead of being charged again.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import requests
from typing_extensions import Self

from budgets.errors import LocalBudgetExceeded
from budgets.tracker import Budget

from .answers import ModelInfo, for_task
from .cache import QueryCache, input_hashes
from .errors import STATUS_ERRORS, BudgetExhausted, SDKError, ServiceUnavailable
from .journal import Journal
from .remote import RemoteClassifier

PAYLOADS = ("b64", "npy", "json")
RETRY_STATUSES = (409, 429, 502, 503, 504)


class Client:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        budget: int | Budget | None = None,
        batch_size: int = 256,
        payload: str = "b64",
        timeout: float = 120.0,
        retries: int = 6,
        backoff: float = 0.5,
        journal: str | Journal | None = None,
        cache: QueryCache | None = None,
    ):
        if payload not in PAYLOADS:
            raise ValueError(f"payload must be one of {PAYLOADS}")
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1")
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"
        self._key_fingerprint = hashlib.sha256(api_key.encode()).hexdigest()[:16]
        self.budget = budget if isinstance(budget, Budget) else Budget(budget)
        self.batch_size, self.payload, self.timeout = batch_size, payload, timeout
        self.retries, self.backoff = retries, backoff
        self.cache = cache or QueryCache()
        self.journal = (
            Journal(journal)
            if isinstance(journal, (str, bytes)) or hasattr(journal, "__fspath__")
            else journal
        )
        self._infos: dict[str, ModelInfo] = {}
        self._lock = threading.Lock()
        self._credits: dict[tuple[str, str, str], int] = {}  # journaled answers not yet reused
        self.resumed_answers = 0
        self.requests_sent = 0
        self.inputs_sent = 0
        self.retries_made = 0
        if self.journal is not None:
            self._resume_from_journal()

    # -- resuming ---------------------------------------------------------------

    def _resume_from_journal(self) -> None:
        """Load every journaled answer into the cache as a prepaid *credit*. A credit is
        counted into the budget (under the phase that asks for it) the first time the
        attack asks for that input again, so a resumed deterministic attack ends with the
        same spend, per phase, as an uninterrupted one, and never pays the server twice."""
        by_key: dict[tuple[str, str], tuple[list[str], list[Any]]] = {}
        for model, policy, h, answer, charged, _phase in self.journal.entries():
            hs, ans = by_key.setdefault((model, policy), ([], []))
            hs.append(h)
            ans.append(answer)
            self._credits[(model, policy, h)] = charged
        for (model, policy), (hs, ans) in by_key.items():
            self.cache.put_many(model, policy, hs, ans)
        self.resumed_answers = len(self._credits)

    def _use_credits(self, model: str, policy: str, hashes: list[str]) -> None:
        if not self._credits:
            return
        with self._lock:
            units = sum(self._credits.pop((model, policy, h), 0) for h in set(hashes))
        if units:
            self.budget.reserve(units).commit(units)

    # -- plain endpoints ----------------------------------------------------------

    def _request(self, method: str, path: str, **kw) -> requests.Response:
        """One HTTP call with retries; raises the typed error for a refusal."""
        attempt = 0
        while True:
            try:
                r = self.session.request(method, self.base_url + path, timeout=self.timeout, **kw)
            except (requests.ConnectionError, requests.Timeout) as e:
                # Safe to retry: predict requests carry an idempotency key, others are free.
                if attempt >= self.retries:
                    raise ServiceUnavailable(
                        f"{method} {path} failed after {attempt + 1} attempts: {e}"
                    ) from e
                self._sleep(attempt, None)
                attempt += 1
                continue
            if r.status_code < 400:
                return r
            if r.status_code in RETRY_STATUSES and attempt < self.retries:
                self._sleep(attempt, r.headers.get("Retry-After"))
                attempt += 1
                continue
            raise self._error(r)

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        self.retries_made += 1
        delay = self.backoff * (2**attempt) * (0.5 + random.random())
        if retry_after:
            with contextlib.suppress(ValueError):
                delay = max(delay, float(retry_after))
        time.sleep(min(delay, 60.0))

    @staticmethod
    def _error(r: requests.Response) -> SDKError:
        try:
            problem = r.json()
        except ValueError:
            problem = {"detail": r.text[:500]}
        detail = problem.get("detail", r.reason)
        if r.status_code == 402:
            usage = problem.get("usage", {})
            return BudgetExhausted(
                f"server refused: {detail}",
                local=False,
                requested=problem.get("requested", 0),
                remaining=usage.get("remaining"),
                status=402,
                problem=problem,
            )
        cls = STATUS_ERRORS.get(
            r.status_code, ServiceUnavailable if r.status_code >= 500 else SDKError
        )
        return cls(f"HTTP {r.status_code}: {detail}", status=r.status_code, problem=problem)

    def models(self) -> list[ModelInfo]:
        return [ModelInfo.from_json(m) for m in self._request("GET", "/v1/models").json()["models"]]

    def model(self, model_id: str, refresh: bool = False) -> ModelInfo:
        if refresh or model_id not in self._infos:
            self._infos[model_id] = ModelInfo.from_json(
                self._request("GET", f"/v1/models/{model_id}").json()
            )
        return self._infos[model_id]

    def usage(self) -> dict[str, Any]:
        u = self._request("GET", "/v1/usage").json()
        self.budget.reconcile(u)
        return u

    def health(self) -> dict:
        return self._request("GET", "/healthz").json()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[str]:
        """Attribute the spend inside the block to ``name`` (budget and journal)."""
        with self.budget.phase(name) as p:
            yield p

    # -- predict -------------------------------------------------------------------

    def classifier(self, model_id: str) -> RemoteClassifier:
        return RemoteClassifier(self, model_id)

    def cost(self, model_id: str, n_inputs: int) -> int:
        return n_inputs * self.model(model_id).price

    def uncached(self, model_id: str, x: np.ndarray) -> np.ndarray:
        """Boolean mask of the inputs of ``x`` that would cost a query (not yet answered)."""
        info = self.model(model_id)
        hashes = input_hashes(x)
        found = self.cache.get_many(model_id, info.policy.policy, hashes)
        seen: set[str] = set()
        mask = np.zeros(len(hashes), bool)
        for i, (h, a) in enumerate(zip(hashes, found)):
            if a is None and h not in seen:
                mask[i] = True
                seen.add(h)
        return mask

    def predict(self, model_id: str, x: np.ndarray, progress: bool = False) -> Any:
        """Answers for every input of ``x`` (n, *input_shape), as the model's task's batch
        type (:class:`~attacker_sdk.answers.Answers` for a classifier); pays only for inputs
        neither cached nor repeated within ``x``. Raises :class:`BudgetExhausted` when the
        budget cannot cover what is missing (what was answered before that stays cached)."""
        info = self.model(model_id)
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != len(info.input_shape) + 1:
            x = x.reshape((-1, *info.input_shape))
        policy = info.policy.policy
        hashes = input_hashes(x)
        found = self.cache.get_many(model_id, policy, hashes)
        missing: dict[str, int] = {}
        for i, (h, a) in enumerate(zip(hashes, found)):
            if a is None and h not in missing:
                missing[h] = i
        # Journaled answers reused now count into the budget before anything new is bought,
        # so the server's `used` on the next answer matches the local figure.
        self._use_credits(model_id, policy, [h for h, a in zip(hashes, found) if a is not None])
        charged = 0
        todo = list(missing.items())
        bar = None
        if progress and todo:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(todo), desc=f"query {model_id}", unit="q", leave=False)
        try:
            for start in range(0, len(todo), self.batch_size):
                chunk = todo[start : start + self.batch_size]
                charged += self._buy(
                    info, [h for h, _ in chunk], x[[i for _, i in chunk]], answered=start
                )
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        answers = self.cache.get_many(model_id, policy, hashes)
        from_cache = np.array([h not in missing for h in hashes])
        return for_task(info.task).collect(answers, policy, charged, from_cache)

    def _buy(self, info: ModelInfo, hashes: list[str], xb: np.ndarray, answered: int) -> int:
        cost = len(hashes) * info.price
        try:
            reservation = self.budget.reserve(cost)
        except LocalBudgetExceeded as e:
            raise BudgetExhausted(
                f"local budget refuses {cost} units for {len(hashes)} inputs of {info.id}: {e}",
                local=True,
                requested=cost,
                remaining=self.budget.available,
                answered=answered,
            ) from None
        # Content-derived idempotency key: a retry (or a resumed run re-sending the same
        # batch) is replayed by the server for free, never charged twice.
        idem = hashlib.sha256(
            (self._key_fingerprint + info.id + "".join(hashes)).encode()
        ).hexdigest()
        body, ctype = self._encode(xb, idem)
        try:
            r = self._request(
                "POST",
                f"/v1/models/{info.id}/predict",
                data=body,
                headers={"Content-Type": ctype, "Idempotency-Key": idem},
            )
        except BudgetExhausted as e:
            reservation.release()
            e.answered = answered
            raise
        except BaseException:
            reservation.release()
            raise
        resp = r.json()
        answers = for_task(info.task).parse(resp)
        if len(answers) != len(hashes):
            reservation.release()
            raise SDKError(f"the service answered {len(answers)} inputs for {len(hashes)} asked")
        usage = resp["usage"]
        charged = int(usage.get("charged") or 0)
        per_input = [info.price if charged else 0] * len(hashes)
        if self.journal is not None:
            self.journal.record(
                info.id, resp["policy"], hashes, answers, per_input, self.budget.current_phase, idem
            )
        self.cache.put_many(info.id, resp["policy"], hashes, answers)
        if resp["policy"] != info.policy.policy:  # the operator changed the key's policy under us
            self._infos[info.id] = self.model(info.id, refresh=True)
        reservation.commit(charged)
        if usage.get("used") is not None:
            self.budget.reconcile(usage)
        with self._lock:
            self.requests_sent += 1
            self.inputs_sent += len(hashes)
        return charged

    def _encode(self, xb: np.ndarray, idem: str) -> tuple[bytes, str]:
        if self.payload == "json":
            return json.dumps(
                {"inputs": xb.tolist(), "idempotency_key": idem}
            ).encode(), "application/json"
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(xb, dtype=np.float32))
        if self.payload == "npy":
            return buf.getvalue(), "application/x-npy"
        b64 = base64.b64encode(buf.getvalue()).decode()
        return json.dumps({"inputs_b64": b64, "idempotency_key": idem}).encode(), "application/json"

    def stats(self) -> dict[str, Any]:
        return {
            "requests_sent": self.requests_sent,
            "inputs_sent": self.inputs_sent,
            "retries": self.retries_made,
            "cache_hits": self.cache.hits,
            "cache_misses": self.cache.misses,
            "budget": self.budget.to_dict(),
        }

    def close(self) -> None:
        self.session.close()
        if self.journal is not None:
            self.journal.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
