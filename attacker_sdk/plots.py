"""Report plots for attacks: extraction curves, ROC curves on log-log axes, grouped bars,
score histograms.

Every function takes plain data and an output path, writes one PNG (creating parent
directories), closes its figure and returns the path as a :class:`pathlib.Path`. The image
is exactly ``figsize * dpi`` pixels (no tight bounding box), so reports can lay them out.
The Agg backend is selected here, so plotting works without a display.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import ArrayLike

from .metrics import auc_from_curve, tpr_at_fpr_from_curve

__all__ = [
    "plot_bars",
    "plot_fidelity_vs_queries",
    "plot_roc",
    "plot_score_histograms",
]

PathLike = str | os.PathLike[str]
DEFAULT_FIGSIZE: tuple[float, float] = (6.4, 4.8)
DEFAULT_DPI = 100


@contextmanager
def _figure(out: PathLike, figsize: tuple[float, float], dpi: int) -> Iterator[tuple[Any, Any]]:
    """A figure and axes that are saved to ``out`` on success and always closed."""
    if dpi <= 0 or len(figsize) != 2 or min(figsize) <= 0:
        raise ValueError(
            f"figsize must be two positive numbers and dpi positive, got {figsize}, {dpi}"
        )
    path = Path(out)
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    try:
        yield fig, ax
        fig.tight_layout()
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=dpi)
    finally:
        plt.close(fig)


def _finite_1d(x: ArrayLike, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected numbers ({exc})") from exc
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty 1-D sequence, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return arr


def _check_nonempty(mapping: Mapping[str, Any], name: str) -> None:
    if not isinstance(mapping, Mapping):
        raise TypeError(f"{name}: expected a mapping name -> data, got {type(mapping).__name__}")
    if len(mapping) == 0:
        raise ValueError(f"{name}: is empty")


def plot_fidelity_vs_queries(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    out: PathLike,
    title: str = "Fidelity vs. queries",
    ylabel: str = "fidelity",
    reference: Mapping[str, float] | None = None,
    *,
    xlabel: str = "queries",
    logx: bool | None = None,
    figsize: tuple[float, float] = DEFAULT_FIGSIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """One line with markers per attack/strategy: metric (y) against queries spent (x).

    ``curves`` maps a legend name to ``(queries, values)``. ``reference`` maps a name to a
    constant drawn as a horizontal dashed line (e.g. ``{"ideal": 1.0}`` or the victim's
    own accuracy). ``logx=None`` picks a log x axis when the positive query counts span at
    least two decades. The y axis is [0, 1.02] when every value lies in [0, 1].
    """
    _check_nonempty(curves, "curves")
    data = {}
    for name, pair in curves.items():
        if len(pair) != 2:
            raise ValueError(f"curves[{name!r}]: expected (queries, values)")
        q = _finite_1d(pair[0], f"curves[{name!r}] queries")
        v = _finite_1d(pair[1], f"curves[{name!r}] values")
        if q.size != v.size:
            raise ValueError(f"curves[{name!r}]: {q.size} query counts but {v.size} values")
        data[str(name)] = (q, v)
    refs = {str(k): float(v) for k, v in (reference or {}).items()}
    for k, v in refs.items():
        if not math.isfinite(v):
            raise ValueError(f"reference[{k!r}]: must be finite, got {v}")

    all_q = np.concatenate([q for q, _ in data.values()])
    all_v = np.concatenate([v for _, v in data.values()] + [np.asarray(list(refs.values()))])
    if logx is None:
        pos = all_q[all_q > 0]
        logx = bool(pos.size and np.all(all_q > 0) and pos.max() / pos.min() >= 100)
    elif logx and np.any(all_q <= 0):
        raise ValueError("logx=True needs positive query counts")

    with _figure(out, figsize, dpi) as (_fig, ax):
        markers = "osD^v<>pPX*h"
        for i, (name, (q, v)) in enumerate(data.items()):
            order = np.argsort(q, kind="mergesort")
            ax.plot(
                q[order],
                v[order],
                marker=markers[i % len(markers)],
                markersize=4,
                linewidth=1.5,
                label=name,
            )
        for j, (name, v) in enumerate(refs.items()):
            ax.axhline(
                v, linestyle="--", linewidth=1.0, color=f"C{(len(data) + j) % 10}", label=name
            )
        if logx:
            ax.set_xscale("log")
        if np.all((all_v >= 0) & (all_v <= 1)):
            ax.set_ylim(0.0, 1.02)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    return Path(out)


def plot_roc(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike]],
    out: PathLike,
    title: str = "Membership inference ROC",
    labels: Mapping[str, str] | None = None,
    *,
    xmin: float | None = None,
    figsize: tuple[float, float] = DEFAULT_FIGSIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """ROC curves on log-log axes (as in LiRA), with the chance diagonal.

    ``curves`` maps a name to ``(fpr, tpr)`` (e.g. from :func:`attacker_sdk.metrics.roc_curve`;
    fpr non-decreasing, both in [0, 1]). The legend entry of a curve is ``labels[name]``
    when given, else ``"name (AUC=0.873, TPR@1%FPR=12.0%)"`` computed from the curve
    (trapezoid AUC and MICO's ``max(tpr[fpr < 0.01])``).

    Both axes run from ``xmin`` to 1; by default ``xmin = min(1e-3, smallest positive FPR
    of any curve)``, i.e. 1e-3 or 1/N for N non-members, whichever is smaller. Points at
    zero are clipped to the left/bottom edge.
    """
    _check_nonempty(curves, "curves")
    labels = dict(labels or {})
    unknown = set(labels) - set(curves)
    if unknown:
        raise ValueError(f"labels: names not in curves: {sorted(unknown)}")
    data = {}
    for name, pair in curves.items():
        if len(pair) != 2:
            raise ValueError(f"curves[{name!r}]: expected (fpr, tpr)")
        f = _finite_1d(pair[0], f"curves[{name!r}] fpr")
        t = _finite_1d(pair[1], f"curves[{name!r}] tpr")
        if f.size != t.size:
            raise ValueError(f"curves[{name!r}]: fpr and tpr differ in length")
        if np.any((f < 0) | (f > 1)) or np.any((t < 0) | (t > 1)):
            raise ValueError(f"curves[{name!r}]: fpr and tpr must lie in [0, 1]")
        if np.any(np.diff(f) < 0):
            raise ValueError(f"curves[{name!r}]: fpr must be non-decreasing")
        data[name] = (f, t)
    if xmin is None:
        positive = [f[f > 0].min() for f, _ in data.values() if np.any(f > 0)]
        xmin = min([1e-3, *positive])
    if not (0 < xmin < 1):
        raise ValueError(f"xmin must lie in (0, 1), got {xmin}")

    with _figure(out, figsize, dpi) as (_fig, ax):
        ax.plot(
            [xmin, 1.0], [xmin, 1.0], linestyle="--", color="gray", linewidth=1.0, label="chance"
        )
        for name, (f, t) in data.items():
            if name in labels:
                text = labels[name]
            else:
                a = auc_from_curve(f, t)
                lo = tpr_at_fpr_from_curve(f, t, 0.01) if np.any(f < 0.01) else float("nan")
                text = f"{name} (AUC={a:.3f}, TPR@1%FPR={100 * lo:.1f}%)"
            ax.plot(f, t, linewidth=1.5, label=text)
        ax.set_xscale("log", nonpositive="clip")
        ax.set_yscale("log", nonpositive="clip")
        ax.set_xlim(xmin, 1.0)
        ax.set_ylim(xmin, 1.0)
        ax.set_xlabel("false positive rate")
        ax.set_ylabel("true positive rate")
        ax.set_title(title)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
    return Path(out)


def plot_bars(
    table: Mapping[str, Mapping[str, float]],
    out: PathLike,
    title: str,
    ylabel: str,
    *,
    annotate: bool = True,
    figsize: tuple[float, float] = DEFAULT_FIGSIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Grouped bar chart: one group per row (method), one coloured bar per column (e.g.
    query strategy), as in a paper's comparison table.

    ``table[method][column] = value``. Columns are the union over rows, in first-seen
    order; a missing entry leaves a gap. ``annotate`` writes each value above its bar.
    """
    _check_nonempty(table, "table")
    columns: list[str] = []
    for method, row in table.items():
        if not isinstance(row, Mapping):
            raise TypeError(f"table[{method!r}]: expected a mapping column -> value")
        for col, val in row.items():
            try:
                ok = math.isfinite(float(val))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(
                    f"table[{method!r}][{col!r}]: expected a finite number, got {val!r}"
                )
            if col not in columns:
                columns.append(col)
    if not columns:
        raise ValueError("table: has no values")
    methods = list(table)
    n_cols = len(columns)
    width = 0.8 / n_cols
    x = np.arange(len(methods), dtype=np.float64)

    with _figure(out, figsize, dpi) as (_fig, ax):
        for j, col in enumerate(columns):
            xs = [
                x[i] + (j - (n_cols - 1) / 2) * width
                for i, m in enumerate(methods)
                if col in table[m]
            ]
            ys = [float(table[m][col]) for m in methods if col in table[m]]
            bars = ax.bar(xs, ys, width=width * 0.95, label=str(col), color=f"C{j % 10}")
            if annotate:
                ax.bar_label(bars, labels=[f"{v:.2f}" for v in ys], fontsize=6, padding=1)
        ax.set_xticks(x)
        crowded = len(methods) > 4
        ax.set_xticklabels(
            [str(m) for m in methods],
            rotation=20 if crowded else 0,
            ha="right" if crowded else "center",
        )
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, axis="y", alpha=0.3)
        ax.legend(loc="best", fontsize="small")
        ax.margins(y=0.12)
    return Path(out)


