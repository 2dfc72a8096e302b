r"""The recipe study (cplib.experiments.recipes): which optimiser settings learn the 3-way proxy task at the cpu
profile's scale.

Chosen by the proxy accuracy on held-out training normals; test AUROC gaps to the random network are reported beside it.
Writes a CSV (one row per model, each as its model is measured, keyed on what made it: a rerun skips the rows it has and
resumes a stopped study), a Markdown table and a figure. `--data YOUR_FOLDER` chooses a recipe for your own data by the
same criterion. Run it again under another thread count, with a model cache of its own, to see how far threads move each
recipe:

    .venv/bin/python bench/recipe_study.py --seeds 0 1 2 --out bench/results/recipes
    env $(.venv/bin/python -m cplib.experiments.machines threads-1) \
        .venv/bin/python bench/recipe_study.py --seeds 0 --out build/recipes-1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cplib.data import list_categories
from cplib.errors import CplibError
from cplib.experiments.recipes import HOLDOUT, RecipeRow, chosen_recipe, recipe_study, recipe_table
from cplib.experiments.results import read_rows
from cplib.plots import recipe_figure, save_figure
from cplib.profiles import PROFILES, RECIPES, ensure_dataset, get_profile, resolve_device
from cplib.staging import write_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--categories", nargs="+", help="default: every category of the data folder")
    parser.add_argument("--recipes", nargs="+", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")
    parser.add_argument("--out", default="build/recipes", help="prefix of the .csv, .md and .png written")
    args = parser.parse_args(argv)
    try:
        root = args.data or ensure_dataset()
        profile = get_profile(args.profile)
        categories = args.categories or list_categories(root)
        csv = Path(f"{args.out}.csv")
        recipe_study(root, categories, profile, args.seeds, args.recipes, csv, resolve_device(args.device, profile))
    except CplibError as error:
        print(f"recipe_study: error: {error}", file=sys.stderr)
        return 2
    rows = read_rows(csv, RecipeRow)  # the whole study: this run's rows and those earlier runs wrote
    table = recipe_table(rows)
    seeds = sorted({row.seed for row in rows})
    write_text(
        Path(f"{args.out}.md"),
        f"3-way, {profile.name} profile, seeds {seeds}, {HOLDOUT:.0%} of train/good held out; "
        f"held-out proxy accuracy (mean ± sd; chance 0.33) chooses **{chosen_recipe(rows)}**; AUROC gap to the random "
        f"network in points, reported only\n\n{table}\n",
    )
    save_figure(recipe_figure(rows), f"{args.out}.png")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
