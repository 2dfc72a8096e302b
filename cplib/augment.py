"""Synthetic anomalies for CutPaste's proxy task, batched on tensors.

Cutout, Scar, CutPaste and CutPaste-Scar (Li et al., CVPR 2021, Sec. 3 and Table 1), the colour jitter
and pre-augmentation around them, and `make_views`, which turns a batch of normal images into the proxy
classifier's inputs, labels and masks. Conventions shared by every function:

* images are float tensors (B, C, H, W) in [0, 1], C = 1 or 3, any H and W, on any device; the input is
  never modified in place;
* randomness comes only from the CPU `torch.Generator` passed in and depends only on the batch size and
  the parameters, never on pixel values: a seed fixes every draw, and sample i never depends on image j
  (with a `foreground`, the number of redraws depends on the whole batch's placements, so later draws do too);
* masks are bool (B, 1, H, W), True exactly where any channel changed (for figures and tests);
* `foreground` (optional, every augmentation): a bool mask (H, W) or (B, 1, H, W) of the object; the changed
  region is then placed so that at least `min_overlap` of it lies on the mask (see `_onto_foreground`).
  An all-True mask changes nothing: the first draw is always accepted, so the output is identical.
* sizes are pixels of the image given, so augment after resizing to the training resolution (augmenting
  before the resize shrinks the pixel-sized scars, a public-port bug).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor
from torch.nn import functional as F
from torchvision.transforms.v2.functional import rgb_to_grayscale
from torchvision.transforms.v2.functional._color import _hsv_to_rgb, _rgb_to_hsv

Range = tuple[float, float]
Size = tuple[int, int]

FILLS = ("grey", "mean", "random")
VARIANTS = ("cutout", "scar", "cutpaste", "cutpaste-scar", "union", "3way")
MAX_JITTER = 0.5  # ColorJitter's limit: brightness factor 1 - j >= 0 and hue shift |j| <= 0.5
FOREGROUND_ROUNDS = 32  # draws of a placement before falling back to one anchored on a foreground pixel


# ---------------------------------------------------------------- validation


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _interval(low: float, high: float, brackets: str) -> str:
    return f"{brackets[0]}{low}, {high}{brackets[1]}"


def _within(value: float, low: float, high: float, brackets: str) -> bool:
    above = value > low if brackets[0] == "(" else value >= low
    below = value < high if brackets[1] == ")" else value <= high
    return above and below


def _check_number(name: str, value: object, low: float, high: float, brackets: str = "[]") -> float:
    """Return `value` as a float, or raise a ValueError naming the parameter and its allowed interval."""
    if not (_is_real(value) and _within(value, low, high, brackets)):
        raise ValueError(f"{name}={value!r}: must lie in {_interval(low, high, brackets)}")
    return float(value)


def _check_range(name: str, value: object, low: float, high: float, brackets: str = "()") -> Range:
    """Return a (low, high) pair, or raise a ValueError naming it and the interval its bounds need."""
    valid = (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(_is_real(bound) and _within(bound, low, high, brackets) for bound in value)
        and value[0] <= value[1]
    )
    if not valid:
        raise ValueError(
            f"{name}={value!r}: each bound must lie in {_interval(low, high, brackets)} with low <= high"
        )
    return float(value[0]), float(value[1])


def _check_jitter(name: str, value: object) -> float:
    return _check_number(name, value, 0, MAX_JITTER)


def _check_images(images: object) -> None:
    """Raise unless `images` is a float (B, C, H, W) tensor with C = 1 or 3."""
    if not (
        isinstance(images, Tensor)
        and images.ndim == 4
        and images.shape[1] in (1, 3)
        and images.is_floating_point()
    ):
        found = (
            f"{images.dtype} {tuple(images.shape)}" if isinstance(images, Tensor) else type(images).__name__
        )
        raise ValueError(f"images: expected a float tensor (B, C, H, W) with C = 1 or 3, got {found}")


def _check_foreground(foreground: object, images: Tensor) -> Tensor | None:
    """The foreground as a bool (B or 1, 1, H, W) tensor on the images' device, or a ValueError saying why not."""
    if foreground is None:
        return None
    batch, _, height, width = images.shape
    shapes = ((height, width), (batch, 1, height, width), (1, 1, height, width))
    if not (isinstance(foreground, Tensor) and foreground.dtype == torch.bool and tuple(foreground.shape) in shapes):
        found = f"{foreground.dtype} {tuple(foreground.shape)}" if isinstance(foreground, Tensor) else type(foreground).__name__
        raise ValueError(
            f"foreground: expected a bool tensor ({height}, {width}) or ({batch}, 1, {height}, {width}) matching the "
            f"images, got {found}"
        )
    foreground = foreground.reshape(-1, 1, height, width).to(images.device)
    if not foreground.flatten(1).any(1).all():
        raise ValueError("foreground: every mask needs at least one True pixel (the object to paste onto)")
    return foreground


def _check_min_overlap(min_overlap: object) -> float:
    return _check_number("min_overlap", min_overlap, 0, 1, "(]")


