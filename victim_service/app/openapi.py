"""The OpenAPI 3.1 description of the HTTP contract (DESIGN.md), so that any client, not
only ours, can use the API (and schemathesis can fuzz it)."""

from __future__ import annotations

from .. import __version__

_PROBLEM = {
    "description": "problem+json",
    "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
}


def _err(*codes: int) -> dict:
    return {str(c): _PROBLEM for c in codes}


def _ok(schema: str) -> dict:
    return {
        "description": "OK",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def spec() -> dict:
    bearer = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "mlrange victim service",
            "version": __version__,
            "description": "Metered MLaaS prediction API. One input = one query; "
            "a batch is charged whole before "
            "inference or refused (402) with nothing charged.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["type", "title", "status", "detail"],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "instance": {"type": ["string", "null"]},
                    },
                },
                "Usage": {
                    "type": "object",
                    "required": ["charged", "used", "budget", "remaining"],
                    "properties": {
                        k: {"type": ["integer", "null"]}
                        for k in ("charged", "used", "budget", "remaining")
                    },
                },
                "OutputPolicy": {
                    "type": "object",
                    "properties": {
                        "policy": {"type": "string"},
                        "reveals": {"enum": ["probabilities", "topk", "label"]},
                        "k": {"type": ["integer", "null"]},
                        "decimals": {"type": ["integer", "null"]},
                        "noise_sigma": {"type": ["number", "null"]},
                    },
                },
                "Model": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "task": {"enum": ["classification", "captioning"]},
                        "input_spec": {
                            "type": "object",
                            "properties": {
                                "shape": {"type": "array", "items": {"type": "integer"}},
                                "dtype": {"type": "string"},
                                "min": {"type": "number"},
                                "max": {"type": "number"},
                            },
                        },
                        "class_names": {"type": "array", "items": {"type": "string"}},
                        "output_policy": {"$ref": "#/components/schemas/OutputPolicy"},
                        "price_per_query": {"type": "integer"},
                    },
                },
                "PredictRequest": {
                    "type": "object",
                    "properties": {
                        "inputs": {
                            "type": "array",
                            "description": "one element per sample, nested to the input shape",
                        },
                        "inputs_b64": {
                            "type": "string",
                            "description": "base64 of a .npy array (n, *shape)",
                        },
                        "idempotency_key": {"type": "string", "maxLength": 200},
                    },
                },
                "Prediction": {
                    "type": "object",
                    "required": ["model", "policy", "labels", "usage"],
                    "properties": {
                        "model": {"type": "string"},
                        "policy": {"type": "string"},
                        "labels": {"type": "array", "items": {"type": "integer"}},
                        "probabilities": {
                            "type": ["array", "null"],
                            "items": {"type": "array", "items": {"type": "number"}},
                        },
                        "top": {
                            "type": ["array", "null"],
                            "items": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "properties": {
                                        "label": {"type": "integer"},
                                        "score": {"type": "number"},
                                    },
                                },
                            },
                        },
                        "captions": {"type": "array", "items": {"type": "string"}},
                        "usage": {"$ref": "#/components/schemas/Usage"},
                    },
                },
            },
        },
        "paths": {
            "/healthz": {
                "get": {"summary": "liveness", "responses": {"200": {"description": "OK"}}}
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "text exposition"}},
                }
            },
            "/v1/models": {
                "get": {
                    "summary": "models this key may use",
                    "security": bearer,
                    "responses": {"200": {"description": "OK"}, **_err(401)},
                }
            },
            "/v1/models/{model_id}": {
                "get": {
                    "summary": "one model: task, input spec, classes, "
                    "output policy for this key, price",
                    "security": bearer,
                    "parameters": [
                        {
                            "name": "model_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": _ok("Model"), **_err(401, 403, 404)},
                }
            },
            "/v1/models/{model_id}/predict": {
                "post": {
                    "summary": "predict a batch; charged whole before inference "
                    "or refused with nothing charged",
                    "security": bearer,
                    "parameters": [
                        {
                            "name": "model_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/PredictRequest"}
                            },
                            "application/x-npy": {"schema": {"type": "string", "format": "binary"}},
                        },
                    },
                    "responses": {
                        "200": _ok("Prediction"),
                        **_err(401, 402, 403, 404, 409, 413, 415, 422, 429, 503),
                    },
                }
            },
            "/v1/usage": {
                "get": {
                    "summary": "this key's usage",
                    "security": bearer,
                    "responses": {"200": _ok("Usage"), **_err(401)},
                }
            },
            "/admin/keys": {
                "post": {
                    "summary": "issue a key (admin token)",
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["budget"],
                                    "properties": {
                                        "budget": {"type": "integer", "minimum": 0},
                                        "models": {"type": "array", "items": {"type": "string"}},
                                        "policy": {"type": "string"},
                                        "label": {"type": "string"},
                                        "per_model": {
                                            "type": "object",
                                            "additionalProperties": {"type": "integer"},
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": {"description": "the key, shown only now"},
                        **_err(401, 403, 415, 422),
                    },
                },
                "get": {
                    "summary": "list keys with usage (admin token)",
                    "security": bearer,
                    "responses": {"200": {"description": "OK"}, **_err(401, 403)},
                },
            },
            "/admin/keys/{key_id}": {
                "get": {
                    "summary": "one key (admin token)",
                    "security": bearer,
                    "parameters": [
                        {
                            "name": "key_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": {"description": "OK"}, **_err(401, 403, 404)},
                },
                "delete": {
                    "summary": "revoke a key (admin token)",
                    "security": bearer,
                    "parameters": [
                        {
                            "name": "key_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {"200": {"description": "OK"}, **_err(401, 403, 404)},
                },
            },
        },
    }
