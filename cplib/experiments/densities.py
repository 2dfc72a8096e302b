"""Notebook 05's study: which density on which features scores the test images best, over seeds, on the lessons' 3-way
models (`profiles.lesson_config`: the models the seeded Table 1 trains, so the study loads them from the cache); and the
committed study that the notebook reads.

Each row is one model: the image AUROC of every scorer in SCORERS, each fitted on the clean training images' features
(as `cplib.evaluate` fits the Gaussian), and how much of the pooled features' deviation the projection head keeps
(`cplib.evaluate.recovered_share`), on the normal and on the defective test images. Each scorer is compared with the
paper's Gaussian on the pooled features seed by seed (both score the same model), under the rule of
`cplib.experiments.margins.Margin`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import Tensor

from ..checkpoint import get_or_train
from ..data import load_split
from ..density import FeatureDensity, GaussianDensity, KDEDensity, KNNDensity
from ..evaluate import extract_features, recovered_share
from ..inference import model_device
from ..metrics import image_auroc
from ..model import CutPasteNet
from ..paths import COMMITTED_RESULTS
from ..profiles import Profile, lesson_config
from ..train import TrainConfig
from .margins import Margin, gap_cell, mean_sd, paired_margins, spread_cell
from .measurements import MadeBy, made_by
from .results import Job, committed_rows, row_key, run_jobs

COMMITTED_DENSITIES = COMMITTED_RESULTS / "densities.csv"  # written by bench/density_study.py


@dataclass(frozen=True)
class Scorer:
    """A column of the study: its label, a new unfitted density, and whether it scores the head's 128-d output
    rather than the pooled 512-d features."""

    label: str
    make: Callable[[], FeatureDensity]
    head: bool = False


SCORERS: dict[str, Scorer] = {
    "gde": Scorer("GDE, pooled 512-d", GaussianDensity),
    "gde_l2": Scorer("GDE, L2-normalised", functools.partial(GaussianDensity, normalize=True)),
    "gde_head": Scorer("GDE, head 128-d", GaussianDensity, head=True),
    "kde": Scorer("KDE (Scott bandwidth)", KDEDensity),
    "knn": Scorer("kNN (k=5)", functools.partial(KNNDensity, k=5)),
}
"""A row's column -> its scorer. "gde" is the paper's choice, and what the others are compared with."""
BASELINE = "gde"
MEASURED = "densities: image AUROC of each scorer, the head's recovered share of the pooled features"


@dataclass(frozen=True)
class DensityRow(MadeBy):
    """One model: its category, seed and scale, each scorer's test image AUROC (a column per SCORERS key), and the
    share of the pooled features' deviation the head recovers on normal and on defective test images; with what made
    it (`measurements.MadeBy`)."""

    category: str
    seed: int
    steps: int
    size: int
    gde: float
    gde_l2: float
    gde_head: float
    kde: float
    knn: float
    head_normal: float
    head_defective: float
    precision: str

    def cell(self) -> tuple[str, int, int, int, str]:
        """What the row measured, whatever its values (`results.study_rows`)."""
        return self.category, self.seed, self.steps, self.size, self.precision


def measure_densities(config: TrainConfig, device: str | None = None) -> DensityRow:
    """One model's row: load it from the cache (or train it), then fit every scorer on the clean training images'
    features and score every test image, as `cplib.evaluate.evaluate_model` does for the Gaussian."""
    model = get_or_train(config, device, progress=False).model
    features, labels = _features(model, config)
    aurocs = {
        column: image_auroc(labels, scorer.make().fit(features[scorer.head][0]).score_samples(features[scorer.head][1]))
        for column, scorer in SCORERS.items()
    }
    (pooled_train, pooled_test), (head_train, head_test) = features[False], features[True]
    normal, defective = (
        recovered_share(head_train, pooled_train, head_test[mask], pooled_test[mask])
        for mask in (labels == 0, labels == 1)
    )
    scale = {"steps": config.steps, "size": config.size, "precision": config.precision}
    made = made_by(config, MEASURED, model_device(model))
    return DensityRow(
        config.category, config.seed, **scale, **aurocs, head_normal=normal, head_defective=defective, **made
    )


def _features(model: CutPasteNet, config: TrainConfig) -> tuple[dict[bool, tuple[Tensor, ...]], np.ndarray]:
    """(head or not) -> (train features, test features), and the test labels: every training image, and every test
    image with or without a mask (the test set of `evaluate_model`)."""
    root = config.resolved_root()
    train = load_split(root, config.category, "train", config.size)
    test = load_split(root, config.category, "test", config.size, masks=False)
    features = {
        head: tuple(extract_features(model, split.images, head=head) for split in (train, test))
        for head in (False, True)
    }
    return features, test.labels.numpy()


def density_jobs(
    root: str, categories: Sequence[str], profile: Profile, seeds: Sequence[int], device: str | None
) -> list[Job]:
    """Per seed and category, the job that measures the lesson model: its row's key and the call that makes it."""
    configs = [lesson_config(profile, category, root, seed) for seed in seeds for category in categories]
    return [(row_key(config, MEASURED), functools.partial(measure_densities, config, device)) for config in configs]


