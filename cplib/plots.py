"""Figures of the notebooks: augmentations with their masks, training curves, AUROC comparisons, image grids, and
the figures of foreground estimation, localisation, t-SNE embeddings, and of the seed and training-length studies."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from torch import Tensor
from torch.nn import functional as F

from .data import Split
from .embedding import GROUPS, Embedding
from .evaluate import Localization, ProxyViews
from .experiments.margins import margins, proxy_accuracies
from .experiments.measurements import RANDOM_INIT, Measurement
from .experiments.recipes import RecipeRow
from .experiments.scale import by_size
from .experiments.training_curve import curve_means
from .foreground import ForegroundSteps
from .localize import gaussian_kernel, kernel_sigma, upsample
from .metrics import aupro, image_auroc, pro_curve, roc_points
from .patches import Geometry
from .staging import replace, temporary
from .studies import CONTRAST_EDGES, recognised_by_contrast
from .train import History


def to_display(image: torch.Tensor) -> np.ndarray:
    """A (C, H, W) tensor in [0, 1] as an (H, W, 3) array for imshow."""
    array = image.detach().cpu().clamp(0, 1).permute(1, 2, 0).numpy()
    return np.repeat(array, 3, axis=2) if array.shape[2] == 1 else array


def overlay(
    image: torch.Tensor, mask: torch.Tensor, colour: tuple[float, float, float] = (1.0, 0.1, 0.6), alpha: float = 0.55
) -> np.ndarray:
    """An image with a boolean mask (H, W) tinted on top, for showing where something is."""
    array = to_display(image).copy()
    where = mask.detach().cpu().numpy().astype(bool)
    array[where] = (1 - alpha) * array[where] + alpha * np.asarray(colour)
    return array


def hide_ticks(axes: Iterable[Axes]) -> None:
    """Remove the ticks of image panels: pixel coordinates say nothing there."""
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])


def augmentation_figure(
    original: torch.Tensor,
    augmented: torch.Tensor,
    mask: torch.Tensor,
    title: str = "",
    seen: torch.Tensor | None = None,
) -> Figure:
    """Rows of original / augmented / changed-pixel mask for a batch (B, C, H, W) and its mask (B, 1, H, W); with
    `seen`, a fourth row: the same draw made at the training size, drawn pixel for pixel, which is what the network is
    given."""
    count, rows = len(original), 3 if seen is None else 4
    figure, axes = plt.subplots(rows, count, figsize=(2.2 * count, 2.2 * rows), squeeze=False)
    for i in range(count):
        axes[0, i].imshow(to_display(original[i]))
        axes[1, i].imshow(to_display(augmented[i]))
        axes[2, i].imshow(mask[i, 0].cpu().numpy(), cmap="gray", vmin=0, vmax=1)
        if seen is not None:
            axes[3, i].imshow(to_display(seen[i]), interpolation="nearest")
    labels = ["original", f"augmented ({original.shape[-1]} px)", "changed pixels"]
    for row, label in enumerate(labels + ([] if seen is None else [f"model input ({seen.shape[-1]} px)"])):
        axes[row, 0].set_ylabel(label)
    hide_ticks(axes.flat)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def fakes_beside_defect_figure(
    images: Tensor,
    fakes: Mapping[str, tuple[Tensor, Tensor]],
    defects: Tensor,
    defect_masks: Tensor | None = None,
    title: str = "",
) -> Figure:
    """One row per normal image (B, C, H, W): the image, each fake of it (name -> its augmented batch and changed-pixel
    masks (B, 1, H, W), as every augmentation returns them) with the changed pixels outlined, then a real defect of the
    same category (defects: (B, C, H, W)), its annotated pixels outlined where `defect_masks` is given."""
    columns = [("normal", images, None), *((name, *fake) for name, fake in fakes.items())]
    columns.append(("real defect", defects, defect_masks))
    figure, axes = plt.subplots(len(images), len(columns), figsize=(2 * len(columns), 2 * len(images)), squeeze=False)
    for column, (name, batch, masks) in enumerate(columns):
        axes[0, column].set_title(name, fontsize=9)
        for row in range(len(images)):
            axes[row, column].imshow(to_display(batch[row]))
            if masks is not None and masks[row].any():
                axes[row, column].contour(masks[row, 0].cpu().numpy(), levels=[0.5], colors="#EE3377", linewidths=0.8)
    hide_ticks(axes.flat)
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


def auroc_bars(
    results: Mapping[str, Mapping[str, float]], title: str = "image AUROC", reference: float | None = 0.5
) -> Figure:
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


# ---------------------------------------------------------------- foreground estimation (notebook 08)


def foreground_figure(steps: ForegroundSteps, title: str = "") -> Figure:
    """The estimate step by step: median image, distance to the border colour, its histogram with the threshold,
    and the mask."""
    figure, axes = plt.subplots(1, 4, figsize=(13, 3.2))
    axes[0].imshow(steps.median.permute(1, 2, 0).clamp(0, 1).numpy())
    shown = axes[1].imshow(steps.distance.numpy(), cmap="viridis")
    figure.colorbar(shown, ax=axes[1], fraction=0.046)
    axes[2].hist(steps.distance.numpy().ravel(), bins=64, color="#4477AA")
    axes[2].axvline(steps.threshold, color="#EE6677", linestyle="--", label=f"threshold {steps.threshold:.2f}")
    axes[2].set(xlabel="distance to the border colour", ylabel="pixels", yscale="log")
    axes[2].legend(fontsize=8)
    axes[3].imshow(steps.mask.numpy(), cmap="gray", vmin=0, vmax=1)
    titles = (
        "per-pixel median",
        "distance to border colour",
        "histogram",
        "whole image" if steps.whole_image else "foreground mask",
    )
    for axis, name in zip(axes, titles):
        axis.set_title(name, fontsize=9)
    for axis in (axes[0], axes[1], axes[3]):
        axis.set(xticks=[], yticks=[])
    figure.suptitle(title)
    figure.tight_layout()
    return figure


# ---------------------------------------------------------------- localisation (notebook 06)


def grid_figure(image: Tensor, geometry: Geometry) -> Figure:
    """The patch grid on an image: every patch centre as a dot; three patches one stride apart and one in the middle."""
    rows, cols = geometry.grid
    patch, stride = geometry.patch, geometry.stride
    figure, axis = plt.subplots(figsize=(4.4, 4.4))
    axis.imshow(to_display(image))
    centres = np.arange(rows) * stride + (patch - 1) / 2
    axis.scatter(*np.meshgrid(centres, centres), s=2, color="white")
    middle = (rows // 2) * stride
    corners = [(0, 0), (0, stride), (0, 2 * stride), (middle, middle)]
    for (top, left), colour in zip(corners, ("#ff2b8a", "#ffb000", "#35e0ff", "#7cff4f")):
        axis.add_patch(Rectangle((left - 0.5, top - 0.5), patch, patch, fill=False, edgecolor=colour, linewidth=1.6))
    axis.set_title(f"{rows}x{cols} patches of {patch} px, stride {stride}", fontsize=9)
    hide_ticks([axis])
    return figure


def upsampling_figure(scores: Tensor, geometry: Geometry) -> Figure:
    """Receptive-field upsampling in four panels: grid scores, the Gaussian kernel, the overlap count, the pixel map."""
    g = geometry
    kernel = gaussian_kernel(g.patch, g.sigma)
    weights = F.conv_transpose2d(
        torch.ones(1, 1, *scores.shape, dtype=torch.float64), kernel[None, None], stride=g.stride
    )
    panels = [
        (scores, f"grid scores {tuple(scores.shape)}"),
        (kernel, f"kernel {g.patch} px, sigma {kernel_sigma(g.patch) if g.sigma is None else g.sigma:.1f}"),
        (weights[0, 0], "transposed conv of ones\n(overlap, divided out)"),
        (upsample(scores[None], g.patch, g.stride, g.size, g.sigma)[0], f"pixel map {g.size}x{g.size}"),
    ]
    figure, axes = plt.subplots(1, 4, figsize=(12, 3.2))
    for axis, (values, title) in zip(axes, panels):
        shown = axis.imshow(np.asarray(values, dtype=float), cmap="magma")
        figure.colorbar(shown, ax=axis, fraction=0.046)
        axis.set_title(title, fontsize=9)
    hide_ticks(axes)
    figure.tight_layout()
    return figure


def heat_overlay(axis: Axes, image: Tensor, values: Tensor, vmin: float, vmax: float) -> None:
    """Draw an anomaly map over its image, half transparent, on a fixed colour scale."""
    axis.imshow(to_display(image))
    axis.imshow(np.asarray(values, dtype=float), cmap="jet", alpha=0.5, vmin=vmin, vmax=vmax)


def colour_range(maps: Tensor) -> tuple[float, float]:
    """A colour scale shared by all maps of one localiser: the 1st to 99.9th percentile of their values."""
    low, high = np.percentile(maps.numpy(), [1, 99.9])
    return float(low), float(high)


def heatmap_figure(results: dict[str, Localization], per_category: int = 3) -> Figure:
    """Per category, its first defective test images of each kind: image + ground truth over anomaly map."""
    columns = [(name, i) for name, result in results.items() for i in _examples(result.test, per_category)]
    figure, axes = plt.subplots(2, len(columns), figsize=(1.9 * len(columns), 4.1), squeeze=False)
    for column, (name, i) in enumerate(columns):
        result = results[name]
        test = result.test
        mask = test.masks[i] if test.masks is not None else torch.zeros(test.images.shape[-2:], dtype=torch.bool)
        axes[0, column].imshow(overlay(test.images[i], mask))
        heat_overlay(axes[1, column], test.images[i], result.maps[i], *colour_range(result.maps))
        axes[0, column].set_title(f"{name}\n{test.defects[i]}", fontsize=8)
    axes[0, 0].set_ylabel("ground truth")
    axes[1, 0].set_ylabel("anomaly map")
    hide_ticks(axes.flat)
    figure.tight_layout()
    return figure


def _examples(test: Split, count: int) -> list[int]:
    """Positions of the first defective image of each defect type, then further ones, `count` in all."""
    firsts = [test.defects.index(defect) for defect in dict.fromkeys(test.defects) if defect != "good"]
    rest = [i for i, label in enumerate(test.labels.tolist()) if label and i not in firsts]
    return (firsts + rest)[:count]


# ---------------------------------------------------------------- t-SNE embeddings (notebook 07)


# Paul Tol's "bright" scheme (distinct under the common colour-vision deficiencies) plus one marker per group.
STYLE = {
    "train normal": ("#4477AA", "o"),
    "test normal": ("#66CCEE", "s"),
    "CutPaste": ("#CCBB44", "^"),
    "CutPaste-Scar": ("#AA3377", "D"),
    "real defect": ("#EE6677", "X"),
}


def plot_embedding(axis: Axes, embedding: Embedding, title: str = "") -> None:
    """One t-SNE panel: each group in its colour and marker (normals first, so that anomalies stay visible)."""
    for index, name in enumerate(GROUPS):
        points = embedding.points[embedding.groups == index]
        colour, marker = STYLE[name]
        axis.scatter(
            points[:, 0], points[:, 1], s=18, c=colour, marker=marker, edgecolors="#333333", linewidths=0.3, alpha=0.85
        )
    axis.set(title=title, xticks=[], yticks=[])


def view_beside_defect_figure(images: Tensor, embedding: Embedding, pair: tuple[int, int], title: str = "") -> Figure:
    """A synthetic view and a real defect (pair: indices into images and embedding, `embedding.closest_pair`) side by
    side, and both as points of the t-SNE map among every group: does the nearest view look like the defect?"""
    figure, axes = plt.subplots(1, 3, figsize=(10, 3.4), gridspec_kw={"width_ratios": (1, 1, 1.4)})
    for axis, index in zip(axes[:2], pair):
        axis.imshow(to_display(images[index]))
        axis.set(title=GROUPS[embedding.groups[index]], xticks=[], yticks=[])
    plot_embedding(axes[2], embedding, title)
    ends = embedding.points[list(pair)]
    axes[2].plot(ends[:, 0], ends[:, 1], color="black", linewidth=1)
    axes[2].scatter(ends[:, 0], ends[:, 1], s=120, facecolors="none", edgecolors="black", linewidths=1.5)
    figure.legend(handles=legend_handles(), loc="lower center", ncol=len(GROUPS), frameon=False)
    figure.tight_layout(rect=(0, 0.08, 1, 1))
    return figure


def legend_handles() -> list[Line2D]:
    """Legend entries for the groups, with the same colours and markers as the panels."""
    return [
        Line2D(
            [],
            [],
            linestyle="",
            marker=marker,
            markerfacecolor=colour,
            markeredgecolor="#333333",
            markersize=7,
            label=name,
        )
        for name, (colour, marker) in STYLE.items()
    ]


def embedding_figure(panels: Mapping[str, Mapping[str, Embedding]], size: float = 3.4) -> Figure:
    """A grid of t-SNE panels, panels[row][column] (e.g. model → category), in the style of the paper's Figure 3."""
    rows = list(panels)
    columns = list(dict.fromkeys(column for row in panels.values() for column in row))
    legend_rows = 1 if len(columns) > 2 else 2  # one row of five entries needs three panels' width
    legend_height = 0.3 * legend_rows + 0.2  # inches
    figure, axes = plt.subplots(
        len(rows), len(columns), figsize=(size * len(columns), size * len(rows) + legend_height), squeeze=False
    )
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            if column in panels[row]:
                plot_embedding(axes[i, j], panels[row][column], f"{column} · {row}")
            else:
                axes[i, j].axis("off")
    figure.legend(handles=legend_handles(), loc="lower center", ncol=-(-len(GROUPS) // legend_rows), frameon=False)
    figure.tight_layout(rect=(0, legend_height / figure.get_figheight(), 1, 1))
    return figure


def spread_figure(rows: Sequence[Measurement]) -> Figure:
    """Image AUROC per variant and category, mean ± sd over seeds as bars with error bars, the random network as a
    line."""
    categories = list(dict.fromkeys(row.category for row in rows))
    variants = [v for v in dict.fromkeys(row.variant for row in rows) if v != RANDOM_INIT]
    figure, axis = plt.subplots(figsize=(1.6 + 1.4 * len(categories) * len(variants) / 4, 3.2))
    width = 0.8 / len(variants)
    for k, variant in enumerate(variants):
        values = [[row.auroc for row in rows if (row.variant, row.category) == (variant, c)] for c in categories]
        positions = np.arange(len(categories)) + (k - (len(variants) - 1) / 2) * width
        axis.bar(
            positions,
            [np.mean(v) for v in values],
            width,
            yerr=[np.std(v, ddof=1) if len(v) > 1 else 0 for v in values],
            label=variant,
            capsize=2,
        )
    for i, category in enumerate(categories):
        level = np.mean([row.auroc for row in rows if (row.variant, row.category) == (RANDOM_INIT, category)])
        axis.hlines(level, i - 0.45, i + 0.45, colors="black", linestyles="--", label=RANDOM_INIT if i == 0 else None)
    axis.set(xticks=range(len(categories)), xticklabels=categories, ylabel="image AUROC", ylim=(0.4, 1.0))
    axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)  # beside the bars
    figure.tight_layout()
    return figure


def curve_figure(rows: Sequence[Measurement]) -> Figure:
    """3-way image AUROC and proxy accuracy against training steps per category: the mean over seeds, shaded ± sd where
    there are several, and the random network's mean as a dashed line."""
    points = curve_means(rows)
    figure, (auroc, accuracy) = plt.subplots(1, 2, figsize=(10, 3.4))
    for category in dict.fromkeys(row.category for row in rows):
        trained = sorted((p for p in points.values() if p.category == category and p.steps), key=lambda p: p.steps)
        steps = [p.steps for p in trained]
        line = mean_band(auroc, steps, [p.auroc for p in trained], [p.sd for p in trained], category)
        if (category, 0) in points:
            auroc.axhline(points[category, 0].auroc, color=line.get_color(), linestyle="--")
        mean_band(accuracy, steps, [p.proxy_accuracy for p in trained], [p.proxy_sd for p in trained], category)
    band = "; shaded: ± sd over seeds" if len({row.seed for row in rows}) > 1 else ""
    auroc.set(xscale="log", xlabel="optimiser steps", ylabel="image AUROC", title=f"3-way (dashed: random init{band})")
    accuracy.axhline(1 / 3, color="grey", linestyle=":")
    accuracy.set(
        xscale="log", xlabel="optimiser steps", ylabel="proxy accuracy (last 20 steps)", title="chance ⅓ dotted"
    )
    auroc.legend(fontsize=8)
    figure.tight_layout()
    return figure


def mean_band(axis: Axes, x: Sequence[float], means: Sequence[float], sds: Sequence[float], label: str) -> Line2D:
    """A line of means with a band of ± sd around it (none where the sd is 0: one seed)."""
    (line,) = axis.plot(x, means, marker="o", label=label)
    low, high = np.subtract(means, sds), np.add(means, sds)
    axis.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def scale_figure(rows: Sequence[Measurement]) -> Figure:
    """Per category, each variant's paired gap to the random network (top) and its proxy accuracy (bottom) against image
    size."""
    categories = list(dict.fromkeys(row.category for row in rows))
    variants = [v for v in dict.fromkeys(row.variant for row in rows) if v != RANDOM_INIT]
    groups = by_size(rows)
    sizes = list(groups)
    figure, axes = plt.subplots(2, len(categories), figsize=(3.4 * len(categories), 5.6), sharex=True, squeeze=False)
    for column, category in enumerate(categories):
        gap_axis, accuracy_axis = axes[0, column], axes[1, column]
        for variant in variants:
            found = [margins(at, variant)[category] for at in groups.values()]
            gap_axis.errorbar(
                sizes,
                [100 * m.gap for m in found],
                yerr=[100 * m.gap_sd for m in found],
                marker="o",
                capsize=3,
                label=variant,
            )
            accuracy_axis.plot(
                sizes, [proxy_accuracies(at, variant)[category] for at in groups.values()], marker="o", label=variant
            )
        gap_axis.axhline(0, color="black", linestyle="--")
        gap_axis.set(title=category, ylabel="gap to random init (AUROC points)" if column == 0 else None)
        accuracy_axis.set(
            xticks=sizes,
            xlabel="image size (px), same training time",
            ylabel="proxy accuracy" if column == 0 else None,
            ylim=(0.3, 1.02),
        )
        for chance in (1 / 3, 1 / 2):
            accuracy_axis.axhline(chance, color="grey", linestyle=":")
    axes[0, 0].legend(fontsize=7)
    figure.tight_layout()
    return figure


def recipe_figure(rows: Sequence[RecipeRow]) -> Figure:
    """Per recipe, the proxy accuracy on held-out training normals per category (mean over seeds, sd as error bars)."""
    categories = list(dict.fromkeys(row.category for row in rows))
    recipes = list(dict.fromkeys(row.recipe for row in rows))
    figure, axis = plt.subplots(figsize=(2 + 1.1 * len(recipes), 3.4))
    width = 0.8 / len(categories)
    for k, category in enumerate(categories):
        values = [
            [row.heldout_accuracy for row in rows if (row.recipe, row.category) == (r, category)] for r in recipes
        ]
        positions = np.arange(len(recipes)) + (k - (len(categories) - 1) / 2) * width
        errors = [np.std(v, ddof=1) if len(v) > 1 else 0 for v in values]
        axis.bar(positions, [np.mean(v) for v in values], width, yerr=errors, label=category, capsize=2)
    axis.axhline(1 / 3, color="grey", linestyle=":")
    axis.set(xticks=range(len(recipes)), ylabel="held-out proxy accuracy (chance ⅓ dotted)", ylim=(0, 1))
    axis.set_xticklabels(recipes, rotation=20, ha="right", fontsize=8)
    axis.legend(fontsize=7)
    figure.tight_layout()
    return figure


def lever_figure(
    rows: Sequence[RecipeRow], settings: Mapping[str, float], lever: str, paper: Mapping[float, float] | None = None
) -> Figure:
    """A method parameter's study (recipes that differ in one setting, `settings`: recipe → value): per category, the
    held-out proxy accuracy and the image AUROC gap to the random network (points) against the value, mean ± sd over
    seeds; with `paper`, the paper's mean image AUROC against the same values in a third panel."""
    categories = list(dict.fromkeys(row.category for row in rows))
    measures = {
        "held-out proxy accuracy": lambda row: row.heldout_accuracy,
        "image AUROC gap to the\nrandom network, points": lambda row: 100 * (row.auroc - row.random_auroc),
    }
    panels, values = len(measures) + (paper is not None), sorted(set(settings.values()))
    figure, axes = plt.subplots(1, panels, figsize=(4 * panels, 3.3))
    for axis, (title, measure) in zip(axes, measures.items()):
        for category in categories:
            of = [
                [measure(row) for row in rows if row.category == category and settings[row.recipe] == v] for v in values
            ]
            errors = [np.std(v, ddof=1) if len(v) > 1 else 0 for v in of]
            axis.errorbar(values, [np.mean(v) for v in of], yerr=errors, marker="o", capsize=3, label=category)
        axis.set_xlabel(lever)
        axis.set_title(title, fontsize=10)
    axes[0].legend(fontsize=8)
    if paper is not None:
        axes[-1].plot(list(paper), list(paper.values()), marker="s", color="black")
        axes[-1].set_xlabel(lever)
        axes[-1].set_title("the paper: MVTec AD\nmean image AUROC, %", fontsize=10)
    figure.tight_layout()
    return figure


# ---------------------------------------------------------------- what a detector's numbers look like


def oracle_threshold(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """The score that best splits a labelled set (largest true-positive minus false-positive rate): it reads the test
    labels, so it is an oracle for figures, never a detector's threshold."""
    fpr, tpr, thresholds = roc_points(labels, scores)
    return float(thresholds[int(np.argmax(tpr - fpr))])


def score_histogram(scores: np.ndarray, labels: np.ndarray, title: str = "", threshold: float | None = None) -> Figure:
    """Anomaly scores of the good and the defective test images as two histograms on shared bins, the image AUROC in the
    title and a threshold (the oracle's unless given) as a dashed line, with how many images of each kind lie above
    it."""
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels).astype(bool)
    threshold = oracle_threshold(labels, scores) if threshold is None else threshold
    bins = np.histogram_bin_edges(scores, bins=24)
    figure, axis = plt.subplots(figsize=(6, 3))
    for name, chosen, colour in (("good", ~labels, "#4477AA"), ("defective", labels, "#EE6677")):
        above = int((scores[chosen] >= threshold).sum())
        axis.hist(
            scores[chosen], bins=bins, alpha=0.6, color=colour, label=f"{name}: {above} of {int(chosen.sum())} above"
        )
    axis.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.1f}")
    axis.set(
        xlabel="anomaly score",
        ylabel="test images",
        title=f"{title} · image AUROC {image_auroc(labels, scores):.3f}".strip(" ·"),
    )
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def confusion_figure(matrix: np.ndarray, classes: Sequence[str], title: str = "") -> Figure:
    """A confusion matrix (rows: true class, columns: predicted) as shares of each true class, counts written in."""
    matrix = np.asarray(matrix)
    shares = matrix / matrix.sum(axis=1, keepdims=True)
    figure, axis = plt.subplots(figsize=(1.6 + 1.2 * len(classes), 1.2 + 1.1 * len(classes)))
    axis.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(matrix):
        colour = "white" if shares[row, column] > 0.6 else "black"
        axis.text(
            column, row, f"{shares[row, column]:.2f}\n({count})", ha="center", va="center", fontsize=8, color=colour
        )
    ticks = range(len(classes))
    axis.set(xticks=ticks, yticks=ticks, xlabel="predicted", ylabel="true", title=title)
    axis.set_xticklabels(classes, fontsize=8)
    axis.set_yticklabels(classes, fontsize=8)
    figure.tight_layout()
    return figure


