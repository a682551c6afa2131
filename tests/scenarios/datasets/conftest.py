"""Every dataset test gets its own empty cache directory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    cache = tmp_path / "mlrange-cache"
    monkeypatch.setenv("MLRANGE_CACHE", str(cache))
    return cache
