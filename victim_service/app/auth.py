"""Bearer-token checks: ``key_required`` for the prediction API's views, ``require_admin``
for the admin blueprint (a ``before_request``), so no view can forget them."""

from __future__ import annotations

import functools
import hmac

from flask import request

from ..keys import ApiKey
from .problems import Problem
from .runtime import runtime


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _authenticate() -> ApiKey:
    token = bearer()
    if token is None:
        raise Problem(401, "send 'Authorization: Bearer <api key>'")
    key = runtime().keys.authenticate(token)
    if key is None:
        raise Problem(401, "the API key is unknown or revoked")
    return key


def key_required(view):
    """Authenticate the request's API key (401 otherwise) and pass it to ``view`` as its
    first argument, before the URL's arguments."""

    @functools.wraps(view)
    def with_key(*args, **kwargs):
        return view(_authenticate(), *args, **kwargs)

    return with_key


def require_admin() -> None:
    expected = runtime().config.admin_token
    if not expected:
        raise Problem(
            403, "admin endpoints are disabled: the service was started without MLRANGE_ADMIN_TOKEN"
        )
    token = bearer() or ""
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise Problem(401, "admin endpoints need 'Authorization: Bearer $MLRANGE_ADMIN_TOKEN'")


def rate_limit_key() -> str:
    """Rate limits count per key id (the id part of the token needs no database read)."""
    token = bearer() or ""
    parts = token.split("_", 2)
    if len(parts) == 3 and parts[0] == "mlr":
        return f"key:{parts[1]}"
    return f"addr:{request.remote_addr}"
