"""The embedded default dataset: three MVTec-layout categories drawn from a seed, so the series needs no download.

* ``weave``   a regular, periodic texture (a basket weave); defects: hole, scratch.
* ``granite`` a stochastic texture (multi-scale noise);   defects: crack, stain.
* ``capsule`` an aligned object on a plain background;    defects: missing, contamination, scratch.

Normal images vary in lighting (brightness, a gradient, a colour cast), position and texture randomness,
so that a randomly initialised network cannot separate normal from defective by global statistics alone.
Defects are drawn here with their own shapes and colours (never through the CutPaste code path, which
would grade the training task) and every defect carries an exact pixel mask: the pixels it painted.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage

from .staging import remove, remove_stale, replace, temporary

GENERATOR_VERSION = 1
SIZE = 256
STAMP = ".cplib-generator.json"

Picture = np.ndarray  # (H, W, 3) float in [0, 1]
Mask = np.ndarray  # (H, W) bool


@dataclass(frozen=True)
class Counts:
    """How many images each split of a category holds."""

    train: int = 150
    test_good: int = 30
    test_per_defect: int = 20


# ---------------------------------------------------------------- shared drawing helpers


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (y, x) of a SIZE×SIZE image."""
    return np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)


YY, XX = _grid()


def _lighting(rng: np.random.Generator, picture: Picture, strength: float = 1.0) -> Picture:
    """Global brightness, a linear gradient and a small colour cast: the nuisance a detector must ignore."""
    brightness = rng.uniform(1 - 0.12 * strength, 1 + 0.12 * strength)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * (XX - SIZE / 2) + np.sin(angle) * (YY - SIZE / 2)) / SIZE
    gradient = 1 + rng.uniform(0, 0.25 * strength) * ramp
    cast = 1 + rng.uniform(-0.04, 0.04, size=3) * strength
    return np.clip(picture * brightness * gradient[..., None] * cast, 0, 1)


def _sensor_noise(rng: np.random.Generator, picture: Picture, sigma: float = 0.012) -> Picture:
    """Per-pixel camera noise."""
    return np.clip(picture + rng.normal(0, sigma, picture.shape).astype(np.float32), 0, 1)


def _disc(cy: float, cx: float, radius: float) -> Mask:
    """A filled disc."""
    return (YY - cy) ** 2 + (XX - cx) ** 2 <= radius**2


def _ellipse(cy: float, cx: float, ry: float, rx: float, angle: float) -> Mask:
    """A filled rotated ellipse."""
    dy, dx = YY - cy, XX - cx
    u = np.cos(angle) * dx + np.sin(angle) * dy
    v = -np.sin(angle) * dx + np.cos(angle) * dy
    return (u / rx) ** 2 + (v / ry) ** 2 <= 1


def _segment(y0: float, x0: float, y1: float, x1: float, half_width: float) -> Mask:
    """Pixels within half_width of the segment (y0, x0)–(y1, x1)."""
    dy, dx = y1 - y0, x1 - x0
    t = np.clip(((YY - y0) * dy + (XX - x0) * dx) / max(dy * dy + dx * dx, 1e-6), 0, 1)
    return (YY - (y0 + t * dy)) ** 2 + (XX - (x0 + t * dx)) ** 2 <= half_width**2


def _polyline(points: np.ndarray, half_width: float) -> Mask:
    """Union of segments through consecutive points (N, 2) of (y, x)."""
    mask = np.zeros((SIZE, SIZE), bool)
    for (y0, x0), (y1, x1) in zip(points[:-1], points[1:]):
        mask |= _segment(y0, x0, y1, x1, half_width)
    return mask


def _paint(picture: Picture, mask: Mask, colour: np.ndarray) -> Picture:
    """Replace the masked pixels by a colour (per pixel or constant)."""
    out = picture.copy()
    out[mask] = colour if np.ndim(colour) == 1 else colour[mask]
    return out


def _scratch_mask(
    rng: np.random.Generator, region: Mask, length: tuple[float, float], width: tuple[float, float]
) -> Mask:
    """A straight thin scratch whose centre lies inside region."""
    ys, xs = np.nonzero(region)
    k = rng.integers(len(ys))
    half = rng.uniform(*length) / 2
    angle = rng.uniform(0, np.pi)
    dy, dx = half * np.sin(angle), half * np.cos(angle)
    mask = _segment(ys[k] - dy, xs[k] - dx, ys[k] + dy, xs[k] + dx, rng.uniform(*width) / 2)
    return mask & region


