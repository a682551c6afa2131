"""Scenario files are checked before anything is trained."""

import textwrap

import pytest

from scenarios.spec import ScenarioError, load

VICTIM = """
victims:
  - id: v
    dataset: {name: digits}
    split: {train: 300, test: 200}
    architecture: small_cnn
    recipe: {epochs: 2}
"""


def write(tmp_path, text):
    p = tmp_path / "s.yaml"
    p.write_text(textwrap.dedent(text))
    return p


def test_minimal_scenario_parses(tmp_path):
    spec = load(
        write(
            tmp_path,
            VICTIM
            + """
attacks:
  - {name: r, attack: random, victim: v, budget: 100, pool: [{part: spare}], seeds: [0, 1],
     params: {checkpoints: [50], fit: {epochs: 3}}}
""",
        )
    )
    assert (
        spec.name == "s"
        and spec.attacks[0].kind == "extraction"
        and spec.attacks[0].seeds == [0, 1]
    )
    assert spec.victim("v").split.train == 300


def test_grid_expands_rows_by_columns(tmp_path):
    spec = load(
        write(
            tmp_path,
            VICTIM
            + """
grids:
  - table: t
    base: {attack: random, victim: v, budget: 100, pool: [{part: spare}]}
    rows: {a: {params: {seed: 1}}, b: {params: {seed: 2}}}
    columns: {x: {budget: 50}, y: {budget: 60}}
""",
        )
    )
    assert [(a.row, a.column, a.budget, a.params["seed"]) for a in spec.attacks] == [
        ("a", "x", 50, 1),
        ("a", "y", 60, 1),
        ("b", "x", 50, 2),
        ("b", "y", 60, 2),
    ]
    assert spec.grids[0].rows == ["a", "b"] and spec.grids[0].metric == "fidelity"


def test_presets_expand(tmp_path):
    spec = load(write(tmp_path, "victims: [{preset: default, only: [digits-cnn]}]\n"))
    assert [v.id for v in spec.victims] == ["digits-cnn"]


@pytest.mark.parametrize(
    "body,needle",
    [
        (
            "attacks: [{name: r, attack: nope, victim: v, budget: 1, pool: [{part: spare}]}]",
            "unknown attack",
        ),
        (
            "attacks: [{name: r, attack: random, victim: ghost, budget: 1, pool: [{part: spare}]}]",
            "no victim",
        ),
        ("attacks: [{name: r, attack: random, victim: v, budget: 1}]", "needs a 'pool'"),
        (
            (
                "attacks: [{name: r, attack: random, victim: v, budget: 1, "
                "pool: [{part: everything}]}]"
            ),
            "part",
        ),
        (
            (
                "attacks: [{name: r, attack: random, victim: v, budget: 1, "
                "pool: [{part: spare}], params: {bogus: 1}}]"
            ),
            "bogus",
        ),
        (
            "attacks: [{name: r, attack: random, victim: v, pool: [{part: spare}]}]",
            "'budget' is required",
        ),
        (
            (
                "attacks: [{name: r, attack: random, victim: v, budget: 1, pool: [{part: spare}]},"
                " {name: r, attack: random, victim: v, budget: 1, pool: [{part: spare}]}]"
            ),
            "unique",
        ),
        (
            (
                "attacks: [{name: r, attack: random, victim: v, budget: 1, "
                "pool: [{part: members, reference: true}]}]"
            ),
            "reference",
        ),
        ("surprise: 1", "unknown sections"),
    ],
)
def test_bad_files_say_why(tmp_path, body, needle):
    with pytest.raises(ScenarioError, match=needle):
        load(write(tmp_path, VICTIM + body + "\n"))


def test_bad_recipe_is_caught_early(tmp_path):
    with pytest.raises(ValueError, match="recipe"):
        load(write(tmp_path, VICTIM.replace("{epochs: 2}", "{epochz: 2}")))
