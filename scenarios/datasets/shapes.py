"""``shapes``: procedural 32x32 RGB scenes, 10 shape classes, CIFAR-like difficulty.

The label is the kind of the one large shape in the scene (circle, square, triangle,
star, cross, ring, diamond, hexagon, crescent, arrow). Everything else varies: colour,
size, aspect, tilt, position, fill or outline, shading, background texture, clutter
(small shapes of *other* kinds and lines, mostly behind, sometimes in front), occluding
bars, blur and pixel noise. Families use different renderers so that a pool can mix
in-distribution and out-of-distribution images with the same class names:

* ``A`` "natural": muted natural palettes, gradient backgrounds with cloud / stripe /
  tile / grain textures, mostly filled and shaded shapes contrasting with the background,
  slight blur, sensor noise; shapes roughly centred and upright (like object photos);
* ``B`` "neon": near-black blue/purple backgrounds with grid / scanline / star-field
  textures, saturated neon outlines with a glow, additive light; composed differently
  too: smaller shapes, off-centre, any rotation;
* ``C`` "sketch": paper backgrounds with grain and ruled lines, dark pencil strokes with
  a hand-drawn wobble, hatched fills; A's composition (a pure style shift).

Rendering is vectorised over chunks of images: each layer (distractors, main shape,
occluder) is one signed-distance evaluation per shape kind over the whole chunk.
20,000 images build in about 5 s (A 5.0 s, B 4.1 s, C 5.2 s) pinned to one core of this
machine (20-28 s while other jobs shared the cores); ``load`` caches them on disk.

Calibration (``python -m scenarios.calibrate shapes``, which trains through
victim_service): ``small_cnn`` (0.67M params, BatchNorm, Adam 1e-3, batch 128, crop+flip)
trained 30 epochs on 5,000 family-A images reaches 83.0% on 2,000 held-out family-A
images (87.9% on its training images), 61.7% on family B and 67.6% on family C
(206 s on 2 quiet cores, 754 images/s). Hexagon (59%) and diamond (75%) are
the hardest classes. The CNN needs the shapes roughly centred to learn from 5,000
images: with shapes anywhere in the frame it was at 14% after 10 epochs, 27% after 15.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import sdf
from .base import Dataset
from .registry import register

SIZE = 32
CHUNK = 500  # images rendered together; part of the definition (fixes the RNG streams)
FAMILIES = ("A", "B", "C")
FAMILY_STYLES = {"A": "natural", "B": "neon", "C": "sketch"}
CLASS_NAMES = sdf.CLASS_NAMES
NUM_KINDS = len(CLASS_NAMES) + 1  # + clutter lines

# Difficulty knobs (tuned with scenarios.calibrate; bump the builder version on change).
DISTRACTOR_RADIUS = (1.5, 3.5)  # px; clearly smaller than the main shape
DISTRACTOR_P = (0.3, 0.3, 0.25, 0.15)  # P(0, 1, 2, 3 distractors)
OCCLUDE_P = 0.25
# Composition of the main shape per style: radius range (px), max offset of its centre
# from the image centre (px), and tilt (rad) around upright / upside down. Family A is
# composed like object photos (centred, upright-ish): a shape anywhere in the frame
# would make the small CNN learn translation invariance from 5k images, which it fails
# to do in 30 epochs. Neon (B) scenes are composed differently on purpose (smaller,
# off-centre, any rotation) so that B is out of distribution for A-trained models in
# composition as well as in style; sketch (C) keeps A's composition (style shift only).
COMPOSITION = {
    "natural": {"radius": (6.0, 12.0), "jitter": 4.0, "tilt": 0.6},
    "neon": {"radius": (5.0, 10.0), "jitter": 7.0, "tilt": np.pi},
    "sketch": {"radius": (6.0, 12.0), "jitter": 4.0, "tilt": 0.6},
}
LOW_CONTRAST_P = 0.1  # share of shapes whose colour ignores the background

# Pixel-centre coordinates shared by all renders.
_COORD = np.arange(SIZE, dtype=np.float32) + 0.5
_GX = _COORD[None, None, :]  # x varies along the last axis
_GY = _COORD[None, :, None]

Arr = np.ndarray


# ---------------------------------------------------------------- colour & textures


def hsv_to_rgb(h: Arr, s: Arr, v: Arr) -> Arr:
    """Vectorised HSV -> RGB; inputs (m,) in [0, 1], output (m, 3) float32."""
    h = (np.asarray(h) % 1.0) * 6.0
    i = np.floor(h).astype(int) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack(
        [
            np.stack([v, t, p], -1),
            np.stack([q, v, p], -1),
            np.stack([p, v, t], -1),
            np.stack([p, q, v], -1),
            np.stack([t, p, v], -1),
            np.stack([v, p, q], -1),
        ],
        0,
    )  # (6, m, 3)
    return table[i, np.arange(len(i))].astype(np.float32)


def _interp_matrix(src: int, dst: int) -> Arr:
    """(dst, src) bilinear interpolation matrix, for separable upsampling."""
    pos = (np.arange(dst) + 0.5) * src / dst - 0.5
    lo = np.clip(np.floor(pos).astype(int), 0, src - 1)
    hi = np.clip(lo + 1, 0, src - 1)
    w = np.clip(pos - np.floor(pos), 0, 1)
    m = np.zeros((dst, src), dtype=np.float32)
    m[np.arange(dst), lo] += 1 - w
    m[np.arange(dst), hi] += w
    return m


_INTERP = {g: _interp_matrix(g, SIZE) for g in (3, 4, 5, 6, 8, 12, 16)}


def value_noise(rng: np.random.Generator, m: int, grid: int) -> Arr:
    """(m, 32, 32) smooth noise with unit-ish std: random grid, bilinear upsampling."""
    g = rng.standard_normal((m, grid, grid)).astype(np.float32)
    u = _INTERP[grid]
    out = np.einsum("ij,mjk,lk->mil", u, g, u, optimize=True)
    return out / (out.std(axis=(1, 2), keepdims=True) + 1e-6)


def box_blur3(img: Arr, weight: Arr) -> Arr:
    """Per-image blend between ``img`` (m, c, H, W) and its 3x3 binomial blur."""
    p = np.pad(img, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
    h = p[..., :, :-2] * 0.25 + p[..., :, 1:-1] * 0.5 + p[..., :, 2:] * 0.25
    b = h[..., :-2, :] * 0.25 + h[..., 1:-1, :] * 0.5 + h[..., 2:, :] * 0.25
    w = weight[:, None, None, None]
    return img * (1 - w) + b * w


def _unif(rng: np.random.Generator, lo: float, hi: float, m: int) -> Arr:
    return rng.uniform(lo, hi, m).astype(np.float32)


def _gradient(rng: np.random.Generator, m: int) -> Arr:
    """(m, 32, 32) linear ramp in [0, 1] along a random direction."""
    phi = rng.uniform(0, 2 * np.pi, m).astype(np.float32)[:, None, None]
    t = (np.cos(phi) * (_GX - SIZE / 2) + np.sin(phi) * (_GY - SIZE / 2)) / SIZE + 0.5
    return np.clip(t, 0, 1)


def _stripes(rng: np.random.Generator, m: int, period: tuple[float, float]) -> Arr:
    """(m, 32, 32) sinusoidal stripes in [-1, 1], random orientation, period and phase."""
    phi = rng.uniform(0, np.pi, m).astype(np.float32)[:, None, None]
    per = rng.uniform(*period, m).astype(np.float32)[:, None, None]
    ph = rng.uniform(0, 2 * np.pi, m).astype(np.float32)[:, None, None]
    return np.sin(2 * np.pi * (np.cos(phi) * _GX + np.sin(phi) * _GY) / per + ph)


# ---------------------------------------------------------------- backgrounds


def _background_natural(rng: np.random.Generator, m: int) -> Arr:
    """Family A: muted two-colour gradient plus one of clouds / stripes / tiles / grain."""
    c1 = hsv_to_rgb(rng.random(m), _unif(rng, 0.1, 0.6, m), _unif(rng, 0.25, 0.95, m))
    # Second colour close in hue: natural scenes rarely jump across the colour wheel.
    c2 = hsv_to_rgb(
        rng.random(m) * 0.25 + rng.random(m), _unif(rng, 0.1, 0.6, m), _unif(rng, 0.2, 0.95, m)
    )
    t = _gradient(rng, m)[:, None]
    bg = c1[:, :, None, None] * (1 - t) + c2[:, :, None, None] * t
    kind = rng.integers(0, 4, m)
    tex = np.zeros((m, SIZE, SIZE), np.float32)
    sel = kind == 0  # clouds at two scales
    if sel.any():
        k = int(sel.sum())
        tex[sel] = 0.7 * value_noise(rng, k, 4) + 0.3 * value_noise(rng, k, 12)
    sel = kind == 1  # stripes / wood-like
    if sel.any():
        k = int(sel.sum())
        tex[sel] = _stripes(rng, k, (3.0, 9.0)) + 0.5 * value_noise(rng, k, 8)
    sel = kind == 2  # tiles
    if sel.any():
        k = int(sel.sum())
        cell = rng.integers(4, 9, k)[:, None, None]
        off = rng.integers(0, 8, (k, 2))
        tx = ((_GX.astype(int) + off[:, 0, None, None]) // cell) % 2
        ty = ((_GY.astype(int) + off[:, 1, None, None]) // cell) % 2
        tex[sel] = ((tx ^ ty) * 2 - 1).astype(np.float32) + 0.3 * value_noise(rng, k, 16)
    sel = kind == 3  # fine grain
    if sel.any():
        tex[sel] = rng.standard_normal((int(sel.sum()), SIZE, SIZE)).astype(np.float32) * 0.8
    amp = _unif(rng, 0.03, 0.12, m)[:, None, None, None]
    tint = hsv_to_rgb(rng.random(m), _unif(rng, 0.0, 0.4, m), np.ones(m, np.float32))
    return bg + amp * tex[:, None] * tint[:, :, None, None]


def _background_neon(rng: np.random.Generator, m: int) -> Arr:
    """Family B: dark blue/purple vertical fade plus a grid, scanlines or a star field."""
    base = hsv_to_rgb(_unif(rng, 0.55, 0.85, m), _unif(rng, 0.5, 1.0, m), _unif(rng, 0.02, 0.14, m))
    top = base * _unif(rng, 1.5, 3.0, m)[:, None]
    t = (_GY / SIZE)[None] * np.ones((m, 1, 1, 1), np.float32)
    bg = top[:, :, None, None] * (1 - t) + base[:, :, None, None] * t
    kind = rng.integers(0, 3, m)
    glow_col = hsv_to_rgb(rng.random(m), np.ones(m, np.float32), np.ones(m, np.float32))
    tex = np.zeros((m, SIZE, SIZE), np.float32)
    sel = kind == 0  # grid of thin lines
    if sel.any():
        k = int(sel.sum())
        sp = rng.integers(4, 9, k)[:, None, None]
        off = rng.integers(0, 8, (k, 2))
        gx = (_GX.astype(int) + off[:, 0, None, None]) % sp == 0
        gy = (_GY.astype(int) + off[:, 1, None, None]) % sp == 0
        tex[sel] = (gx | gy).astype(np.float32) * _unif(rng, 0.08, 0.25, k)[:, None, None]
    sel = kind == 1  # scanlines
    if sel.any():
        k = int(sel.sum())
        tex[sel] = ((_GY.astype(int) % 2) * np.ones((k, 1, SIZE))).astype(np.float32) * 0.12
    sel = kind == 2  # star field
    if sel.any():
        k = int(sel.sum())
        tex[sel] = (rng.random((k, SIZE, SIZE)) < 0.03).astype(np.float32) * rng.uniform(
            0.2, 0.7, (k, SIZE, SIZE)
        ).astype(np.float32)
    return bg + tex[:, None] * glow_col[:, :, None, None]


def _background_sketch(rng: np.random.Generator, m: int) -> Arr:
    """Family C: off-white paper with grain, sometimes faint ruled lines."""
    paper = hsv_to_rgb(
        _unif(rng, 0.08, 0.16, m), _unif(rng, 0.02, 0.15, m), _unif(rng, 0.82, 0.98, m)
    )
    bg = paper[:, :, None, None] * np.ones((1, 1, SIZE, SIZE), np.float32)
    grain = rng.standard_normal((m, SIZE, SIZE)).astype(np.float32) * 0.02
    grain += 0.02 * value_noise(rng, m, 8)
    bg = bg + grain[:, None]
    ruled = rng.random(m) < 0.5
    sp = rng.integers(5, 9, m)[:, None, None]
    off = rng.integers(0, 8, m)[:, None, None]
    lines = ((_GY.astype(int) + off) % sp == 0) & ruled[:, None, None]
    ink = np.array([0.45, 0.6, 0.85], np.float32)[None, :, None, None]  # pale blue rule
    a = lines[:, None].astype(np.float32) * 0.5
    return bg * (1 - a) + ink * a


# ---------------------------------------------------------------- shape layers


def _shape_distance(kinds: Arr, u: Arr, v: Arr) -> Arr:
    """Local signed distance for each image's kind (evaluated per kind on its subset)."""
    d = np.full(u.shape, 1e3, np.float32)
    for k in np.unique(kinds):
        sel = kinds == k
        fn: Callable[[Arr, Arr], Arr] = sdf.segment if k == sdf.LINE else sdf.CLASS_SDFS[int(k)][1]
        d[sel] = fn(u[sel], v[sel])
    return d


