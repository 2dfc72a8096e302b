r"""The foreground study (cplib.experiments.foreground): plain against foreground-aware 3-way training, seed by seed,
on every category, at the lesson's scale.

The plain model of each seed is the lesson's 3-way model, the one bench/table1_seeds.py trains for its 3-way rows, so
the study loads it from the model cache where that ran first and trains the foreground-aware models only. Writes a CSV
(one row per model, each as its model is measured, keyed on what made it: a rerun skips the rows it has and resumes a
stopped study), a Markdown table of every row in the CSV with the paired gaps and their verdicts, and a figure of every
seed. Notebook 08 reads the committed copy:

    .venv/bin/python bench/foreground_study.py --seeds 0 1 2 --out bench/results/foreground
"""

from __future__ import annotations

import sys
from pathlib import Path

from cplib.errors import CplibError
from cplib.experiments.foreground import ForegroundRow, foreground_study, foreground_table
from cplib.experiments.results import study_rows
from cplib.profiles import resolve_device
from cplib.studies import EFFECT_RULE, comparison_figure
from cplib.study_cli import CATEGORIES, DEVICE, publish, refused, seeds_option, study_parser, study_seeds, study_setting


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(__doc__, "build/foreground", seeds_option([0, 1, 2]), CATEGORIES, DEVICE)
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root, profile, categories = study_setting(args)
        foreground_study(root, categories, profile, args.seeds, csv, resolve_device(args.device, profile))
    except CplibError as error:
        return refused("foreground_study", error)
    rows = study_rows(csv, ForegroundRow)  # the whole study: this run's rows and those earlier runs wrote
    table = foreground_table(rows)
    caption = (
        f"Plain vs foreground-aware 3-way, {profile.name} profile ({profile.size} px, {profile.steps} steps), mean "
        f"± sd over seeds {study_seeds(rows)}; then the gap foreground-aware − plain, seed by seed (points, mean ± sd; "
        f"▲/▼ beyond two sds: {EFFECT_RULE})"
    )
    publish(args.out, f"{caption}\n\n{table}", table, comparison_figure(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
