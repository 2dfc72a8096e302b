"""Argument checks the augmentations share: each refusal names the parameter and the values it may take."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import torch
from torch import Tensor

Range = tuple[float, float]

MAX_JITTER = 0.5  # ColorJitter's limit: brightness factor 1 - j >= 0 and hue shift |j| <= 0.5


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _interval(low: float, high: float, brackets: str) -> str:
    return f"{brackets[0]}{low}, {high}{brackets[1]}"


def _within(value: float, low: float, high: float, brackets: str) -> bool:
    above = value > low if brackets[0] == "(" else value >= low
    below = value < high if brackets[1] == ")" else value <= high
    return above and below


def check_number(name: str, value: object, low: float, high: float, brackets: str = "[]") -> float:
    """Return `value` as a float, or raise a ValueError naming the parameter and its allowed interval."""
    if not (_is_real(value) and _within(value, low, high, brackets)):
        raise ValueError(f"{name}={value!r}: must lie in {_interval(low, high, brackets)}")
    return float(value)


def check_range(name: str, value: object, low: float, high: float, brackets: str = "()") -> Range:
    """Return a (low, high) pair, or raise a ValueError naming it and the interval its bounds need."""
    valid = (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(_is_real(bound) and _within(bound, low, high, brackets) for bound in value)
        and value[0] <= value[1]
    )
    if not valid:
        raise ValueError(f"{name}={value!r}: each bound must lie in {_interval(low, high, brackets)} with low <= high")
    return float(value[0]), float(value[1])


def check_jitter(name: str, value: object) -> float:
    """Return a jitter strength as a float, or raise unless it lies in [0, MAX_JITTER]."""
    return check_number(name, value, 0, MAX_JITTER)


def check_images(images: object) -> None:
    """Raise unless `images` is a float (B, C, H, W) tensor with B >= 1, C = 1 or 3 and values in [0, 1]."""
    if not (
        isinstance(images, Tensor)
        and images.ndim == 4
        and images.shape[0] >= 1
        and images.shape[1] in (1, 3)
        and images.is_floating_point()
    ):
        found = f"{images.dtype} {tuple(images.shape)}" if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"images: expected a float tensor (B, C, H, W) with B >= 1 and C = 1 or 3, got {found}")
    low, high = torch.aminmax(images)
    if not 0 <= low <= high <= 1:  # False for NaN too
        raise ValueError(f"images: values must lie in [0, 1], got {float(low):g} to {float(high):g}")


def check_foreground(foreground: object, images: Tensor) -> Tensor | None:
    """The foreground as a bool (B or 1, 1, H, W) tensor on the images' device, or a ValueError saying why not."""
    if foreground is None:
        return None
    batch, _, height, width = images.shape
    shapes = ((height, width), (batch, 1, height, width), (1, 1, height, width))
    if not (isinstance(foreground, Tensor) and foreground.dtype == torch.bool and tuple(foreground.shape) in shapes):
        found = (
            f"{foreground.dtype} {tuple(foreground.shape)}"
            if isinstance(foreground, Tensor)
            else type(foreground).__name__
        )
        raise ValueError(
            f"foreground: expected a bool tensor ({height}, {width}) or ({batch}, 1, {height}, {width}) matching the "
            f"images, got {found}"
        )
    foreground = foreground.reshape(-1, 1, height, width).to(images.device)
    if not foreground.flatten(1).any(1).all():
        raise ValueError("foreground: every mask needs at least one True pixel (the object to paste onto)")
    return foreground


def check_min_overlap(min_overlap: object) -> float:
    """Return the share of a region that must lie on the foreground, or raise unless it lies in (0, 1]."""
    return check_number("min_overlap", min_overlap, 0, 1, "(]")