def plot_score_histograms(
    scores_members: ArrayLike,
    scores_non_members: ArrayLike,
    out: PathLike,
    title: str = "Membership scores",
    *,
    bins: int = 50,
    density: bool = True,
    xlabel: str = "score (higher = more likely member)",
    figsize: tuple[float, float] = DEFAULT_FIGSIZE,
    dpi: int = DEFAULT_DPI,
) -> Path:
    """Overlaid histograms of the scores of members and non-members on shared bins.

    ``density=True`` normalises each histogram to unit area so that unbalanced challenge
    sets stay comparable.
    """
    m = _finite_1d(scores_members, "scores_members")
    n = _finite_1d(scores_non_members, "scores_non_members")
    if int(bins) < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    lo = float(min(m.min(), n.min()))
    hi = float(max(m.max(), n.max()))
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    edges = np.linspace(lo, hi, int(bins) + 1)

    with _figure(out, figsize, dpi) as (_fig, ax):
        ax.hist(
            n, bins=edges, density=density, alpha=0.5, color="C0", label=f"non-members (n={n.size})"
        )
        ax.hist(
            m, bins=edges, density=density, alpha=0.5, color="C3", label=f"members (n={m.size})"
        )
        ax.set_xlabel(xlabel)
        ax.set_ylabel("density" if density else "count")
        ax.set_title(title)
        ax.legend(loc="best", fontsize="small")
    return Path(out)
