"""Service configuration, read from the environment so that gunicorn workers (which build
the app themselves, after fork) and the Dockerfile share one source of truth."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "MLRANGE_"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(ENV_PREFIX + name, default)


@dataclass
class ServiceConfig:
    store: Path
    state: Path  # keys database, and the default SQLite ledger
    ledger_url: str | None = None  # default sqlite:///<state>/ledger.db
    admin_token: str | None = None  # admin endpoints are off without one
    models: list[str] | None = None  # host only these store entries (default: all)
    max_batch: int = 1024
    max_body_bytes: int = 64 * 2**20
    metering: bool = True  # off only for benchmarks measuring the ledger's cost
    rate_limit: str | None = None  # flask-limiter string per key, e.g. "100/second"
    torch_threads: int = 1  # more threads than cores collapses throughput with 2 workers on 2 cores

    def __post_init__(self):
        self.store, self.state = Path(self.store), Path(self.state)
        if self.ledger_url is None:
            self.ledger_url = f"sqlite:///{(self.state / 'ledger.db').resolve()}"

    @property
    def keys_path(self) -> Path:
        return self.state / "keys.db"

    @classmethod
    def from_env(cls) -> ServiceConfig:
        store = _env("STORE")
        if not store:
            raise RuntimeError("MLRANGE_STORE is not set: point it at an artifact store folder")
        models = _env("MODELS")
        return cls(
            store=Path(store),
            state=Path(_env("STATE") or Path(store).parent / "state"),
            ledger_url=_env("LEDGER"),
            admin_token=_env("ADMIN_TOKEN") or None,
            models=[m for m in models.split(",") if m] if models else None,
            max_batch=int(_env("MAX_BATCH", "1024")),
            max_body_bytes=int(_env("MAX_BODY_BYTES", str(64 * 2**20))),
            metering=_env("METERING", "1") not in ("0", "false", "off"),
            rate_limit=_env("RATE_LIMIT") or None,
            torch_threads=int(_env("TORCH_THREADS", "1")),
        )

    def to_env(self) -> dict[str, str]:
        """The environment that makes ``from_env`` rebuild this config (for gunicorn)."""
        env = {
            "STORE": str(self.store),
            "STATE": str(self.state),
            "LEDGER": self.ledger_url,
            "MAX_BATCH": str(self.max_batch),
            "MAX_BODY_BYTES": str(self.max_body_bytes),
            "METERING": "1" if self.metering else "0",
            "TORCH_THREADS": str(self.torch_threads),
        }
        if self.admin_token:
            env["ADMIN_TOKEN"] = self.admin_token
        if self.models:
            env["MODELS"] = ",".join(self.models)
        if self.rate_limit:
            env["RATE_LIMIT"] = self.rate_limit
        return {ENV_PREFIX + k: v for k, v in env.items()}
