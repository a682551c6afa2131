"""MixMatch (attacker_sdk.ssl.mixmatch), the semi-supervised boosting of MExMI: pure
arrays in, a model out -- it never sees a client, so it cannot query anything."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

from attacker_sdk import models
from attacker_sdk.ssl.mixmatch import EMA, MixMatchConfig, mixmatch, recalibrate_bn, sharpen
from attacker_sdk.training import FitConfig, fit, predict_proba
from tests.conftest import digits_arrays


@pytest.fixture(scope="module", autouse=True)
def _threads():
    """One torch thread: two crawl when the machine's 2 cores are shared (OpenMP barriers)."""
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(prev)


def test_sharpen_lowers_entropy_and_keeps_the_argmax():
    p = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
    q = sharpen(p, 0.5)
    torch.testing.assert_close(q.sum(1), torch.ones(2))
    assert (q.argmax(1) == p.argmax(1)).all()
    torch.testing.assert_close(q[0], torch.tensor([25.0, 9.0, 4.0]) / 38.0)
    torch.testing.assert_close(sharpen(p, 1.0), p)


def test_ema_follows_the_student_slowly():
    torch.manual_seed(0)
    student = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    ema = EMA(student, 0.9)
    before = [p.clone() for p in ema.model.parameters()]
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
        student[1].running_mean.add_(1.0)
    ema.update(student)
    for b, e, s in zip(before, ema.model.parameters(), student.parameters()):
        torch.testing.assert_close(e, 0.9 * b + 0.1 * s)
    torch.testing.assert_close(ema.model[1].running_mean, torch.full((2,), 0.1))
    assert not any(p.requires_grad for p in ema.model.parameters())


def test_recalibrate_bn_estimates_clean_statistics():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.BatchNorm1d(3))
    x = np.random.default_rng(0).normal(2.0, 3.0, (500, 4)).astype(np.float32)
    recalibrate_bn(net, x, batch_size=100)
    with torch.no_grad():
        h = net[1](torch.as_tensor(x))
    torch.testing.assert_close(net[2].running_mean, h.mean(0), rtol=1e-4, atol=1e-4)
    assert not net.training and net[2].momentum == 0.1


def test_config_is_checked():
    with pytest.raises(ValueError):
        MixMatchConfig(T=0.0)
    with pytest.raises(ValueError):
        MixMatchConfig(release="teacher")
    c = MixMatchConfig()
    assert (c.K, c.T, c.alpha, c.lambda_u, c.ema_decay) == (2, 0.5, 0.75, 75.0, 0.999)


@pytest.fixture(scope="module")
def digits_copy():
    """A victim on 700 digits, a copy on 150 of its answers, 500 unlabelled digits."""
    x, y = digits_arrays()
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(x))
    torch.manual_seed(0)
    victim = models.build("cnn", (1, 8, 8), 10)
    fit(victim, x[perm[:700]], y[perm[:700]], FitConfig(epochs=20, batch_size=64))
    lab, unl, test = perm[700:850], perm[850:1350], perm[1350:]
    soft = predict_proba(victim, x[lab])
    torch.manual_seed(1)
    copy_model = models.build("cnn", (1, 8, 8), 10)
    fit(copy_model, x[lab], soft, FitConfig(epochs=30, batch_size=32))
    v_test = predict_proba(victim, x[test]).argmax(1)

    def fid(m):
        return float((predict_proba(m, x[test]).argmax(1) == v_test).mean())

    return {"x_l": x[lab], "t_l": soft, "x_u": x[unl], "copy": copy_model, "fid": fid}


def test_mixmatch_runs_on_arrays_and_does_not_hurt_the_copy(digits_copy):
    d = digits_copy
    base = d["fid"](d["copy"])
    student = copy.deepcopy(d["copy"])
    x_l_before, x_u_before = d["x_l"].copy(), d["x_u"].copy()
    out, history = mixmatch(
        student, d["x_l"], d["t_l"], d["x_u"], MixMatchConfig(epochs=3, flip=False, ema_decay=0.99)
    )
    assert len(history) == 3 and all(
        h["steps"] == 3 * 3 for h in history
    )  # 3 x ceil(150 / 64) labelled batches
    assert all(np.isfinite(h["loss"]) for h in history)
    np.testing.assert_array_equal(d["x_l"], x_l_before)  # inputs untouched
    np.testing.assert_array_equal(d["x_u"], x_u_before)
    assert out is not student and not out.training
    boosted = d["fid"](out)
    print(f"\n[mixmatch] copy fidelity {base:.4f} -> boosted {boosted:.4f}")
    assert boosted >= base - 0.03


def test_labelled_weights_scale_the_supervised_loss(digits_copy):
    d = digits_copy
    cfg = MixMatchConfig(epochs=1, flip=False, lambda_u=0.0, seed=3)
    _, h1 = mixmatch(
        copy.deepcopy(d["copy"]), d["x_l"], d["t_l"], d["x_u"], cfg, weights=np.ones(len(d["x_l"]))
    )
    _, h5 = mixmatch(
        copy.deepcopy(d["copy"]),
        d["x_l"],
        d["t_l"],
        d["x_u"],
        cfg,
        weights=np.full(len(d["x_l"]), 5.0),
    )
    # same draws: the first step's Lx is exactly 5x; later steps diverge with the weights
    assert h5[0]["lx"] > 2.0 * h1[0]["lx"]


def test_too_little_data_is_refused(digits_copy):
    d = digits_copy
    with pytest.raises(ValueError):
        mixmatch(copy.deepcopy(d["copy"]), d["x_l"][:1], d["t_l"][:1], d["x_u"])
    with pytest.raises(ValueError):
        mixmatch(copy.deepcopy(d["copy"]), d["x_l"], d["t_l"], d["x_u"][:0])
