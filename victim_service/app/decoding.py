"""Turn a predict request body into a validated float32 batch, or refuse it with the
right status: 415 wrong content type, 413 too many inputs, 422 anything malformed."""

from __future__ import annotations

import base64
import binascii
import io
import json

import numpy as np
from flask import Request

from .problems import Problem

NPY_TYPES = ("application/x-npy", "application/octet-stream")
_NUMERIC_KINDS = "biuf"  # bool, int, uint, float: complex, strings and objects are refused


def read_body(req: Request, max_batch: int) -> tuple[np.ndarray, str | None]:
    """Return (array, idempotency key). Accepts JSON (``inputs`` nested lists or
    ``inputs_b64`` a base64 .npy) and, as an extension, a raw .npy body."""
    ctype = (req.mimetype or "").lower()
    idem = req.headers.get("Idempotency-Key")
    if ctype in NPY_TYPES:
        return _npy(req.get_data(cache=False)), idem
    if ctype != "application/json" and not ctype.endswith("+json"):
        raise Problem(
            415,
            f"content type {ctype or 'none'!r} is not accepted: send application/json "
            '({"inputs": [...]} or {"inputs_b64": "<base64 .npy>"}) or application/x-npy',
        )
    try:
        body = json.loads(req.get_data(cache=False))
    except (ValueError, UnicodeDecodeError) as e:
        raise Problem(422, f"body is not valid JSON: {e}") from None
    if not isinstance(body, dict):
        raise Problem(422, "body must be a JSON object with 'inputs' or 'inputs_b64'")
    idem = body.get("idempotency_key", idem)
    if idem is not None and (not isinstance(idem, str) or not 0 < len(idem) <= 200):
        raise Problem(422, "idempotency_key must be a string of 1 to 200 characters")
    unknown = set(body) - {"inputs", "inputs_b64", "idempotency_key"}
    if unknown:
        raise Problem(422, f"unknown fields {sorted(unknown)}: expected 'inputs' or 'inputs_b64'")
    if ("inputs" in body) == ("inputs_b64" in body):
        raise Problem(
            422, "give exactly one of 'inputs' (nested lists) or 'inputs_b64' (base64 .npy)"
        )
    if "inputs_b64" in body:
        if not isinstance(body["inputs_b64"], str):
            raise Problem(422, "'inputs_b64' must be a base64 string of a .npy file")
        try:
            raw = base64.b64decode(body["inputs_b64"], validate=True)
        except (binascii.Error, ValueError):
            raise Problem(422, "'inputs_b64' is not valid base64") from None
        return _npy(raw), idem
    return _lists(body["inputs"], max_batch), idem


def _npy(raw: bytes) -> np.ndarray:
    try:
        arr = np.load(io.BytesIO(raw), allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - numpy raises ValueError, EOFError, OSError... for bad files
        raise Problem(
            422, f"payload is not a readable .npy array (pickled objects are refused): {e}"
        ) from None
    if not isinstance(arr, np.ndarray):
        raise Problem(422, "payload must be a single .npy array, not an .npz archive")
    if arr.dtype.kind not in _NUMERIC_KINDS:
        raise Problem(
            422, f"dtype {arr.dtype} is not accepted: send float32 (or another real numeric type)"
        )
    return arr


def _lists(inputs, max_batch: int) -> np.ndarray:
    if not isinstance(inputs, list):
        raise Problem(422, "'inputs' must be a list with one element per sample")
    if len(inputs) > max_batch:  # refuse before building a huge array
        raise Problem(
            413, f"batch of {len(inputs)} inputs exceeds the limit of {max_batch} per request"
        )
    try:
        arr = np.array(inputs, dtype=np.float64)
    except (ValueError, TypeError):
        raise Problem(
            422, "'inputs' must be nested lists of numbers of one rectangular shape"
        ) from None
    return arr


def validate(arr: np.ndarray, spec: dict, max_batch: int) -> np.ndarray:
    """Check a batch against the model's input spec; return it as float32."""
    shape = tuple(spec["shape"])
    if arr.ndim != len(shape) + 1:
        raise Problem(
            422,
            f"expected a batch of shape (n, {', '.join(map(str, shape))}); got {tuple(arr.shape)}"
            + (" (wrap a single sample in a list)" if arr.shape == shape else ""),
            expected_shape=["n", *shape],
            got_shape=list(arr.shape),
        )
    if tuple(arr.shape[1:]) != shape:
        raise Problem(
            422,
            f"each input must have shape {list(shape)}; got {list(arr.shape[1:])}",
            expected_shape=["n", *shape],
            got_shape=list(arr.shape),
        )
    if arr.shape[0] == 0:
        raise Problem(422, "empty batch: send at least one input")
    if arr.shape[0] > max_batch:
        raise Problem(
            413, f"batch of {arr.shape[0]} inputs exceeds the limit of {max_batch} per request"
        )
    x = arr.astype(np.float32, copy=False)
    if not np.isfinite(x).all():  # after the cast, so float64 overflowing float32 is caught too
        raise Problem(422, "inputs contain NaN or infinity")
    lo, hi = spec.get("min"), spec.get("max")
    if lo is not None and hi is not None:
        xmin, xmax = float(x.min()), float(x.max())
        if xmin < lo or xmax > hi:
            raise Problem(
                422, f"inputs must lie in [{lo}, {hi}]; got values in [{xmin:g}, {xmax:g}]"
            )
    return x
