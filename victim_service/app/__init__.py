"""Flask application factory: ``create_app()`` builds one worker's app from the
environment (gunicorn calls it in every worker after fork) or from a given config (the
tests drive that one through Flask's test client)."""

from __future__ import annotations

import os
import sys
import time

from flask import Flask, g, request

from ..config import ServiceConfig
from ..serve import READY_LINE
from . import metrics, problems, routes_admin, routes_meta, routes_models
from .auth import rate_limit_key
from .runtime import Runtime


def create_app(config: ServiceConfig | None = None) -> Flask:
    config = config or ServiceConfig.from_env()
    import torch

    torch.set_num_threads(config.torch_threads)
    app = Flask("victim_service")
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.json.sort_keys = False
    app.extensions["mlrange"] = Runtime(config)
    problems.install(app)
    for bp in (routes_meta.bp, routes_models.bp, routes_admin.bp):
        app.register_blueprint(bp)
    if config.rate_limit:
        _install_rate_limit(app, config.rate_limit)

    @app.before_request
    def _start():
        g.t0 = time.perf_counter()

    @app.after_request
    def _observe(resp):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.REQUESTS.labels(endpoint, str(resp.status_code)).inc()
        metrics.LATENCY.labels(endpoint).observe(
            time.perf_counter() - g.get("t0", time.perf_counter())
        )
        return resp

    print(
        f"{READY_LINE} pid={os.getpid()} "
        f"models={','.join(sorted(app.extensions['mlrange'].predictors))}",
        file=sys.stderr,
        flush=True,
    )
    return app


def _install_rate_limit(app: Flask, limit: str) -> None:
    """Per-key request rate on predict. The in-memory store counts per worker; a shared
    limit across workers needs the Redis storage (a later issue)."""
    from flask_limiter import Limiter

    limiter = Limiter(
        key_func=rate_limit_key, app=app, storage_uri="memory://", headers_enabled=True
    )
    view = "models.predict"
    app.view_functions[view] = limiter.limit(limit)(app.view_functions[view])
