"""Seeded random draws on the CPU (float64) behind every augmentation: a seed fixes them on any device."""

from __future__ import annotations

import torch
from torch import Tensor


def uniform(generator: torch.Generator, n: int, low: float | Tensor, high: float | Tensor) -> Tensor:
    """n draws of U[low, high) on the CPU; low and high may be per-sample tensors."""
    return low + (high - low) * torch.rand(n, generator=generator, dtype=torch.float64)


def randint(generator: torch.Generator, upper: Tensor) -> Tensor:
    """One integer in [0, upper) per sample (upper >= 1), on the CPU."""
    draws = torch.rand(len(upper), generator=generator, dtype=torch.float64) * upper
    return draws.long().clamp(max=upper - 1)