# ---------------------------------------------------------------- weave: a regular texture


def _weave(rng: np.random.Generator) -> Picture:
    """A basket weave: alternating horizontal and vertical threads on a period-16 grid, randomly shifted."""
    period = 16 * rng.uniform(0.97, 1.03)
    theta = np.deg2rad(rng.uniform(-2, 2))
    u = np.cos(theta) * XX + np.sin(theta) * YY + rng.uniform(0, 2 * period)
    v = -np.sin(theta) * XX + np.cos(theta) * YY + rng.uniform(0, 2 * period)
    cell = (np.floor(u / period) + np.floor(v / period)) % 2
    across = np.where(cell == 0, v, u) / period * 2 * np.pi * 2
    thread = 0.62 + 0.28 * np.abs(np.cos(across / 2)) + 0.05 * rng.normal(size=(SIZE, SIZE))
    fibre = ndimage.gaussian_filter(rng.normal(size=(SIZE, SIZE)), 1.0) * 0.08
    base = np.array([0.78, 0.66, 0.45]) * rng.uniform(0.95, 1.05, size=3)
    return np.clip((thread + fibre)[..., None] * base, 0, 1).astype(np.float32)


def _weave_hole(rng: np.random.Generator, picture: Picture) -> tuple[Picture, Mask]:
    """A hole through the fabric: a small ragged dark opening."""
    cy, cx = rng.uniform(40, SIZE - 40, size=2)
    mask = _ellipse(cy, cx, rng.uniform(3, 7), rng.uniform(3, 7), rng.uniform(0, np.pi))
    mask |= _disc(cy + rng.uniform(-3, 3), cx + rng.uniform(-3, 3), rng.uniform(2, 5))
    backing = picture[mask].mean(0) * rng.uniform(0.45, 0.6)
    return _paint(picture, mask, backing), mask


def _weave_scratch(rng: np.random.Generator, picture: Picture) -> tuple[Picture, Mask]:
    """A pulled thread: a thin straight line across the weave, lighter than the fabric."""
    mask = _scratch_mask(rng, np.ones((SIZE, SIZE), bool), (40, 90), (3, 5))
    light = np.clip(picture[mask].mean(0) * rng.uniform(1.25, 1.4), 0, 1)
    return _paint(picture, mask, light), mask


# ---------------------------------------------------------------- granite: a stochastic texture


def _granite(rng: np.random.Generator) -> Picture:
    """Speckled stone: noise at three scales mapped between two colours, plus dark and light grains."""
    field = sum(
        w * ndimage.gaussian_filter(rng.normal(size=(SIZE, SIZE)), s) * s for s, w in ((1, 0.5), (3, 0.4), (8, 0.35))
    )
    field = (field - field.mean()) / field.std()
    light, dark = np.array([0.72, 0.70, 0.68]), np.array([0.42, 0.40, 0.42])
    mix = 1 / (1 + np.exp(-1.5 * field))
    picture = mix[..., None] * light + (1 - mix[..., None]) * dark
    grains = rng.random((SIZE, SIZE))
    picture[grains < 0.01] *= 0.55
    picture[grains > 0.99] = np.minimum(picture[grains > 0.99] * 1.3, 1)
    return picture.astype(np.float32)


def _granite_crack(rng: np.random.Generator, picture: Picture) -> tuple[Picture, Mask]:
    """A crack: a dark, thin, jagged random walk."""
    steps = rng.integers(6, 11)
    heading = rng.uniform(0, 2 * np.pi)
    headings = heading + np.cumsum(rng.normal(0, 0.45, steps))
    lengths = rng.uniform(6, 12, steps)
    start = rng.uniform(60, SIZE - 60, size=2)
    points = start + np.cumsum(np.stack([np.sin(headings), np.cos(headings)], 1) * lengths[:, None], 0)
    mask = _polyline(np.vstack([start, np.clip(points, 2, SIZE - 3)]), rng.uniform(1.0, 1.8))
    return _paint(picture, mask, picture[mask].mean(0) * rng.uniform(0.35, 0.5)), mask