def draw_layer(
    img: Arr,
    layer: dict[str, Arr],
    style: str,
    rng: np.random.Generator,
) -> None:
    """Composite one shape per image (where ``layer["active"]``) onto ``img`` in place.

    ``layer`` holds per-image arrays: kind, cx, cy, r (px), rot, ax, ay (aspect),
    outline (bool), width (px), color (m, 3), shade (shading strength).
    """
    act = layer["active"]
    if not act.any():
        return
    idx = np.flatnonzero(act)
    L = {k: v[idx] for k, v in layer.items()}
    m = len(idx)
    c = np.cos(L["rot"])[:, None, None]
    s = np.sin(L["rot"])[:, None, None]
    dx = _GX - L["cx"][:, None, None]
    dy = _GY - L["cy"][:, None, None]
    r = L["r"][:, None, None]
    ax = L["ax"][:, None, None]
    ay = L["ay"][:, None, None]
    u = (dx * c + dy * s) / (r * ax)
    v = (-dx * s + dy * c) / (r * ay)
    if style == "sketch":
        # Hand-drawn wobble: perturb the local coordinates with smooth noise.
        u = u + value_noise(rng, m, 6) * (0.6 / r)
        v = v + value_noise(rng, m, 6) * (0.6 / r)
    d = _shape_distance(L["kind"], u, v) * (r * np.minimum(ax, ay))  # approx. pixels
    w = L["width"][:, None, None]
    is_line = (L["kind"] == sdf.LINE)[:, None, None]
    outline = L["outline"][:, None, None] & ~is_line
    # Lines are segments of the given width; shapes are filled or stroked.
    dd = np.where(is_line, d - w / 2, np.where(outline, np.abs(d) - w / 2, d))
    alpha = np.clip(0.5 - dd, 0, 1)
    col = L["color"][:, :, None, None] * np.ones((1, 1, SIZE, SIZE), np.float32)

    if style == "natural":
        # Directional shading across the shape, like a lit object.
        phi = rng.uniform(0, 2 * np.pi, m).astype(np.float32)[:, None, None]
        g = 1 + L["shade"][:, None, None] * 0.5 * (np.cos(phi) * u + np.sin(phi) * v)
        col = col * g[:, None]
    elif style == "sketch":
        # Filled sketch shapes are hatched, not solid: keep stroke band plus hatch lines.
        hphi = rng.uniform(0, np.pi, m).astype(np.float32)[:, None, None]
        per = rng.uniform(2.5, 4.0, m).astype(np.float32)[:, None, None]
        hatch = np.sin(2 * np.pi * (np.cos(hphi) * _GX + np.sin(hphi) * _GY) / per) > 0.3
        inside = np.clip(0.5 - d, 0, 1)
        stroke = np.clip(0.5 - (np.abs(d) - w / 2), 0, 1)
        filled = ~outline & ~is_line
        alpha = np.where(filled, np.maximum(stroke, inside * hatch * 0.8), alpha)

    a = alpha[:, None]
    out = img[idx] * (1 - a) + col * a
    if style == "neon":
        # Additive glow around the stroke, fading with distance.
        glow = np.exp(-np.maximum(dd, 0) / 1.6) * (1 - alpha) * 0.55
        out = out + col * glow[:, None]
    img[idx] = out


