"""Seeded comparisons behind the notebooks' verdicts, under the course's one rule for an effect (`EFFECT_RULE`, the rule
of `cplib.experiments.margins.Margin`): one variant against another over the committed seeds, the 3-way task's confusion
on held-out views, and notebook 08's study of plain against foreground-aware training (one `Run` per trained model,
summarised as a table of mean ± standard deviation and a figure of every seed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from .augment import num_classes
from .evaluate import ProxyViews, proxy_views
from .experiments.margins import MARKS, Margin, mean_sd, paired_margin
from .experiments.measurements import Measurement
from .model import CutPasteNet
from .train import TrainConfig, final_accuracy  # noqa: F401  (notebook 08 imports final_accuracy from here)

EFFECT_RULE = "an effect counts when the mean of the per-seed gaps lies beyond two standard deviations of those gaps"


def verdict(differences: Sequence[float]) -> str:
    """ "above", "below" or "inside the noise" for paired per-seed differences, by `EFFECT_RULE` (Margin's verdict)."""
    return Margin("", "", 0.0, 0.0, 0.0, 0.0, tuple(float(d) for d in differences)).verdict


def compare_variants(rows: Sequence[Measurement], variant: str, other: str) -> dict[str, Margin]:
    """Per category, `variant` against `other` seed by seed (both trained from the same seed): a Margin whose
    random_* fields hold `other`'s mean and sd, and whose differences are variant − other per seed."""
    auroc: dict[tuple[str, str], dict[int, float]] = {}
    for row in rows:
        auroc.setdefault((row.variant, row.category), {})[row.seed] = row.auroc
    found = {}
    for category in dict.fromkeys(row.category for row in rows if row.variant == variant):
        mine, theirs = auroc[variant, category], auroc.get((other, category), {})
        if mine.keys() & theirs.keys():
            found[category] = paired_margin(variant, category, mine, theirs)
    return found


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


@dataclass(frozen=True)
class Run:
    """One trained model's figures: category, setting (foreground-aware or not), seed, and what was measured.

    pixel_auroc is that of the model's GradCAM maps (`cplib.gradcam`): the image-level model has no patch maps.
    """

    category: str
    foreground: bool
    seed: int
    proxy_accuracy: float
    image_auroc: float
    waste: float
    pixel_auroc: float


MEASURES = ("waste", "proxy_accuracy", "image_auroc", "pixel_auroc")
LABELS = {
    "waste": "wasted draws (share)",
    "proxy_accuracy": "proxy accuracy (final)",
    "image_auroc": "image AUROC",
    "pixel_auroc": "pixel AUROC (GradCAM)",
}


def summarize_runs(runs: list[Run]) -> dict[tuple[str, bool], dict[str, tuple[float, float, int]]]:
    """Per (category, foreground): (mean, sample standard deviation, number of seeds) of each measure."""
    groups: dict[tuple[str, bool], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.category, run.foreground), []).append(run)
    return {
        key: {name: _spread([getattr(run, name) for run in members]) for name in MEASURES}
        for key, members in groups.items()
    }


def _spread(values: list[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (0 for one value) and count."""
    return (*mean_sd(values), len(values))


def runs_table(runs: list[Run]) -> str:
    """A markdown table of summarize_runs: mean ± standard deviation over seeds, per category and setting."""
    names = ["category", "placement", "seeds", *(LABELS[name] for name in MEASURES)]
    header = "| " + " | ".join(names) + " |\n" + "|---" * len(names) + "|"
    lines = [header]
    for (category, aware), measures in summarize_runs(runs).items():
        cells = [f"{mean:.3f} ± {std:.3f}" for mean, std, _ in (measures[name] for name in MEASURES)]
        seeds = measures["image_auroc"][2]
        lines.append(
            f"| {category} | {'foreground-aware' if aware else 'plain'} | {seeds} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def comparison_figure(runs: list[Run]) -> Figure:
    """One panel per measure: every seed's value (dots) and the mean ± standard deviation (bar), for plain and
    foreground-aware training on each category."""
    categories = list(dict.fromkeys(run.category for run in runs))
    figure, axes = plt.subplots(1, len(MEASURES), figsize=(3.4 * len(MEASURES), 3.3))
    styles = {False: ("#BBBBBB", "o", "plain"), True: ("#228833", "^", "foreground-aware")}
    for axis, name in zip(axes, MEASURES):
        for offset, (aware, (colour, marker, label)) in zip((-0.15, 0.15), styles.items()):
            for position, category in enumerate(categories):
                values = [getattr(run, name) for run in runs if run.category == category and run.foreground == aware]
                mean, std, _ = _spread(values)
                axis.errorbar(position + offset, mean, yerr=std, fmt="_", color="black", capsize=4, markersize=14)
                axis.scatter(
                    np.full(len(values), position + offset),
                    values,
                    c=colour,
                    marker=marker,
                    edgecolors="#333333",
                    linewidths=0.5,
                    label=label if position == 0 else None,
                    zorder=3,
                )
        axis.set_xticks(range(len(categories)), categories)
        axis.set_title(LABELS[name], fontsize=10)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    return figure
