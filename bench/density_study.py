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

import sys
from pathlib import Path

from cplib.errors import CplibError
from cplib.experiments.densities import DensityRow, density_study, density_table
from cplib.experiments.results import study_rows
from cplib.profiles import resolve_device
from cplib.studies import EFFECT_RULE, density_figure
from cplib.study_cli import CATEGORIES, DEVICE, publish, refused, seeds_option, study_parser, study_seeds, study_setting


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(__doc__, "build/densities", seeds_option([0, 1, 2, 3, 4]), CATEGORIES, DEVICE)
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root, profile, categories = study_setting(args)
        density_study(root, categories, profile, args.seeds, csv, resolve_device(args.device, profile))
    except CplibError as error:
        return refused("density_study", error)
    rows = study_rows(csv, DensityRow)  # the whole study: this run's rows and those earlier runs wrote
    table = density_table(rows)
    caption = (
        f"Image AUROC (%) of each scorer on the lessons' 3-way models, {profile.name} profile ({profile.size} px, "
        f"{profile.steps} steps), mean ± sd over seeds {study_seeds(rows)}, and its gap to the Gaussian on the pooled "
        f"features, seed by seed (AUROC points, mean ± sd; ▲/▼ beyond two sds: {EFFECT_RULE}); then the share of the "
        f"pooled features' deviation the head recovers"
    )
    publish(args.out, f"{caption}\n\n{table}", table, density_figure(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
