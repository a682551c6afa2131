import numpy as np
import pytest

from victim_service.app.decoding import validate
from victim_service.app.problems import Problem

SPEC = {"shape": [2, 3], "dtype": "float32", "min": 0.0, "max": 1.0}


def status_of(arr):
    with pytest.raises(Problem) as e:
        validate(np.asarray(arr), SPEC, max_batch=4)
    return e.value.status


def test_accepts_batches_of_any_real_dtype():
    for dtype in (np.float32, np.float64, np.float16, np.uint8, np.int64, np.bool_):
        x = validate(np.zeros((3, 2, 3), dtype), SPEC, 4)
        assert x.dtype == np.float32 and x.shape == (3, 2, 3)


def test_refusals():
    assert status_of(np.zeros((2, 3))) == 422  # no batch dimension
    assert status_of(np.zeros((1, 3, 2))) == 422
    assert status_of(np.zeros((0, 2, 3))) == 422
    assert status_of(np.zeros((5, 2, 3))) == 413
    assert status_of(np.full((1, 2, 3), np.nan)) == 422
    assert status_of(np.full((1, 2, 3), 1.5)) == 422
    assert status_of(np.full((1, 2, 3), 1e300)) == 422  # overflows float32 to inf
