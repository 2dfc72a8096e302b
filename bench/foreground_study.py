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

import argparse
import sys
from pathlib import Path

from cplib.data import list_categories
from cplib.errors import CplibError
from cplib.experiments.foreground import ForegroundRow, foreground_study, foreground_table
from cplib.experiments.results import study_rows
from cplib.plots import save_figure
from cplib.profiles import PROFILES, ensure_dataset, get_profile, resolve_device
from cplib.staging import write_text
from cplib.studies import EFFECT_RULE, comparison_figure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--categories", nargs="+", help="default: every category of the data folder")
    parser.add_argument("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")
    parser.add_argument("--out", default="build/foreground", help="prefix of the .csv, .md and .png written")
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root = args.data or ensure_dataset()
        profile = get_profile(args.profile)
        categories = args.categories or list_categories(root)
        foreground_study(root, categories, profile, args.seeds, csv, resolve_device(args.device, profile))
    except CplibError as error:
        print(f"foreground_study: error: {error}", file=sys.stderr)
        return 2
    rows = study_rows(csv, ForegroundRow)  # the whole study: this run's rows and those earlier runs wrote
    table = foreground_table(rows)
    seeds = sorted({row.seed for row in rows})
    write_text(
        Path(f"{args.out}.md"),
        f"Plain vs foreground-aware 3-way, {profile.name} profile ({profile.size} px, {profile.steps} steps), mean "
        f"± sd over seeds {seeds}; then the gap foreground-aware − plain, seed by seed (points, mean ± sd; ▲/▼ "
        f"beyond two sds: {EFFECT_RULE})\n\n{table}\n",
    )
    save_figure(comparison_figure(rows), f"{args.out}.png")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
