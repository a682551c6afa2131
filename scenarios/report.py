"""The report folder of a scenario run: ``report.md`` (tables), ``results.json`` (every run,
every figure), and PNG plots (fidelity vs queries, ROC on log-log axes, grid bars)."""

from __future__ import annotations

import json
import platform
import re
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from attacker_sdk import plots

from .tour import tour_markdown

if TYPE_CHECKING:
    from .runner import RunRecord, ScenarioRunner


def _mean_std(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if v is not None]
    if not values:
        return float("nan"), float("nan")
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def _pm(values: list[float], pct: bool = True, digits: int = 2) -> str:
    m, s = _mean_std(values)
    if np.isnan(m):
        return "-"
    scale = 100 if pct else 1
    return f"{m * scale:.{digits}f}" + (f" ± {s * scale:.{digits}f}" if len(values) > 1 else "")


def _group(records: list[RunRecord]) -> dict[str, list[RunRecord]]:
    groups: dict[str, list] = defaultdict(list)
    for r in records:
        groups[r.name].append(r)
    return groups


def _get(r: RunRecord, path: str):
    """``metrics`` lookup by a dotted path; FPR keys such as ``0.001`` stay whole."""
    cur = r.metrics
    for part in re.findall(r"\d+\.\d+|[^.]+", path):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _col(ok: list, path: str, pct: bool = True, digits: int = 2) -> str:
    """One table cell: ``metrics[path]`` over the runs ``ok`` as mean (± std)."""
    return _pm([_get(r, path) for r in ok], pct, digits)


def _spend(ok: list) -> str:
    return (
        f"{_pm([r.queries for r in ok], False, 0)} ({_pm([r.server_used for r in ok], False, 0)})"
    )


def _row(cells: list) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _header(names: list[str]) -> list[str]:
    return [_row(names), "|" + "---|" * len(names)]


def extraction_table(groups) -> str:
    lines = _header(
        [
            "run",
            "attack",
            "victim",
            "policy",
            "budget",
            "queries (server)",
            "fidelity %",
            "accuracy %",
            "victim acc %",
            "queried members %",
            "seeds",
            "time s",
        ]
    )
    for name, rs in groups.items():
        ok = [r for r in rs if r.status == "ok"]
        if not ok or ok[0].kind != "extraction":
            continue
        lines.append(
            _row(
                [
                    name,
                    ok[0].attack,
                    ok[0].victim,
                    f"`{ok[0].policy}`",
                    ok[0].budget,
                    _spend(ok),
                    _col(ok, "fidelity"),
                    _col(ok, "accuracy"),
                    _col(ok, "victim_accuracy"),
                    _col(ok, "queried_member_fraction", digits=1),
                    len(ok),
                    _pm([r.seconds for r in ok], False, 0),
                ]
            )
        )
    return "\n".join(lines)


def inferred_set_table(groups) -> str:
    lines = _header(["run", "MI accuracy %", "MI precision %", "MI recall %", "inferred members"])
    n = 0
    for name, rs in groups.items():
        ok = [r for r in rs if r.status == "ok" and _get(r, "inferred_set") is not None]
        if not ok:
            continue
        n += 1
        inferred = [
            (_get(r, "inferred_set.tp") or 0) + (_get(r, "inferred_set.fp") or 0) for r in ok
        ]
        lines.append(
            _row(
                [
                    name,
                    _col(ok, "inferred_set.accuracy"),
                    _col(ok, "inferred_set.precision"),
                    _col(ok, "inferred_set.recall"),
                    _pm(inferred, False, 0),
                ]
            )
        )
    return "\n".join(lines) if n else ""