# ---------------------------------------------------------------- random draws (CPU, float64)


def _uniform(generator: torch.Generator, n: int, low: float | Tensor, high: float | Tensor) -> Tensor:
    """n draws of U[low, high) on the CPU; low and high may be per-sample tensors."""
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def _randint(generator: torch.Generator, upper: Tensor) -> Tensor:
    """One integer in [0, upper) per sample (upper >= 1), on the CPU."""
    draws = torch.rand(len(upper), generator=generator, dtype=torch.float64) * upper
    return draws.long().clamp(max=upper - 1)


def _corners(
    generator: torch.Generator, size: Size, heights: Tensor, widths: Tensor
) -> tuple[Tensor, Tensor]:
    """Uniform (top, left) per sample such that a heights x widths box lies fully inside the image."""
    return _randint(generator, size[0] - heights + 1), _randint(generator, size[1] - widths + 1)


# ---------------------------------------------------------------- colour jitter


class JitterFactors(NamedTuple):
    """Per-sample ColorJitter parameters (CPU tensors of length B)."""

    brightness: Tensor
    contrast: Tensor
    saturation: Tensor
    hue: Tensor


def sample_jitter(generator: torch.Generator, batch: int, strength: float) -> JitterFactors:
    """Factors U[1 - s, 1 + s] and hue shift U[-s, s], as torchvision ColorJitter(s, s, s, s) draws them."""
    factors = [_uniform(generator, batch, 1 - strength, 1 + strength) for _ in range(3)]
    return JitterFactors(*factors, _uniform(generator, batch, -strength, strength))


def _blend(images: Tensor, other: Tensor, ratio: Tensor) -> Tensor:
    return (images * ratio + other * (1 - ratio)).clamp(0, 1)


def _mean_grey(images: Tensor, region: Tensor | None) -> Tensor:
    """Per-sample mean grey (B, 1, 1, 1), over `region` (bool, broadcastable to B x 1 x H x W) if given."""
    grey = rgb_to_grayscale(images) if images.shape[1] == 3 else images
    if region is None:
        return grey.mean(dim=(1, 2, 3), keepdim=True)
    region = region.expand_as(grey)
    return (grey * region).sum(dim=(1, 2, 3), keepdim=True) / region.sum(dim=(1, 2, 3), keepdim=True)


def _shift_hue(images: Tensor, shift: Tensor) -> Tensor:
    """Rotate hue by a per-sample shift via torchvision's batched RGB<->HSV kernels (adjust_hue takes one)."""
    hue, saturation, value = _rgb_to_hsv(images).unbind(dim=1)
    shifted = torch.stack(((hue + shift.view(-1, 1, 1)).remainder(1), saturation, value), dim=1)
    return _hsv_to_rgb(shifted).clamp(0, 1)


def apply_jitter(images: Tensor, factors: JitterFactors, region: Tensor | None = None) -> Tensor:
    """ColorJitter with per-sample factors: brightness, contrast, saturation, hue in that fixed order.

    torchvision shuffles the order per call; the paper does not say, and a fixed order keeps it batched.
    Contrast blends toward the mean grey of `region` (default the whole image), so a patch cut from a larger
    tensor is jittered as if it had been cropped first. Grayscale images get brightness and contrast only.
    """
    brightness, contrast, saturation, hue = (
        factor.to(images.device, images.dtype).view(-1, 1, 1, 1) for factor in factors
    )
    jittered = (images * brightness).clamp(0, 1)
    jittered = _blend(jittered, _mean_grey(jittered, region), contrast)
    if images.shape[1] == 1:
        return jittered
    jittered = _blend(jittered, rgb_to_grayscale(jittered), saturation)
    return _shift_hue(jittered, hue.view(-1))


def jitter_colors(
    images: Tensor, generator: torch.Generator, strength: float, *, region: Tensor | None = None
) -> Tensor:
    """Per-sample ColorJitter(strength, strength, strength, strength) of a batch, clamped to [0, 1].

    Returns only the images: every pixel may change, so a mask would say nothing. `region` is as in
    `apply_jitter`. strength = 0 returns an exact copy (the HSV round trip is not exact).
    """
    _check_images(images)
    strength = _check_jitter("strength", strength)
    if strength == 0:
        return images.clone()
    return apply_jitter(images, sample_jitter(generator, len(images), strength), region)


# ---------------------------------------------------------------- geometry


