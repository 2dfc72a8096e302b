"""Seeded generators and images whose pixels encode where they came from, for the augmentation tests."""

from __future__ import annotations

import torch


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def coded(batch: int, height: int, width: int) -> torch.Tensor:
    """RGB images whose pixels encode (row, col, sample): every pixel value is unique across the batch."""
    rows = torch.arange(height).view(1, height, 1).expand(batch, height, width) / (height - 1)
    cols = torch.arange(width).view(1, 1, width).expand(batch, height, width) / (width - 1)
    sample = (torch.arange(batch).view(batch, 1, 1).expand(batch, height, width) + 1) / (batch + 1)
    return torch.stack([rows, cols, sample], dim=1)


def decode(pixels: torch.Tensor, batch: int, height: int, width: int) -> tuple[torch.Tensor, ...]:
    """(rows, cols, samples) encoded by `coded` in pixels of shape (3, N)."""
    return (
        (pixels[0] * (height - 1)).round().long(),
        (pixels[1] * (width - 1)).round().long(),
        (pixels[2] * (batch + 1)).round().long() - 1,
    )


def bbox(mask: torch.Tensor) -> tuple[int, int, int, int]:
    """(top, left, height, width) of the True pixels of a (H, W) mask."""
    rows, cols = mask.nonzero(as_tuple=True)
    top, left = int(rows.min()), int(cols.min())
    return top, left, int(rows.max()) - top + 1, int(cols.max()) - left + 1