def source_table(groups) -> str:
    """Where each extraction run's queries (and its inferred members, for MExMI) came from,
    per pool source: the check that active learning avoids the out-of-distribution part."""
    rows, sources = [], []
    for name, rs in groups.items():
        ok = [r for r in rs if r.status == "ok" and _get(r, "queried_by_source") is not None]
        if not ok:
            continue
        rows.append((name, ok))
        sources += [s for s in _get(ok[0], "queried_by_source") if s not in sources]
    if not rows:
        return ""
    lines = [
        "| run | " + " | ".join(f"`{s}`" for s in sources) + " |",
        "|" + "---|" * (len(sources) + 1),
    ]
    for name, ok in rows:
        cells = []
        for s in sources:
            cell = _pm([_get(r, "queried_by_source").get(s, np.nan) for r in ok], False, 0)
            if _get(ok[0], "inferred_set.by_source") is not None:
                cell += (
                    " ("
                    + _pm([_get(r, "inferred_set.by_source").get(s, np.nan) for r in ok], False, 0)
                    + ")"
                )
            cells.append(cell)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def membership_table(groups) -> str:
    lines = _header(
        [
            "run",
            "attack",
            "victim",
            "policy",
            "queries (server)",
            "AUC",
            "TPR@0.1%FPR %",
            "TPR@1%FPR %",
            "TPR@10%FPR %",
            "advantage %",
            "accuracy %",
            "precision %",
            "recall %",
            "seeds",
            "time s",
        ]
    )
    for name, rs in groups.items():
        ok = [r for r in rs if r.status == "ok"]
        if not ok or ok[0].kind != "membership":
            continue
        lines.append(
            _row(
                [
                    name,
                    ok[0].attack,
                    ok[0].victim,
                    f"`{ok[0].policy}`",
                    _spend(ok),
                    _col(ok, "auc", False, 3),
                    _col(ok, "tpr_at_fpr.0.001"),
                    _col(ok, "tpr_at_fpr.0.01"),
                    _col(ok, "tpr_at_fpr.0.1"),
                    _col(ok, "advantage"),
                    _col(ok, "threshold_metrics.accuracy"),
                    _col(ok, "threshold_metrics.precision"),
                    _col(ok, "threshold_metrics.recall"),
                    len(ok),
                    _pm([r.seconds for r in ok], False, 0),
                ]
            )
        )
    return "\n".join(lines)


def grid_table(grid, groups) -> tuple[str, dict]:
    cells: dict[str, dict[str, float]] = {}
    lines = [
        f"| {grid.table} | " + " | ".join(grid.columns) + " |",
        "|---|" + "---|" * len(grid.columns),
    ]
    for row in grid.rows:
        out = []
        for col in grid.columns:
            rs = [
                r
                for rr in groups.values()
                for r in rr
                if r.table == grid.table and r.row == row and r.column == col and r.status == "ok"
            ]
            if not rs:
                out.append(
                    "refused"
                    if any(
                        r.table == grid.table and r.row == row and r.column == col
                        for rr in groups.values()
                        for r in rr
                    )
                    else "-"
                )
                continue
            vals = [_get(r, grid.metric) for r in rs]
            cell = _pm(vals)
            if grid.metric == "fidelity":
                cell += f" ({_pm([_get(r, 'accuracy') for r in rs])})"
            out.append(cell)
            cells.setdefault(row, {})[col] = _mean_std(vals)[0]
        lines.append(f"| {row} | " + " | ".join(out) + " |")
    return "\n".join(lines), cells


def _curve(rs: list[RunRecord], key: str):
    """Mean of ``key`` over seeds at each checkpoint (x from the first seed)."""
    rs = [r for r in rs if r.status == "ok" and r.timeline and key in r.timeline[0]]
    if not rs:
        return None
    n = min(len(r.timeline) for r in rs)
    xs = [rs[0].timeline[i]["queries"] for i in range(n)]
    ys = [statistics.fmean(r.timeline[i][key] for r in rs) for i in range(n)]
    return xs, ys