def contrast_figure(runs: Mapping[str, tuple[ProxyViews, int]], edges: Sequence[float] = CONTRAST_EDGES) -> Figure:
    """Per named run (its views and the anomalous class to read): left, how the views of that class spread over
    contrast; right, the share the classifier recognised per contrast bin, with the number of views above each bar."""
    figure, (spread, recognised) = plt.subplots(1, 2, figsize=(10, 3.4))
    width = 0.8 / len(runs)
    for k, (name, (views, label)) in enumerate(runs.items()):
        spread.hist(views.contrast[views.labels == label], bins=np.linspace(0, 1, 41), histtype="step", label=name)
        bins = recognised_by_contrast(views, label, edges)
        positions = np.arange(len(bins)) + (k - (len(runs) - 1) / 2) * width
        bars = recognised.bar(positions, [np.nan_to_num(share) for *_, share in bins], width, label=name)
        recognised.bar_label(bars, labels=[str(count) for _, _, count, _ in bins], fontsize=7)
    for edge in edges[1:-1]:
        spread.axvline(edge, color="grey", lw=0.6, ls=":")
    spread.set(xlabel="view contrast (mean largest change over the changed pixels)", ylabel="views", yscale="log")
    spread.legend(fontsize=8)
    recognised.set_xticks(range(len(edges) - 1))
    recognised.set_xticklabels([f"{low:g}-{high:g}" for low, high in zip(edges[:-1], edges[1:])], fontsize=8)
    recognised.set(xlabel="view contrast", ylabel="share recognised (views above each bar)", ylim=(0, 1.1))
    figure.tight_layout()
    return figure


