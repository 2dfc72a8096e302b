"""Colour jitter as torchvision's ColorJitter draws it, batched with per-sample factors (CutPaste's patches,
the pre-augmentation)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor
from torchvision.transforms.v2.functional import rgb_to_grayscale
from torchvision.transforms.v2.functional._color import _hsv_to_rgb, _rgb_to_hsv

from .checks import check_images, check_jitter
from .draws import uniform


class JitterFactors(NamedTuple):
    """Per-sample ColorJitter parameters (CPU tensors of length B)."""

    brightness: Tensor
    contrast: Tensor
    saturation: Tensor
    hue: Tensor


def sample_jitter(generator: torch.Generator, batch: int, strength: float) -> JitterFactors:
    """Factors U[1 - s, 1 + s] and hue shift U[-s, s], as torchvision ColorJitter(s, s, s, s) draws them."""
    factors = [uniform(generator, batch, 1 - strength, 1 + strength) for _ in range(3)]
    return JitterFactors(*factors, uniform(generator, batch, -strength, strength))


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
    check_images(images)
    strength = check_jitter("strength", strength)
    if strength == 0:
        return images.clone()
    return apply_jitter(images, sample_jitter(generator, len(images), strength), region)
