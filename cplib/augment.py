"""Synthetic anomalies for CutPaste's proxy task, batched on tensors.

Cutout, Scar, CutPaste and CutPaste-Scar (Li et al., CVPR 2021, Sec. 3 and Table 1), the pre-augmentation
before them, and `make_views`, which turns a batch of normal images into the proxy classifier's inputs, labels
and masks (also with the natural fakes of `cplib.natural_fakes`, beyond the paper). Their parts live beside:
`checks` (arguments), `draws` (seeded randomness), `colour` (jitter), `regions` (box and scar geometry),
`placement` (on a foreground). Conventions shared by every function:

* images are float tensors (B, C, H, W) in [0, 1], C = 1 or 3, any H and W, on any device; the input is
  never modified in place;
* randomness comes only from the CPU `torch.Generator` passed in and depends only on the batch size and
  the parameters, never on pixel values: a seed fixes every draw, and sample i never depends on image j
  (with a `foreground`, the number of redraws depends on the whole batch's placements, so later draws do too);
* masks are bool (B, 1, H, W), True exactly where any channel changed (for figures and tests);
* `foreground` (optional, every augmentation): a bool mask (H, W) or (B, 1, H, W) of the object; the changed
  region is then placed so that at least `min_overlap` of it lies on the mask (see `cplib.placement`).
  An all-True mask changes nothing: the first draw is always accepted, so the output is identical.
* sizes are pixels of the image given, so augment after resizing to the training resolution (augmenting
  before the resize shrinks the pixel-sized scars, a public-port bug).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from .checks import Range, check_foreground, check_images, check_jitter, check_min_overlap, check_number
from .colour import jitter_colors
from .natural_fakes import perlin_paste, seamless_paste
from .placement import boxes_on_foreground, scars_on_foreground
from .regions import box_coordinates, box_corners, rotated_coordinates, sample_box_sizes, sample_scars

FILLS = ("grey", "mean", "random")
VARIANTS = (
    "cutout",
    "scar",
    "cutpaste",
    "cutpaste-scar",
    "union",
    "3way",
    "seamless",  # beyond the paper (cplib.natural_fakes): NSA's seamless paste
    "perlin",  # DRAEM's Perlin-shaped region
    "3way-seamless",  # normal, CutPaste, seamless paste
    "3way-perlin",  # normal, CutPaste, Perlin region
)


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

    Parameters
    ----------
    images : Tensor
        Float images (B, C, H, W) in [0, 1], C = 1 or 3; not modified.
    generator : torch.Generator
        The CPU generator every random draw comes from.
    fill : {"grey", "mean", "random"}, default "grey"
        The box's colour: grey 0.5, the image's mean colour, or a uniform random colour.
    area : tuple of float, default (0.02, 0.15)
        Range of the box's area as a fraction of the image's, drawn uniformly.
    aspect : tuple of float, default (0.3, 1 / 0.3)
        Range of the box's aspect ratio (width / height), drawn log-uniformly.
    foreground : Tensor or None, default None
        Bool mask (H, W) or (B, 1, H, W) of the object; None: anywhere in the image.
    min_overlap : float, default 0.5
        Share of the changed region's pixels that must lie on `foreground`, in (0, 1].

    Returns
    -------
    augmented : Tensor
        The augmented images, shaped as `images`.
    masks : Tensor
        Bool (B, 1, H, W), True where any channel changed.
    """
    check_images(images)
    if fill not in FILLS:
        raise ValueError(f"fill={fill!r}: must be one of {FILLS}")
    foreground, min_overlap = check_foreground(foreground, images), check_min_overlap(min_overlap)
    batch, _, height, width = images.shape
    heights, widths = sample_box_sizes(generator, batch, height, width, area, aspect)
    corners = box_corners(generator, (height, width), heights, widths)
    top, left = boxes_on_foreground(generator, corners, heights, widths, (height, width), foreground, min_overlap)
    inside, _, _ = box_coordinates(top, left, heights, widths, (height, width), images.device)
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
    tensors show (default min(H, W)); pass it for crops, so that a crop gets the scars of its image.

    Parameters
    ----------
    images : Tensor
        Float images (B, C, H, W) in [0, 1], C = 1 or 3; not modified.
    generator : torch.Generator
        The CPU generator every random draw comes from.
    width : tuple of float, default (2, 16)
        Range of the scar's width in pixels at `reference_size`, drawn uniformly.
    length : tuple of float, default (10, 25)
        Range of the scar's length in pixels at `reference_size`, drawn uniformly.
    angle : tuple of float, default (-45, 45)
        Range of the rotation in degrees, drawn uniformly.
    reference_size : float, default 256
        The image side (pixels) at which `width` and `length` hold.
    image_size : float or None, default None
        Side of the whole image the tensors show; None: min(H, W). Pass it for crops of a larger image.
    foreground : Tensor or None, default None
        Bool mask (H, W) or (B, 1, H, W) of the object; None: anywhere in the image.
    min_overlap : float, default 0.5
        Share of the changed region's pixels that must lie on `foreground`, in (0, 1].

    Returns
    -------
    augmented : Tensor
        The augmented images, shaped as `images`.
    masks : Tensor
        Bool (B, 1, H, W), True where any channel changed.

    Examples
    --------
    >>> images = torch.zeros(4, 3, 64, 64)
    >>> augmented, masks = scar(images, torch.Generator().manual_seed(0))
    >>> masks.shape, masks.flatten(1).any(1).tolist()  # every image got a scar
    (torch.Size([4, 1, 64, 64]), [True, True, True, True])
    """
    check_images(images)
    foreground, min_overlap = check_foreground(foreground, images), check_min_overlap(min_overlap)
    size = tuple(images.shape[-2:])
    scars = sample_scars(
        generator, len(images), size, width, length, angle, reference_size, image_size, keep_source=False
    )
    scars = scars_on_foreground(generator, scars, size, foreground, min_overlap)
    inside, _, _ = rotated_coordinates(scars, size, images.device)
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
    the paste (not the cut) has at least `min_overlap` of its pixels on the mask.

    Parameters
    ----------
    images : Tensor
        Float images (B, C, H, W) in [0, 1], C = 1 or 3; not modified.
    generator : torch.Generator
        The CPU generator every random draw comes from.
    area : tuple of float, default (0.02, 0.15)
        Range of the box's area as a fraction of the image's, drawn uniformly.
    aspect : tuple of float, default (0.3, 1 / 0.3)
        Range of the box's aspect ratio (width / height), drawn log-uniformly.
    jitter : float, default 0.1
        Strength of the colour jitter on the pasted pixels (brightness, contrast, saturation, hue), from 0.
    foreground : Tensor or None, default None
        Bool mask (H, W) or (B, 1, H, W) of the object; None: anywhere in the image.
    min_overlap : float, default 0.5
        Share of the changed region's pixels that must lie on `foreground`, in (0, 1].

    Returns
    -------
    augmented : Tensor
        The augmented images, shaped as `images`.
    masks : Tensor
        Bool (B, 1, H, W), True where any channel changed.

    Examples
    --------
    >>> images = torch.rand(2, 3, 32, 32)
    >>> augmented, masks = cutpaste(images, torch.Generator().manual_seed(0))
    >>> augmented.shape, masks.dtype
    (torch.Size([2, 3, 32, 32]), torch.bool)
    >>> torch.equal(augmented * ~masks, images * ~masks)  # outside the mask, nothing changed
    True
    """
    check_images(images)
    jitter = check_jitter("jitter", jitter)
    foreground, min_overlap = check_foreground(foreground, images), check_min_overlap(min_overlap)
    batch, _, height, width = images.shape
    heights, widths = sample_box_sizes(generator, batch, height, width, area, aspect)
    source_top, source_left = box_corners(generator, (height, width), heights, widths)
    corners = box_corners(generator, (height, width), heights, widths)
    top, left = boxes_on_foreground(generator, corners, heights, widths, (height, width), foreground, min_overlap)
    patches = _cut_patches(images, source_top, source_left, heights, widths, generator, jitter)
    inside, rows, cols = box_coordinates(top, left, heights, widths, (height, width), images.device)
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
    fully inside the image; with `foreground`, at least `min_overlap` of the pasted rectangle on the mask.

    Parameters
    ----------
    images : Tensor
        Float images (B, C, H, W) in [0, 1], C = 1 or 3; not modified.
    generator : torch.Generator
        The CPU generator every random draw comes from.
    width : tuple of float, default (2, 16)
        Range of the scar's width in pixels at `reference_size`, drawn uniformly.
    length : tuple of float, default (10, 25)
        Range of the scar's length in pixels at `reference_size`, drawn uniformly.
    angle : tuple of float, default (-45, 45)
        Range of the rotation in degrees, drawn uniformly.
    jitter : float, default 0.1
        Strength of the colour jitter on the pasted pixels (brightness, contrast, saturation, hue), from 0.
    reference_size : float, default 256
        The image side (pixels) at which `width` and `length` hold.
    image_size : float or None, default None
        Side of the whole image the tensors show; None: min(H, W). Pass it for crops of a larger image.
    foreground : Tensor or None, default None
        Bool mask (H, W) or (B, 1, H, W) of the object; None: anywhere in the image.
    min_overlap : float, default 0.5
        Share of the changed region's pixels that must lie on `foreground`, in (0, 1].

    Returns
    -------
    augmented : Tensor
        The augmented images, shaped as `images`.
    masks : Tensor
        Bool (B, 1, H, W), True where any channel changed.
    """
    check_images(images)
    jitter = check_jitter("jitter", jitter)
    foreground, min_overlap = check_foreground(foreground, images), check_min_overlap(min_overlap)
    size = tuple(images.shape[-2:])
    scars = sample_scars(
        generator, len(images), size, width, length, angle, reference_size, image_size, keep_source=True
    )
    scars = scars_on_foreground(generator, scars, size, foreground, min_overlap)
    top, left = box_corners(generator, size, scars.lengths, scars.widths)
    patches = _cut_patches(images, top, left, scars.lengths, scars.widths, generator, jitter)
    inside, rows, cols = rotated_coordinates(scars, size, images.device)
    return _with_mask(images, _paste(images, patches, inside, rows, cols))


AUGMENTATIONS: dict[str, Callable[..., tuple[Tensor, Tensor]]] = {
    "cutout": cutout,
    "scar": scar,
    "cutpaste": cutpaste,
    "cutpaste-scar": cutpaste_scar,
}


# ---------------------------------------------------------------- pre-augmentation


def pre_augment(images: Tensor, generator: torch.Generator, *, max_shift: float = 0.05, jitter: float = 0.1) -> Tensor:
    """The paper's pre-augmentation, applied to every image before the views are made; the paper gives no
    amounts, so ours are small: a whole-pixel shift up to max_shift of each side (reflect padding, no black
    borders), then colour jitter.

    Parameters
    ----------
    images : Tensor
        Float images (B, C, H, W) in [0, 1], C = 1 or 3; not modified.
    generator : torch.Generator
        The CPU generator every random draw comes from.
    max_shift : float, default 0.05
        Largest shift as a fraction of each side, in [0, 0.5].
    jitter : float, default 0.1
        Strength of the colour jitter (brightness, contrast, saturation, hue), from 0.

    Returns
    -------
    Tensor
        The shifted, jittered images, shaped as `images`.
    """
    return pre_augment_with_foreground(images, None, generator, max_shift=max_shift, jitter=jitter)[0]


def pre_augment_with_foreground(
    images: Tensor,
    foreground: Tensor | None,
    generator: torch.Generator,
    *,
    max_shift: float = 0.05,
    jitter: float = 0.1,
) -> tuple[Tensor, Tensor | None]:
    """`pre_augment`, with the same draws, that also shifts a foreground mask (H, W) or (B, 1, H, W) with each
    image, so that foreground-aware views land on the object where the shift moved it; returns (images, masks
    (B, 1, H, W) or None)."""
    check_images(images)
    max_shift = check_number("max_shift", max_shift, 0, 0.5)
    jitter = check_jitter("jitter", jitter)
    foreground = check_foreground(foreground, images)
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
    check_images(images)
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
    "seamless": ((seamless_paste,),),
    "perlin": ((perlin_paste,),),
    "3way-seamless": ((cutpaste,), (seamless_paste,)),
    "3way-perlin": ((cutpaste,), (perlin_paste,)),
}


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r}: must be one of {VARIANTS}")


def num_classes(variant: str) -> int:
    """Classes of the proxy classifier: 3 for the 3-way variants ("3way", "3way-seamless", "3way-perlin"), else 2
    (normal vs. augmented)."""
    _check_variant(variant)
    return len(_VIEWS[variant]) + 1


@dataclass(frozen=True)
class ViewOptions:
    """What make_views passes on: jitter to the augmentations that paste the image's own pixels (Cutout and Scar
    paint new colours; the natural fakes jitter nothing, as NSA and DRAEM), image_size to the scars (the others are
    sized by the tensors they see, crops included, as CutPaste's boxes), foreground and min_overlap to all."""

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
    anomaly class (label 1, and 2 for the 3-way variants: CutPaste-Scar, or in "3way-seamless" and "3way-perlin" the
    natural fake after CutPaste); "union" makes each augmented sample CutPaste or CutPaste-Scar with probability
    1/2. The options go where `ViewOptions` says (pass image_size for crops of larger images); the augmentations'
    other parameters keep the paper's defaults. Pre-augment the batch first, so that every view shares it.

    Parameters
    ----------
    images : Tensor
        Normal float images (B, C, H, W) in [0, 1], C = 1 or 3; not modified.
    variant : str
        The proxy task, one of VARIANTS: "cutout", "scar", "cutpaste", "cutpaste-scar", "union", "3way", and beyond
        the paper "seamless", "perlin", "3way-seamless", "3way-perlin" (`cplib.natural_fakes`).
    generator : torch.Generator
        The CPU generator every random draw comes from.
    jitter : float, default 0.1
        Colour-jitter strength of CutPaste and CutPaste-Scar's pasted pixels, from 0.
    image_size : float or None, default None
        Side of the whole image the tensors show, for the scars' size; None: min(H, W).
    foreground : Tensor or None, default None
        Bool mask (H, W) or (B, 1, H, W) of the object; None: anywhere in the image.
    min_overlap : float, default 0.5
        Share of the changed region's pixels that must lie on `foreground`, in (0, 1].

    Returns
    -------
    inputs : Tensor
        (B · (classes), C, H, W): the normal images, then each anomaly class's views.
    labels : Tensor
        Class of each input: 0 normal, 1 (and 2 for the 3-way variants) anomalous.
    masks : Tensor
        Bool (len(inputs), 1, H, W), True where a view changed its image.

    Examples
    --------
    >>> images = torch.rand(2, 3, 32, 32)
    >>> inputs, labels, masks = make_views(images, "3way", torch.Generator().manual_seed(0))
    >>> inputs.shape, labels.tolist()  # normal, CutPaste, CutPaste-Scar
    (torch.Size([6, 3, 32, 32]), [0, 0, 1, 1, 2, 2])
    """
    check_images(images)
    _check_variant(variant)
    views = _VIEWS[variant]
    options = ViewOptions(jitter, image_size, foreground, min_overlap)
    augmented = [_view(images, generator, choices, options) for choices in views]
    inputs = torch.cat([images, *(view for view, _ in augmented)])
    normal = torch.zeros_like(images[:, :1], dtype=torch.bool)
    masks = torch.cat([normal, *(mask for _, mask in augmented)])
    labels = torch.arange(len(views) + 1, device=images.device).repeat_interleave(len(images))
    return inputs, labels, masks