def sample_box_sizes(
    generator: torch.Generator,
    batch: int,
    height: int,
    width: int,
    area: Range = (0.02, 0.15),
    aspect: Range = (0.3, 1 / 0.3),
) -> tuple[Tensor, Tensor]:
    """Per-sample (heights, widths) of CutPaste and Cutout boxes, int64 on the CPU.

    Area fraction U(area); width/height ratio log-uniform in `aspect`, as torchvision RandomErasing samples
    it (RandomErasing's ratio is height/width: the same for the default symmetric range). Where a drawn area
    leaves only part of `aspect` fitting inside a non-square image, the ratio is drawn from that part
    (RandomErasing re-draws instead, bending the area distribution); a ValueError if nothing fits.
    """
    area = _check_range("area", area, 0, 1)
    aspect = _check_range("aspect", aspect, 0, math.inf)
    _check_box_fits(height, width, area, aspect)
    pixels = _uniform(generator, batch, area[0] * height * width, area[1] * height * width)
    log_low = torch.log(pixels / height**2).clamp(min=math.log(aspect[0]))
    log_high = torch.log(width**2 / pixels).clamp(max=math.log(aspect[1]))
    ratio = torch.exp(_uniform(generator, batch, log_low, log_high))
    heights = torch.sqrt(pixels / ratio).round().long().clamp(1, height)
    widths = torch.sqrt(pixels * ratio).round().long().clamp(1, width)
    return heights, widths


def _check_box_fits(height: int, width: int, area: Range, aspect: Range) -> None:
    """Raise unless the largest box, area[1] of the image, fits with some width/height ratio in `aspect`."""
    largest = area[1] * height * width
    if largest / height**2 > aspect[1] or aspect[0] > width**2 / largest:
        raise ValueError(
            f"area={area}, aspect={aspect}: a box of {area[1]} of a {height}x{width} image fits with no "
            f"width/height ratio in aspect; narrow area or widen aspect"
        )


def _box_coordinates(
    top: Tensor, left: Tensor, heights: Tensor, widths: Tensor, size: Size, device: torch.device
) -> tuple[Tensor, Tensor, Tensor]:
    """Per pixel: inside the box (B, 1, H, W), and its row (B, H, 1) and column (B, 1, W) within the box."""
    rows = torch.arange(size[0], device=device).view(1, -1, 1) - top.to(device).view(-1, 1, 1)
    cols = torch.arange(size[1], device=device).view(1, 1, -1) - left.to(device).view(-1, 1, 1)
    inside = _inside(rows, cols, heights.to(device).view(-1, 1, 1), widths.to(device).view(-1, 1, 1))
    return inside, rows, cols


def _inside(rows: Tensor, cols: Tensor, heights: Tensor, widths: Tensor) -> Tensor:
    return ((rows >= 0) & (rows < heights) & (cols >= 0) & (cols < widths)).unsqueeze(1)


class _Scars(NamedTuple):
    """Per-sample scar geometry on the CPU: sizes in pixels (length along rows before rotation)."""

    lengths: Tensor
    widths: Tensor
    angles: Tensor
    centre_rows: Tensor
    centre_cols: Tensor


def _max_extents(length: int, width: int, angle: Range) -> tuple[float, float]:
    """Largest bounding box (rows, cols) of a length x width rectangle over rotations (degrees) in `angle`."""
    low, high = angle
    peaks = (math.degrees(math.atan2(width, length)), math.degrees(math.atan2(length, width)))
    turns = (sign * peak + 180 * k for peak in peaks for sign in (-1, 1) for k in (-1, 0, 1))
    candidates = [low, high, *(theta for theta in turns if low <= theta <= high)]
    radians = [math.radians(theta) for theta in candidates]
    extents = [_extents(length, width, abs(math.cos(r)), abs(math.sin(r))) for r in radians]
    return max(rows for rows, _ in extents), max(cols for _, cols in extents)


def _extents(
    length: float | Tensor, width: float | Tensor, cos: float | Tensor, sin: float | Tensor
) -> tuple[float | Tensor, float | Tensor]:
    """Bounding box (rows, cols) of a length x width rectangle (length along rows) rotated by an angle with
    the given |cos| and |sin|."""
    return length * cos + width * sin, length * sin + width * cos


def _scaled_lengths(generator: torch.Generator, batch: int, bounds: Range, scale: float) -> Tensor:
    """Whole-pixel sizes U[bounds] * scale, at least 1."""
    return _uniform(generator, batch, bounds[0] * scale, bounds[1] * scale).round().clamp(min=1)


def _sample_scars(
    generator: torch.Generator,
    batch: int,
    size: Size,
    width: Range,
    length: Range,
    angle: Range,
    reference_size: float,
    image_size: float | None,
    keep_source: bool,
) -> _Scars:
    """Scar sizes scaled by image_size / reference_size (image_size: the whole image's side, min(H, W) unless
    given), U(angle) rotations, and centres that keep the rotated rectangle (its own bounding box, not the
    unrotated one) inside the image; with `keep_source` the unrotated rectangle must fit too, since
    CutPaste-Scar cuts it from the image."""
    width = _check_range("width", width, 0, math.inf)
    length = _check_range("length", length, 0, math.inf)
    angle = _check_range("angle", angle, -180, 180, "[]")
    image_size = min(size) if image_size is None else _check_number("image_size", image_size, 0, math.inf, "()")
    scale = image_size / _check_number("reference_size", reference_size, 0, math.inf, "()")
    _check_scar_fits(size, width, length, angle, scale, keep_source)
    widths = _scaled_lengths(generator, batch, width, scale)
    lengths = _scaled_lengths(generator, batch, length, scale)
    angles = torch.deg2rad(_uniform(generator, batch, *angle))
    scars = _Scars(lengths.long(), widths.long(), angles, torch.empty(0), torch.empty(0))
    centre_rows, centre_cols = _scar_centres(generator, scars, size)
    return scars._replace(centre_rows=centre_rows, centre_cols=centre_cols)


