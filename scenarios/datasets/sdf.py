"""Signed distance functions of the shape classes, vectorised over image batches.

Each function takes local coordinates ``u, v`` (arrays of any shape, the shape centred
at 0 with a radius of about 1) and returns the signed distance in the same local units:
negative inside, positive outside. Exact formulas follow Inigo Quilez's 2D SDF catalogue;
unions use ``min``, which is exact outside and good enough inside for anti-aliasing.
Working with distances rather than rasterised masks gives anti-aliased edges, outlines
(``|d| - w/2``) and glows for free.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Arr = np.ndarray


def _length(x: Arr, y: Arr) -> Arr:
    return np.sqrt(x * x + y * y)


def box(u: Arr, v: Arr, bx: float, by: float) -> Arr:
    qx = np.abs(u) - bx
    qy = np.abs(v) - by
    return _length(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)


def circle(u: Arr, v: Arr) -> Arr:
    return _length(u, v) - 1.0


def square(u: Arr, v: Arr) -> Arr:
    return box(u, v, 0.82, 0.82)


def triangle(u: Arr, v: Arr) -> Arr:
    # Equilateral, circumradius ~1.1 (a triangle looks small next to a circle of radius 1).
    r = 0.95  # half side length
    k = np.sqrt(3.0)
    px = np.abs(u) - r
    py = v + r / k
    fold = px + k * py > 0
    px, py = (
        np.where(fold, (px - k * py) / 2, px),
        np.where(fold, (-k * px - py) / 2, py),
    )
    px = px - np.clip(px, -2 * r, 0)
    return -_length(px, py) * np.sign(py)


def star(u: Arr, v: Arr) -> Arr:
    # Five-pointed star, outer radius 1.05, inner/outer ratio 0.45.
    r, rf = 1.05, 0.45
    k1x, k1y = 0.809016994375, -0.587785252292
    k2x, k2y = -k1x, k1y
    px, py = np.abs(u), v
    t = np.maximum(k1x * px + k1y * py, 0)
    px, py = px - 2 * t * k1x, py - 2 * t * k1y
    t = np.maximum(k2x * px + k2y * py, 0)
    px, py = px - 2 * t * k2x, py - 2 * t * k2y
    px = np.abs(px)
    py = py - r
    bax, bay = rf * -k1y, rf * k1x - 1.0
    h = np.clip((px * bax + py * bay) / (bax * bax + bay * bay), 0, r)
    return _length(px - bax * h, py - bay * h) * np.sign(py * bax - px * bay)


def cross(u: Arr, v: Arr) -> Arr:
    return np.minimum(box(u, v, 0.95, 0.3), box(u, v, 0.3, 0.95))


def ring(u: Arr, v: Arr) -> Arr:
    return np.abs(_length(u, v) - 0.72) - 0.28


def diamond(u: Arr, v: Arr) -> Arr:
    # Elongated rhombus, so that rotation cannot turn it into a square.
    bx, by = 0.58, 1.08
    px, py = np.abs(u), np.abs(v)
    h = np.clip(((bx - 2 * px) * bx - (by - 2 * py) * by) / (bx * bx + by * by), -1, 1)
    d = _length(px - 0.5 * bx * (1 - h), py - 0.5 * by * (1 + h))
    return d * np.sign(px * by + py * bx - bx * by)


def hexagon(u: Arr, v: Arr) -> Arr:
    r = 0.86  # inradius
    kx, ky, kz = -0.866025404, 0.5, 0.577350269
    px, py = np.abs(u), np.abs(v)
    t = np.minimum(kx * px + ky * py, 0)
    px, py = px - 2 * t * kx, py - 2 * t * ky
    px = px - np.clip(px, -kz * r, kz * r)
    py = py - r
    return _length(px, py) * np.sign(py)


def crescent(u: Arr, v: Arr) -> Arr:
    return np.maximum(_length(u, v) - 1.0, -(_length(u - 0.5, v) - 0.82))


def arrow(u: Arr, v: Arr) -> Arr:
    shaft = box(u + 0.35, v, 0.6, 0.19)
    # Head: triangle (1, 0), (0.15, +-0.62); two slanted half-planes and the back edge.
    head = np.maximum(0.15 - u, 0.59 * (u - 1.0) + 0.81 * np.abs(v))
    return np.minimum(shaft, head)


def segment(u: Arr, v: Arr) -> Arr:
    """Distance to the segment (-1, 0)-(1, 0); used for clutter lines (width added later)."""
    return _length(u - np.clip(u, -1.0, 1.0), v)


# Class order is part of the dataset definition (labels index into it).
CLASS_SDFS: tuple[tuple[str, Callable[[Arr, Arr], Arr]], ...] = (
    ("circle", circle),
    ("square", square),
    ("triangle", triangle),
    ("star", star),
    ("cross", cross),
    ("ring", ring),
    ("diamond", diamond),
    ("hexagon", hexagon),
    ("crescent", crescent),
    ("arrow", arrow),
)
CLASS_NAMES: tuple[str, ...] = tuple(name for name, _ in CLASS_SDFS)
LINE = len(CLASS_SDFS)  # kind id of clutter lines (never a label)
