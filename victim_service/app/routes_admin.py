"""Operator endpoints (separate admin token): issue, list, inspect and revoke keys.

The token is checked once for the whole blueprint, before any of its views runs;
victim_service.admin_client is the Python client of these endpoints."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from budgets.errors import UnknownAccount

from ..accounts import issue_key
from .auth import require_admin
from .problems import Problem
from .routes_models import usage_dict
from .runtime import runtime

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_admin)


def _json_body() -> dict:
    if not request.is_json:
        raise Problem(415, "send application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Problem(422, "body must be a JSON object")
    return body


@bp.post("/keys")
def create_key():
    body = _json_body()
    unknown = set(body) - {"budget", "models", "policy", "label", "per_model"}
    if unknown:
        raise Problem(422, f"unknown fields {sorted(unknown)}")
    budget, models = body.get("budget"), body.get("models")
    if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
        raise Problem(422, "'budget' must be a non-negative integer (queries)")
    if models is not None and not (
        isinstance(models, list) and all(isinstance(m, str) for m in models)
    ):
        raise Problem(422, "'models' must be a list of model ids")
    policy = body.get("policy")
    if policy is not None and not isinstance(policy, str):
        raise Problem(422, "'policy' must be a string such as 'top1' or 'round:2'")
    per_model = body.get("per_model") or {}
    if not isinstance(per_model, dict) or not all(
        isinstance(v, int) and v >= 0 for v in per_model.values()
    ):
        raise Problem(422, "'per_model' must map model ids to non-negative integers")
    rt = runtime()
    try:
        token, key = issue_key(
            rt.keys,
            rt.ledger,
            rt.cards,
            budget,
            models,
            policy,
            str(body.get("label", "")),
            per_model,
        )
    except ValueError as e:  # tasks.PolicyError included
        raise Problem(422, str(e)) from None
    return jsonify({"key": token, **key.to_dict(), "budget": budget}), 201


@bp.get("/keys")
def list_keys():
    rt = runtime()
    out = []
    for key in rt.keys.list():
        try:
            usage = usage_dict(rt.ledger.usage(key.id), 0)
        except UnknownAccount:
            usage = None
        out.append({**key.to_dict(), "usage": usage})
    return jsonify({"keys": out})


@bp.get("/keys/<key_id>")
def get_key(key_id: str):
    rt = runtime()
    key = rt.keys.get(key_id)
    if key is None:
        raise Problem(404, f"no key {key_id!r}")
    usage = rt.ledger.usage(key.id)
    return jsonify({**key.to_dict(), "usage": usage_dict(usage, 0), "per_model": usage.per_model})


@bp.delete("/keys/<key_id>")
def revoke_key(key_id: str):
    if not runtime().keys.revoke(key_id):
        raise Problem(404, f"no key {key_id!r}")
    return jsonify({"id": key_id, "revoked": True})
