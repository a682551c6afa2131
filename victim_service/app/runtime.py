"""Everything a worker holds while serving: loaded models, key store, ledger."""

from __future__ import annotations

import logging
import os

import numpy as np
from flask import current_app

from budgets.ledger import Ledger, open_ledger

from ..config import ServiceConfig
from ..keys import ApiKey, KeyStore
from ..policies import OutputPolicy
from ..predictors import Predictor
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
        self.predictors: dict[str, Predictor] = {m: self.store.load(m) for m in ids}
        self.keys = KeyStore(config.keys_path)
        self.ledger: Ledger = open_ledger(config.ledger_url)
        self.rng = np.random.default_rng(int.from_bytes(os.urandom(8), "little"))  # noise policy draws
        self._policies: dict[str, OutputPolicy] = {}
        log.info("worker %d hosts %s", os.getpid(), ", ".join(ids) or "no models")

    @property
    def cards(self):
        return {m: p.card for m, p in self.predictors.items()}

    def policy_for(self, key: ApiKey, model_id: str) -> OutputPolicy:
        text = key.policy or self.predictors[model_id].card.serving.policy
        if text not in self._policies:
            self._policies[text] = OutputPolicy.parse(text)
        return self._policies[text]


def runtime() -> Runtime:
    return current_app.extensions["mlrange"]