def _occlude(img: Arr, bg: Arr, layer: dict[str, Arr]) -> None:
    """Bars in front of the main shape, painted with the background seen through them.

    Using background colour (not a new colour) makes occlusion remove evidence
    without adding a bar-shaped object the classifier could latch on to.
    """
    act = layer["active"]
    if not act.any():
        return
    idx = np.flatnonzero(act)
    c = np.cos(layer["rot"][idx])[:, None, None]
    s = np.sin(layer["rot"][idx])[:, None, None]
    dx = _GX - layer["cx"][idx, None, None]
    dy = _GY - layer["cy"][idx, None, None]
    u = dx * c + dy * s
    v = -dx * s + dy * c
    d = sdf.box(u, v, 20.0, layer["half"][idx, None, None])
    a = np.clip(0.5 - d, 0, 1)[:, None]
    img[idx] = img[idx] * (1 - a) + bg[idx] * a


# ---------------------------------------------------------------- scene sampling

_PALETTES = {
    # (hue sampler, saturation range, value range) per family for shape colours.
    "natural": ((0.0, 1.0), (0.35, 0.95), (0.3, 0.95)),
    "neon": ((0.0, 1.0), (0.8, 1.0), (0.9, 1.0)),
    "sketch": ((0.0, 1.0), (0.0, 0.6), (0.08, 0.45)),
}
_OUTLINE_P = {"natural": 0.25, "neon": 0.8, "sketch": 0.5}
_WIDTH = {"natural": (1.2, 2.6), "neon": (1.0, 2.0), "sketch": (0.8, 1.6)}
_NEON_HUES = np.array([0.83, 0.5, 0.3, 0.15, 0.08, 0.93, 0.6], np.float32)


