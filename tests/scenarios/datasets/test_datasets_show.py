"""``show.render`` writes a PNG for image and tabular data."""

from __future__ import annotations

from PIL import Image

from scenarios.datasets import load
from scenarios.datasets.show import render


def _check_png(path):
    assert path.exists() and path.stat().st_size > 1000
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size[0] > 100 and im.size[1] > 100


def test_render_images(tmp_path):
    ds = load("shapes", n=40, family="AB", seed=0)
    out = tmp_path / "sub" / "shapes.png"
    assert render(ds, out, n=16) == str(out)
    _check_png(out)


def test_render_grayscale(tmp_path):
    out = tmp_path / "digits.png"
    render(load("digits").subset(range(30)), out, n=64)  # fewer samples than n
    _check_png(out)


def test_render_tabular(tmp_path):
    out = tmp_path / "tweets.png"
    render(load("tweets", n=300), out)
    _check_png(out)
