"""Where the object is, and how often an augmentation misses it or changes nothing one can see.

On an object category a random CutPaste can cut background and paste it onto background: the "anomalous"
view then looks normal but is labelled anomalous. This module estimates a category's foreground from its
normal training images, with no extra model, and measures such wasted draws; `cplib.augment` takes the mask
(`foreground=`) to place every paste on the object.

Foreground estimate (`foreground_steps`): the per-pixel median of the training images (aligned objects stay,
lighting and noise average out), its distance to the border colour (the median colour of a thin frame, assumed
background), Otsu's threshold on that distance, raised if needed to `min_contrast` and to the largest distance
found on the frame itself (a foreground pixel must stand out more than anything on the background does), then
morphology: an opening drops specks, hole filling keeps parts of the object that resemble the background.
A texture has no region that stands out more than its own frame, so its foreground is the whole image, and the
foreground-aware augmentations then change nothing. The same safe fallback happens for an object that covers
much of the frame (it is not "on a background"): it gets plain augmentations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from scipy import ndimage
from torch import Tensor

from .augment import AUGMENTATIONS, make_views, num_classes

BORDER = 1 / 32  # width of the frame that gives the background colour, as a fraction of the side (at least 1 px)
MIN_CONTRAST = 0.1  # colour distance (in [0, 1] units) below which a pixel cannot be foreground
OFF_OBJECT = 0.02  # a draw with less than this share of its changed pixels on the foreground is "off the object"
INVISIBLE = 0.02  # a draw whose mean absolute change over its changed pixels is below this is "invisible" (~5/255)


def _check_fraction(name: str, value: float, low: float, high: float) -> float:
    """Return value, or raise a ValueError naming the parameter and the interval it must lie in."""
    if not low <= value <= high:
        raise ValueError(f"{name}={value!r}: must lie in [{low}, {high}]")
    return value


# ---------------------------------------------------------------- estimating the foreground


def otsu_threshold(values: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of a set of values: the cut of their histogram that maximises the between-class variance.

    Written out (a dozen lines of NumPy) rather than taken from scikit-image, which cplib does not depend on.
    Values above the returned threshold (a histogram bin edge) form the upper class; when every cut inside an empty
    gap of the histogram is equally good, the middle of the gap is returned.
    """
    counts, edges = np.histogram(np.ravel(values), bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    low_weight = np.cumsum(counts)[:-1]
    high_weight = counts.sum() - low_weight
    low_sum = np.cumsum(counts * centres)[:-1]
    low_mean = low_sum / np.maximum(low_weight, 1)
    high_mean = (np.sum(counts * centres) - low_sum) / np.maximum(high_weight, 1)
    between = low_weight * high_weight * (low_mean - high_mean) ** 2
    best = np.flatnonzero(between == between.max())
    return float(edges[(best[0] + best[-1]) // 2 + 1])


@dataclass
class ForegroundSteps:
    """Every step of the estimate, for figures: median image (C, H, W), border colour (C,), distance to it
    (H, W), Otsu's threshold and the threshold used (raised to the floors), the mask (H, W) bool, and whether it
    fell back to the whole image."""

    median: Tensor
    background: Tensor
    distance: Tensor
    otsu: float
    threshold: float
    mask: Tensor
    whole_image: bool


def _check_images(images: Tensor) -> None:
    if not (isinstance(images, Tensor) and images.ndim == 4 and images.is_floating_point() and len(images) > 0):
        found = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"images: expected a float tensor (N, C, H, W) of normal training images, got {found}")


def frame(height: int, width: int, border: float = BORDER) -> Tensor:
    """Bool mask (H, W) of the frame of width max(1, border * side) around an image."""
    _check_fraction("border", border, 0, 0.5)
    rows, cols = max(1, round(border * height)), max(1, round(border * width))
    inside = torch.ones(height, width, dtype=torch.bool)
    inside[rows:-rows, cols:-cols] = False
    return inside


def foreground_steps(images: Tensor, border: float = BORDER, min_contrast: float = MIN_CONTRAST) -> ForegroundSteps:
    """Estimate the foreground of aligned normal images (N, C, H, W) in [0, 1] (module docstring), with each step."""
    _check_images(images)
    _check_fraction("min_contrast", min_contrast, 0, 1)
    median = images.detach().cpu().float().median(dim=0).values
    around = frame(*median.shape[-2:], border)
    background = median[:, around].median(dim=1).values
    distance = (median - background[:, None, None]).norm(dim=0)
    otsu = otsu_threshold(distance.numpy())
    threshold = max(otsu, min_contrast, float(distance[around].max()))
    mask = _clean(distance.numpy() > threshold)
    whole_image = not mask.any()
    mask = torch.ones_like(distance, dtype=torch.bool) if whole_image else torch.from_numpy(mask)
    return ForegroundSteps(median, background, distance, otsu, threshold, mask, whole_image)


def _clean(mask: np.ndarray) -> np.ndarray:
    """Opening (3 x 3) to drop isolated pixels, then hole filling for object parts close to the background colour."""
    opened = ndimage.binary_opening(mask, structure=np.ones((3, 3), bool))
    return ndimage.binary_fill_holes(opened)


def estimate_foreground(images: Tensor, border: float = BORDER, min_contrast: float = MIN_CONTRAST) -> Tensor:
    """Foreground mask (H, W) bool of a category from its normal training images (N, C, H, W); all True for textures."""
    return foreground_steps(images, border, min_contrast).mask


def iou(first: Tensor, second: Tensor) -> float:
    """Intersection over union of two bool masks of the same shape (1.0 when both are empty)."""
    union = (first | second).sum()
    return float((first & second).sum() / union) if union else 1.0


# ---------------------------------------------------------------- wasted draws


class Changes(NamedTuple):
    """Per draw (B,): share of its changed pixels on the foreground, and their mean absolute change."""

    on_foreground: Tensor
    mean_change: Tensor


def changes(images: Tensor, augmented: Tensor, masks: Tensor, foreground: Tensor) -> Changes:
    """Where and how much each draw changed: masks (B, 1, H, W) from the augmentation, foreground (H, W).

    A draw that changed no pixel has share 0 and change 0: it counts as both off the object and invisible.
    """
    changed = masks.flatten(1).sum(1).clamp(min=1)
    on_foreground = (masks & foreground.to(masks.device)).flatten(1).sum(1) / changed
    difference = (augmented - images).abs().mean(dim=1, keepdim=True)
    mean_change = (difference * masks).flatten(1).sum(1) / changed
    return Changes(on_foreground.cpu(), mean_change.cpu())


@dataclass(frozen=True)
class Waste:
    """Shares of draws that taught nothing: changed pixels (almost) all off the object, (almost) invisible, either."""

    off_object: float
    invisible: float
    either: float
    draws: int


def waste(found: Changes, off_object: float = OFF_OBJECT, invisible: float = INVISIBLE) -> Waste:
    """Shares of draws below the off-object and invisibility thresholds (module constants by default)."""
    off = found.on_foreground < off_object
    unseen = found.mean_change < invisible
    return Waste(
        off.float().mean().item(), unseen.float().mean().item(), (off | unseen).float().mean().item(), len(off)
    )


def measure_waste(
    images: Tensor,
    augmentation: str,
    foreground: Tensor,
    *,
    aware: bool = False,
    repeats: int = 1,
    seed: int = 0,
    **params: object,
) -> Waste:
    """Waste of `repeats` draws of an augmentation on each of the normal images, judged against `foreground`.

    aware=True also passes the mask to the augmentation (foreground-aware placement); params go to it as well.
    """
    if augmentation not in AUGMENTATIONS:
        raise ValueError(f"augmentation={augmentation!r}: must be one of {tuple(AUGMENTATIONS)}")
    if repeats < 1:
        raise ValueError(f"repeats={repeats}: must be at least 1")
    generator = torch.Generator().manual_seed(seed)
    batch = images.repeat(repeats, 1, 1, 1)
    extra = {"foreground": foreground} if aware else {}
    augmented, masks = AUGMENTATIONS[augmentation](batch, generator, **extra, **params)
    return waste(changes(batch, augmented, masks, foreground))


def views_waste(
    images: Tensor, variant: str, foreground: Tensor, *, aware: bool = False, repeats: int = 1, seed: int = 0
) -> Waste:
    """Waste of the anomalous views that training builds for a variant (`make_views`, e.g. "3way": CutPaste and
    CutPaste-Scar), `repeats` times per normal image; aware=True passes the mask on, as TrainConfig.foreground does."""
    if repeats < 1:
        raise ValueError(f"repeats={repeats}: must be at least 1")
    batch = images.repeat(repeats, 1, 1, 1)
    extra = {"foreground": foreground} if aware else {}
    inputs, labels, masks = make_views(batch, variant, torch.Generator().manual_seed(seed), **extra)
    sources = batch.repeat(num_classes(variant) - 1, 1, 1, 1)
    anomalous = labels > 0
    return waste(changes(sources, inputs[anomalous], masks[anomalous], foreground))