def write_report(runner: ScenarioRunner, wall_seconds: float) -> Path:
    out, spec = runner.out, runner.spec
    groups = _group(runner.records)
    pngs: list[tuple[str, str]] = []

    for vid in {r.victim for r in runner.records}:
        curves = {}
        for name, rs in groups.items():
            if rs[0].victim == vid and rs[0].kind == "extraction":
                c = _curve(rs, "fidelity")
                if c and len(c[0]) >= 1:
                    curves[name] = c
        if curves:
            ref = {"victim test accuracy": runner.victims[vid].card.test_accuracy}
            p = plots.plot_fidelity_vs_queries(
                curves,
                out / f"fidelity_vs_queries_{vid}.png",
                title=f"{spec.name}: fidelity vs queries ({vid})",
                reference=ref,
            )
            pngs.append((f"Fidelity vs queries ({vid})", p.name))
        rocs = {
            name: rs[0].roc
            for name, rs in groups.items()
            if rs[0].victim == vid and rs[0].kind == "membership" and rs[0].roc is not None
        }
        if rocs:
            p = plots.plot_roc(
                rocs, out / f"roc_{vid}.png", title=f"{spec.name}: membership inference ROC ({vid})"
            )
            pngs.append((f"ROC, log-log ({vid}, seed {runner.records[0].seed})", p.name))

    grid_md = []
    grids_json = {}
    for g in spec.grids:
        md, cells = grid_table(g, groups)
        grid_md.append(
            f"### {g.title or g.table}\n\n{g.metric} % (mean ± std over seeds"
            f"{'; accuracy % in parentheses' if g.metric == 'fidelity' else ''})\n\n{md}\n"
        )
        grids_json[g.table] = cells
        if cells:
            p = plots.plot_bars(
                {r: {c: v * 100 for c, v in cols.items()} for r, cols in cells.items()},
                out / f"grid_{g.table}.png",
                title=g.title or g.table,
                ylabel=f"{g.metric} %",
            )
            pngs.append((g.title or g.table, p.name))
        for col in g.columns:
            curves = {}
            for row in g.rows:
                rs = [
                    r
                    for rr in groups.values()
                    for r in rr
                    if r.table == g.table and r.row == row and r.column == col
                ]
                c = _curve(rs, "fidelity")
                if c:
                    curves[row] = c
            if curves:
                p = plots.plot_fidelity_vs_queries(
                    curves,
                    out / f"fidelity_vs_queries_{g.table}_{col or 'all'}.png",
                    title=f"{g.title or g.table}: {col}",
                )
                pngs.append((f"{g.title or g.table}: fidelity vs queries ({col})", p.name))

    victims_md = [
        (
            "| victim | dataset | architecture | train size | train acc % | test acc % "
            "| model policy |"
        ),
        "|---|---|---|---|---|---|---|",
    ]
    for v in runner.victims.values():
        c = v.card
        victims_md.append(
            f"| {c.id} | {v.spec.dataset} {v.spec.dataset_params or ''} | "
            f"{c.architecture['name']} | {c.train_size} | {c.train_accuracy * 100:.2f} | "
            f"{c.test_accuracy * 100:.2f} | `{c.serving.policy}` |"
        )
    refused = [
        f"- **{r.name}** (seed {r.seed}): {r.reason}" for r in runner.records if r.status != "ok"
    ]
    ext, mem, inf = extraction_table(groups), membership_table(groups), inferred_set_table(groups)
    src = source_table(groups)
    md = [
        f"# Scenario report: {spec.name}\n",
        spec.description.strip() + "\n" if spec.description else "",
        (
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
            f"({platform.machine()}, Python {platform.python_version()}); "
            f"wall time {wall_seconds:.0f} s. "
            "Every query went over HTTP to the real service (gunicorn); "
            "`queries` is what the attack counted, "
            f"`(server)` what the service's ledger charged the attack's key.\n"
        ),
        "## Victims\n",
        "\n".join(victims_md) + "\n",
    ]
    if runner.tour:
        md += [
            "## Output policies (same inputs, one key per policy)\n",
            tour_markdown(runner.tour) + "\n",
        ]
    if ext.count("\n") > 1:
        md += ["## Model extraction\n", ext + "\n"]
    if src:
        md += [
            (
                "### Where the queries went "
                "(pool rows queried per source; inferred members in parentheses)\n"
            ),
            src + "\n",
        ]
    if inf:
        md += ["### Inferred training set (membership of the pool)\n", inf + "\n"]
    if mem.count("\n") > 1:
        md += ["## Membership inference\n", mem + "\n"]
    if grid_md:
        md += ["## Tables\n", *grid_md]
    if refused:
        md += ["## Refused runs\n", "\n".join(refused) + "\n"]
    if pngs:
        md += ["## Plots\n", *[f"### {title}\n\n![{title}]({name})\n" for title, name in pngs]]
    report = out / "report.md"
    report.write_text("\n".join(md))

    results = {
        "scenario": spec.name,
        "description": spec.description,
        "wall_seconds": round(wall_seconds, 1),
        "victims": {
            vid: {
                "card": {
                    k: v.card.to_dict()[k]
                    for k in (
                        "id",
                        "architecture",
                        "train_accuracy",
                        "test_accuracy",
                        "train_size",
                        "data_hash",
                        "seed",
                        "recipe",
                    )
                },
                "spec": v.spec.to_dict(),
                "reused": v.reused,
            }
            for vid, v in runner.victims.items()
        },
        "tour": runner.tour,
        "runs": [{k: v for k, v in r.__dict__.items() if k != "roc"} for r in runner.records],
        "grids": grids_json,
        "plots": [name for _, name in pngs],
    }
    (out / "results.json").write_text(json.dumps(results, indent=2, default=_json_default))
    return report


def _json_default(o):
    if isinstance(o, (np.integer, np.floating)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