def _scar_extents(scars: _Scars) -> tuple[Tensor, Tensor]:
    """Bounding box (rows, cols) of each rotated scar, float64."""
    return _extents(scars.lengths.double(), scars.widths.double(), scars.angles.cos().abs(), scars.angles.sin().abs())


def _scar_centres(generator: torch.Generator, scars: _Scars, size: Size) -> tuple[Tensor, Tensor]:
    """Uniform whole-pixel centres (rows, cols) that keep each rotated scar's bounding box inside the image.

    A rotated rectangle always covers the pixel at its centre, so even a 1-px scar changes the image (a
    centre between pixels could let a thin, short scar fall between pixel centres and change nothing).
    """
    rows, cols = _scar_extents(scars)
    return _whole_pixels(generator, rows, size[0]), _whole_pixels(generator, cols, size[1])


def _whole_pixels(generator: torch.Generator, extents: Tensor, side: int) -> Tensor:
    """Uniform integer centres in [extent / 2 - 0.5, side - 0.5 - extent / 2] (float64), the lowest if none fits."""
    low = torch.ceil(extents / 2 - 0.5)
    count = (torch.floor(side - 0.5 - extents / 2) - low + 1).clamp(min=1)
    return low + _randint(generator, count.long()).double()


def _check_scar_fits(
    size: Size, width: Range, length: Range, angle: Range, scale: float, keep_source: bool
) -> None:
    """Raise unless the largest scar fits inside the image at every angle in range (and unrotated if kept)."""
    longest, widest = max(1, round(length[1] * scale)), max(1, round(width[1] * scale))
    ranges = (angle, (0.0, 0.0)) if keep_source else (angle,)
    needs = [_max_extents(longest, widest, bounds) for bounds in ranges]
    rows, cols = max(need[0] for need in needs), max(need[1] for need in needs)
    if rows > size[0] or cols > size[1]:
        raise ValueError(
            f"length={length}, width={width}: scars up to {longest}x{widest} px (scaled by {scale:.3g} from "
            f"reference_size) within angle={angle} need {rows:.1f}x{cols:.1f} px, more than the "
            f"{size[0]}x{size[1]} image"
        )


