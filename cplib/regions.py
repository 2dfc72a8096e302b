"""Where an augmentation changes pixels: box sizes and corners, scar sizes, angles and centres, and the pixels
each covers (sizes in pixels of the image given)."""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor

from .checks import Range, check_number, check_range
from .draws import randint, uniform

Size = tuple[int, int]


def box_corners(generator: torch.Generator, size: Size, heights: Tensor, widths: Tensor) -> tuple[Tensor, Tensor]:
    """Uniform (top, left) per sample such that a heights x widths box lies fully inside the image."""
    return randint(generator, size[0] - heights + 1), randint(generator, size[1] - widths + 1)


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
    area = check_range("area", area, 0, 1)
    aspect = check_range("aspect", aspect, 0, math.inf)
    _check_box_fits(height, width, area, aspect)
    pixels = uniform(generator, batch, area[0] * height * width, area[1] * height * width)
    log_low = torch.log(pixels / height**2).clamp(min=math.log(aspect[0]))
    log_high = torch.log(width**2 / pixels).clamp(max=math.log(aspect[1]))
    ratio = torch.exp(uniform(generator, batch, log_low, log_high))
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


def box_coordinates(
    top: Tensor, left: Tensor, heights: Tensor, widths: Tensor, size: Size, device: torch.device
) -> tuple[Tensor, Tensor, Tensor]:
    """Per pixel: inside the box (B, 1, H, W), and its row (B, H, 1) and column (B, 1, W) within the box."""
    rows = torch.arange(size[0], device=device).view(1, -1, 1) - top.to(device).view(-1, 1, 1)
    cols = torch.arange(size[1], device=device).view(1, 1, -1) - left.to(device).view(-1, 1, 1)
    inside = _inside(rows, cols, heights.to(device).view(-1, 1, 1), widths.to(device).view(-1, 1, 1))
    return inside, rows, cols


def _inside(rows: Tensor, cols: Tensor, heights: Tensor, widths: Tensor) -> Tensor:
    return ((rows >= 0) & (rows < heights) & (cols >= 0) & (cols < widths)).unsqueeze(1)


class Scars(NamedTuple):
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
    """Whole-pixel sizes: a uniform integer in `bounds` (the paper's pixels at the reference size, the end values as
    likely as the rest), times `scale`, rounded half up, at least 1."""
    low, high = math.ceil(bounds[0]), math.floor(bounds[1])
    pixels = low + randint(generator, torch.full((batch,), high - low + 1)).double()
    return torch.floor(pixels * scale + 0.5).clamp(min=1)


def sample_scars(
    generator: torch.Generator,
    batch: int,
    size: Size,
    width: Range,
    length: Range,
    angle: Range,
    reference_size: float,
    image_size: float | None,
    keep_source: bool,
) -> Scars:
    """Whole-pixel scar sizes drawn at reference_size and scaled by image_size / reference_size (image_size: the whole
    image's side, min(H, W) unless given), U(angle) rotations, and centres that keep the rotated scar's pixels (not
    the unrotated box's) inside the image; with `keep_source` the unrotated rectangle must fit too, since
    CutPaste-Scar cuts it from the image."""
    width = _check_whole_pixels("width", width)
    length = _check_whole_pixels("length", length)
    angle = check_range("angle", angle, -180, 180, "[]")
    image_size = min(size) if image_size is None else check_number("image_size", image_size, 0, math.inf, "()")
    scale = image_size / check_number("reference_size", reference_size, 0, math.inf, "()")
    _check_scar_fits(size, width, length, angle, scale, keep_source)
    widths = _scaled_lengths(generator, batch, width, scale)
    lengths = _scaled_lengths(generator, batch, length, scale)
    angles = torch.deg2rad(uniform(generator, batch, *angle))
    scars = Scars(lengths.long(), widths.long(), angles, torch.empty(0), torch.empty(0))
    centre_rows, centre_cols = scar_centres(generator, scars, size)
    return scars._replace(centre_rows=centre_rows, centre_cols=centre_cols)


def _check_whole_pixels(name: str, bounds: object) -> Range:
    """A (low, high) range of sizes in pixels that holds at least one whole number, or a ValueError naming it."""
    low, high = check_range(name, bounds, 0, math.inf)
    if math.ceil(low) > math.floor(high) or high < 1:
        raise ValueError(f"{name}={bounds!r}: sizes are whole pixels at reference_size; the range must hold one >= 1")
    return low, high


def scar_extents(scars: Scars) -> tuple[Tensor, Tensor]:
    """Bounding box (rows, cols) of each rotated scar, float64."""
    return _extents(scars.lengths.double(), scars.widths.double(), scars.angles.cos().abs(), scars.angles.sin().abs())


def scar_footprints(scars: Scars) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Per sample, the pixel offsets from its centre that the rotated scar covers, as `rotated_coordinates` draws it:
    (lowest row, highest row, lowest column, highest column), int64; offset 0, the centre pixel, is always covered."""
    reach = int(torch.cat(scar_extents(scars)).max()) // 2 + 1
    side = 2 * reach + 1
    centred = torch.full_like(scars.angles, reach)
    inside = rotated_coordinates(scars._replace(centre_rows=centred, centre_cols=centred), (side, side), "cpu")[0][:, 0]
    rows, cols = inside.any(dim=2), inside.any(dim=1)
    offsets = torch.arange(-reach, reach + 1)
    return (
        _first(rows, offsets),
        _first(rows.flip(1), offsets.flip(0)),
        _first(cols, offsets),
        _first(cols.flip(1), offsets.flip(0)),
    )


def _first(covered: Tensor, offsets: Tensor) -> Tensor:
    """Per row of `covered` (B, N), the offset of its first True entry."""
    return offsets[covered.long().argmax(dim=1)]


def scar_centres(generator: torch.Generator, scars: Scars, size: Size) -> tuple[Tensor, Tensor]:
    """Uniform whole-pixel centres (rows, cols) among those that keep each rotated scar's pixels inside the image.

    The range comes from the pixels the scar covers (`scar_footprints`), not its continuous bounding box: an even-sized
    scar covers one pixel more on one side of its centre than on the other, so each edge row and column of the image is
    covered equally often. A rotated rectangle always covers the pixel at its centre, so even a 1-px scar changes the
    image (a centre between pixels could let a thin, short scar fall between pixel centres and change nothing).
    """
    top, bottom, left, right = scar_footprints(scars)
    return _whole_pixels(generator, top, bottom, size[0]), _whole_pixels(generator, left, right, size[1])


def _whole_pixels(generator: torch.Generator, low: Tensor, high: Tensor, side: int) -> Tensor:
    """Uniform integer centres c with c + low >= 0 and c + high <= side - 1 (float64); the lowest if none fits."""
    count = (side - (high - low)).clamp(min=1)
    return (randint(generator, count) - low).double()


def _check_scar_fits(size: Size, width: Range, length: Range, angle: Range, scale: float, keep_source: bool) -> None:
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


def rotated_coordinates(scars: Scars, size: Size, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
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
