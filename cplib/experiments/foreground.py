"""Notebook 08's study: plain against foreground-aware 3-way training (`TrainConfig.foreground`), seed by seed, on every
category, at the lesson's scale; and the committed study that the notebook reads.

Each row is one model. The plain model of a seed is the lesson's 3-way model of that seed (`profiles.lesson_config`),
the one the seeded Table 1 trains, so the study loads it from the cache; its foreground-aware partner differs in that
field only. On a texture the estimated foreground is the whole image and the two train the same views. The paired gaps
foreground-aware − plain get the rule of `cplib.experiments.margins.Margin`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..checkpoint import get_or_train
from ..data import load_split
from ..evaluate import evaluate_model
from ..foreground import estimate_foreground, views_waste
from ..gradcam import GradCAM
from ..inference import model_device
from ..metrics import pixel_auroc
from ..model import CutPasteNet
from ..paths import COMMITTED_RESULTS
from ..profiles import Profile, lesson_config
from ..train import TrainConfig, final_accuracy
from .margins import Margin, gap_cell, mean_sd, paired_margins
from .measurements import MadeBy, made_by
from .results import Job, committed_rows, row_key, run_jobs

COMMITTED_FOREGROUND = COMMITTED_RESULTS / "foreground.csv"  # written by bench/foreground_study.py
PLAIN, AWARE = "plain", "foreground-aware"
PLACEMENTS = (PLAIN, AWARE)
MEASURES = ("waste", "proxy_accuracy", "image_auroc", "pixel_auroc")
LABELS = {
    "waste": "wasted views (share)",
    "proxy_accuracy": "proxy accuracy (final)",
    "image_auroc": "image AUROC",
    "pixel_auroc": "pixel AUROC (GradCAM)",
}
MEASURED = "foreground: wasted 3-way views, final proxy accuracy, image AUROC, GradCAM pixel AUROC"


@dataclass(frozen=True)
class ForegroundRow(MadeBy):
    """One model: its category, placement (PLACEMENTS), seed and scale; the share of its 3-way views wasted (off the
    object or invisible: `cplib.foreground.views_waste` on every training image with the seed's draws), its final proxy
    accuracy (the mean of its last training steps), its test image AUROC and the pixel AUROC of its GradCAM maps (NaN
    without masks); with what made it (`measurements.MadeBy`)."""

    category: str
    placement: str
    seed: int
    steps: int
    size: int
    waste: float
    proxy_accuracy: float
    image_auroc: float
    pixel_auroc: float
    precision: str

    def cell(self) -> tuple[str, str, int, int, int, str]:
        """What the row measured, whatever its values (`results.study_rows`)."""
        return self.category, self.placement, self.seed, self.steps, self.size, self.precision


def foreground_config(profile: Profile, category: str, root: str, seed: int, placement: str) -> TrainConfig:
    """The lesson's 3-way model of a seed, plain or foreground-aware."""
    if placement not in PLACEMENTS:
        raise ValueError(f"placement {placement!r}: use one of {', '.join(PLACEMENTS)}")
    return lesson_config(profile, category, root, seed).with_(foreground=placement == AWARE)


def measure_foreground(config: TrainConfig, device: str | None = None) -> ForegroundRow:
    """One model's row: load it from the cache (or train it), then measure its views, its proxy task, its image AUROC
    and its GradCAM maps."""
    root = config.resolved_root()
    trained = get_or_train(config, device, progress=False)
    normal = load_split(root, config.category, "train", config.size).images
    waste = views_waste(normal, "3way", estimate_foreground(normal), aware=config.foreground, seed=config.seed)
    return ForegroundRow(
        config.category,
        AWARE if config.foreground else PLAIN,
        config.seed,
        config.steps,
        config.size,
        waste.either,
        final_accuracy(trained.history.accuracy),
        evaluate_model(trained.model, config, root).auroc,
        gradcam_pixel_auroc(trained.model, config),
        config.precision,
        **made_by(config, MEASURED, model_device(trained.model)),
    )


def gradcam_pixel_auroc(model: CutPasteNet, config: TrainConfig) -> float:
    """Pixel AUROC of the model's GradCAM maps on the test images with masks; NaN where the data has none."""
    test = load_split(config.resolved_root(), config.category, "test", config.size, keep_unmasked=True)
    if test.masks is None:
        return math.nan
    annotated = test.pixel_positions()
    return pixel_auroc(test.masks[annotated], GradCAM(model).maps(test.images[annotated]))


def foreground_jobs(
    root: str, categories: Sequence[str], profile: Profile, seeds: Sequence[int], device: str | None
) -> list[Job]:
    """Per seed, category and placement, the job that measures its model: its row's key and the call that makes it."""
    configs = [
        foreground_config(profile, category, root, seed, placement)
        for seed in seeds
        for category in categories
        for placement in PLACEMENTS
    ]
    return [(row_key(config, MEASURED), functools.partial(measure_foreground, config, device)) for config in configs]


def foreground_study(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    seeds: Sequence[int],
    out: str | Path,
    device: str | None = None,
) -> list[ForegroundRow]:
    """Both placements on every category for every seed, each row appended to `out` (a CSV) as its model is measured;
    the rows already there are kept, so a stopped study resumes (`results.run_jobs`)."""
    return run_jobs(out, ForegroundRow, foreground_jobs(root, categories, profile, seeds, device))


def committed_foreground(root: str, categories: Sequence[str], profile: Profile) -> list[ForegroundRow] | None:
    """The committed study where it describes this data at the profile's size and steps; None elsewhere
    (bench/foreground_study.py measures it)."""
    rows = committed_rows(COMMITTED_FOREGROUND, root, categories, ForegroundRow)
    return rows if rows and all((row.size, row.steps) == (profile.size, profile.steps) for row in rows) else None


def compare_placements(rows: Sequence[ForegroundRow], measure: str) -> dict[str, Margin]:
    """Per category with both placements on a seed, foreground-aware against plain on one measure, seed by seed: a
    Margin whose random_* fields hold plain's mean and sd and whose differences are foreground-aware − plain."""
    return paired_margins(
        {(row.placement, row.category, row.seed): getattr(row, measure) for row in rows}, AWARE, PLAIN
    )


def foreground_table(rows: Sequence[ForegroundRow]) -> str:
    """Markdown: per category and placement, each measure's mean ± sd over seeds; then per category and measure, the
    paired gap foreground-aware − plain in points (×100; mean ± sd of the per-seed gaps, ▲/▼ beyond two sds)."""
    categories = list(dict.fromkeys(row.category for row in rows))
    names = ["category", "placement", "seeds", *(LABELS[name] for name in MEASURES)]
    lines = ["| " + " | ".join(names) + " |", "|---" * len(names) + "|"]
    for category in categories:
        for placement in PLACEMENTS:
            mine = [row for row in rows if (row.category, row.placement) == (category, placement)]
            if mine:
                cells = ["{:.3f} ± {:.3f}".format(*mean_sd([getattr(row, n) for row in mine])) for n in MEASURES]
                lines.append(f"| {category} | {placement} | {len(mine)} | " + " | ".join(cells) + " |")
    gaps = {name: compare_placements(rows, name) for name in MEASURES}
    names = ["category", *(f"{LABELS[name]}: gap, points" for name in MEASURES)]
    lines += ["", "| " + " | ".join(names) + " |", "|---" * len(names) + "|"]
    lines.extend(f"| {c} | " + " | ".join(gap_cell(gaps[n].get(c)) for n in MEASURES) + " |" for c in categories)
    return "\n".join(lines)