def _rotated_coordinates(scars: _Scars, size: Size, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """Per pixel: inside the rotated rectangle (B, 1, H, W), and the row and column (B, H, W) of the unrotated
    rectangle it shows (nearest neighbour), found by inverse-rotating its offset from the centre."""
    lengths, widths, angles, centre_rows, centre_cols = (
        value.to(device, torch.float32).view(-1, 1, 1) for value in scars
    )
    down = torch.arange(size[0], device=device, dtype=torch.float32).view(1, -1, 1) - centre_rows
    across = torch.arange(size[1], device=device, dtype=torch.float32).view(1, 1, -1) - centre_cols
    cos, sin = angles.cos(), angles.sin()
    rows = torch.floor(cos * down + sin * across + lengths / 2).long()
    cols = torch.floor(cos * across - sin * down + widths / 2).long()
    return _inside(rows, cols, lengths, widths), rows, cols


# ---------------------------------------------------------------- placement on a foreground

Placement = tuple[Tensor, Tensor]  # per sample: (rows, cols) of a box's top-left corner or of a scar's centre


Footprint = Callable[[Placement, Tensor], Tensor]  # the pixels (N, 1, H, W) a placement covers, for samples `index`


def _overlap(footprint: Footprint, placement: Placement, foreground: Tensor, index: Tensor) -> Tensor:
    """Share of the footprint of samples `index` that lies on the foreground, float64 on the CPU."""
    covered = footprint(placement, index)
    mask = foreground[index.to(foreground.device)] if len(foreground) > 1 else foreground
    on = (covered & mask).flatten(1).sum(1)
    return (on / covered.flatten(1).sum(1).clamp(min=1)).double().cpu()


def _uniform_pixel(generator: torch.Generator, allowed: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per sample, (row, col) of a pixel drawn uniformly among the True ones of `allowed` (B, H, W), and
    whether there was one (where not, the pixel is meaningless)."""
    flat = allowed.flatten(1).cpu()
    counts = flat.sum(1)
    picks = _randint(generator, counts.clamp(min=1))
    index = (flat.cumsum(1) <= picks[:, None]).sum(1).clamp(max=flat.shape[1] - 1)
    width = allowed.shape[-1]
    return index // width, index % width, counts > 0


Proposal = Callable[[], tuple[Placement, Tensor]]  # placements for the batch, and which of them are usable


def _onto_foreground(
    first: Placement,
    redraw: Proposal,
    anchored: Proposal,
    footprint: Footprint,
    foreground: Tensor,
    min_overlap: float,
) -> Placement:
    """Placements whose footprint has at least `min_overlap` of its pixels on the foreground.

    Bounded rejection sampling over the whole batch: `first` is the plain draw; while some sample falls short,
    the batch redraws as usual (FOREGROUND_ROUNDS draws in all), and each short sample takes its first draw that
    qualifies, so an accepted placement is uniform among the qualifying ones. Fallback, for a sample that never
    qualifies (a region larger than the object allows, or bad luck): its draw with the largest overlap, or one
    `anchored` on a uniformly drawn foreground pixel if that overlaps more, so the region always covers at least
    one foreground pixel. A sample that qualifies at once keeps `first`: an all-True mask changes nothing.
    """
    best, best_overlap = first, _overlap(footprint, first, foreground, torch.arange(len(first[0])))
    for propose in [redraw] * (FOREGROUND_ROUNDS - 1) + [anchored]:
        pending = best_overlap < min_overlap
        if not pending.any():
            break
        candidate, usable = propose()
        overlap = torch.zeros_like(best_overlap)
        overlap[pending] = _overlap(footprint, candidate, foreground, pending.nonzero().squeeze(1))
        better = pending & usable & (overlap > best_overlap)
        best = (torch.where(better, candidate[0], best[0]), torch.where(better, candidate[1], best[1]))
        best_overlap = torch.where(better, overlap, best_overlap)
    return best


def _boxes_on_foreground(
    generator: torch.Generator,
    first: Placement,
    heights: Tensor,
    widths: Tensor,
    size: Size,
    foreground: Tensor | None,
    min_overlap: float,
) -> Placement:
    """Box corners (top, left) moved onto the foreground as `_onto_foreground` says; `first` without one.

    The anchored fallback puts a uniformly drawn foreground pixel at a uniform offset inside the box, then
    clamps the box into the image, which keeps that pixel inside it.
    """
    if foreground is None:
        return first
    everyone = torch.ones(len(heights), dtype=torch.bool)

    def footprint(corner: Placement, index: Tensor) -> Tensor:
        top, left = corner
        return _box_coordinates(top[index], left[index], heights[index], widths[index], size, foreground.device)[0]

    def redraw() -> tuple[Placement, Tensor]:
        return _corners(generator, size, heights, widths), everyone

    def anchored() -> tuple[Placement, Tensor]:
        rows, cols, _ = _uniform_pixel(generator, foreground[:, 0].expand(len(heights), -1, -1))
        top = (rows - _randint(generator, heights)).clamp(min=0).minimum(size[0] - heights)
        left = (cols - _randint(generator, widths)).clamp(min=0).minimum(size[1] - widths)
        return (top, left), everyone

    return _onto_foreground(first, redraw, anchored, footprint, foreground, min_overlap)


def _scars_on_foreground(
    generator: torch.Generator, scars: _Scars, size: Size, foreground: Tensor | None, min_overlap: float
) -> _Scars:
    """Scar centres moved onto the foreground as `_onto_foreground` says; unchanged without one.

    The anchored fallback centres the scar on a uniformly drawn foreground pixel among the valid centres (a
    rotated rectangle covers its centre pixel); a mask with no pixel there keeps the best draw.
    """
    if foreground is None:
        return scars
    everyone = torch.ones(len(scars.lengths), dtype=torch.bool)

    def footprint(centre: Placement, index: Tensor) -> Tensor:
        placed = scars._replace(centre_rows=centre[0], centre_cols=centre[1])
        return _rotated_coordinates(_Scars(*(value[index] for value in placed)), size, foreground.device)[0]

    def redraw() -> tuple[Placement, Tensor]:
        return _scar_centres(generator, scars, size), everyone

    def anchored() -> tuple[Placement, Tensor]:
        allowed = foreground[:, 0].cpu() & _valid_centres(scars, size)
        rows, cols, found = _uniform_pixel(generator, allowed)
        return (rows.double(), cols.double()), found

    centres = _onto_foreground((scars.centre_rows, scars.centre_cols), redraw, anchored, footprint, foreground, min_overlap)
    return scars._replace(centre_rows=centres[0], centre_cols=centres[1])


def _valid_centres(scars: _Scars, size: Size) -> Tensor:
    """Per sample (B, H, W): pixels that can be the centre of its rotated scar with the scar inside the image."""
    rows, cols = (extent.view(-1, 1, 1) / 2 for extent in _scar_extents(scars))
    down = torch.arange(size[0], dtype=torch.float64).view(1, -1, 1)
    across = torch.arange(size[1], dtype=torch.float64).view(1, 1, -1)
    fits_rows = (down >= rows - 0.5) & (down <= size[0] - 0.5 - rows)
    return fits_rows & (across >= cols - 0.5) & (across <= size[1] - 0.5 - cols)


# ---------------------------------------------------------------- cut and paste


def _cut_patches(
    images: Tensor,
    top: Tensor,
    left: Tensor,
    heights: Tensor,
    widths: Tensor,
    generator: torch.Generator,
    jitter: float,
) -> Tensor:
    """Copy each sample's box into a (B, C, max height, max width) tensor and colour-jitter it, contrast
    measured on the box alone as if it had been cropped."""
    device = images.device
    batch, _, height, width = images.shape
    spans_rows = torch.arange(int(heights.max()))
    spans_cols = torch.arange(int(widths.max()))
    rows = (top.view(-1, 1) + spans_rows).clamp(max=height - 1).to(device)
    cols = (left.view(-1, 1) + spans_cols).clamp(max=width - 1).to(device)
    samples = torch.arange(batch, device=device).view(-1, 1, 1)
    patches = images[samples, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    in_rows = (spans_rows < heights.view(-1, 1))[:, None, :, None]
    in_cols = (spans_cols < widths.view(-1, 1))[:, None, None, :]
    region = in_rows & in_cols
    return jitter_colors(patches, generator, jitter, region=region.to(device))


def _paste(images: Tensor, patches: Tensor, inside: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
    """Where `inside`, show patches[b, :, rows, cols]; elsewhere keep the image."""
    batch, channels, height, width = images.shape
    patch_height, patch_width = patches.shape[-2:]
    flat = rows.clamp(0, patch_height - 1) * patch_width + cols.clamp(0, patch_width - 1)
    index = flat.expand(batch, height, width).reshape(batch, 1, -1).expand(-1, channels, -1)
    shown = patches.reshape(batch, channels, -1).gather(2, index).view_as(images)
    return torch.where(inside, shown, images)


def _with_mask(images: Tensor, augmented: Tensor) -> tuple[Tensor, Tensor]:
    return augmented, (augmented != images).any(dim=1, keepdim=True)


# ---------------------------------------------------------------- the four augmentations


def cutout(
    images: Tensor,
    generator: torch.Generator,
    *,
    fill: str = "grey",
    area: Range = (0.02, 0.15),
    aspect: Range = (0.3, 1 / 0.3),
    foreground: Tensor | None = None,
    min_overlap: float = 0.5,
) -> tuple[Tensor, Tensor]:
    """Cutout baseline: fill one random box with grey 0.5, the image's mean colour or a uniform random colour.

    The paper gives no box size for Cutout; we reuse CutPaste's area and aspect ranges. With `foreground`, the box
    has at least `min_overlap` of its pixels on it (module docstring).
    """
    _check_images(images)
    if fill not in FILLS:
        raise ValueError(f"fill={fill!r}: must be one of {FILLS}")
    foreground, min_overlap = _check_foreground(foreground, images), _check_min_overlap(min_overlap)
    batch, _, height, width = images.shape
    heights, widths = sample_box_sizes(generator, batch, height, width, area, aspect)
    corners = _corners(generator, (height, width), heights, widths)
    top, left = _boxes_on_foreground(generator, corners, heights, widths, (height, width), foreground, min_overlap)
    inside, _, _ = _box_coordinates(top, left, heights, widths, (height, width), images.device)
    return _with_mask(images, torch.where(inside, _fill_colour(images, generator, fill), images))


def _fill_colour(images: Tensor, generator: torch.Generator, fill: str) -> Tensor:
    """Per-sample fill colour (B, C, 1, 1)."""
    batch, channels = images.shape[:2]
    if fill == "mean":
        return images.mean(dim=(2, 3), keepdim=True)
    if fill == "random":
        return _random_colour(images, generator)
    return images.new_full((batch, channels, 1, 1), 0.5)


def _random_colour(images: Tensor, generator: torch.Generator) -> Tensor:
    batch, channels = images.shape[:2]
    colour = torch.rand(batch, channels, 1, 1, generator=generator)
    return colour.to(images.device, images.dtype)


def scar(
    images: Tensor,
    generator: torch.Generator,
    *,
    width: Range = (2, 16),
    length: Range = (10, 25),
    angle: Range = (-45, 45),
    reference_size: float = 256,
    image_size: float | None = None,
    foreground: Tensor | None = None,
    min_overlap: float = 0.5,
) -> tuple[Tensor, Tensor]:
    """Scar baseline: a thin rectangle of uniform random colour, width U[width] x length U[length] pixels at
    `reference_size`, rotated U(angle) degrees, fully inside; with `foreground`, at least `min_overlap` of it on
    the mask. Sizes scale by image_size / reference_size, where image_size is the side of the whole image the
    tensors show (default min(H, W)); pass it for crops, so that a crop gets the scars of its image."""
    _check_images(images)
    foreground, min_overlap = _check_foreground(foreground, images), _check_min_overlap(min_overlap)
    size = tuple(images.shape[-2:])
    scars = _sample_scars(
        generator, len(images), size, width, length, angle, reference_size, image_size, keep_source=False
    )
    scars = _scars_on_foreground(generator, scars, size, foreground, min_overlap)
    inside, _, _ = _rotated_coordinates(scars, size, images.device)
    return _with_mask(images, torch.where(inside, _random_colour(images, generator), images))


def cutpaste(
    images: Tensor,
    generator: torch.Generator,
    *,
    area: Range = (0.02, 0.15),
    aspect: Range = (0.3, 1 / 0.3),
    jitter: float = 0.1,
    foreground: Tensor | None = None,
    min_overlap: float = 0.5,
) -> tuple[Tensor, Tensor]:
    """CutPaste: cut a box (area fraction U(area), log-uniform aspect) from the same image, colour-jitter it,
    and paste it at an independent uniform location; both boxes fully inside the image. With `foreground`,
    the paste (not the cut) has at least `min_overlap` of its pixels on the mask."""
    _check_images(images)
    jitter = _check_jitter("jitter", jitter)
    foreground, min_overlap = _check_foreground(foreground, images), _check_min_overlap(min_overlap)
    batch, _, height, width = images.shape
    heights, widths = sample_box_sizes(generator, batch, height, width, area, aspect)
    source_top, source_left = _corners(generator, (height, width), heights, widths)
    corners = _corners(generator, (height, width), heights, widths)
    top, left = _boxes_on_foreground(generator, corners, heights, widths, (height, width), foreground, min_overlap)
    patches = _cut_patches(images, source_top, source_left, heights, widths, generator, jitter)
    inside, rows, cols = _box_coordinates(top, left, heights, widths, (height, width), images.device)
    return _with_mask(images, _paste(images, patches, inside, rows, cols))


def cutpaste_scar(
    images: Tensor,
    generator: torch.Generator,
    *,
    width: Range = (2, 16),
    length: Range = (10, 25),
    angle: Range = (-45, 45),
    jitter: float = 0.1,
    reference_size: float = 256,
    image_size: float | None = None,
    foreground: Tensor | None = None,
    min_overlap: float = 0.5,
) -> tuple[Tensor, Tensor]:
    """CutPaste-Scar: cut an upright width x length rectangle (sized as in `scar`) from the same image,
    colour-jitter it, rotate it U(angle) degrees and paste just the rotated rectangle (nearest neighbour),
    fully inside the image; with `foreground`, at least `min_overlap` of the pasted rectangle on the mask."""
    _check_images(images)
    jitter = _check_jitter("jitter", jitter)
    foreground, min_overlap = _check_foreground(foreground, images), _check_min_overlap(min_overlap)
    size = tuple(images.shape[-2:])
    scars = _sample_scars(
        generator, len(images), size, width, length, angle, reference_size, image_size, keep_source=True
    )
    scars = _scars_on_foreground(generator, scars, size, foreground, min_overlap)
    top, left = _corners(generator, size, scars.lengths, scars.widths)
    patches = _cut_patches(images, top, left, scars.lengths, scars.widths, generator, jitter)
    inside, rows, cols = _rotated_coordinates(scars, size, images.device)
    return _with_mask(images, _paste(images, patches, inside, rows, cols))


AUGMENTATIONS: dict[str, Callable[..., tuple[Tensor, Tensor]]] = {
    "cutout": cutout,
    "scar": scar,
    "cutpaste": cutpaste,
    "cutpaste-scar": cutpaste_scar,
}


# ---------------------------------------------------------------- pre-augmentation


def pre_augment(
    images: Tensor, generator: torch.Generator, *, max_shift: float = 0.05, jitter: float = 0.1
) -> Tensor:
    """The paper's pre-augmentation, applied to every image before the views are made; the paper gives no
    amounts, so ours are small: a whole-pixel shift up to max_shift of each side (reflect padding, no black
    borders), then colour jitter."""
    return pre_augment_with_foreground(images, None, generator, max_shift=max_shift, jitter=jitter)[0]


def pre_augment_with_foreground(
    images: Tensor, foreground: Tensor | None, generator: torch.Generator, *, max_shift: float = 0.05, jitter: float = 0.1
) -> tuple[Tensor, Tensor | None]:
    """`pre_augment`, with the same draws, that also shifts a foreground mask (H, W) or (B, 1, H, W) with each
    image, so that foreground-aware views land on the object where the shift moved it; returns (images, masks
    (B, 1, H, W) or None)."""
    _check_images(images)
    max_shift = _check_number("max_shift", max_shift, 0, 0.5)
    jitter = _check_jitter("jitter", jitter)
    foreground = _check_foreground(foreground, images)
    if foreground is None:
        return jitter_colors(_translate(images, generator, max_shift), generator, jitter), None
    stacked = torch.cat([images, foreground.expand(len(images), -1, -1, -1).to(images.dtype)], dim=1)
    shifted = _translate(stacked, generator, max_shift)
    return jitter_colors(shifted[:, :-1], generator, jitter), shifted[:, -1:] > 0.5


def _translate(images: Tensor, generator: torch.Generator, max_shift: float) -> Tensor:
    """Shift each sample by whole pixels, up to max_shift of each side, reading from a reflect-padded copy."""
    batch, _, height, width = images.shape
    pad_rows, pad_cols = int(max_shift * height), int(max_shift * width)
    shift_rows = torch.randint(-pad_rows, pad_rows + 1, (batch, 1), generator=generator)
    shift_cols = torch.randint(-pad_cols, pad_cols + 1, (batch, 1), generator=generator)
    padded = F.pad(images, (pad_cols, pad_cols, pad_rows, pad_rows), mode="reflect")
    rows = (torch.arange(height) + pad_rows - shift_rows).to(images.device)
    cols = (torch.arange(width) + pad_cols - shift_cols).to(images.device)
    samples = torch.arange(batch, device=images.device).view(-1, 1, 1)
    return padded[samples, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def random_crops(images: Tensor, generator: torch.Generator, size: int) -> Tensor:
    """One size×size crop per sample at a uniform position, for patch-level training: CutPaste is then applied
    inside the crop, so the label always describes what the classifier sees (a public-port bug otherwise)."""
    _check_images(images)
    batch, _, height, width = images.shape
    if not 1 <= size <= min(height, width):
        raise ValueError(f"size={size}: a crop must lie in [1, {min(height, width)}] for {height}x{width} images")
    top = torch.randint(height - size + 1, (batch, 1), generator=generator).to(images.device)
    left = torch.randint(width - size + 1, (batch, 1), generator=generator).to(images.device)
    offsets = torch.arange(size, device=images.device)
    rows, cols = top + offsets, left + offsets
    samples = torch.arange(batch, device=images.device).view(-1, 1, 1)
    return images[samples, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


# ---------------------------------------------------------------- proxy-task views

# Per variant, the anomalous views after the normal one; a view of several augmentations picks one per sample.
_VIEWS: dict[str, tuple[tuple[Callable[..., tuple[Tensor, Tensor]], ...], ...]] = {
    "cutout": ((cutout,),),
    "scar": ((scar,),),
    "cutpaste": ((cutpaste,),),
    "cutpaste-scar": ((cutpaste_scar,),),
    "union": ((cutpaste, cutpaste_scar),),
    "3way": ((cutpaste,), (cutpaste_scar,)),
}


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r}: must be one of {VARIANTS}")


def num_classes(variant: str) -> int:
    """Classes of the proxy classifier: 3 for "3way", else 2 (normal vs. augmented)."""
    _check_variant(variant)
    return len(_VIEWS[variant]) + 1


@dataclass(frozen=True)
class ViewOptions:
    """What make_views passes on: jitter to the augmentations that paste the image's own pixels (Cutout and Scar
    paint new colours), image_size to the scars, foreground and min_overlap to all."""

    jitter: float = 0.1
    image_size: float | None = None
    foreground: Tensor | None = None
    min_overlap: float = 0.5

    def for_(self, augmentation: Callable) -> dict[str, object]:
        """The keyword arguments `augmentation` takes from these options."""
        options: dict[str, object] = {"foreground": self.foreground, "min_overlap": self.min_overlap}
        if augmentation in (cutpaste, cutpaste_scar):
            options["jitter"] = self.jitter
        if augmentation in (scar, cutpaste_scar):
            options["image_size"] = self.image_size
        return options


def _view(
    images: Tensor, generator: torch.Generator, choices: tuple[Callable, ...], options: ViewOptions
) -> tuple[Tensor, Tensor]:
    """One anomalous view; with several choices each sample shows one uniformly at random (all are computed,
    then picked per sample: simpler than splitting the batch, at the cost of one extra augmentation)."""
    outputs = [choice(images, generator, **options.for_(choice)) for choice in choices]
    if len(outputs) == 1:
        return outputs[0]
    pick = torch.randint(len(outputs), (len(images),), generator=generator).to(images.device)
    samples = torch.arange(len(images), device=images.device)
    augmented = torch.stack([augmented for augmented, _ in outputs])[pick, samples]
    masks = torch.stack([mask for _, mask in outputs])[pick, samples]
    return augmented, masks


def make_views(
    images: Tensor,
    variant: str,
    generator: torch.Generator,
    *,
    jitter: float = 0.1,
    image_size: float | None = None,
    foreground: Tensor | None = None,
    min_overlap: float = 0.5,
) -> tuple[Tensor, Tensor, Tensor]:
    """Proxy-task batch (inputs, labels, masks): the normal images (label 0), then one augmented copy per
    anomaly class (label 1, and 2 for "3way"); "union" makes each augmented sample CutPaste or CutPaste-Scar
    with probability 1/2. The options go where `ViewOptions` says (pass image_size for crops of larger
    images); the augmentations' other parameters keep the paper's defaults. Pre-augment the batch first, so
    that every view shares it."""
    _check_images(images)
    _check_variant(variant)
    views = _VIEWS[variant]
    options = ViewOptions(jitter, image_size, foreground, min_overlap)
    augmented = [_view(images, generator, choices, options) for choices in views]
    inputs = torch.cat([images, *(view for view, _ in augmented)])
    normal = torch.zeros_like(images[:, :1], dtype=torch.bool)
    masks = torch.cat([normal, *(mask for _, mask in augmented)])
    labels = torch.arange(len(views) + 1, device=images.device).repeat_interleave(len(images))
    return inputs, labels, masks
