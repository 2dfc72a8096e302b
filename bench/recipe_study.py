r"""The recipe study (cplib.experiments.recipes): which optimiser settings learn the 3-way proxy task at the cpu
profile's scale.

Chosen by the proxy accuracy on held-out training normals; test AUROC gaps to the random network are reported beside it.
Writes a CSV (one row per model, each as its model is measured, keyed on what made it: a rerun skips the rows it has and
resumes a stopped study), a Markdown table and a figure. `--data YOUR_FOLDER` chooses a recipe for your own data by the
same criterion. Run it again under another thread count, with a model cache of its own, to see how far threads move each
recipe (`--against` the native run's CSV puts each model beside its native twin):

    .venv/bin/python bench/recipe_study.py --seeds 0 1 2 --out bench/results/recipes
    env $(.venv/bin/python -m cplib.experiments.machines threads-1) \
        .venv/bin/python bench/recipe_study.py --seeds 0 --out build/recipes-1 --against bench/results/recipes.csv

`--steps` measures another training length. At the cpu profile the lesson recipe's models of a length are the training
curve's (bench/training_curve.py), so after the curve this reads their held-out proxy accuracy from the model cache:

    .venv/bin/python bench/recipe_study.py --recipes "AdamW 1e-3, warm-up, decay 0.05" --steps 2000 --out build/r2000
"""

from __future__ import annotations

import sys
from pathlib import Path

from cplib.errors import CplibError
from cplib.experiments.recipes import HOLDOUT, RecipeRow, chosen_recipe, machine_table, recipe_study, recipe_table
from cplib.experiments.results import read_rows
from cplib.plots import recipe_figure
from cplib.profiles import RECIPES, resolve_device
from cplib.study_cli import (
    CATEGORIES,
    DEVICE,
    option,
    publish,
    refused,
    seeds_option,
    study_parser,
    study_seeds,
    study_setting,
)


def main(argv: list[str] | None = None) -> int:
    recipes = option("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    steps = option("--steps", type=int, help="optimiser steps per model (default: the profile's)")
    against = option("--against", help="a native run's CSV: add each model's image AUROC beside its native twin's")
    options = (seeds_option([0, 1, 2]), CATEGORIES, recipes, steps, against, DEVICE)
    parser = study_parser(__doc__, "build/recipes", *options)
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root, profile, categories = study_setting(args)
        device = resolve_device(args.device, profile)
        recipe_study(root, categories, profile, args.seeds, args.recipes, csv, device, args.steps)
    except CplibError as error:
        return refused("recipe_study", error)
    rows = read_rows(csv, RecipeRow)  # the whole study: this run's rows and those earlier runs wrote
    table = recipe_table(rows)
    several = len({row.recipe for row in rows}) > 1
    highest = f", highest on average for **{chosen_recipe(rows)}**" if several else ""
    caption = (
        f"3-way, {profile.name} profile, seeds {study_seeds(rows)}, {HOLDOUT:.0%} of train/good held out; "
        f"held-out proxy accuracy (mean ± sd; chance 0.33){highest}; AUROC gap to the random network in points, "
        f"reported only"
    )
    if args.against:
        compared = machine_table(rows, read_rows(Path(args.against), RecipeRow))
        table = f"{table}\n\nAgainst the native run ({args.against}):\n\n{compared}"
    publish(args.out, f"{caption}\n\n{table}", table, recipe_figure(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
