"""Health, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import os

from flask import Blueprint, Response, jsonify

from . import metrics
from .openapi import spec
from .runtime import runtime

bp = Blueprint("meta", __name__)


@bp.get("/healthz")
def healthz():
    rt = runtime()
    return jsonify(
        {
            "status": "ok",
            "pid": os.getpid(),
            "models": sorted(rt.predictors),
            "metering": rt.config.metering,
        }
    )


@bp.get("/metrics")
def prometheus():
    body, ctype = metrics.exposition()
    return Response(body, content_type=ctype)


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec())
