"""The prediction API: model listing, batch predict, usage.

Predict is shared by every task: decode and validate the batch, charge it, then let the
model's task (victim_service.tasks) run the model and encode its answer fields.
"""

from __future__ import annotations

import json
import time

from flask import Blueprint, Response, jsonify, request

from budgets.errors import BudgetExceeded, IdempotencyConflict, UnknownAccount
from budgets.ledger import Usage

from ..keys import ApiKey
from . import metrics
from .auth import key_required
from .decoding import read_body, validate
from .problems import Problem
from .runtime import runtime

bp = Blueprint("models", __name__)


def usage_dict(usage: Usage | None, charged: int) -> dict:
    if usage is None:  # unmetered benchmark mode
        return {"charged": charged, "used": None, "budget": None, "remaining": None}
    return {
        "charged": charged,
        "used": usage.used,
        "budget": usage.budget,
        "remaining": usage.remaining,
    }


def _model(model_id: str, key):
    rt = runtime()
    if model_id not in rt.predictors:
        raise Problem(
            404, f"no model {model_id!r}; GET /v1/models lists the models this key may use"
        )
    if not key.allows(model_id):
        raise Problem(403, f"this key may not query model {model_id!r}")
    return rt.predictors[model_id]


def _describe(model_id: str, key) -> dict:
    rt = runtime()
    card = rt.predictors[model_id].card
    return {
        **card.public(),
        "output_policy": rt.policy_for(key, model_id).describe(),
        "price_per_query": card.serving.price,
    }


@bp.get("/v1/models")
@key_required
def list_models(key: ApiKey):
    rt = runtime()
    return jsonify({"models": [_describe(m, key) for m in rt.predictors if key.allows(m)]})


@bp.get("/v1/models/<model_id>")
@key_required
def get_model(key: ApiKey, model_id: str):
    _model(model_id, key)
    return jsonify(_describe(model_id, key))


@bp.get("/v1/usage")
@key_required
def get_usage(key: ApiKey):
    rt = runtime()
    try:
        usage = rt.ledger.usage(key.id)
    except UnknownAccount:
        raise Problem(401, "this key has no budget account") from None
    return jsonify({"key": key.id, "charged": 0, **usage.to_dict()})


@bp.post("/v1/models/<model_id>/predict")
@key_required
def predict(key: ApiKey, model_id: str):
    rt = runtime()
    predictor = _model(model_id, key)
    task = rt.task(model_id)
    arr, idem = read_body(request, rt.config.max_batch)
    x = validate(arr, predictor.card.input_spec, rt.config.max_batch)
    policy = rt.policy_for(key, model_id)
    n = len(x)

    charge = None
    if rt.config.metering:
        t_meter = time.perf_counter()
        try:
            charge = rt.ledger.charge(key.id, n, model_id, idempotency_key=idem)
        except BudgetExceeded as e:
            metrics.REFUSED.labels(model_id).inc()
            raise Problem(
                402,
                f"this batch of {n} inputs costs {e.requested} units but the key "
                f"has {e.usage.remaining} left; nothing was charged",
                usage=usage_dict(e.usage, 0),
                requested=e.requested,
            ) from None
        except IdempotencyConflict as e:
            raise Problem(409, f"idempotency key conflict: {e}") from None
        except UnknownAccount:
            raise Problem(401, "this key has no budget account") from None
        finally:
            metrics.METERING.labels(model_id).observe(time.perf_counter() - t_meter)
        if charge.replayed:
            # Same idempotency key as an answered request: the stored answer, free.
            body = json.loads(charge.result)
            body["usage"] = charge.to_dict()
            body["replayed"] = True
            return Response(json.dumps(body), mimetype="application/json")

    t0 = time.perf_counter()
    try:
        output = task.infer(predictor, x, policy)
    except Exception:  # noqa: BLE001 - whatever broke, the client is refunded and told
        if charge is not None:
            rt.ledger.refund(key.id, charge.charged, model_id, idempotency_key=idem)
        raise Problem(503, "inference failed; the charge for this request was refunded") from None
    metrics.INFERENCE.labels(model_id).observe(time.perf_counter() - t0)

    charged = charge.charged if charge else n * predictor.card.serving.price
    body = {
        "model": model_id,
        "policy": str(policy),
        **task.encode(output, policy, rt.rng),
        "usage": charge.to_dict() if charge else usage_dict(None, charged),
    }
    raw = json.dumps(body)
    if idem and charge is not None:
        t_meter = time.perf_counter()
        rt.ledger.store_result(key.id, idem, raw.encode())
        metrics.METERING.labels(model_id).observe(time.perf_counter() - t_meter)
    metrics.INPUTS.labels(model_id).inc(n)
    metrics.CHARGED.labels(model_id).inc(charged)
    return Response(raw, mimetype="application/json")
