"""BudgetPolicy: validation, prices, caps, cost and its JSON form."""

import copy
import json
import pickle

import pytest

from budgets.policy import MAX_UNITS, BudgetPolicy, check_model_id


def test_defaults_and_cost():
    p = BudgetPolicy(100)
    assert p.per_model == {} and p.prices == {}
    assert p.price("any") == 1
    assert p.cap("any") is None
    assert p.cost("any", 7) == 7
    assert p.cost("any", 0) == 0


def test_prices_and_caps():
    p = BudgetPolicy(100, per_model={"cnn": 30}, prices={"cnn": 3, "free": 0})
    assert p.cost("cnn", 4) == 12
    assert p.cost("free", 50) == 0
    assert p.cost("other", 5) == 5
    assert p.cap("cnn") == 30 and p.cap("other") is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"budget": -1},
        {"budget": 1.5},
        {"budget": True},
        {"budget": "10"},
        {"budget": MAX_UNITS + 1},
        {"budget": 10, "per_model": {"m": -1}},
        {"budget": 10, "per_model": {"m": 2.0}},
        {"budget": 10, "per_model": {"": 2}},
        {"budget": 10, "per_model": ["m"]},
        {"budget": 10, "prices": {"m": -3}},
        {"budget": 10, "prices": {'bad"id': 1}},
        {"budget": 10, "prices": {"back\\slash": 1}},
        {"budget": 10, "prices": {"new\nline": 1}},
        {"budget": 10, "prices": {3: 1}},
    ],
)
def test_validation(kwargs):
    with pytest.raises(ValueError):
        BudgetPolicy(**kwargs)


def test_cost_validation():
    p = BudgetPolicy(10)
    for bad in (-1, 1.0, True, None):
        with pytest.raises(ValueError):
            p.cost("m", bad)
    with pytest.raises(ValueError):
        p.cost('a"b', 1)


def test_model_ids_allowed():
    for ok in ("cnn", "digits-mlp.v2", "org/model:1", "a b", "x" * 200):
        assert check_model_id(ok) == ok
    with pytest.raises(ValueError):
        check_model_id("x" * 201)


def test_frozen_and_immutable_maps():
    caps = {"m": 5}
    p = BudgetPolicy(10, per_model=caps)
    caps["m"] = 999  # the policy copied the map
    assert p.cap("m") == 5
    with pytest.raises(TypeError):
        p.per_model["m"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        p.budget = 3  # type: ignore[misc]


def test_dict_json_roundtrip_equality_hash_pickle():
    p = BudgetPolicy(50, per_model={"b": 2, "a": 1}, prices={"a": 4})
    d = p.to_dict()
    assert d == {"budget": 50, "per_model": {"a": 1, "b": 2}, "prices": {"a": 4}}
    assert json.loads(json.dumps(d)) == d
    assert BudgetPolicy.from_dict(d) == p
    assert BudgetPolicy.from_json(p.to_json()) == p
    assert p.to_json() == BudgetPolicy(50, per_model={"a": 1, "b": 2}, prices={"a": 4}).to_json()
    assert hash(p) == hash(BudgetPolicy.from_dict(d))
    assert pickle.loads(pickle.dumps(p)) == p
    assert copy.deepcopy(p) == p
    assert BudgetPolicy.from_dict({"budget": 3}) == BudgetPolicy(3)
    assert BudgetPolicy.from_dict({"budget": 3, "per_model": None}) == BudgetPolicy(3)


@pytest.mark.parametrize("bad", [{}, {"budget": 1, "prize": {}}, [("budget", 1)], {"budget": -2}])
def test_from_dict_refuses(bad):
    with pytest.raises(ValueError):
        BudgetPolicy.from_dict(bad)