def _granite_stain(rng: np.random.Generator, picture: Picture) -> tuple[Picture, Mask]:
    """A stain: a blotch of rust-coloured discolouration with a ragged outline."""
    cy, cx = rng.uniform(40, SIZE - 40, size=2)
    radius = rng.uniform(9, 16)
    ragged = ndimage.gaussian_filter(rng.normal(size=(SIZE, SIZE)), 4) * 40
    mask = ((YY - cy) ** 2 + (XX - cx) ** 2) <= (radius + ragged) ** 2
    mask &= _disc(cy, cx, radius * 1.6)
    tint = np.array([1.12, 0.92, 0.72]) * rng.uniform(0.95, 1.05)
    return _paint(picture, mask, np.clip(picture * tint, 0, 1)), mask


# ---------------------------------------------------------------- capsule: an aligned object


def _capsule_shape(rng: np.random.Generator) -> tuple[Mask, Mask, tuple[float, float, float]]:
    """The capsule's outline and its left half, slightly shifted and rotated; returns (body, left, pose)."""
    cy, cx = SIZE / 2 + rng.uniform(-4, 4, size=2)
    angle = np.deg2rad(rng.uniform(-3, 3))
    u = np.cos(angle) * (XX - cx) + np.sin(angle) * (YY - cy)
    v = -np.sin(angle) * (XX - cx) + np.cos(angle) * (YY - cy)
    half_length, radius = 70, 34
    body = (np.abs(v) <= radius) & ((np.abs(u) <= half_length) | ((np.abs(u) - half_length) ** 2 + v**2 <= radius**2))
    return body, body & (u < 0), (cy, cx, angle)


def _capsule(rng: np.random.Generator) -> tuple[Picture, Mask]:
    """A two-tone capsule with a printed band on a plain grey background, shaded as a cylinder."""
    body, left, (cy, cx, angle) = _capsule_shape(rng)
    background = np.full((SIZE, SIZE, 3), 0.3 + rng.uniform(-0.02, 0.02), np.float32)
    v = -np.sin(angle) * (XX - cx) + np.cos(angle) * (YY - cy)
    shade = 0.75 + 0.25 * np.sqrt(np.clip(1 - (v / 36) ** 2, 0, 1))
    colour = np.where(left[..., None], np.array([0.80, 0.22, 0.18]), np.array([0.92, 0.88, 0.78]))
    picture = np.where(body[..., None], colour * shade[..., None], background)
    u = np.cos(angle) * (XX - cx) + np.sin(angle) * (YY - cy)
    band = body & (np.abs(u - 30) <= 3)
    picture[band] *= 0.55
    texture = ndimage.gaussian_filter(rng.normal(size=(SIZE, SIZE)), 1.5) * 0.03
    return np.clip(picture + texture[..., None], 0, 1).astype(np.float32), body


def _capsule_missing(rng: np.random.Generator, picture: Picture, body: Mask) -> tuple[Picture, Mask]:
    """A missing piece: a bite out of the capsule's edge shows the background."""
    edge = body & ~ndimage.binary_erosion(body, iterations=2)
    ys, xs = np.nonzero(edge)
    k = rng.integers(len(ys))
    mask = _disc(ys[k], xs[k], rng.uniform(7, 12)) & body
    background = picture[~body].mean(0)
    return _paint(picture, mask, background), mask


def _capsule_contamination(rng: np.random.Generator, picture: Picture, body: Mask) -> tuple[Picture, Mask]:
    """Contamination: a few dark particles stuck to the capsule."""
    inner = ndimage.binary_erosion(body, iterations=8)
    ys, xs = np.nonzero(inner)
    k = rng.integers(len(ys))
    mask = np.zeros((SIZE, SIZE), bool)
    for _ in range(rng.integers(2, 5)):
        mask |= _disc(ys[k] + rng.uniform(-8, 8), xs[k] + rng.uniform(-8, 8), rng.uniform(1.5, 3.5))
    mask &= body
    return _paint(picture, mask, np.array([0.25, 0.2, 0.15]) * rng.uniform(0.8, 1.4)), mask


def _capsule_scratch(rng: np.random.Generator, picture: Picture, body: Mask) -> tuple[Picture, Mask]:
    """A scratch across the capsule's coating, darker than the coating."""
    inner = ndimage.binary_erosion(body, iterations=6)
    mask = _scratch_mask(rng, inner, (25, 50), (2, 4))
    return _paint(picture, mask, picture * rng.uniform(0.55, 0.7)), mask


# ---------------------------------------------------------------- categories

Drawer = Callable[[np.random.Generator], tuple[Picture, Mask]]
Defect = Callable[[np.random.Generator, Picture, Mask], tuple[Picture, Mask]]


