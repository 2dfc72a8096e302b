"""The recipe study: which optimiser settings learn the proxy task within a lesson's budget (the cpu profile's size and
steps), chosen by the proxy accuracy on held-out training normals only; test AUROC is reported, never used to choose.

The paper's recipe (SGD 0.03, momentum 0.9, one cosine cycle) is tuned for 65,536 steps; a lesson has 300. Each row is
one model: a recipe, a category and a seed, trained with HOLDOUT of train/good kept from the encoder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..checkpoint import get_or_train
from ..data import holdout_split, load_split
from ..evaluate import evaluate_model, heldout_proxy_accuracy
from ..profiles import Profile
from ..train import TrainConfig, final_accuracy
from .measurements import measure_random_init

HOLDOUT = 0.2  # share of train/good the encoder never sees: the recipe's judge
RECIPES: dict[str, dict[str, object]] = {
    "paper": {},
    "warm-up, peak 0.1": {"lr": 0.1, "warmup": 30},
    "warm-up, peak 0.3": {"lr": 0.3, "warmup": 30},
    "one-cycle, peak 0.1": {"schedule": "onecycle", "lr": 0.1},
    "AdamW 1e-3": {"optimiser": "adamw", "lr": 1e-3, "weight_decay": 1e-4},
    "batch-norm momentum 0.3": {"bn_momentum": 0.3},
    "64 images, half the steps": {"batch": 64, "steps_share": 0.5},
}
"""Name -> TrainConfig changes over the profile's; "steps_share" scales the profile's steps (equal images seen)."""


@dataclass(frozen=True)
class RecipeRow:
    """One model of the study: its proxy accuracy on held-out normals (the criterion) and on its last training steps,
    and its test image AUROC beside the same seed's random network's (reported only)."""

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


def recipe_config(
    profile: Profile, recipe: Mapping[str, object], category: str, root: str, seed: int, variant: str = "3way"
) -> TrainConfig:
    """The TrainConfig of a recipe at the profile's scale, holding out HOLDOUT of the training normals."""
    changes = dict(recipe)
    steps = max(1, round(profile.steps * float(changes.pop("steps_share", 1.0))))
    return profile.config(variant, category, data_root=root, seed=seed, holdout=HOLDOUT, steps=steps, **changes)


def recipe_study(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    seeds: Sequence[int],
    recipes: Mapping[str, Mapping[str, object]] = RECIPES,
) -> list[RecipeRow]:
    """Every recipe on every category for every seed (3-way models from the cache, else trained)."""
    rows = []
    for seed in seeds:
        for category in categories:
            images = load_split(root, category, "train", profile.size).images
            for name, recipe in recipes.items():
                config = recipe_config(profile, recipe, category, root, seed)
                held_out = images[holdout_split(len(images), config.holdout, config.seed)[0]]
                trained = get_or_train(config, progress=False)
                accuracy = heldout_proxy_accuracy(trained.model, held_out, config, seed)
                auroc, random_auroc = (
                    evaluate_model(trained.model, config, root).auroc,
                    measure_random_init(config, root).auroc,
                )
                rows.append(
                    RecipeRow(
                        name,
                        category,
                        seed,
                        torch.get_num_threads(),
                        config.steps,
                        config.batch,
                        accuracy,
                        final_accuracy(trained.history.accuracy),
                        auroc,
                        random_auroc,
                    )
                )
    return rows


def chosen_recipe(rows: Sequence[RecipeRow]) -> str:
    """The recipe with the highest mean held-out proxy accuracy over categories and seeds (no test label plays a
    part)."""
    by_recipe: dict[str, list[float]] = {}
    for row in rows:
        by_recipe.setdefault(row.recipe, []).append(row.heldout_accuracy)
    return max(by_recipe, key=lambda name: float(np.mean(by_recipe[name])))


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


def _mean_sd(values: Sequence[float], form: str) -> str:
    sd = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
    return form.format(float(np.mean(values))) + ("" if math.isnan(sd) else " ± " + form.format(sd).lstrip("+"))
