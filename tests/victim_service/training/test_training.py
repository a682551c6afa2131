"""Training recipes and the artifact store on tiny data (seconds)."""

import numpy as np
import pytest
import torch

from tests.conftest import digits_arrays
from victim_service import architectures
from victim_service.store import ArtifactStore
from victim_service.training import DPConfig, Recipe, train_victim
from victim_service.training.augment import augment

X, Y = digits_arrays()
NAMES = [str(i) for i in range(10)]


@pytest.mark.parametrize(
    "name,shape",
    [
        ("small_cnn", (3, 32, 32)),
        ("small_cnn", (1, 8, 8)),
        ("resnet18", (3, 32, 32)),
        ("mlp", (600,)),
        ("mico_mlp", (600,)),
        ("logreg", (200,)),
    ],
)
def test_architectures_build_for_any_input(name, shape):
    model = architectures.build({"name": name}, shape, 7)
    assert model(torch.zeros(2, *shape)).shape == (2, 7)


def test_small_cnn_size_and_mico_shape():
    n = sum(
        p.numel() for p in architectures.build({"name": "small_cnn"}, (3, 32, 32), 10).parameters()
    )
    assert 0.5e6 < n < 0.8e6
    mico = architectures.build({"name": "mico_mlp"}, (600,), 100)
    assert [type(m).__name__ for m in mico] == ["Flatten", "Linear", "Tanh", "Linear"]
    assert mico[1].weight.shape == (128, 600)


def test_unknown_architecture_and_recipe_fields():
    with pytest.raises(ValueError):
        architectures.normalise_spec("vgg99")
    with pytest.raises(ValueError):
        Recipe.from_dict({"epochz": 3})
    with pytest.raises(ValueError):
        Recipe(optimizer="lbfgs")


def test_augment_keeps_shape_and_changes_pixels():
    x = torch.rand(16, 3, 32, 32)
    out = augment(x, "crop_flip", torch.Generator().manual_seed(0))
    assert out.shape == x.shape and not torch.equal(out, x)
    assert augment(torch.rand(4, 20), "crop_flip") is not None


def test_train_victim_writes_a_loadable_entry(tmp_path):
    store = ArtifactStore(tmp_path)
    tv = train_victim(
        "d",
        "small_cnn",
        (X[:600], Y[:600]),
        (X[600:900], Y[600:900]),
        NAMES,
        Recipe(epochs=3, batch_size=64, seed=1),
        store=store,
        data_hash="abc",
        progress=False,
    )
    card = store.card("d")
    assert card.train_size == 600 and card.data_hash == "abc" and card.seed == 1
    assert card.test_accuracy > 0.5 and card.recipe["epochs"] == 3
    p = store.load("d").predict_proba(X[900:910])
    assert p.shape == (10, 10) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert np.array_equal(tv.result.member_indices, np.arange(600))


def test_early_stopping_holds_out_non_members():
    tv = train_victim(
        "e",
        "mlp",
        (X[:500].reshape(500, -1), Y[:500]),
        (X[500:600].reshape(100, -1), Y[500:600]),
        NAMES,
        Recipe(epochs=50, early_stopping=2, val_fraction=0.2),
        progress=False,
    )
    assert len(tv.result.member_indices) == 400 and tv.card.train_size == 400
    assert tv.result.epochs_run <= 50


def test_dp_training_reports_epsilon(tmp_path):
    store = ArtifactStore(tmp_path)
    tv = train_victim(
        "dp",
        "small_cnn",
        (X[:512], Y[:512]),
        (X[512:700], Y[512:700]),
        NAMES,
        Recipe(epochs=2, batch_size=64, dp=DPConfig(epsilon=4.0)),
        store=store,
        progress=False,
    )
    assert tv.card.dp["epsilon"] <= 4.2 and tv.card.dp["noise_multiplier"] > 0
    assert tv.card.architecture["params"]["norm"] == "group"
    assert store.load("dp").predict_proba(X[:3]).shape == (3, 10)


def test_xgboost_binary_and_multiclass(tmp_path):
    store = ArtifactStore(tmp_path)
    xf = X.reshape(len(X), -1)
    train_victim(
        "x10",
        "xgboost",
        (xf[:500], Y[:500]),
        (xf[500:700], Y[500:700]),
        NAMES,
        Recipe(xgb={"n_estimators": 10}),
        store=store,
        progress=False,
    )
    yb = (Y < 5).astype(np.int64)
    train_victim(
        "x2",
        "xgboost",
        (xf[:500], yb[:500]),
        (xf[500:700], yb[500:700]),
        ["lo", "hi"],
        Recipe(xgb={"n_estimators": 10}),
        store=store,
        progress=False,
    )
    assert store.load("x10").predict_proba(xf[:4]).shape == (4, 10)
    p2 = store.load("x2").predict_proba(xf[:4])
    assert p2.shape == (4, 2) and np.allclose(p2.sum(1), 1)
    assert store.ids() == ["x10", "x2"]


def test_same_seed_same_weights():
    # Scenarios reuse a cached victim only by its spec; retraining must give the same model.
    def weights():
        tv = train_victim(
            "s",
            "small_cnn",
            (X[:300], Y[:300]),
            (X[300:400], Y[300:400]),
            NAMES,
            Recipe(epochs=2, batch_size=64, seed=3, augment="crop_flip"),
            progress=False,
        )
        return [p.detach().clone() for p in tv.result.model.parameters()]

    assert all(torch.equal(a, b) for a, b in zip(weights(), weights()))
