"""Everything a worker holds while serving: loaded models, key store, ledger."""

from __future__ import annotations

import logging
import os

import numpy as np
from flask import current_app

from budgets.ledger import Ledger, open_ledger

from .. import tasks
from ..config import ServiceConfig
from ..keys import ApiKey, KeyStore
from ..store import ArtifactStore

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, config: ServiceConfig):
        self.config = config
        self.store = ArtifactStore(config.store)
        ids = config.models or self.store.ids()
        missing = [m for m in ids if m not in self.store]
        if missing:
            raise RuntimeError(f"models {missing} are not in the store {config.store}")
        self.predictors: dict[str, tasks.Predictor] = {m: self.store.load(m) for m in ids}
        self.keys = KeyStore(config.keys_path)
        self.ledger: Ledger = open_ledger(config.ledger_url)
        self.rng = np.random.default_rng(int.from_bytes(os.urandom(8), "little"))  # noise draws
        self._policies: dict[tuple[str, str], tasks.Policy] = {}
        log.info("worker %d hosts %s", os.getpid(), ", ".join(ids) or "no models")

    @property
    def cards(self):
        return {m: p.card for m, p in self.predictors.items()}

    def task(self, model_id: str) -> tasks.Task:
        return tasks.get(self.predictors[model_id].card.task)

    def policy_for(self, key: ApiKey, model_id: str) -> tasks.Policy:
        """The key's override, else the model's default, parsed by the model's task (once
        per task and text: policies are immutable)."""
        card = self.predictors[model_id].card
        cache_key = (card.task, key.policy or card.serving.policy)
        if cache_key not in self._policies:
            self._policies[cache_key] = tasks.get(card.task).parse_policy(cache_key[1])
        return self._policies[cache_key]


def runtime() -> Runtime:
    return current_app.extensions["mlrange"]
