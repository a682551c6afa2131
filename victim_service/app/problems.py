"""RFC 9457 problem+json errors: every refusal the API makes has a status, a title, a
clear ``detail`` and a stable ``type`` an HTTP client can switch on."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Missing or invalid API key"),
    402: ("budget-exceeded", "Query budget would be exceeded"),
    403: ("forbidden", "Model not allowed for this key"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported content type"),
    422: ("invalid-input", "Invalid input"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal server error"),
    503: ("unavailable", "Service unavailable"),
}


class Problem(Exception):
    def __init__(self, status: int, detail: str, headers: dict | None = None, **extra):
        super().__init__(detail)
        self.status, self.detail, self.headers, self.extra = status, detail, headers or {}, extra


def problem_response(status: int, detail: str, headers: dict | None = None, **extra) -> Response:
    slug, title = TITLES.get(status, ("error", "Error"))
    body = {
        "type": f"/problems/{slug}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path if request else None,
        **extra,
    }
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM_JSON)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="mlrange"'
    return resp


def install(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(e: Problem):
        return problem_response(e.status, e.detail, e.headers, **e.extra)

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        headers = dict(e.get_headers()) if e.code == 429 else {}
        headers = {k: v for k, v in headers.items() if k.lower() in ("retry-after",)}
        detail = e.description or TITLES.get(e.code, ("", ""))[1]
        if e.code == 413:
            detail = (
                f"request body larger than the {app.config.get('MAX_CONTENT_LENGTH')} bytes allowed"
            )
        return problem_response(e.code or 500, detail, headers)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unhandled error on %s", request.path)
        return problem_response(
            500, "the server failed to answer; nothing was charged for this request"
        )
