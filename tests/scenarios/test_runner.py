"""A small scenario end to end: victims trained, the real service started under gunicorn,
attacks over HTTP, scored against ground truth, report written."""

import json
import textwrap

import numpy as np
import pytest

from scenarios.evaluation import count_by_source
from scenarios.runner import run_scenario

SCENARIO = """
name: tiny
victims:
  - id: tiny-digits
    dataset: {name: digits}
    split: {train: 300, test: 300, seed: 0}
    architecture: small_cnn
    recipe: {epochs: 40, batch_size: 32}
tour: {victim: tiny-digits, inputs: 2}
attacks:
  - name: random
    attack: random
    victim: tiny-digits
    budget: 300
    params: {checkpoints: [100, 200], fit: {epochs: 15}}
    pool: [{part: spare, n: 600}, {part: members, n: 100}]
  - name: gap
    attack: gap
    victim: tiny-digits
    budget: 200
    targets: {members: 100, non_members: 100}
    seeds: [0, 1]
  - name: lira-under-label
    attack: lira
    victim: tiny-digits
    policy: label
    budget: 200
    params: {n_shadows: 2}
    targets: {members: 100, non_members: 100}
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("scenario")
    path = root / "tiny.yaml"
    path.write_text(textwrap.dedent(SCENARIO))
    return run_scenario(path, out=root / "out", store=root / "store", progress=False)


def test_report_files(report):
    out = report.parent
    md = report.read_text()
    for section in (
        "## Victims",
        "## Output policies",
        "## Model extraction",
        "### Where the queries went",
        "## Membership inference",
        "## Refused runs",
    ):
        assert section in md
    assert (out / "fidelity_vs_queries_tiny-digits.png").stat().st_size > 5000
    assert (out / "roc_tiny-digits.png").stat().st_size > 5000
    assert "![" in md


def test_results_are_scored_and_honest(report):
    res = json.loads((report.parent / "results.json").read_text())
    runs = {(r["name"], r["seed"]): r for r in res["runs"]}
    r = runs[("random", 0)]
    assert r["status"] == "ok" and r["queries"] == r["server_used"] == 300
    assert [row["queries"] for row in r["timeline"]] == [100, 200, 300]
    assert 0.8 <= r["metrics"]["fidelity"] <= 1.0
    assert 0 < r["metrics"]["queried_member_fraction"] < 0.5
    by_source = r["metrics"]["queried_by_source"]
    assert list(by_source) == ["spare", "members"] and sum(by_source.values()) == 300
    assert by_source["members"] / 300 == pytest.approx(r["metrics"]["queried_member_fraction"])
    for seed in (0, 1):
        g = runs[("gap", seed)]
        assert g["queries"] == g["server_used"] == 200 and 0.5 <= g["metrics"]["auc"] <= 1.0
        assert g["metrics"]["n_members"] == g["metrics"]["n_non_members"] == 100
    refused = runs[("lira-under-label", 0)]
    assert (
        refused["status"] == "refused"
        and refused["server_used"] == 0
        and "label" in refused["reason"]
    )
    assert len(res["tour"]["rows"]) == 7 and all(
        row["usage"]["used"] == 2 for row in res["tour"]["rows"]
    )


def test_victims_are_reused(report, tmp_path):
    # a second run of the same file reuses the trained victim from the store
    out = report.parent
    res = json.loads((out / "results.json").read_text())
    assert res["victims"]["tiny-digits"]["reused"] is False
    from scenarios.spec import load
    from scenarios.victims import build_victim, default_truth_dir
    from victim_service.store import ArtifactStore

    spec = load(out.parent / "tiny.yaml")
    again = build_victim(
        spec.victims[0],
        ArtifactStore(out.parent / "store"),
        default_truth_dir(out.parent / "store"),
    )
    assert again.reused
    assert np.isin(again.truth.members, again.truth.test).sum() == 0


def test_count_by_source_lists_every_source_in_pool_order():
    source = np.array(["members", "members", "spare", "ood", "spare"], dtype=object)
    assert count_by_source(source, np.array([2, 4, 0])) == {"members": 1, "spare": 2, "ood": 0}
    assert count_by_source(source, np.array([], np.int64)) == {"members": 0, "spare": 0, "ood": 0}