def _colors(rng: np.random.Generator, m: int, style: str) -> Arr:
    (h0, h1), sat, val = _PALETTES[style]
    if style == "neon":
        hue = _NEON_HUES[rng.integers(0, len(_NEON_HUES), m)] + rng.normal(0, 0.02, m)
    elif style == "sketch":
        # Graphite, blue or red pencil.
        hue = np.array([0.0, 0.62, 0.99], np.float32)[rng.integers(0, 3, m)]
    else:
        hue = rng.uniform(h0, h1, m)
    return hsv_to_rgb(hue, _unif(rng, *sat, m), _unif(rng, *val, m))


def _luminance(rgb: Arr) -> Arr:
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def _contrast(rng: np.random.Generator, color: Arr, bg_lum: Arr) -> Arr:
    """Rescale colours so their luminance differs from the background's by 0.15-0.45.

    Without this a random colour on a random background is often invisible, which makes
    labels noise rather than difficulty. A few shapes (LOW_CONTRAST_P) keep their colour.
    """
    m = len(color)
    lum = np.maximum(_luminance(color), 1e-3)
    gap = rng.uniform(0.15, 0.45, m)
    up = bg_lum + gap
    down = bg_lum - gap
    # Go lighter or darker, whichever stays in range (random when both do).
    target = np.where(
        (up <= 0.95) & ((down < 0.05) | (rng.random(m) < 0.5)), up, np.maximum(down, 0.03)
    )
    scaled = np.clip(color * (target / lum)[:, None], 0, 1)
    keep = rng.random(m) < LOW_CONTRAST_P
    return np.where(keep[:, None], color, scaled).astype(np.float32)


