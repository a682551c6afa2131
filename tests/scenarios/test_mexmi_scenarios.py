"""The MExMI scenario files parse, expand to the intended grids and build their attacks
(nothing is trained here; `mlrange scenario run scenarios/mexmi_*_quick.yaml` runs them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from attacker_sdk.attacks import build
from scenarios.spec import ScenarioError, load

ROOT = Path(__file__).resolve().parents[2] / "scenarios"
FILES = [
    "mexmi_table2",
    "mexmi_pool",
    "mexmi_top1",
    "mexmi_table2_quick",
    "mexmi_pool_quick",
    "mexmi_top1_quick",
]
ROWS5 = ["baseline", "pre_filter_only", "post_filter_only", "mexmi_wo_boosting", "mexmi"]


@pytest.mark.parametrize("name", FILES)
def test_scenario_files_parse_and_build(name):
    spec = load(ROOT / f"{name}.yaml")
    assert spec.store in (
        "mexmi-shapes",
        "mexmi-digits",
    )  # victims shared between the MExMI scenarios
    (grid,) = spec.grids
    for a in spec.attacks:
        attack = build(a.attack, a.params)
        if a.row == "baseline":
            assert a.attack == "activethief"
        if a.row and a.row.startswith(("pre", "post", "mexmi")):
            assert a.attack == "mexmi"
            assert attack.pre_filter == (a.row in ("pre_filter_only", "mexmi_wo_boosting", "mexmi"))
            assert attack.post_filter == (
                a.row in ("post_filter_only", "mexmi_wo_boosting", "mexmi")
            )
            assert attack.ssl_boost == (a.row == "mexmi")
    if "table2" in name:
        assert grid.rows == ["random", *ROWS5, "ideal"] and grid.columns == [
            "entropy",
            "kcenter",
            "deepfool",
        ]
        random_runs = [a for a in spec.attacks if a.row == "random"]
        assert (
            len(random_runs) == 1 and "strategy" not in random_runs[0].params
        )  # independent of the column
        assert len(spec.attacks) == 1 + 6 * 3
        ideal = [a for a in spec.attacks if a.row == "ideal"]
        assert all([s.part for s in a.pool] == ["members"] for a in ideal)
    else:
        assert grid.rows == ROWS5
    if name.startswith("mexmi_top1"):
        assert {a.policy for a in spec.attacks} == {"probabilities", "top1"}


def test_full_table2_matches_the_brief():
    spec = load(ROOT / "mexmi_table2.yaml")
    a = next(a for a in spec.attacks if a.row == "mexmi" and a.column == "deepfool")
    assert a.budget == 4000 and a.params["k"] == 500 and a.params["initial_seed"] == 500
    assert sum(s.n for s in a.pool) == 15000
    assert [s.part for s in a.pool][:2] == ["members", "spare"] and a.pool[2].dataset["params"][
        "family"
    ] == "B"


def test_pool_shares_are_the_papers(tmp_path):
    spec = load(ROOT / "mexmi_pool.yaml")
    for a in spec.attacks:
        n = sum(s.n for s in a.pool)
        members = sum(s.n for s in a.pool if s.part == "members")
        assert (
            n == 15000 and round(members / n, 2) == {"0%": 0.0, "25%": 0.25, "33%": 0.33}[a.column]
        )


def test_independent_rows_are_checked(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("""
victims: [{id: v, dataset: digits, split: {train: 100, test: 50}, architecture: small_cnn}]
grids:
  - table: t
    base: {victim: v, budget: 10, pool: [{part: spare}]}
    rows:
      r: {attack: random, independent: true}
      a: {attack: activethief}
    columns: {entropy: {params: {strategy: entropy}}, margin: {params: {strategy: margin}}}
""")
    spec = load(f)
    assert [(a.row, a.column) for a in spec.attacks] == [
        ("r", "entropy"),
        ("a", "entropy"),
        ("a", "margin"),
    ]
    f.write_text(
        f.read_text().replace("r: {attack: random, independent: true}", "r: {attack: random}")
    )
    with pytest.raises(ScenarioError, match="strategy"):
        load(f)  # a column setting the random row does not take
