"""Prometheus metrics, safe under several gunicorn workers.

With ``PROMETHEUS_MULTIPROC_DIR`` set (``mlrange serve`` sets it) every worker writes to
shared files and ``/metrics`` aggregates them; without it (tests using the Flask test
client, single process) the default registry is used. Labels are bounded (model ids,
endpoints, statuses): never key ids.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

_MP = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

REQUESTS = Counter("mlrange_requests_total", "HTTP requests answered", ["endpoint", "status"])
INPUTS = Counter("mlrange_inputs_answered_total", "Inputs (queries) answered", ["model"])
CHARGED = Counter("mlrange_units_charged_total", "Budget units charged", ["model"])
REFUSED = Counter("mlrange_budget_refusals_total", "Requests refused with 402", ["model"])
LATENCY = Histogram(
    "mlrange_request_seconds",
    "Request latency",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
METERING = Histogram(
    "mlrange_metering_seconds",
    "Time spent in the ledger per request (check-and-charge, result store)",
    ["model"],
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1),
)
INFERENCE = Histogram(
    "mlrange_inference_seconds",
    "Model forward time per request",
    ["model"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)


def exposition() -> tuple[bytes, str]:
    if _MP:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST


def mark_worker_dead(pid: int) -> None:
    if _MP:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
