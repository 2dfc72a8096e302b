"""Seeded comparisons behind the notebooks' verdicts, under the course's one rule for an effect (`EFFECT_RULE`, the rule
of `cplib.experiments.margins.Margin`): one variant against another over the committed seeds, the 3-way task's confusion
on held-out views, and the figures of the seeded studies that notebooks 05 and 08 read (every seed's model: the density
study, `cplib.experiments.densities`, and plain against foreground-aware training, `cplib.experiments.foreground`)."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

from .augment import num_classes
from .evaluate import ProxyViews, proxy_views
from .experiments.densities import BASELINE, SCORERS, DensityRow
from .experiments.foreground import AWARE, LABELS, MEASURES, PLAIN, ForegroundRow
from .experiments.margins import MARKS, Margin, mean_sd, paired_margins
from .experiments.measurements import Measurement
from .model import CutPasteNet
from .train import TrainConfig

EFFECT_RULE = "an effect counts when the mean of the per-seed gaps lies beyond two standard deviations of those gaps"


def verdict(differences: Sequence[float]) -> str:
    """ "above", "below" or "inside the noise" for paired per-seed differences, by `EFFECT_RULE` (Margin's verdict)."""
    return Margin("", "", 0.0, 0.0, 0.0, 0.0, tuple(float(d) for d in differences)).verdict


def compare_variants(rows: Sequence[Measurement], variant: str, other: str) -> dict[str, Margin]:
    """Per category, `variant` against `other` on the seeds both have (both trained from the same seed): a Margin
    whose random_* fields hold `other`'s mean and sd on those seeds, and whose differences are variant − other per
    seed."""
    auroc = {(row.variant, row.category, row.seed): row.auroc for row in rows}
    paired = {}
    for category in dict.fromkeys(c for (v, c, _) in auroc if v == variant):
        for seed in sorted(s for (v, c, s) in auroc if (v, c) == (variant, category) and (other, c, s) in auroc):
            paired.update({(name, category, seed): auroc[name, category, seed] for name in (variant, other)})
    return paired_margins(paired, variant, other)


def describe_comparison(margin: Margin, other: str, seeds: Sequence[int]) -> str:
    """One verdict line in Margin.describe's form: both means ± sd, the per-seed gap ± its sd, the seeds, and the
    verdict."""
    mark = MARKS.get(margin.verdict, "").strip()
    wins = sum(d > 0 for d in margin.differences)
    return (
        f"{margin.category:8s} {margin.variant} {margin.mean:.3f} ± {margin.sd:.3f} · "
        f"{other} {margin.random_mean:.3f} ± {margin.random_sd:.3f} · "
        f"gap {margin.gap:+.3f} ± {margin.gap_sd:.3f} "
        f"(ahead on {wins} of {len(margin.differences)} seeds {list(seeds)}): "
        f"{margin.verdict}{' ' + mark if mark else ''}"
    )


def proxy_confusion(
    model: CutPasteNet, images: Tensor, config: TrainConfig, seed: int = 0, rounds: int = 4
) -> np.ndarray:
    """The proxy task's confusion matrix (rows: true class, columns: predicted) on views of normal images, drawn as
    training draws them (`cplib.evaluate.proxy_views`): which class the network confuses."""
    views = proxy_views(model, images, config, seed, rounds)
    classes = num_classes(config.variant)
    matrix = np.zeros((classes, classes), dtype=int)
    np.add.at(matrix, (views.labels, views.predicted), 1)
    return matrix


CONTRAST_EDGES = (0.0, 0.03, 0.1, 0.3, 1.0)
"""Bins of a view's contrast (mean largest change across channels over the pixels it changed): below 0.03, about 8 of
255 grey levels, a change is hard to see at all."""


def recognised_by_contrast(
    views: ProxyViews, label: int, edges: Sequence[float] = CONTRAST_EDGES
) -> list[tuple[float, float, int, float]]:
    """Per contrast bin [low, high) (the last one closed) of the views of class `label`: (low, high, how many views,
    the share the classifier recognised as `label`; NaN where the bin is empty)."""
    of_class = views.labels == label
    bins = []
    for low, high in zip(edges[:-1], edges[1:]):
        inside = of_class & (views.contrast >= low) & ((views.contrast < high) | (high == edges[-1]))
        recognised = float((views.predicted[inside] == label).mean()) if inside.any() else float("nan")
        bins.append((low, high, int(inside.sum()), recognised))
    return bins


FAINT = CONTRAST_EDGES[1]


def faint_ceiling(views: ProxyViews, below: float = FAINT) -> tuple[dict[int, float], float]:
    """Per anomalous class, the share of its views whose contrast lies below `below` (0.03 by default: next to
    invisible, and almost never recognised by the lesson models, notebook 03); and the proxy accuracy of a classifier
    that recognises every view but those: 1 − faint anomalous views / all views. The draws alone set both, not the
    model."""
    faint = (views.labels > 0) & (views.contrast < below)
    shares = {
        int(label): float(faint[views.labels == label].mean()) for label in np.unique(views.labels[views.labels > 0])
    }
    return shares, 1.0 - float(faint.mean())


def comparison_figure(rows: Sequence[ForegroundRow]) -> Figure:
    """One panel per measure: every seed's value (dots) and the mean ± standard deviation (bar), for plain and
    foreground-aware training on each category (`cplib.experiments.foreground`)."""
    categories = list(dict.fromkeys(row.category for row in rows))
    figure, axes = plt.subplots(1, len(MEASURES), figsize=(3.4 * len(MEASURES), 3.3))
    styles = {PLAIN: ("#BBBBBB", "o"), AWARE: ("#228833", "^")}
    for axis, name in zip(axes, MEASURES):
        for offset, (placement, (colour, marker)) in zip((-0.15, 0.15), styles.items()):
            for position, category in enumerate(categories):
                values = [getattr(row, name) for row in rows if (row.category, row.placement) == (category, placement)]
                seed_dots(axis, position + offset, values, colour, marker, placement if position == 0 else None)
        axis.set_xticks(range(len(categories)), categories)
        axis.set_title(LABELS[name], fontsize=10)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    return figure


def density_figure(rows: Sequence[DensityRow]) -> Figure:
    """One panel per category: each scorer's image AUROC on every seed's model (dots) and its mean ± standard deviation
    (bar), the paper's Gaussian first and in colour (`cplib.experiments.densities`)."""
    categories = list(dict.fromkeys(row.category for row in rows))
    figure, axes = plt.subplots(1, len(categories), figsize=(3.6 * len(categories), 3.6), sharey=True, squeeze=False)
    for axis, category in zip(axes[0], categories):
        for position, column in enumerate(SCORERS):
            values = [getattr(row, column) for row in rows if row.category == category]
            seed_dots(axis, position, values, "#4477AA" if column == BASELINE else "#BBBBBB", "o", None)
        axis.set_xticks(range(len(SCORERS)), [scorer.label for scorer in SCORERS.values()], rotation=40, ha="right")
        axis.set_title(category, fontsize=10)
    axes[0, 0].set_ylabel("image AUROC")
    figure.tight_layout()
    return figure


def seed_dots(
    axis: Axes, position: float, values: Sequence[float], colour: str, marker: str, label: str | None
) -> None:
    """Every seed's value as a dot at `position`, and their mean ± standard deviation as a bar."""
    mean, sd = mean_sd(values)
    axis.errorbar(position, mean, yerr=sd, fmt="_", color="black", capsize=4, markersize=14)
    axis.scatter(
        np.full(len(values), position),
        values,
        c=colour,
        marker=marker,
        edgecolors="#333333",
        linewidths=0.5,
        label=label,
        zorder=3,
    )
