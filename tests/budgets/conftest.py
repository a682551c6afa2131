"""Fixtures that run the ledger test suite on every ledger backend.

How a new backend joins the suite, without editing any test: register its URL
scheme in ``budgets/ledger/registry.py`` and return from its
``suite_urls()`` the URLs to test it at (``{tmp}`` becomes a fresh directory).
Every test taking ``ledger`` or ``ledger_url`` (test_budgets_ledger.py) then
runs on each of those URLs; the multi-process tests, which take
``shared_ledger_url`` (test_budgets_contention.py), run on those marked
``multiprocess``. Tests of one backend's internals live in that backend's own
test module (test_budgets_sqlite.py).
"""

from __future__ import annotations

import pytest

from budgets.ledger.registry import available_backends, open_ledger


def _suite_params(multiprocess_only: bool) -> list:
    params, seen = [], set()
    for scheme, backend in available_backends().items():
        if backend in seen:  # registered under several schemes (redis, rediss, unix)
            continue
        seen.add(backend)
        for name, target in backend.suite_urls().items():
            if target.multiprocess or not multiprocess_only:
                params.append(pytest.param(target.url, id=f"{scheme}-{name}"))
    return params


def _url(template: str, tmp_path) -> str:
    return template.replace("{tmp}", str(tmp_path))


@pytest.fixture(params=_suite_params(multiprocess_only=False))
def ledger_url(request, tmp_path) -> str:
    """A URL of each backend's test targets; opening it twice may give two ledgers."""
    return _url(request.param, tmp_path)


@pytest.fixture(params=_suite_params(multiprocess_only=True))
def shared_ledger_url(request, tmp_path) -> str:
    """A URL every process opens as one ledger."""
    return _url(request.param, tmp_path)


@pytest.fixture
def ledger(ledger_url):
    led = open_ledger(ledger_url)
    yield led
    led.close()
