"""attacker_sdk.metrics: hand-computed examples, sklearn/scipy cross-checks, validation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import scipy.stats
import sklearn.metrics as skm

from attacker_sdk import metrics as M

# --- a hand example without ties -------------------------------------------------------
# sorted by score: 0.9 M, 0.8 M, 0.7 N, 0.6 M, 0.5 N, 0.4 N   (P = N = 3)
HAND_Y = [1, 1, 0, 1, 0, 0]
HAND_S = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
HAND_FPR = [0, 0, 0, 1 / 3, 1 / 3, 2 / 3, 1]
HAND_TPR = [0, 1 / 3, 2 / 3, 2 / 3, 1, 1, 1]

# --- a hand example with ties: group 0.8 = {M, N}, then 0.5 = {M}, then 0.2 = {N} -------
TIE_Y = [1, 0, 1, 0]
TIE_S = [0.8, 0.8, 0.5, 0.2]


def _random_case(seed: int, n: int, ties: bool):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < rng.uniform(0.2, 0.8)
    y[0], y[1] = True, False  # both classes present
    s = rng.normal(size=n) + 0.7 * y
    if ties:
        s = np.round(s, 1)
    return y, s


# ---------------------------------------------------------------------------------------
# extraction
# ---------------------------------------------------------------------------------------


def test_fidelity_labels_and_probability_matrices():
    assert M.fidelity([0, 1, 2, 2], [0, 1, 1, 2]) == 0.75
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])  # argmax 0,1,0,1
    assert M.fidelity(probs, [0, 1, 1, 1]) == 0.75
    assert M.fidelity([0, 1, 1, 1], probs) == 0.75
    assert M.fidelity(probs, probs[:, ::-1]) == 0.0
    assert M.fidelity(["cat", "dog"], np.array(["cat", "cat"])) == 0.5
    assert isinstance(M.fidelity([1], [1]), float)


def test_accuracy_same_acceptance():
    y = np.array([0, 1, 2])
    logits = np.array([[3.0, 0.0, 0.0], [0.0, 0.0, 5.0], [0.0, -1.0, 2.0]])  # 0, 2, 2
    assert M.accuracy(logits, y) == pytest.approx(2 / 3)
    assert M.accuracy(y, y) == 1.0


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ([0, 1], [0, 1, 1], "differ in length"),
        ([], [], "empty"),
        (np.zeros((3, 1)), [0, 0, 0], "K >= 2"),
        (np.zeros((2, 2, 2)), [0, 0], "1-D label vector or an"),
        ([0.0, np.nan], [0, 1], "NaN"),
        ([[0.5, np.nan], [0.2, 0.8]], [0, 1], "NaN"),
        (["a", "b"], [0, 1], "not comparable"),
        (np.zeros((0, 3)), [], "empty"),
    ],
)
def test_fidelity_validation(a, b, match):
    with pytest.raises(ValueError, match=match):
        M.fidelity(a, b)


def test_agreement_curve():
    c = M.agreement_curve([100, 1000, 10000], [0.5, 0.9, 0.9])
    assert c == {
        "queries": [100, 1000, 10000],
        "fidelity": [0.5, 0.9, 0.9],
        "n_points": 3,
        "final_queries": 10000,
        "final_fidelity": 0.9,
        "best_fidelity": 0.9,
        "queries_at_best": 1000,
    }
    json.dumps(c, allow_nan=False)
    c = M.agreement_curve(np.array([0.0, 50.0]), np.array([0.1, 0.2]))
    assert c["queries"] == [0, 50] and all(isinstance(q, int) for q in c["queries"])


@pytest.mark.parametrize(
    ("q", "f", "match"),
    [
        ([1, 2], [0.5], "differ in length"),
        ([], [], "empty"),
        ([2, 1], [0.1, 0.2], "strictly increasing"),
        ([1, 1], [0.1, 0.2], "strictly increasing"),
        ([-1, 2], [0.1, 0.2], "non-negative"),
        ([1.5, 2], [0.1, 0.2], "whole numbers"),
        ([1, 2], [0.1, 1.2], r"\[0, 1\]"),
        ([1, 2], [0.1, float("nan")], "finite"),
    ],
)
def test_agreement_curve_validation(q, f, match):
    with pytest.raises(ValueError, match=match):
        M.agreement_curve(q, f)


# ---------------------------------------------------------------------------------------
# ROC / AUC
# ---------------------------------------------------------------------------------------


def test_roc_hand_example():
    fpr, tpr, thr = M.roc_curve(HAND_Y, HAND_S)
    np.testing.assert_allclose(fpr, HAND_FPR)
    np.testing.assert_allclose(tpr, HAND_TPR)
    assert thr[0] == np.inf
    np.testing.assert_allclose(thr[1:], HAND_S)
    assert M.auc(HAND_Y, HAND_S) == pytest.approx(8 / 9)
    assert M.auc_from_curve(fpr, tpr) == pytest.approx(8 / 9)


def test_roc_groups_ties():
    fpr, tpr, thr = M.roc_curve(TIE_Y, TIE_S)
    np.testing.assert_allclose(fpr, [0, 0.5, 0.5, 1])
    np.testing.assert_allclose(tpr, [0, 0.5, 1, 1])
    np.testing.assert_allclose(thr, [np.inf, 0.8, 0.5, 0.2])
    # pairs: (0.8 vs 0.8) = 1/2, (0.8 vs 0.2) = 1, (0.5 vs 0.8) = 0, (0.5 vs 0.2) = 1
    assert M.auc(TIE_Y, TIE_S) == 2.5 / 4


def test_roc_shape_invariants():
    y, s = _random_case(3, 300, ties=True)
    fpr, tpr, thr = M.roc_curve(y, s)
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert thr[0] == np.inf and np.all(np.diff(thr) < 0)
    assert len(thr) == len(np.unique(s)) + 1
    assert thr[-1] == s.min()


def test_perfect_inverted_random_scores():
    y = np.r_[np.ones(50, bool), np.zeros(50, bool)]
    s = np.r_[np.linspace(2, 3, 50), np.linspace(0, 1, 50)]
    assert M.auc(y, s) == 1.0
    assert M.auc(y, -s) == 0.0
    assert M.mi_advantage(y, s) == 1.0 and M.mi_advantage(y, -s) == 0.0
    assert M.best_balanced_accuracy(y, s) == 1.0 and M.best_balanced_accuracy(y, -s) == 0.5
    assert M.tpr_at_fpr(y, s, 0.001) == 1.0
    assert M.tpr_at_fpr(y, -s, 0.1) == 0.0
    # constant scores: one diagonal step, AUC exactly 1/2
    assert M.auc(y, np.zeros(100)) == 0.5
    rng = np.random.default_rng(0)
    yr = rng.random(4000) < 0.5
    assert abs(M.auc(yr, rng.normal(size=4000)) - 0.5) < 0.04


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("ties", [False, True])
def test_roc_and_auc_match_sklearn(seed, ties):
    y, s = _random_case(seed, 40 + 97 * seed, ties)
    fpr, tpr, thr = M.roc_curve(y, s)
    sk_fpr, sk_tpr, sk_thr = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, sk_fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tpr, sk_tpr, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(thr, sk_thr)
    # and with scikit-learn's default (what MICO's scorer calls)
    fpr_d, tpr_d, thr_d = M.roc_curve(y, s, drop_intermediate=True)
    sk_fpr, sk_tpr, sk_thr = skm.roc_curve(y, s)
    np.testing.assert_allclose(fpr_d, sk_fpr, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tpr_d, sk_tpr, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(thr_d, sk_thr)
    assert M.auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12)
    assert M.auc_from_curve(fpr_d, tpr_d) == pytest.approx(M.auc(y, s), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_auc_equals_mann_whitney_with_half_ties(seed):
    y, s = _random_case(seed + 10, 120, ties=True)
    pos, neg = s[y], s[~y]
    diff = pos[:, None] - neg[None, :]
    u = np.sum(diff > 0) + 0.5 * np.sum(diff == 0)
    assert np.sum(diff == 0) > 0  # the case really has cross-class ties
    assert M.auc(y, s) == pytest.approx(u / (pos.size * neg.size), abs=1e-12)
    u_scipy = scipy.stats.mannwhitneyu(pos, neg, alternative="two-sided").statistic
    assert M.auc(y, s) == pytest.approx(u_scipy / (pos.size * neg.size), abs=1e-12)


# ---------------------------------------------------------------------------------------
# TPR at FPR (MICO semantics), advantage, balanced accuracy
# ---------------------------------------------------------------------------------------


def test_tpr_at_fpr_strict_inequality_hand_example():
    # ROC points (fpr, tpr): (0,0) (0,1/3) (0,2/3) (1/3,2/3) (1/3,1) (2/3,1) (1,1)
    assert M.tpr_at_fpr(HAND_Y, HAND_S, 1 / 3) == pytest.approx(2 / 3)  # fpr == 1/3 excluded
    assert M.tpr_at_fpr(HAND_Y, HAND_S, 0.34) == 1.0
    assert M.tpr_at_fpr(HAND_Y, HAND_S, 0.1) == pytest.approx(2 / 3)
    assert M.tpr_at_fpr(HAND_Y, HAND_S, 1.0) == 1.0
    # ties: ROC (0,0) (1/2,1/2) (1/2,1) (1,1)
    assert M.tpr_at_fpr(TIE_Y, TIE_S, 0.5) == 0.0
    assert M.tpr_at_fpr(TIE_Y, TIE_S, 0.51) == 1.0


def test_tpr_at_fprs_vectorised_matches_scalar_and_dict_order():
    y, s = _random_case(5, 500, ties=True)
    targets = (0.1, 0.001, 0.01, 0.5)
    out = M.tpr_at_fprs(y, s, targets)
    assert list(out) == list(targets)
    for t in targets:
        fpr, tpr, _ = M.roc_curve(y, s)
        assert out[t] == max(tpr[fpr < t]) == M.tpr_at_fpr(y, s, t)
    assert list(M.tpr_at_fprs(y, s)) == [0.001, 0.01, 0.1]


@pytest.mark.parametrize("seed", range(5))
def test_tpr_at_fpr_reproduces_mico_scorer(seed):
    """MICO: fpr, tpr, _ = sklearn.metrics.roc_curve(y, s); max(tpr[fpr < t])."""
    for ties in (False, True):
        y, s = _random_case(seed + 20, 2000, ties)
        sk_fpr, sk_tpr, _ = skm.roc_curve(y, s)
        for t in (0.001, 0.01, 0.05, 0.1, 0.15, 0.2):
            mico = float(max(sk_tpr[sk_fpr < t]))
            assert M.tpr_at_fpr(y, s, t, drop_intermediate=True) == mico
            if not ties:  # without ties dropping collinear points never changes the value
                assert M.tpr_at_fpr(y, s, t) == mico


def test_drop_intermediate_only_matters_on_identical_tie_groups():
    # three tie groups, each one member + one non-member: a straight diagonal
    y = [1, 0, 1, 0, 1, 0]
    s = [3, 3, 2, 2, 1, 1]
    fpr, tpr, _ = M.roc_curve(y, s)
    np.testing.assert_allclose(fpr, [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_allclose(tpr, fpr)
    fpr_d, tpr_d, _ = M.roc_curve(y, s, drop_intermediate=True)
    np.testing.assert_allclose(fpr_d, [0, 1 / 3, 1])
    np.testing.assert_allclose(tpr_d, fpr_d)
    assert M.auc(y, s) == 0.5
    assert M.tpr_at_fpr(y, s, 0.7) == pytest.approx(2 / 3)
    assert M.tpr_at_fpr(y, s, 0.7, drop_intermediate=True) == pytest.approx(1 / 3)
    sk_fpr, sk_tpr, _ = skm.roc_curve(y, s)
    assert max(sk_tpr[sk_fpr < 0.7]) == pytest.approx(1 / 3)


def test_advantage_and_balanced_accuracy_hand_example():
    assert M.mi_advantage(HAND_Y, HAND_S) == pytest.approx(2 / 3)
    assert M.best_balanced_accuracy(HAND_Y, HAND_S) == pytest.approx(5 / 6)
    y, s = _random_case(7, 300, ties=True)
    fpr, tpr, _ = skm.roc_curve(y, s)
    assert M.mi_advantage(y, s) == pytest.approx(np.max(tpr - fpr))
    assert M.best_balanced_accuracy(y, s) == pytest.approx(np.max(1 - (fpr + (1 - tpr)) / 2))
    assert M.best_balanced_accuracy(y, s) == pytest.approx((1 + M.mi_advantage(y, s)) / 2)


def test_tpr_at_fpr_from_curve():
    assert M.tpr_at_fpr_from_curve(HAND_FPR, HAND_TPR, 1 / 3) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no ROC point"):
        M.tpr_at_fpr_from_curve([0.5, 1.0], [0.5, 1.0], 0.1)
    with pytest.raises(ValueError, match="non-decreasing"):
        M.auc_from_curve([0.0, 1.0, 0.5], [0.0, 1.0, 1.0])


# ---------------------------------------------------------------------------------------
# validation of the membership functions
# ---------------------------------------------------------------------------------------

BAD_MEMBERSHIP_CASES = [
    ([], [], "empty"),
    ([1, 0], [0.1, 0.2, 0.3], "differ in length"),
    ([1, 0, 1], [0.1, np.nan, 0.3], "finite"),
    ([1, 0, 1], [0.1, np.inf, 0.3], "finite"),
    ([1, 0, 2], [0.1, 0.2, 0.3], "binary"),
    ([1, 0, 0.5], [0.1, 0.2, 0.3], "binary"),
    (["yes", "no"], [0.1, 0.2], "booleans or 0/1"),
    ([1, 0], ["a", "b"], "real numbers"),
    ([1, 0], [[0.1, 0.2], [0.3, 0.4]], "1-D"),
    ([[1, 0]], [0.1, 0.2], "1-D"),
    ([1, 1, 1], [0.1, 0.2, 0.3], "both members and non-members"),
    ([0, 0], [0.1, 0.2], "both members and non-members"),
]


@pytest.mark.parametrize(("y", "s", "match"), BAD_MEMBERSHIP_CASES)
@pytest.mark.parametrize(
    "fn",
    [
        M.roc_curve,
        M.auc,
        M.mi_advantage,
        M.best_balanced_accuracy,
        M.membership_report,
        M.tpr_at_fprs,
        lambda y, s: M.tpr_at_fpr(y, s, 0.1),
    ],
)
def test_membership_validation(fn, y, s, match):
    with pytest.raises(ValueError, match=match):
        fn(y, s)


@pytest.mark.parametrize("t", [0.0, -0.1, 1.5, float("nan"), "x"])
def test_fpr_target_validation(t):
    with pytest.raises(ValueError, match="fpr target"):
        M.tpr_at_fpr(HAND_Y, HAND_S, t)
    with pytest.raises(ValueError, match="fpr target"):
        M.tpr_at_fprs(HAND_Y, HAND_S, (0.1, t))


def test_booleans_and_float_labels_accepted():
    y_bool = np.array(HAND_Y, dtype=bool)
    y_float = np.array(HAND_Y, dtype=float)
    assert M.auc(y_bool, HAND_S) == M.auc(y_float, HAND_S) == M.auc(HAND_Y, HAND_S)
    assert M.auc(HAND_Y, np.array([5, 4, 3, 2, 1, 0])) == pytest.approx(8 / 9)  # int scores


# ---------------------------------------------------------------------------------------
# hard decisions and the report
# ---------------------------------------------------------------------------------------


def test_threshold_metrics_hand_example_and_sklearn():
    y = [1, 1, 1, 0, 0]
    p = [1, 0, 1, 1, 0]  # tp=2 fn=1 fp=1 tn=1
    m = M.threshold_metrics(y, p)
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (2, 1, 1, 1)
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == m["tpr"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["fpr"] == pytest.approx(1 / 2)
    prec, rec, f1, _ = skm.precision_recall_fscore_support(y, p, average="binary")
    assert (m["precision"], m["recall"], m["f1"]) == pytest.approx((prec, rec, f1))
    assert set(m) == {"accuracy", "precision", "recall", "f1", "tpr", "fpr", "tp", "fp", "tn", "fn"}


def test_threshold_metrics_degenerate_conventions():
    nothing = M.threshold_metrics([1, 0, 1], [0, 0, 0])
    assert nothing["precision"] == 0.0 and nothing["f1"] == 0.0 and nothing["recall"] == 0.0
    assert nothing["accuracy"] == pytest.approx(1 / 3)
    no_members = M.threshold_metrics([0, 0], [1, 0])
    assert no_members["recall"] == 0.0 and no_members["fpr"] == 0.5
    no_non_members = M.threshold_metrics([True, True], [True, False])
    assert no_non_members["fpr"] == 0.0 and no_non_members["precision"] == 1.0
    with pytest.raises(ValueError, match="predicted_member"):
        M.threshold_metrics([1, 0], [1, 2])
    with pytest.raises(ValueError, match="differ in length"):
        M.threshold_metrics([1, 0], [1])


def test_membership_report_bundle_and_json():
    y, s = _random_case(11, 400, ties=True)
    r = M.membership_report(y, s)
    assert r["n_members"] == int(y.sum()) and r["n_non_members"] == int((~y).sum())
    assert r["auc"] == pytest.approx(M.auc(y, s))
    assert r["advantage"] == pytest.approx(M.mi_advantage(y, s))
    assert r["balanced_accuracy"] == pytest.approx(M.best_balanced_accuracy(y, s))
    assert r["tpr_at_fpr"] == {str(t): v for t, v in M.tpr_at_fprs(y, s).items()}
    assert list(r["tpr_at_fpr"]) == ["0.001", "0.01", "0.1"]
    assert r["threshold_metrics"] is None
    pred = s > np.median(s)
    r2 = M.membership_report(y, s, pred)
    assert r2["threshold_metrics"] == M.threshold_metrics(y, pred)
    for rep in (r, r2):
        text = json.dumps(rep, allow_nan=False)
        assert json.loads(text) == rep
    assert type(r["auc"]) is float and type(r["n_members"]) is int
    assert all(type(v) is float for v in r["tpr_at_fpr"].values())
    with pytest.raises(ValueError, match="differ in length"):
        M.membership_report(y, s, pred[:-1])
    r3 = M.membership_report(y, s, fpr_targets=(0.05,))
    assert list(r3["tpr_at_fpr"]) == ["0.05"]


def test_score_normalise_minmax():
    np.testing.assert_allclose(M.score_normalise_minmax([2, 4, 6]), [0, 0.5, 1])
    np.testing.assert_array_equal(M.score_normalise_minmax([3.0, 3.0]), [0.5, 0.5])
    out = M.score_normalise_minmax(np.array([[1.0, -1.0], [0.0, 3.0]]))
    assert out.shape == (2, 2) and out.min() == 0.0 and out.max() == 1.0
    np.testing.assert_allclose(M.score_normalise_minmax([-1e308, 0.0, 1e308]), [0, 0.5, 1])
    y, s = _random_case(2, 200, ties=True)
    assert M.auc(y, M.score_normalise_minmax(s)) == pytest.approx(M.auc(y, s))
    for bad, match in (([], "empty"), ([1.0, math.nan], "finite"), (["a"], "real numbers")):
        with pytest.raises(ValueError, match=match):
            M.score_normalise_minmax(bad)