def density_study(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    seeds: Sequence[int],
    out: str | Path,
    device: str | None = None,
) -> list[DensityRow]:
    """Every category's lesson model for every seed, each row appended to `out` (a CSV) as its model is measured; the
    rows already there are kept, so a stopped study resumes (`results.run_jobs`)."""
    return run_jobs(out, DensityRow, density_jobs(root, categories, profile, seeds, device))


def committed_densities(root: str, categories: Sequence[str], profile: Profile) -> list[DensityRow] | None:
    """The committed study where it describes this data at the profile's size and steps; None elsewhere
    (bench/density_study.py measures it)."""
    rows = committed_rows(COMMITTED_DENSITIES, root, categories, DensityRow)
    return rows if rows and all((row.size, row.steps) == (profile.size, profile.steps) for row in rows) else None


def compare_scorers(rows: Sequence[DensityRow], column: str, baseline: str = BASELINE) -> dict[str, Margin]:
    """Per category, one scorer against the baseline, seed by seed (both score each seed's model): a Margin whose
    random_* fields hold the baseline's mean and sd and whose differences are scorer − baseline."""
    values = {(name, row.category, row.seed): getattr(row, name) for row in rows for name in (column, baseline)}
    return paired_margins(values, column, baseline)


def density_table(rows: Sequence[DensityRow]) -> str:
    """Markdown: each scorer's image AUROC (%) per category, mean ± sd over seeds, with its paired gap to the baseline
    (points, mean ± sd of the per-seed gaps, ▲/▼ beyond two sds); then the share of the pooled features' deviation the
    head recovers, on normal and on defective test images (mean ± sd)."""
    categories = list(dict.fromkeys(row.category for row in rows))
    header = f"| scorer | {' | '.join(f'{c}: AUROC · gap to GDE' for c in categories)} |"
    lines = [header, "|---" * (len(categories) + 1) + "|"]
    for column, scorer in SCORERS.items():
        gaps = compare_scorers(rows, column) if column != BASELINE else {}
        cells = [f"{spread_cell(_spread(rows, c, column), None)} · {gap_cell(gaps.get(c))}" for c in categories]
        lines.append(f"| {scorer.label} | " + " | ".join(cells) + " |")
    lines += ["", f"| the head recovers | {' | '.join(categories)} |", "|---" * (len(categories) + 1) + "|"]
    for column, name in (("head_normal", "of normal test images"), ("head_defective", "of defective test images")):
        lines.append(
            f"| {name} | " + " | ".join("{:.2f} ± {:.2f}".format(*_spread(rows, c, column)) for c in categories) + " |"
        )
    return "\n".join(lines)


def _spread(rows: Sequence[DensityRow], category: str, column: str) -> tuple[float, float]:
    """Mean and sd over seeds of one column on one category."""
    return mean_sd([getattr(row, column) for row in rows if row.category == category])
