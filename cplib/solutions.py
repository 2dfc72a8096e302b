"""Worked solutions to the exercises at the end of notebooks 01-04, one small function per exercise.

The notebooks call these when a learner reveals a solution; tests/test_solutions.py runs every one, so none rots.
Each returns the numbers the exercise asks the learner to predict. Only method modules are imported.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.nn import functional as F

from .augment import cutout, cutpaste, make_views, num_classes, sample_box_sizes, scar
from .model import CutPasteNet

Range = tuple[float, float]


# ---------------------------------------------------------------- 01 Cutout


def confetti_cutout(
    images: Tensor, generator: torch.Generator, area: Range = (0.02, 0.15), aspect: Range = (0.3, 1 / 0.3)
) -> tuple[Tensor, Tensor]:
    """Cutout filled with confetti noise (an independent random colour per pixel, a variant in the paper's Cutout
    ablation); returns (augmented, mask of changed pixels) like cplib.augment."""
    batch, _, height, width = images.shape
    heights, widths = sample_box_sizes(generator, batch, height, width, area, aspect)
    top = (torch.rand(batch, generator=generator) * (height - heights + 1)).long().view(-1, 1, 1)
    left = (torch.rand(batch, generator=generator) * (width - widths + 1)).long().view(-1, 1, 1)
    rows, cols = torch.arange(height).view(1, -1, 1), torch.arange(width).view(1, 1, -1)
    inside = (rows >= top) & (rows < top + heights.view(-1, 1, 1)) & (cols >= left) & (cols < left + widths.view(-1, 1, 1))
    noise = torch.rand(images.shape, generator=generator).to(images)
    augmented = torch.where(inside.unsqueeze(1).to(images.device), noise, images)
    return augmented, (augmented != images).any(dim=1, keepdim=True)


def mean_fill_on_flat_image(value: float = 0.25, size: int = 32, seed: int = 0) -> tuple[int, int]:
    """Pixels changed by fill="mean" Cutout on a flat image of one grey `value`, and on a random image: filling
    with the mean colour changes nothing where the image is already that colour, so the "augmented" view is normal."""
    flat, noisy = torch.full((1, 3, size, size), value), torch.rand(1, 3, size, size)
    _, flat_mask = cutout(flat, torch.Generator().manual_seed(seed), fill="mean")
    _, noisy_mask = cutout(noisy, torch.Generator().manual_seed(seed), fill="mean")
    return int(flat_mask.sum()), int(noisy_mask.sum())


def erased_share(area: Range = (0.02, 0.15), count: int = 256, size: int = 64, seed: int = 0) -> float:
    """Mean share of the image that grey Cutout erases when the patch area fraction is drawn from U(area)."""
    images = torch.rand(count, 1, size, size)
    _, mask = cutout(images, torch.Generator().manual_seed(seed), area=area)
    return mask.float().mean().item()


# ---------------------------------------------------------------- 02 Scar


def scar_share(size: int, count: int = 64, seed: int = 0) -> float:
    """Mean share of a size x size image that a default Scar changes: sizes are given at 256 px and scale with the
    image, so the share stays about the same at any resolution (up to whole-pixel rounding at small sizes)."""
    images = torch.rand(count, 1, size, size)
    _, mask = scar(images, torch.Generator().manual_seed(seed))
    return mask.float().mean().item()


def scar_box_fill(angle: Range, count: int = 64, size: int = 128, seed: int = 0) -> float:
    """Mean share of each scar's axis-aligned bounding box that the scar covers, for rotations drawn from U(angle):
    1 for upright scars, less the more they are turned, which is why placement needs the rotated bounds."""
    images = torch.rand(count, 1, size, size)
    _, mask = scar(images, torch.Generator().manual_seed(seed), angle=angle)
    shares = []
    for where in mask[:, 0]:
        rows, cols = where.nonzero(as_tuple=True)
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        shares.append(len(rows) / box.item())
    return sum(shares) / len(shares)


# ---------------------------------------------------------------- 03 CutPaste


def pasted_colours_in_source(jitter: float, count: int = 8, size: int = 48, seed: int = 0) -> float:
    """Share of the pixels CutPaste changes whose exact RGB colour already occurs in the original image: all of
    them without jitter (no new colour appears, only a new arrangement), almost none with it."""
    images = torch.rand(count, 3, size, size)
    augmented, mask = cutpaste(images, torch.Generator().manual_seed(seed), jitter=jitter)
    found, changed = 0, 0
    for image, result, where in zip(images, augmented, mask[:, 0]):
        pasted, palette = result[:, where].T, image.flatten(1).T  # (changed, 3) and (all pixels, 3)
        found += (pasted[:, None, :] == palette[None, :, :]).all(dim=2).any(dim=1).sum().item()
        changed += len(pasted)
    return found / changed


def cutpaste_from_neighbour(images: Tensor, generator: torch.Generator, jitter: float = 0.1) -> tuple[Tensor, Tensor]:
    """CutPaste with the patch cut from the previous image of the batch instead of the same image (a variant the
    paper does not use): CutPaste the neighbour, then show its pasted region on this image. Returns (augmented, mask)."""
    neighbours = images.roll(1, dims=0)
    pasted, where = cutpaste(neighbours, generator, jitter=jitter)
    augmented = torch.where(where, pasted, images)
    return augmented, (augmented != images).any(dim=1, keepdim=True)


# ---------------------------------------------------------------- 04 one training step


def initial_loss(variant: str = "3way", size: int = 32, batch: int = 8, seed: int = 0) -> tuple[float, float]:
    """Cross-entropy of an untrained CutPasteNet on one proxy batch, and ln(number of classes): a classifier that
    knows nothing predicts every class equally, which costs ln k per sample."""
    torch.manual_seed(seed)
    model = CutPasteNet(num_classes(variant)).eval()
    generator = torch.Generator().manual_seed(seed)
    inputs, labels, _ = make_views(torch.rand(batch, 3, size, size, generator=generator), variant, generator)
    with torch.no_grad():
        _, logits = model(inputs)
    return F.cross_entropy(logits, labels).item(), math.log(num_classes(variant))


def cosine_learning_rates(lr: float = 0.03, steps: int = 10) -> tuple[list[float], list[float]]:
    """The learning rate before each of `steps` + 1 steps, by the formula lr * (1 + cos(pi t / steps)) / 2 and by
    torch's CosineAnnealingLR stepped once per step, as cplib.train.train does."""
    by_hand = [lr * (1 + math.cos(math.pi * t / steps)) / 2 for t in range(steps + 1)]
    optimiser = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
    by_torch = []
    for _ in range(steps + 1):
        by_torch.append(schedule.get_last_lr()[0])
        optimiser.step()
        schedule.step()
    return by_hand, by_torch


def proxy_batch_sizes(batch: int = 4, size: int = 32) -> dict[str, int]:
    """Inputs per step that make_views gives for `batch` source images: 2 views each for binary variants (union
    too), 3 for 3-way."""
    images = torch.rand(batch, 3, size, size)
    return {
        variant: len(make_views(images, variant, torch.Generator().manual_seed(0))[0])
        for variant in ("cutpaste", "union", "3way")
    }
