"""attacker_sdk.plots: every plot writes a PNG of the expected size and leaks no figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from attacker_sdk import metrics as M
from attacker_sdk import plots as P


@pytest.fixture(autouse=True)
def _no_figure_leaks():
    plt.close("all")
    yield
    assert plt.get_fignums() == [], "a plot function left a figure open"


@pytest.fixture
def captured(monkeypatch):
    """The figures the plot functions close, to inspect axes after the fact."""
    figs = []
    real_close = P.plt.close

    def close(fig=None):
        figs.append(fig)
        real_close(fig)

    monkeypatch.setattr(P.plt, "close", close)
    return figs


def _check_png(path: Path, size=(640, 480)) -> None:
    assert path.is_file() and path.stat().st_size > 1000
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.size == size


def _roc(seed: int, n: int = 400, shift: float = 1.0):
    rng = np.random.default_rng(seed)
    y = rng.random(n) < 0.5
    s = rng.normal(size=n) + shift * y
    fpr, tpr, _ = M.roc_curve(y, s)
    return fpr, tpr


def test_backend_is_agg():
    assert matplotlib.get_backend().lower() == "agg"


def test_fidelity_vs_queries(tmp_path, captured):
    curves = {
        "random": ([100, 1000, 10000], [0.4, 0.7, 0.85]),
        "active": ([100, 1000, 10000], [0.5, 0.8, 0.93]),
    }
    out = P.plot_fidelity_vs_queries(
        curves,
        tmp_path / "sub" / "fid.png",
        title="digits",
        reference={"ideal": 1.0, "victim acc": 0.95},
    )
    assert out == tmp_path / "sub" / "fid.png"
    _check_png(out)
    ax = captured[-1].axes[0]
    assert ax.get_xscale() == "log"  # two decades or more: automatic log axis
    assert ax.get_title() == "digits" and ax.get_ylabel() == "fidelity"
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["random", "active", "ideal", "victim acc"]
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 2


def test_fidelity_vs_queries_linear_and_size(tmp_path, captured):
    out = P.plot_fidelity_vs_queries(
        {"a": ([10, 20, 30], [0.1, 0.2, 0.3])},
        str(tmp_path / "f.png"),
        ylabel="accuracy",
        figsize=(4, 3),
        dpi=50,
    )
    assert isinstance(out, Path)
    _check_png(out, size=(200, 150))
    assert captured[-1].axes[0].get_xscale() == "linear"


def test_roc_plot_log_log_with_computed_labels(tmp_path, captured):
    curves = {"LiRA": _roc(0, shift=2.0), "loss": _roc(1, shift=0.5)}
    out = P.plot_roc(curves, tmp_path / "roc.png")
    _check_png(out)
    ax = captured[-1].axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    xmin = ax.get_xlim()[0]
    assert xmin == pytest.approx(1e-3)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[0] == "chance"
    a = M.auc_from_curve(*curves["LiRA"])
    lo = M.tpr_at_fpr_from_curve(*curves["LiRA"], 0.01)
    assert texts[1] == f"LiRA (AUC={a:.3f}, TPR@1%FPR={100 * lo:.1f}%)"


def test_roc_plot_given_labels_and_small_fpr(tmp_path, captured):
    fpr, tpr = _roc(2, n=6000)  # ~3000 non-members: smallest positive fpr < 1e-3
    out = P.plot_roc(
        {"a": (fpr, tpr)}, tmp_path / "roc2.png", title="t", labels={"a": "attack A (AUC 0.70)"}
    )
    _check_png(out)
    ax = captured[-1].axes[0]
    assert ax.get_xlim()[0] == pytest.approx(fpr[fpr > 0].min())
    assert "attack A (AUC 0.70)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_bars(tmp_path, captured):
    table = {
        "Knockoff": {"random": 0.71, "adaptive": 0.80},
        "ActiveThief": {"random": 0.74, "adaptive": 0.83, "k-center": 0.85},
        "MExMI": {"adaptive": 0.9},
    }
    out = P.plot_bars(table, tmp_path / "bars.png", title="Table 2", ylabel="fidelity")
    _check_png(out)
    ax = captured[-1].axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == list(table)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["random", "adaptive", "k-center"]
    assert len(ax.patches) == 6  # missing entries leave gaps


def test_score_histograms(tmp_path):
    rng = np.random.default_rng(0)
    out = P.plot_score_histograms(
        rng.normal(1, 1, 300), rng.normal(0, 1, 500), tmp_path / "hist.png", title="LiRA scores"
    )
    _check_png(out)
    out = P.plot_score_histograms([1.0, 1.0], [1.0], tmp_path / "const.png", "constant")
    _check_png(out)


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda o: P.plot_fidelity_vs_queries({}, o), ValueError, "empty"),
        (lambda o: P.plot_fidelity_vs_queries({"a": ([1, 2], [0.5])}, o), ValueError, "values"),
        (lambda o: P.plot_fidelity_vs_queries({"a": ([1], [np.nan])}, o), ValueError, "NaN"),
        (
            lambda o: P.plot_fidelity_vs_queries({"a": ([0, 1], [0.1, 0.2])}, o, logx=True),
            ValueError,
            "positive",
        ),
        (
            lambda o: P.plot_roc({"a": ([0, 1], [0, 1])}, o, labels={"b": "x"}),
            ValueError,
            "not in curves",
        ),
        (lambda o: P.plot_roc({"a": ([0, 1, 0.5], [0, 1, 1])}, o), ValueError, "non-decreasing"),
        (lambda o: P.plot_roc({"a": ([0, 2], [0, 1])}, o), ValueError, r"\[0, 1\]"),
        (lambda o: P.plot_roc([([0, 1], [0, 1])], o), TypeError, "mapping"),
        (lambda o: P.plot_bars({"m": {"c": "high"}}, o, "t", "y"), ValueError, "finite number"),
        (lambda o: P.plot_bars({"m": {}}, o, "t", "y"), ValueError, "no values"),
        (lambda o: P.plot_score_histograms([], [1.0], o, "t"), ValueError, "non-empty"),
        (lambda o: P.plot_score_histograms([1.0], [1.0], o, "t", bins=0), ValueError, "bins"),
        (lambda o: P.plot_score_histograms([1.0], [1.0], o, "t", dpi=0), ValueError, "dpi"),
    ],
)
def test_validation_errors_write_nothing(tmp_path, call, exc, match):
    out = tmp_path / "x.png"
    with pytest.raises(exc, match=match):
        call(out)
    assert not out.exists()


def test_figure_closed_when_saving_fails(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", boom)
    with pytest.raises(OSError, match="disk full"):
        P.plot_score_histograms([0.0, 1.0], [0.5], tmp_path / "h.png", "t")
    assert plt.get_fignums() == []