def _sample_main(rng: np.random.Generator, labels: Arr, style: str, bg_lum: Arr) -> dict[str, Arr]:
    m = len(labels)
    comp = COMPOSITION[style]
    r = _unif(rng, *comp["radius"], m)
    jitter, tilt = comp["jitter"], comp["tilt"]  # see COMPOSITION for why
    return {
        "active": np.ones(m, bool),
        "kind": labels.astype(np.int64),
        "cx": (SIZE / 2 + rng.uniform(-1, 1, m) * jitter).astype(np.float32),
        "cy": (SIZE / 2 + rng.uniform(-1, 1, m) * jitter).astype(np.float32),
        "r": r,
        "rot": (_unif(rng, -tilt, tilt, m) + np.pi * rng.integers(0, 2, m)).astype(np.float32),
        "ax": _unif(rng, 0.85, 1.15, m),
        "ay": _unif(rng, 0.85, 1.15, m),
        "outline": rng.random(m) < _OUTLINE_P[style],
        "width": _unif(rng, *_WIDTH[style], m),
        # Neon on dark and ink on paper contrast by construction; natural scenes need help.
        "color": (
            _contrast(rng, _colors(rng, m, style), bg_lum)
            if style == "natural"
            else _colors(rng, m, style)
        ),
        "shade": _unif(rng, 0.0, 0.8, m),
    }