def pro_curve_figure(results: Mapping[str, Localization], max_fpr: float = 0.3) -> Figure:
    """Per result, the per-region overlap (PRO) against the false-positive rate on its annotated test images, up to
    `max_fpr`: AUPRO is the area under each curve there, divided by `max_fpr` (given in the legend)."""
    figure, axis = plt.subplots(figsize=(5, 3.4))
    for name, result in results.items():
        where = result.test.pixel_positions()
        masks, maps = result.test.masks[where].numpy().astype(bool), result.maps[where].numpy()
        fpr, pro = pro_curve(masks, maps, None)
        kept = fpr <= max_fpr
        axis.plot(fpr[kept], pro[kept], label=f"{name}: AUPRO {aupro(masks, maps, max_fpr):.3f}")
    axis.set(
        xlabel="false-positive rate (normal pixels)", ylabel="per-region overlap", xlim=(0, max_fpr), ylim=(0, 1.02)
    )
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def source_note(figure: Figure, text: str) -> Figure:
    """Write where a figure's numbers come from ("this machine's run", or the committed file) in its bottom-left
    corner, small and grey, clear of the panels' titles; returns the figure."""
    figure.text(0.005, 0.005, text, fontsize=7, color="#555555", ha="left", va="bottom")
    return figure


def save_figure(figure: Figure, path: str | Path) -> None:
    """Save a figure as PNG atomically (a temporary beside it, then a rename), as cplib writes every file."""
    target = Path(path)
    staging = temporary(target)
    figure.savefig(staging, dpi=120, format="png")
    replace(staging, target)
