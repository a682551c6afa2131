"""Song & Mittal's threshold search, global and per class."""

from __future__ import annotations

import numpy as np
import pytest

from attacker_sdk import mi


def test_best_threshold_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(20):
        v_in = np.round(rng.normal(1, 1, rng.integers(1, 40)), 1)
        v_out = np.round(rng.normal(0, 1, rng.integers(1, 40)), 1)
        cand = np.concatenate([v_in, v_out])
        bal = [0.5 * ((v_in >= t).mean() + (v_out < t).mean()) for t in cand]
        thr, acc = mi.best_threshold(v_in, v_out)
        assert acc == pytest.approx(max(bal))
        assert 0.5 * ((v_in >= thr).mean() + (v_out < thr).mean()) == pytest.approx(acc)


def test_class_thresholds_fallback():
    v_in, v_out = np.array([3.0, 4.0, 5.0]), np.array([0.0, 1.0, 2.0])
    out = mi.class_thresholds(v_in, np.array([0, 0, 0]), v_out, np.array([0, 0, 1]), 3)
    assert out["thresholds"][0] == 3.0 and out["fallback"] == [1, 2]
    assert out["thresholds"][2] == out["global"] == 3.0
