"""Natural fakes beyond the paper (issue 40): NSA's seamless paste and DRAEM's Perlin-shaped region, batched on tensors
beside `cplib.augment`'s CutPaste, and their parts.

- `seamless_paste` (NSA: Schlüter et al., "Natural Synthetic Anomalies for Self-supervised Anomaly Detection and
  Localization", ECCV 2022): a box cut from another image of the batch, rescaled, and blended by Poisson image editing,
  so that no seam gives it away.
- `perlin_paste` (DRAEM: Zavrtanik et al., "DRAEM - A discriminatively trained reconstruction embedding for surface
  anomaly detection", ICCV 2021): a thresholded Perlin-noise region filled, half-transparent, from another image of the
  batch (DRAEM fills from an external texture set; we use none).
- Their parts, tested on their own: `poisson_blend`, `perlin_noise`, `perlin_regions`, `source_indices`.

The conventions of `cplib.augment` hold (float (B, C, H, W) images in [0, 1], C = 1 or 3; the input never modified;
every draw from the CPU generator passed in, never from pixel values; bool masks (B, 1, H, W) True exactly where any
channel changed; an optional `foreground`), but one: sample i takes its source from image j of the batch, j drawn per
sample by `source_indices` ("other": uniform among the other images; "same": itself, the control). Sample i depends on
image j only through that choice. A batch of one has no other image: its source is itself (as "same"), so that the
last chunk of an evaluation (`cplib.evaluate.heldout_proxy_accuracy`) may hold one image. "same" and "other" make the
same draws, so one seed gives both the same geometry and only the source differs.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from scipy import fft
from torch import Tensor
from torch.nn import functional as F

from .checks import Range, check_foreground, check_images, check_min_overlap, check_number, check_range
from .draws import randint, uniform
from .placement import boxes_on_foreground
from .regions import box_corners

SOURCES = ("other", "same")
NSA_GAMMA = (2.0, 0.05)  # NSA's gamma_params (shape 2, scale 0.05) for the half-width, offset by half_width's low end
NSA_SCALE_SD = 0.5  # NSA rescales by N(1, 0.5), clipped to its resize_bounds
REGION_ROUNDS = 32  # draws of a Perlin region before falling back to the noise's highest pixels


# ---------------------------------------------------------------- where each sample's source comes from


def source_indices(generator: torch.Generator, batch: int, source: str = "other") -> Tensor:
    """Per sample, the index of the image its source comes from (int64, CPU): "other" uniform among the other images,
    "same" itself; a batch of one takes itself. One draw per sample either way, so both make the same later draws.

    Parameters
    ----------
    generator : torch.Generator
        The CPU generator the draws come from.
    batch : int
        Images in the batch.
    source : {"other", "same"}, default "other"
        Another image of the batch, or the image itself.
    """
    if source not in SOURCES:
        raise ValueError(f"source={source!r}: must be one of {SOURCES}")
    steps = randint(generator, torch.full((batch,), max(batch - 1, 1)))
    samples = torch.arange(batch)
    return samples if source == "same" or batch == 1 else (samples + 1 + steps) % batch


# ---------------------------------------------------------------- NSA: seamless paste


def poisson_blend(destination: Tensor, source: Tensor) -> Tensor:
    """Poisson image editing (Pérez et al., 2003; OpenCV's NORMAL_CLONE) of one rectangle, float64 on the CPU.

    Keeps the outer ring of pixels of `destination` (C, h, w) and solves the inner ones f for a discrete Laplacian equal
    to the source's: 4 f_p - sum of its 4 neighbours = the same of `source` (C, h, w), neighbours on the ring taken
    from the destination; so the inside follows the source's gradients and meets the destination at the ring without a
    seam. The solve: scipy.fft's type-I discrete sine transform diagonalises that 5-point Laplacian on a rectangle with
    fixed borders (the method of OpenCV's seamlessClone); tests check it against scipy.sparse.linalg.spsolve.

    Parameters
    ----------
    destination : Tensor
        (C, h, w) pixels of the box where the patch goes; its outer ring is kept. A box without an inside (h or w
        under 3) comes back as it is.
    source : Tensor
        (C, h, w) the patch whose gradients the inside takes.

    Returns
    -------
    Tensor
        (C, h, w) float64 on the CPU, not clipped to [0, 1].
    """
    destination, source = destination.double().cpu().numpy(), source.double().cpu().numpy()
    blended = destination.copy()
    rows, cols = destination.shape[-2] - 2, destination.shape[-1] - 2
    if rows < 1 or cols < 1:
        return torch.from_numpy(blended)
    residual = _laplacian(source) - _laplacian(destination)
    eigenvalues = (
        4
        - 2 * np.cos(np.pi * np.arange(1, rows + 1) / (rows + 1))[:, None]
        - 2 * np.cos(np.pi * np.arange(1, cols + 1) / (cols + 1))[None, :]
    )
    correction = fft.idstn(fft.dstn(residual, type=1, axes=(-2, -1)) / eigenvalues, type=1, axes=(-2, -1))
    blended[..., 1:-1, 1:-1] += correction
    return torch.from_numpy(blended)


def _laplacian(image: np.ndarray) -> np.ndarray:
    """4 x - (sum of the 4 neighbours) at the inner pixels of (C, h, w)."""
    centre = image[..., 1:-1, 1:-1]
    return 4 * centre - image[..., :-2, 1:-1] - image[..., 2:, 1:-1] - image[..., 1:-1, :-2] - image[..., 1:-1, 2:]


class Pastes(NamedTuple):
    """Per sample (int64, CPU): the source image, its cut box (top, left, heights, widths), and the pasted box's size
    (pasted_heights, pasted_widths) and corner (top, left) before any foreground placement."""

    sources: Tensor
    source_top: Tensor
    source_left: Tensor
    source_heights: Tensor
    source_widths: Tensor
    pasted_heights: Tensor
    pasted_widths: Tensor
    top: Tensor
    left: Tensor


def seamless_geometry(
    generator: torch.Generator,
    batch: int,
    size: tuple[int, int],
    source: str = "other",
    half_width: Range = (0.03, 0.4),
    scale: Range = (0.7, 1.3),
) -> Pastes:
    """`seamless_paste`'s draws, in its order: sources, half-widths (rows, then columns), rescale factors, the cut's
    corner, the paste's corner (so a test can replay them).

    Parameters
    ----------
    generator : torch.Generator
        The CPU generator every draw comes from.
    batch : int
        Images in the batch.
    size : tuple of int
        (H, W) of the images, each at least 3.
    source : {"other", "same"}, default "other"
        Where each box is cut (`source_indices`).
    half_width : tuple of float, default (0.03, 0.4)
        Bounds of the cut box's half-width as a fraction of each side, in (0, 0.5]; also bounds the pasted sides.
    scale : tuple of float, default (0.7, 1.3)
        Bounds of the rescale factor, drawn from N(1, 0.5) and clipped.
    """
    half_width = check_range("half_width", half_width, 0, 0.5, "(]")
    scale = check_range("scale", scale, 0, math.inf)
    if min(size) < 3:
        raise ValueError(f"images: seamless_paste needs at least 3 x 3 pixels (a ring and an inside), got {size}")
    sources = source_indices(generator, batch, source)
    cut = [_cut_sides(generator, batch, side, half_width) for side in size]
    factor = (1 + NSA_SCALE_SD * torch.randn(batch, generator=generator, dtype=torch.float64)).clamp(*scale)
    largest = [max(3.0, round(half_width[1] * side)) for side in size]  # NSA clips pasted sides to the half-width bound
    factor = torch.minimum(factor, torch.minimum(largest[0] / cut[0], largest[1] / cut[1]))
    pasted = [(factor * sides).round().clamp(3, side).long() for sides, side in zip(cut, size)]
    source_top, source_left = box_corners(generator, size, cut[0].long(), cut[1].long())
    top, left = box_corners(generator, size, *pasted)
    return Pastes(sources, source_top, source_left, cut[0].long(), cut[1].long(), *pasted, top, left)


def _cut_sides(generator: torch.Generator, batch: int, side: int, half_width: Range) -> Tensor:
    """Whole-pixel sides of the cut box along one axis (float64): twice a half-width of half_width[0] + Gamma(2, 0.05)
    of the side, clipped to half_width, at least 3 px."""
    shape, spread = NSA_GAMMA
    exponentials = -torch.log1p(-torch.rand(batch, int(shape), generator=generator, dtype=torch.float64))
    fraction = (half_width[0] + spread * exponentials.sum(1)).clamp(*half_width)
    return (2 * fraction * side).round().clamp(3, side)


def seamless_paste(
    images: Tensor,
    generator: torch.Generator,
    *,
    source: str = "other",
    half_width: Range = (0.03, 0.4),
    scale: Range = (0.7, 1.3),
    foreground: Tensor | None = None,
    min_overlap: float = 0.5,
) -> tuple[Tensor, Tensor]:
    """NSA's seamless paste: a box cut from another image of the batch, rescaled, pasted at an independent uniform
    location and blended by Poisson image editing (`poisson_blend`): the pasted box's outer ring keeps the destination,
    its inside follows the source's gradients, so no seam gives it away. The mask is the pixels that changed: nearly
    all of the box's inside (Poisson blending shifts every one of them a little), none of its ring or outside.

    NSA's parameters, from its code (github.com/hmsch/natural-synthetic-anomalies, train_mvtec.py and
    self_sup_data/self_sup_tasks.py): the cut box's half-width along each axis is half_width[0] + Gamma(shape 2,
    scale 0.05) of that side (NSA's gamma_params (2, 0.05, 0.03)), clipped to `half_width` (its width_bounds_pct for
    most MVTec AD categories, (0.03, 0.4)); the rescale factor is N(1, 0.5) clipped to `scale` (its resize_bounds for
    objects, (0.7, 1.3); (0.5, 2) for textures), the same on both axes; as in NSA's code, the pasted sides stay within
    half_width[1] of the image's side (NSA clips them to the half-width bound), the factor lowered to keep the aspect.
    Ours, where NSA differs: one patch per image, as CutPaste (NSA pastes 1 to 4); both boxes uniform over the places
    where they fit (NSA's centres are uniform and boxes clipped at the edges); sides of at least 3 px (a ring and an
    inside; NSA skips patches under 50 px instead); the pasted colours clipped to [0, 1] (OpenCV saturates); bilinear
    rescaling (torch's, half-pixel centres, as cv2.resize). With `foreground`, the pasted box (not the cut) has at
    least `min_overlap` of its pixels on the mask (NSA's object masks play that part).

    Parameters
    ----------
    images : Tensor
        Float images (B, C, H, W) in [0, 1], C = 1 or 3, H and W at least 3; not modified.
    generator : torch.Generator
        The CPU generator every random draw comes from.
    source : {"other", "same"}, default "other"
        Where the box is cut: another image of the batch, uniformly drawn (NSA), or the same image (the control). A
        batch of one uses its own image.
    half_width : tuple of float, default (0.03, 0.4)
        Bounds of the cut box's half-width as a fraction of each side, in (0, 0.5]; also bounds the pasted sides.
    scale : tuple of float, default (0.7, 1.3)
        Bounds of the rescale factor, drawn from N(1, 0.5) and clipped.
    foreground : Tensor or None, default None
        Bool mask (H, W) or (B, 1, H, W) of the object; None: anywhere in the image.
    min_overlap : float, default 0.5
        Share of the pasted box's pixels that must lie on `foreground`, in (0, 1].

    Returns
    -------
    augmented : Tensor
        The augmented images, shaped as `images`.
    masks : Tensor
        Bool (B, 1, H, W), True where any channel changed.

    Examples
    --------
    >>> images = torch.rand(4, 3, 64, 64)
    >>> augmented, masks = seamless_paste(images, torch.Generator().manual_seed(0))
    >>> augmented.shape, bool(masks.flatten(1).any(1).all())  # every image changed
    (torch.Size([4, 3, 64, 64]), True)
    """
    check_images(images)
    foreground, min_overlap = check_foreground(foreground, images), check_min_overlap(min_overlap)
    size = tuple(images.shape[-2:])
    pastes = seamless_geometry(generator, len(images), size, source, half_width, scale)
    heights, widths = pastes.pasted_heights, pastes.pasted_widths
    top, left = boxes_on_foreground(
        generator, (pastes.top, pastes.left), heights, widths, size, foreground, min_overlap
    )
    augmented = images.clone()
    for b in range(len(images)):
        rows = slice(int(top[b]), int(top[b] + heights[b]))
        cols = slice(int(left[b]), int(left[b] + widths[b]))
        cut_rows = slice(int(pastes.source_top[b]), int(pastes.source_top[b] + pastes.source_heights[b]))
        cut_cols = slice(int(pastes.source_left[b]), int(pastes.source_left[b] + pastes.source_widths[b]))
        patch = _rescale(images[int(pastes.sources[b]), :, cut_rows, cut_cols], (int(heights[b]), int(widths[b])))
        blended = poisson_blend(images[b, :, rows, cols], patch).clamp(0, 1)
        augmented[b, :, rows, cols] = blended.to(images.device, images.dtype)
    return augmented, (augmented != images).any(dim=1, keepdim=True)


def _rescale(patch: Tensor, size: tuple[int, int]) -> Tensor:
    """A (C, h, w) patch resized to `size` by bilinear interpolation at half-pixel centres (as cv2.resize), float64 on
    the CPU; the patch itself where the size is the same."""
    patch = patch.detach().double().cpu()
    if tuple(patch.shape[-2:]) == tuple(size):
        return patch
    return F.interpolate(patch[None], size=size, mode="bilinear", align_corners=False)[0]


# ---------------------------------------------------------------- DRAEM: Perlin-shaped region


def perlin_noise(
    generator: torch.Generator, size: tuple[int, int], cells: tuple[Tensor, Tensor], angles: Tensor
) -> Tensor:
    """2-D Perlin gradient noise per sample, (B, H, W) float32 on the CPU, in [-1, 1].

    Sample b has cells[0][b] x cells[1][b] lattice cells over the image (pixel (i, j) at lattice point (i · cells / H,
    j · cells / W), as DRAEM's rand_perlin_2d_np), a uniform random unit gradient at each lattice node (drawn for the
    batch's largest lattice), the quintic fade 6t⁵ - 15t⁴ + 10t³, scaled by √2 to [-1, 1]; the noise is 0 at every node.
    The noise image is then rotated by angles[b] (radians) about its centre with bilinear interpolation, 0 where the
    rotation brings in pixels from outside it (DRAEM rotates it with imgaug, filling with 0). Written here rather than
    taken from a package: the classic algorithm is a dozen lines of torch, batched, and the packages that offer it draw
    from their own seeds.

    Parameters
    ----------
    generator : torch.Generator
        The CPU generator the gradients come from.
    size : tuple of int
        (H, W) of the noise.
    cells : tuple of Tensor
        Lattice cells per sample along the rows and along the columns, (B,) each, at least 1.
    angles : Tensor
        (B,) rotation of each noise image in radians; 0 leaves it unrotated.
    """
    rows_cells, cols_cells = (count.long().cpu() for count in cells)
    batch, (height, width) = len(rows_cells), size
    turns = (
        2 * math.pi * torch.rand(batch, *(int(rows_cells.max()) + 1, int(cols_cells.max()) + 1), generator=generator)
    )
    gradients = (turns.cos(), turns.sin())
    down, across = (
        torch.arange(side, dtype=torch.float64).view(1, -1) * count.view(-1, 1) / side
        for side, count in ((height, rows_cells), (width, cols_cells))
    )
    top, left = down.floor().long(), across.floor().long()
    down, across = (down - top).float(), (across - left).float()
    samples = torch.arange(batch).view(-1, 1)

    def corner(below: int, right: int) -> Tensor:
        rows = [gradient[samples, top + below] for gradient in gradients]  # (B, H, columns of nodes)
        index = (left + right).view(batch, 1, -1).expand(-1, height, -1)
        along_rows, along_cols = (row.gather(2, index) for row in rows)
        return along_rows * (down - below).view(batch, -1, 1) + along_cols * (across - right).view(batch, 1, -1)

    fade_down, fade_across = (t**3 * (t * (6 * t - 15) + 10) for t in (down, across))
    upper = torch.lerp(corner(0, 0), corner(0, 1), fade_across.view(batch, 1, -1))
    lower = torch.lerp(corner(1, 0), corner(1, 1), fade_across.view(batch, 1, -1))
    noise = math.sqrt(2) * torch.lerp(upper, lower, fade_down.view(batch, -1, 1))
    return _rotate(noise, angles.double().cpu())


def _rotate(noise: Tensor, angles: Tensor) -> Tensor:
    """Each (H, W) map rotated by its angle (radians) about its centre, bilinear, 0 outside; unrotated maps as they
    are. The rotation in pixels, written for grid_sample's coordinates (each side spans [-1, 1])."""
    batch, height, width = noise.shape
    if not angles.any() or min(height, width) < 2:
        return noise
    cos, sin, zero = angles.cos(), angles.sin(), torch.zeros_like(angles)
    aspect = (height - 1) / (width - 1)
    theta = torch.stack([torch.stack([cos, -sin * aspect, zero], -1), torch.stack([sin / aspect, cos, zero], -1)], 1)
    grid = F.affine_grid(theta.float(), [batch, 1, height, width], align_corners=True)
    rotated = F.grid_sample(noise[:, None], grid, mode="bilinear", padding_mode="zeros", align_corners=True)[:, 0]
    return torch.where(angles.view(-1, 1, 1) != 0, rotated, noise)


def perlin_regions(
    generator: torch.Generator,
    batch: int,
    size: tuple[int, int],
    *,
    scales: tuple[int, int] = (0, 6),
    threshold: float = 0.5,
    min_cell: int = 4,
    foreground: Tensor | None = None,
) -> Tensor:
    """DRAEM's anomaly regions, bool (B, 1, H, W) on the CPU: Perlin noise (`perlin_noise`) with 2^k lattice cells
    along each axis, k uniform over range(*scales) independently per axis (DRAEM: torch.randint(0, 6)), rotated
    U(-90, 90) degrees (DRAEM's iaa.Affine(rotate=(-90, 90))), above `threshold` (DRAEM's 0.5); with `foreground`
    (B or 1, 1, H, W), only its pixels. Ours: cells of at least `min_cell` px (finer lattices are left out of the
    draw: at 64 px DRAEM's 32 cells would be 2 px, half the pixels on lattice nodes, where the noise is 0); and never
    empty: a sample whose region is empty draws again (all its draws), REGION_ROUNDS times in all, then takes the
    pixels where its last noise is highest (DRAEM labels an empty region normal instead; here the view is labelled
    anomalous, so it must change something).

    Parameters
    ----------
    generator : torch.Generator
        The CPU generator every draw comes from.
    batch : int
        Regions to draw.
    size : tuple of int
        (H, W) of the images.
    scales : tuple of int, default (0, 6)
        Exponents k of the 2^k lattice cells per side, drawn from range(*scales); 0 <= low < high <= 8.
    threshold : float, default 0.5
        The noise level above which a pixel joins the region.
    min_cell : int, default 4
        The smallest cell, in pixels, that a lattice may have.
    foreground : Tensor or None, default None
        Bool (B or 1, 1, H, W) mask the regions are cut to; None: anywhere.
    """
    low, high = scales
    if not (isinstance(low, int) and isinstance(high, int) and 0 <= low < high <= 8):
        raise ValueError(f"scales={scales!r}: exponents of 2 with 0 <= low < high <= 8")
    mask = None if foreground is None else foreground[:, 0].cpu()
    regions, noise = torch.zeros(batch, *size, dtype=torch.bool), torch.zeros(batch, *size)
    pending = torch.ones(batch, dtype=torch.bool)
    for _ in range(REGION_ROUNDS):
        cells = [_lattice(generator, batch, side, low, high, min_cell) for side in size]
        angles = torch.deg2rad(uniform(generator, batch, -90.0, 90.0))
        index = pending.nonzero().squeeze(1)  # only these are computed; the others' draws are spent unused
        noise[index] = perlin_noise(generator, size, (cells[0][index], cells[1][index]), angles[index])
        regions[index] = noise[index] > threshold
        if mask is not None:
            regions[index] &= mask[index] if len(mask) > 1 else mask
        pending = ~regions.flatten(1).any(1)
        if not pending.any():
            return regions[:, None]
    ranked = noise if mask is None else noise.masked_fill(~mask, -math.inf)
    highest = ranked == ranked.flatten(1).amax(1).view(-1, 1, 1)
    return torch.where(pending.view(-1, 1, 1), highest, regions)[:, None]


def _lattice(generator: torch.Generator, batch: int, side: int, low: int, high: int, min_cell: int) -> Tensor:
    """2^k cells per side, k uniform over low ... high - 1, leaving out lattices finer than min_cell px (int64)."""
    finest = max(low, min(high - 1, int(math.floor(math.log2(max(side / min_cell, 1))))))
    return 2 ** (low + randint(generator, torch.full((batch,), finest - low + 1)))


def perlin_paste(
    images: Tensor,
    generator: torch.Generator,
    *,
    source: str = "other",
    beta: Range = (0.0, 0.8),
    threshold: float = 0.5,
    foreground: Tensor | None = None,
    min_overlap: float = 0.5,
) -> tuple[Tensor, Tensor]:
    """DRAEM's Perlin-shaped fake: in an irregular region (`perlin_regions`: thresholded, rotated Perlin noise at a
    random lattice scale), the image is blended with a source image: (1 - β) · source + β · image, β ~ U(beta) per
    sample (DRAEM: β = 0.8 · U[0, 1), so the source's opacity 1 - β lies in (0.2, 1]). The source is another image of
    the batch (DRAEM uses an external texture set, colour-augmented; we use none), rolled by a uniform non-zero whole-
    pixel offset with wrap-around, so that it is as unaligned with the image as a foreign texture: unrolled, an aligned
    object's other image would fill the region with nearly what was there. The mask is the pixels that changed: the
    region, where the source differs from the image. With `foreground`, the region is cut to the mask, so all of it
    lies on the object (`min_overlap` is met at 1; it is taken for the common interface).

    Parameters
    ----------
    images : Tensor
        Float images (B, C, H, W) in [0, 1], C = 1 or 3; not modified.
    generator : torch.Generator
        The CPU generator every random draw comes from.
    source : {"other", "same"}, default "other"
        Where the fill comes from: another image of the batch, uniformly drawn, or the same image (the control), rolled
        either way. A batch of one uses its own image.
    beta : tuple of float, default (0.0, 0.8)
        Range of β, the image's share in the blend, drawn uniformly, in [0, 1).
    threshold : float, default 0.5
        The noise level above which a pixel joins the region, in (-1, 1).
    foreground : Tensor or None, default None
        Bool mask (H, W) or (B, 1, H, W) of the object; None: anywhere in the image.
    min_overlap : float, default 0.5
        Share of the region that must lie on `foreground`, in (0, 1]; always met, the region being cut to it.

    Returns
    -------
    augmented : Tensor
        The augmented images, shaped as `images`.
    masks : Tensor
        Bool (B, 1, H, W), True where any channel changed.

    Examples
    --------
    >>> images = torch.rand(4, 3, 64, 64)
    >>> augmented, masks = perlin_paste(images, torch.Generator().manual_seed(0))
    >>> augmented.shape, bool(masks.flatten(1).any(1).all())  # every image changed
    (torch.Size([4, 3, 64, 64]), True)
    """
    check_images(images)
    foreground, _ = check_foreground(foreground, images), check_min_overlap(min_overlap)
    beta = check_range("beta", beta, 0, 1, "[)")
    threshold = check_number("threshold", threshold, -1, 1, "()")
    batch, _, height, width = images.shape
    sources = source_indices(generator, batch, source)
    shifts = 1 + randint(generator, torch.full((batch,), max(height * width - 1, 1)))
    betas = uniform(generator, batch, *beta)
    regions = perlin_regions(generator, batch, (height, width), threshold=threshold, foreground=foreground)
    fill = _roll(images[sources.to(images.device)], shifts // width, shifts % width)
    share = betas.to(images.device, images.dtype).view(-1, 1, 1, 1)
    blended = torch.lerp(fill, images, share).clamp(0, 1)
    augmented = torch.where(regions.to(images.device), blended, images)
    return augmented, (augmented != images).any(dim=1, keepdim=True)


def _roll(images: Tensor, down: Tensor, across: Tensor) -> Tensor:
    """Each sample shifted by its own (down, across) whole pixels with wrap-around, as torch.roll per sample."""
    batch, _, height, width = images.shape
    rows = (torch.arange(height).view(1, -1) - down.view(-1, 1)) % height
    cols = (torch.arange(width).view(1, -1) - across.view(-1, 1)) % width
    samples = torch.arange(batch, device=images.device).view(-1, 1, 1)
    rows, cols = rows.to(images.device), cols.to(images.device)
    return images[samples, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


NATURAL_FAKES = {"seamless": seamless_paste, "perlin": perlin_paste}
