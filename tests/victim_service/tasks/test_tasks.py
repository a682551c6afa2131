"""The task seam: the registry, the recipe's task, and key policies checked per task."""

import pytest

from victim_service import tasks
from victim_service.accounts import canonical_policy
from victim_service.tasks.classification import OutputPolicy
from victim_service.training import Recipe


class EchoPolicy(str):
    def describe(self) -> dict:
        return {"policy": str(self)}


class Echo(tasks.Task):
    """A stand-in second task that accepts only the policy ``echo``."""

    name = "echo"

    def load(self, card, folder):
        raise NotImplementedError

    def parse_policy(self, text):
        if text != "echo":
            raise tasks.PolicyError(f"echo takes only 'echo', not {text!r}")
        return EchoPolicy(text)

    def infer(self, predictor, x, policy):
        return x

    def encode(self, output, policy, rng):
        return {"echo": output.tolist()}


def test_registry():
    assert tasks.names() == ["classification"] and tasks.DEFAULT == "classification"
    assert isinstance(tasks.get("classification").parse_policy("top1"), OutputPolicy)
    with pytest.raises(ValueError, match="unknown task"):
        tasks.get("translation")


def test_recipe_task_is_a_registered_one():
    assert Recipe().task == Recipe.from_dict({}).to_dict()["task"] == "classification"
    with pytest.raises(ValueError, match="task must be one of"):
        Recipe(task="translation")


def test_key_policy_is_checked_against_every_task_in_scope(monkeypatch):
    assert canonical_policy("round:2+top1", {"classification"}) == "top1+round:2"
    assert canonical_policy("label", set()) == "label"  # no model in scope: the default task
    with pytest.raises(tasks.PolicyError, match="unknown policy part"):
        canonical_policy("echo", {"classification"})
    monkeypatch.setitem(tasks.TASKS, "echo", Echo())
    assert canonical_policy("echo", {"echo"}) == "echo"
    with pytest.raises(tasks.PolicyError, match="^echo models: "):
        canonical_policy("top1", {"classification", "echo"})