def _sample_distractor(
    rng: np.random.Generator, labels: Arr, style: str, active: Arr
) -> dict[str, Arr]:
    m = len(labels)
    # Any kind except the label's (a second, smaller instance of the class would be
    # harmless, but excluding it keeps the label unambiguous); lines are common clutter.
    kind = rng.integers(0, NUM_KINDS - 1, m)
    kind = np.where(kind >= labels, kind + 1, kind)
    line = kind == sdf.LINE
    r = np.where(line, _unif(rng, 3.0, 8.0, m), _unif(rng, *DISTRACTOR_RADIUS, m))
    return {
        "active": active,
        "kind": kind.astype(np.int64),
        "cx": _unif(rng, 0, SIZE, m),
        "cy": _unif(rng, 0, SIZE, m),
        "r": r.astype(np.float32),
        "rot": _unif(rng, 0, 2 * np.pi, m),
        "ax": _unif(rng, 0.85, 1.15, m),
        "ay": _unif(rng, 0.85, 1.15, m),
        "outline": rng.random(m) < _OUTLINE_P[style],
        "width": np.where(line, _unif(rng, 0.7, 1.4, m), _unif(rng, *_WIDTH[style], m) * 0.7),
        "color": _colors(rng, m, style),
        "shade": _unif(rng, 0.0, 0.5, m),
    }


_BACKGROUNDS = {
    "natural": _background_natural,
    "neon": _background_neon,
    "sketch": _background_sketch,
}
_NOISE = {"natural": (0.01, 0.06), "neon": (0.005, 0.03), "sketch": (0.005, 0.025)}


