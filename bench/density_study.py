r"""The density study (cplib.experiments.densities): GDE on the pooled features against its variants (L2-normalised,
the head's output) and against KDE and kNN, over seeds, on every category's lesson 3-way model.

The models are the lessons' (`cplib.profiles.lesson_config` of each seed), the ones bench/table1_seeds.py trains for
its 3-way rows, so the study loads them from the model cache where that ran first and trains none. Writes a CSV (one
row per model, each as its model is measured, keyed on what made it: a rerun skips the rows it has and resumes a
stopped study), a Markdown table of every row in the CSV with the paired gaps to the Gaussian and their verdicts, and a
figure of every seed. Notebook 05 reads the committed copy:

    .venv/bin/python bench/density_study.py --seeds 0 1 2 3 4 --out bench/results/densities
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cplib.data import list_categories
from cplib.errors import CplibError
from cplib.experiments.densities import DensityRow, density_study, density_table
from cplib.experiments.results import study_rows
from cplib.plots import save_figure
from cplib.profiles import PROFILES, ensure_dataset, get_profile, resolve_device
from cplib.staging import write_text
from cplib.studies import EFFECT_RULE, density_figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--categories", nargs="+", help="default: every category of the data folder")
    parser.add_argument("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")
    parser.add_argument("--out", default="build/densities", help="prefix of the .csv, .md and .png written")
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root = args.data or ensure_dataset()
        profile = get_profile(args.profile)
        categories = args.categories or list_categories(root)
        density_study(root, categories, profile, args.seeds, csv, resolve_device(args.device, profile))
    except CplibError as error:
        print(f"density_study: error: {error}", file=sys.stderr)
        return 2
    rows = study_rows(csv, DensityRow)  # the whole study: this run's rows and those earlier runs wrote
    table = density_table(rows)
    seeds = sorted({row.seed for row in rows})
    write_text(
        Path(f"{args.out}.md"),
        f"Image AUROC (%) of each scorer on the lessons' 3-way models, {profile.name} profile ({profile.size} px, "
        f"{profile.steps} steps), mean ± sd over seeds {seeds}, and its gap to the Gaussian on the pooled features, "
        f"seed by seed (AUROC points, mean ± sd; ▲/▼ beyond two sds: {EFFECT_RULE}); then the share of the pooled "
        f"features' deviation the head recovers\n\n{table}\n",
    )
    save_figure(density_figure(rows), f"{args.out}.png")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
