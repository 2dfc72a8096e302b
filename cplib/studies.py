"""Notebook 08's study: plain against foreground-aware training over several seeds, one `Run` per trained model,
summarised as a table (mean ± standard deviation) and a figure of every seed."""

from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .train import final_accuracy  # noqa: F401  (notebook 08 imports it from here, with the study)


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
    "waste": "wasted draws (share)", "proxy_accuracy": "proxy accuracy (final)", "image_auroc": "image AUROC",
    "pixel_auroc": "pixel AUROC (GradCAM)",
}


def summarize_runs(runs: list[Run]) -> dict[tuple[str, bool], dict[str, tuple[float, float, int]]]:
    """Per (category, foreground): (mean, sample standard deviation, number of seeds) of each measure."""
    groups: dict[tuple[str, bool], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.category, run.foreground), []).append(run)
    return {key: {name: _spread([getattr(run, name) for run in members]) for name in MEASURES} for key, members in groups.items()}


def _spread(values: list[float]) -> tuple[float, float, int]:
    """Mean, sample standard deviation (0 for one value) and count."""
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0, len(values)


def runs_table(runs: list[Run]) -> str:
    """A markdown table of summarize_runs: mean ± standard deviation over seeds, per category and setting."""
    names = ["category", "placement", "seeds", *(LABELS[name] for name in MEASURES)]
    header = "| " + " | ".join(names) + " |\n" + "|---" * len(names) + "|"
    lines = [header]
    for (category, aware), measures in summarize_runs(runs).items():
        cells = [f"{mean:.3f} ± {std:.3f}" for mean, std, _ in (measures[name] for name in MEASURES)]
        seeds = measures["image_auroc"][2]
        lines.append(f"| {category} | {'foreground-aware' if aware else 'plain'} | {seeds} | " + " | ".join(cells) + " |")
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
                    np.full(len(values), position + offset), values, c=colour, marker=marker,
                    edgecolors="#333333", linewidths=0.5, label=label if position == 0 else None, zorder=3,
                )
        axis.set_xticks(range(len(categories)), categories)
        axis.set_title(LABELS[name], fontsize=10)
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    return figure