def render_chunk(labels: Arr, style: str, rng: np.random.Generator) -> tuple[Arr, dict[str, Arr]]:
    """Render one image per label; returns (m, 3, 32, 32) float32 in [0, 1] and extras."""
    m = len(labels)
    bg = _BACKGROUNDS[style](rng, m).astype(np.float32)
    img = bg.copy()
    # Clutter behind the main shape.
    n_dist = rng.choice(len(DISTRACTOR_P), m, p=DISTRACTOR_P)
    for j in range(len(DISTRACTOR_P) - 1):
        draw_layer(img, _sample_distractor(rng, labels, style, n_dist > j), style, rng)
    bg_lum = _luminance(bg.mean(axis=(2, 3)))
    main = _sample_main(rng, labels, style, bg_lum)
    draw_layer(img, main, style, rng)
    # Occluding bar passing near the main shape's centre.
    occluded = rng.random(m) < OCCLUDE_P
    off = rng.uniform(-0.6, 0.6, m).astype(np.float32) * main["r"]
    rot = _unif(rng, 0, np.pi, m)
    occ = {
        "active": occluded,
        "cx": main["cx"] + off * np.cos(rot + np.pi / 2),
        "cy": main["cy"] + off * np.sin(rot + np.pi / 2),
        "rot": rot,
        "half": main["r"] * _unif(rng, 0.15, 0.35, m),
    }
    _occlude(img, bg, occ)
    # Occasionally one more piece of clutter in front (partial overlap with the shape).
    draw_layer(img, _sample_distractor(rng, labels, style, rng.random(m) < 0.2), style, rng)
    if style == "natural":
        img = box_blur3(img, (rng.random(m) < 0.5) * _unif(rng, 0.3, 1.0, m))
    lo, hi = _NOISE[style]
    sigma = _unif(rng, lo, hi, m)[:, None, None, None]
    img = img + rng.standard_normal(img.shape).astype(np.float32) * sigma
    # 8-bit quantisation like real images (and exact PNG round trips).
    img = np.round(np.clip(img, 0, 1) * 255) / 255
    extras = {"scale": main["r"], "n_distractors": n_dist, "occluded": occluded}
    return img.astype(np.float32), extras


def parse_family(family: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """``"A"``, ``"AB"``, ``"A,B"`` or ``["A", "B"]`` -> ("A", "B")."""
    letters = list(family) if not isinstance(family, str) else list(family.replace(",", ""))
    letters = [f.strip().upper() for f in letters if f.strip()]
    bad = [f for f in letters if f not in FAMILIES]
    if not letters or bad:
        raise ValueError(f"family must be letters from {FAMILIES}, got {family!r}")
    return tuple(dict.fromkeys(letters))  # dedupe, keep order


@register("shapes", version=1)
def build_shapes(n: int = 6000, family: str = "A", seed: int = 0) -> Dataset:
    """Procedural 32x32 RGB shape scenes, 10 classes; ``family`` "A", "B", "C" or a mix ("AB").

    Classes are balanced; with several families the samples are split evenly among them
    (``meta["family"]`` says which). Deterministic in (n, family, seed).
    """
    fams = parse_family(family)
    n = int(n)
    if n < 1:
        raise ValueError("n must be positive")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % len(CLASS_NAMES)).astype(np.int64)
    fam_idx = rng.permutation(np.arange(n) % len(fams))
    x = np.empty((n, 3, SIZE, SIZE), np.float32)
    scale = np.empty(n, np.float32)
    n_dist = np.empty(n, np.int64)
    occluded = np.empty(n, bool)
    for fi, f in enumerate(fams):
        idx = np.flatnonzero(fam_idx == fi)
        for start in range(0, len(idx), CHUNK):
            ci = idx[start : start + CHUNK]
            # One independent stream per (seed, family, chunk): order-independent.
            crng = np.random.default_rng([int(seed), ord(f), start])
            imgs, extras = render_chunk(y[ci], FAMILY_STYLES[f], crng)
            x[ci] = imgs
            scale[ci] = extras["scale"]
            n_dist[ci] = extras["n_distractors"]
            occluded[ci] = extras["occluded"]
    return Dataset(
        name="shapes",
        x=x,
        y=y,
        class_names=CLASS_NAMES,
        kind="image",
        meta={
            "params": {"n": n, "family": "".join(fams), "seed": int(seed)},
            "families": {f: FAMILY_STYLES[f] for f in fams},
            "family": np.array([fams[i] for i in fam_idx], dtype="<U1"),
            "scale": scale,
            "n_distractors": n_dist,
            "occluded": occluded,
        },
    )
