"""The recipe study: which optimiser settings learn the proxy task within a lesson's budget (the cpu profile's size and
steps), chosen by the proxy accuracy on held-out training normals only; test AUROC is reported, never used to choose.

The paper's recipe (SGD 0.03, momentum 0.9, one cosine cycle) is tuned for 65,536 steps; a lesson has 300. Each row is
one model: a recipe, a category and a seed, trained with HOLDOUT of train/good kept from the encoder.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..checkpoint import get_or_train
from ..data import holdout_split, load_split
from ..evaluate import evaluate_model, heldout_proxy_accuracy
from ..inference import model_device
from ..profiles import RECIPES, Profile
from ..train import TrainConfig, final_accuracy
from .measurements import measure_random_init
from .results import row_key, run_jobs

HOLDOUT = 0.2  # share of train/good the encoder never sees: the recipe's judge


@dataclass(frozen=True)
class RecipeRow:
    """One model of the study: its proxy accuracy on held-out normals (the criterion) and on its last training steps,
    and its test image AUROC beside the same seed's random network's (reported only); keyed on what made it
    (`results.row_key`)."""

    recipe: str
    category: str
    seed: int
    threads: int
    steps: int
    batch: int
    heldout_accuracy: float
    train_accuracy: float
    auroc: float
    random_auroc: float
    cplib: str
    key: str


def recipe_config(
    profile: Profile, recipe: str, category: str, root: str, seed: int, variant: str = "3way", steps: int | None = None
) -> TrainConfig:
    """The TrainConfig of a recipe (a name in `cplib.profiles.RECIPES`) at the profile's scale, holding out HOLDOUT of
    the training normals, for the profile's steps or `steps`."""
    steps = steps or profile.steps
    return profile.config(variant, category, data_root=root, seed=seed, holdout=HOLDOUT, recipe=recipe, steps=steps)


def measure_recipe(name: str, config: TrainConfig, device: str | None = None) -> RecipeRow:
    """One recipe's row: train (or load) its model, then its held-out proxy accuracy, test AUROC and the random
    network's."""
    images = load_split(config.resolved_root(), config.category, "train", config.size).images
    held_out = images[holdout_split(len(images), config.holdout, config.seed)[0]]
    trained = get_or_train(config, device, progress=False)
    device = model_device(trained.model)
    return RecipeRow(
        name,
        config.category,
        config.seed,
        torch.get_num_threads(),
        config.steps,
        config.batch,
        heldout_proxy_accuracy(trained.model, held_out, config, config.seed),
        final_accuracy(trained.history.accuracy),
        evaluate_model(trained.model, config, config.resolved_root()).auroc,
        _random_auroc(config.with_(**RANDOM_NETWORK), device),
        __version__,
        row_key(config, MEASURED),
    )


MEASURED = "recipe: held-out proxy accuracy, image AUROC, random network's image AUROC"
RANDOM_NETWORK = {
    field: TrainConfig.__dataclass_fields__[field].default
    for field in ("optimiser", "lr", "weight_decay", "warmup", "schedule", "batch", "steps")
}


@functools.lru_cache(maxsize=32)
def _random_auroc(config: TrainConfig, device: str) -> float:
    """The random network's AUROC for a config, which no recipe field changes: measured once per category and seed."""
    return measure_random_init(config, config.resolved_root(), device).auroc


def recipe_study(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    seeds: Sequence[int],
    recipes: Sequence[str] = tuple(RECIPES),
    out: str | Path | None = None,
    device: str | None = None,
    steps: int | None = None,
) -> list[RecipeRow]:
    """Every recipe on every category for every seed (3-way models from the cache, else trained), for the profile's
    steps or `steps`; with `out` (a CSV), each row is written as its model is measured and the rows already there are
    kept, so a stopped study resumes."""
    jobs = [
        (row_key(config, MEASURED), functools.partial(measure_recipe, name, config, device))
        for seed in seeds
        for category in categories
        for name in recipes
        for config in [recipe_config(profile, name, category, root, seed, steps=steps)]
    ]
    if out is None:
        return [make() for _, make in jobs]
    return run_jobs(out, RecipeRow, jobs)


def chosen_recipe(rows: Sequence[RecipeRow]) -> str:
    """The recipe with the highest mean held-out proxy accuracy over categories and seeds (no test label plays a part),
    among those measured on the most (category, seed) cells: a recipe screened out after fewer seeds is not compared
    on them."""
    cells: dict[str, dict[tuple[str, int], float]] = {}
    for row in rows:
        cells.setdefault(row.recipe, {})[row.category, row.seed] = row.heldout_accuracy
    most = max(len(measured) for measured in cells.values())
    finalists = {name: measured for name, measured in cells.items() if len(measured) == most}
    return max(finalists, key=lambda name: float(np.mean(list(finalists[name].values()))))


def recipe_means(rows: Sequence[RecipeRow], measure: str = "heldout_accuracy") -> dict[tuple[str, str], float]:
    """The mean over seeds of a RecipeRow field (the held-out proxy accuracy unless named) per (recipe, category)."""
    measured: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        measured.setdefault((row.recipe, row.category), []).append(getattr(row, measure))
    return {key: float(np.mean(values)) for key, values in measured.items()}


def recipe_table(rows: Sequence[RecipeRow]) -> str:
    """Markdown: per recipe, held-out proxy accuracy per category (mean ± sd over seeds), then the image AUROC gap to
    the random network (points, mean ± sd), reported beside the choice (in bold)."""
    categories = list(dict.fromkeys(row.category for row in rows))
    header = ["recipe", *(f"{c}: held-out acc." for c in categories), *(f"{c}: AUROC gap" for c in categories)]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    chosen = chosen_recipe(rows)
    for recipe in dict.fromkeys(row.recipe for row in rows):
        of = {c: [row for row in rows if (row.recipe, row.category) == (recipe, c)] for c in categories}
        accuracy = [_mean_sd([row.heldout_accuracy for row in of[c]], "{:.2f}") for c in categories]
        gaps = [_mean_sd([100 * (row.auroc - row.random_auroc) for row in of[c]], "{:+.1f}") for c in categories]
        lines.append("| " + " | ".join([f"**{recipe}**" if recipe == chosen else recipe, *accuracy, *gaps]) + " |")
    return "\n".join(lines)


def machine_table(rows: Sequence[RecipeRow], native: Sequence[RecipeRow]) -> str:
    """Markdown: each model of a study run on another machine (an emulation, `cplib.experiments.machines`) beside the
    native run's model of the same recipe, category, seed and length: held-out proxy accuracy and image AUROC on both,
    and how far the machine moved the AUROC."""
    natives = {(row.recipe, row.category, row.seed, row.steps): row for row in native}
    lines = [
        "| recipe | category | seed | held-out acc. here / native | image AUROC here / native | AUROC moved |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        twin = natives.get((row.recipe, row.category, row.seed, row.steps))
        if twin is not None:
            accuracy = f"{row.heldout_accuracy:.2f} / {twin.heldout_accuracy:.2f}"
            auroc = f"{row.auroc:.3f} / {twin.auroc:.3f} | {abs(row.auroc - twin.auroc):.3f}"
            lines.append(f"| {row.recipe} | {row.category} | {row.seed} | {accuracy} | {auroc} |")
    return "\n".join(lines)


def _mean_sd(values: Sequence[float], form: str) -> str:
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
    return form.format(float(np.mean(values))) + ("" if math.isnan(sd) else " ± " + form.format(sd).lstrip("+"))
