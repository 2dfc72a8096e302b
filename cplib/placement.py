"""Foreground-aware placement: boxes and scars moved so that at least `min_overlap` of them lies on the object.

Bounded rejection sampling (`_onto_foreground`): redraw placements as usual until each qualifies, then fall back
to one anchored on a uniformly drawn foreground pixel.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from .draws import randint
from .regions import Scars, Size, box_coordinates, box_corners, rotated_coordinates, scar_centres, scar_footprints

FOREGROUND_ROUNDS = 32  # draws of a placement before falling back to one anchored on a foreground pixel

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
    picks = randint(generator, counts.clamp(min=1))
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


def boxes_on_foreground(
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
        return box_coordinates(top[index], left[index], heights[index], widths[index], size, foreground.device)[0]

    def redraw() -> tuple[Placement, Tensor]:
        return box_corners(generator, size, heights, widths), everyone

    def anchored() -> tuple[Placement, Tensor]:
        rows, cols, _ = _uniform_pixel(generator, foreground[:, 0].expand(len(heights), -1, -1))
        top = (rows - randint(generator, heights)).clamp(min=0).minimum(size[0] - heights)
        left = (cols - randint(generator, widths)).clamp(min=0).minimum(size[1] - widths)
        return (top, left), everyone

    return _onto_foreground(first, redraw, anchored, footprint, foreground, min_overlap)


def scars_on_foreground(
    generator: torch.Generator, scars: Scars, size: Size, foreground: Tensor | None, min_overlap: float
) -> Scars:
    """Scar centres moved onto the foreground as `_onto_foreground` says; unchanged without one.

    The anchored fallback centres the scar on a uniformly drawn foreground pixel among the valid centres (a
    rotated rectangle covers its centre pixel); a mask with no pixel there keeps the best draw.
    """
    if foreground is None:
        return scars
    everyone = torch.ones(len(scars.lengths), dtype=torch.bool)

    def footprint(centre: Placement, index: Tensor) -> Tensor:
        placed = scars._replace(centre_rows=centre[0], centre_cols=centre[1])
        return rotated_coordinates(Scars(*(value[index] for value in placed)), size, foreground.device)[0]

    def redraw() -> tuple[Placement, Tensor]:
        return scar_centres(generator, scars, size), everyone

    def anchored() -> tuple[Placement, Tensor]:
        allowed = foreground[:, 0].cpu() & _valid_centres(scars, size)
        rows, cols, found = _uniform_pixel(generator, allowed)
        return (rows.double(), cols.double()), found

    centres = _onto_foreground(
        (scars.centre_rows, scars.centre_cols), redraw, anchored, footprint, foreground, min_overlap
    )
    return scars._replace(centre_rows=centres[0], centre_cols=centres[1])


def _valid_centres(scars: Scars, size: Size) -> Tensor:
    """Per sample (B, H, W): pixels that can be the centre of its rotated scar with the scar's pixels inside the
    image."""
    top, bottom, left, right = (offset.view(-1, 1, 1) for offset in scar_footprints(scars))
    down = torch.arange(size[0]).view(1, -1, 1)
    across = torch.arange(size[1]).view(1, 1, -1)
    fits_rows = (down + top >= 0) & (down + bottom <= size[0] - 1)
    return fits_rows & (across + left >= 0) & (across + right <= size[1] - 1)
