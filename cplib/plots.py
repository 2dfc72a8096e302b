"""Figures the notebooks share: augmentations with their masks, training curves, AUROC comparisons, image grids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from .train import History


def to_display(image: torch.Tensor) -> np.ndarray:
    """A (C, H, W) tensor in [0, 1] as an (H, W, 3) array for imshow."""
    array = image.detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array


def overlay(image: torch.Tensor, mask: torch.Tensor, colour: tuple[float, float, float] = (1.0, 0.1, 0.6), alpha: float = 0.55) -> np.ndarray:
    """An image with a boolean mask (H, W) tinted on top, for showing where something is."""
    array = to_display(image).copy()
    where = mask.detach().cpu().numpy().astype(bool)
    array[where] = (1 - alpha) * array[where] + alpha * np.asarray(colour)
    return array


def augmentation_figure(original: torch.Tensor, augmented: torch.Tensor, mask: torch.Tensor, title: str = "") -> Figure:
    """Rows of original / augmented / changed-pixel mask for a batch (B, C, H, W) and its mask (B, 1, H, W)."""
    count = len(original)
    figure, axes = plt.subplots(3, count, figsize=(2.2 * count, 6.6), squeeze=False)
    for i in range(count):
        axes[0, i].imshow(to_display(original[i]))
        axes[1, i].imshow(to_display(augmented[i]))
        axes[2, i].imshow(mask[i, 0].cpu().numpy(), cmap="gray", vmin=0, vmax=1)
    for row, label in enumerate(("original", "augmented", "changed pixels")):
        axes[row, 0].set_ylabel(label)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def training_curves(histories: Mapping[str, History], window: int = 10) -> Figure:
    """Loss and proxy-task accuracy per step (moving average over `window` steps) for one or more runs."""
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(10, 3.4))
    for name, history in histories.items():
        steps = np.arange(1, len(history.loss) + 1)
        loss_axis.plot(steps, _smooth(history.loss, window), label=name)
        accuracy_axis.plot(steps, _smooth(history.accuracy, window), label=name)
    loss_axis.set(xlabel="step", ylabel="cross-entropy", title="proxy-task loss")
    accuracy_axis.set(xlabel="step", ylabel="accuracy", title="proxy-task accuracy", ylim=(0, 1.02))
    accuracy_axis.legend()
    figure.tight_layout()
    return figure


def _smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Trailing moving average that keeps the length (shorter windows at the start)."""
    values = np.asarray(values, dtype=float)
    cumulative = np.cumsum(np.insert(values, 0, 0.0))
    index = np.arange(1, len(values) + 1)
    start = np.maximum(index - window, 0)
    return (cumulative[index] - cumulative[start]) / (index - start)


def auroc_bars(results: Mapping[str, Mapping[str, float]], title: str = "image AUROC", reference: float | None = 0.5) -> Figure:
    """Grouped bars: results[model][group] = AUROC (groups e.g. 'all' and each defect type)."""
    models = list(results)
    groups = list(dict.fromkeys(g for scores in results.values() for g in scores))
    width = 0.8 / len(models)
    figure, axis = plt.subplots(figsize=(1.4 + 1.3 * len(groups), 3.4))
    for i, model in enumerate(models):
        values = [results[model].get(group, np.nan) for group in groups]
        bars = axis.bar(np.arange(len(groups)) + i * width, values, width, label=model)
        axis.bar_label(bars, fmt="%.2f", fontsize=7)
    if reference is not None:
        axis.axhline(reference, color="grey", linestyle=":", linewidth=1)
    axis.set_xticks(np.arange(len(groups)) + width * (len(models) - 1) / 2, groups)
    axis.set(ylim=(0, 1.08), ylabel="AUROC", title=title)
    axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    return figure


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str], columns: int = 6, size: float = 2.0) -> Figure:
    """A grid of already-prepared (H, W, 3) arrays with titles."""
    rows = max(1, -(-len(images) // columns))
    figure, axes = plt.subplots(rows, columns, figsize=(size * columns, size * rows + 0.3), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image, title in zip(axes.flat, images, titles):
        axis.imshow(image)
        axis.set_title(title, fontsize=8)
    figure.tight_layout()
    return figure
