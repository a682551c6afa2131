import numpy as np
import pytest

from victim_service.tasks import PolicyError
from victim_service.tasks.classification import OutputPolicy

P = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.34, 0.33, 0.33]])


@pytest.mark.parametrize(
    "text,canonical",
    [
        ("probabilities", "probabilities"),
        ("round:2", "round:2"),
        ("topk:2", "topk:2"),
        ("top1", "top1"),
        ("topk:1", "top1"),
        ("label", "label"),
        ("noise:0.05", "noise:0.05"),
        ("round:2+top1", "top1+round:2"),
        ("top1+round:2", "top1+round:2"),
        (" topk:3 + noise:0.1 ", "topk:3+noise:0.1"),
    ],
)
def test_parse_canonical(text, canonical):
    assert str(OutputPolicy.parse(text)) == canonical
    assert OutputPolicy.parse(canonical) == OutputPolicy.parse(text)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "+",
        "probs",
        "topk:0",
        "topk:x",
        "round:-1",
        "round:9",
        "top1+label",
        "label+round:2",
        "label+noise:0.1",
        "round:1+round:2",
        "noise:-1",
        "noise:abc",
    ],
)
def test_parse_rejects(bad):
    with pytest.raises(PolicyError):
        OutputPolicy.parse(bad)


def test_apply_shapes():
    full = OutputPolicy.parse("probabilities").apply(P)
    assert (
        full["labels"] == [1, 0, 0]
        and np.allclose(full["probabilities"], P)
        and full["top"] is None
    )
    top2 = OutputPolicy.parse("topk:2").apply(P)
    assert top2["probabilities"] is None
    assert [[e["label"] for e in row] for row in top2["top"]] == [[1, 2], [0, 1], [0, 1]]
    lab = OutputPolicy.parse("label").apply(P)
    assert lab == {"labels": [1, 0, 0], "probabilities": None, "top": None}


def test_topk_larger_than_classes_is_clipped():
    out = OutputPolicy.parse("topk:10").apply(P)
    assert all(len(r) == 3 for r in out["top"])


def test_rounding_and_noise():
    r = OutputPolicy.parse("round:1").apply(P)
    assert r["probabilities"][2] == [0.3, 0.3, 0.3]
    rng = np.random.default_rng(0)
    n = OutputPolicy.parse("noise:0.2").apply(P, rng)
    q = np.array(n["probabilities"])
    assert n["labels"] == [1, 0, 0]  # the clean argmax, whatever the noise did
    assert np.allclose(q.sum(1), 1) and (q >= 0).all() and not np.allclose(q, P)


def test_top1_score_is_clean_argmax_under_noise():
    rng = np.random.default_rng(1)
    out = OutputPolicy.parse("top1+noise:0.5").apply(P, rng)
    assert [row[0]["label"] for row in out["top"]] == out["labels"] == [1, 0, 0]