def _texture(draw: Callable[[np.random.Generator], Picture]) -> Drawer:
    """A texture's region of interest is the whole image."""
    return lambda rng: (draw(rng), np.ones((SIZE, SIZE), bool))


def _anywhere(defect: Callable[[np.random.Generator, Picture], tuple[Picture, Mask]]) -> Defect:
    """A texture defect ignores the region of interest."""
    return lambda rng, picture, region: defect(rng, picture)


@dataclass(frozen=True)
class Category:
    """How to draw one category: a normal image, its defects and the strength of its nuisance variation."""

    kind: str
    draw: Drawer
    defects: dict[str, Defect]
    lighting: float


CATEGORIES: dict[str, Category] = {
    "weave": Category(
        "texture", _texture(_weave), {"hole": _anywhere(_weave_hole), "scratch": _anywhere(_weave_scratch)}, 1.0
    ),
    "granite": Category(
        "texture", _texture(_granite), {"crack": _anywhere(_granite_crack), "stain": _anywhere(_granite_stain)}, 1.0
    ),
    "capsule": Category(
        "object",
        _capsule,
        {"missing": _capsule_missing, "contamination": _capsule_contamination, "scratch": _capsule_scratch},
        1.0,
    ),
}


def draw_sample(category: str, seed: int, index: int, defect: str = "good") -> tuple[Picture, Mask]:
    """One image of a category and its defect mask, fully determined by (category, seed, index, defect)."""
    spec = CATEGORIES[category]
    key = [seed, list(CATEGORIES).index(category), index, ["good", *spec.defects].index(defect)]
    rng = np.random.default_rng(key)
    picture, region = spec.draw(rng)
    mask = np.zeros((SIZE, SIZE), bool)
    if defect != "good":
        picture, mask = spec.defects[defect](rng, picture, region)
    return _sensor_noise(rng, _lighting(rng, picture, spec.lighting)), mask


def _layout(counts: Counts) -> Iterator[tuple[str, str, str, int]]:
    """(category, split, defect, index) of every file, in a fixed order."""
    for category, spec in CATEGORIES.items():
        for i in range(counts.train):
            yield category, "train", "good", i
        for i in range(counts.test_good):
            yield category, "test", "good", counts.train + i
        for defect in spec.defects:
            for i in range(counts.test_per_defect):
                yield category, "test", defect, i


def _to_png(picture: np.ndarray, path: Path) -> None:
    """Save an array as an 8-bit PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.round(np.clip(picture, 0, 1) * 255).astype(np.uint8)).save(path, compress_level=1)


def write_dataset(root: Path, seed: int = 0, counts: Counts = Counts()) -> Path:
    """Write the whole dataset under root in MVTec AD layout (root must not exist yet)."""
    root = Path(root)
    for category, split, defect, index in _layout(counts):
        picture, mask = draw_sample(category, seed, index, defect)
        name = f"{index:03d}.png"
        _to_png(picture, root / category / split / defect / name)
        if defect != "good":
            _to_png(mask.astype(np.float32), root / category / "ground_truth" / defect / f"{index:03d}_mask.png")
    return root


def _stamp(seed: int, counts: Counts) -> dict:
    """What identifies a written dataset: the generator version, the seed and the counts."""
    return {"version": GENERATOR_VERSION, "seed": seed, "counts": counts.__dict__}


def ensure_default_data(
    root: Path | None = None, seed: int = 0, counts: Counts = Counts(), verbose: bool = True
) -> Path:
    """Return the default dataset's folder, (re)writing it atomically when missing or from another generator version.

    Parameters
    ----------
    root : Path or None, default None
        Where to write it; None: `cplib.paths.default_data_root()`.
    seed : int, default 0
        Seed of the generator.
    counts : Counts, default Counts()
        Images per split.
    verbose : bool, default True
        Print a line when the dataset is written.

    Returns
    -------
    Path
        The dataset's folder.
    """
    from .paths import default_data_root

    root = Path(root) if root is not None else default_data_root()
    remove_stale(root)
    stamp_file = root / STAMP
    if stamp_file.exists() and json.loads(stamp_file.read_text()) == _stamp(seed, counts):
        return root
    started = time.perf_counter()
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = temporary(root)
    try:
        write_dataset(staging, seed, counts)
        (staging / STAMP).write_text(json.dumps(_stamp(seed, counts)))
        replace(staging, root)
    finally:
        remove(staging)
    if verbose:
        print(f"cplib: wrote the default dataset to {root} in {time.perf_counter() - started:.1f} s")
    return root
