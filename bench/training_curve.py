"""3-way image AUROC and proxy accuracy against training length on each category, with the random network: does more
training move us toward the paper? Each length is its own run (its own cosine cycle), cached, so a rerun only evaluates.

Writes a CSV (one row per model, each as its model is measured, keyed on what made it: a rerun skips the rows it has and
resumes a stopped study, which leaves whole seeds: they run one after another), and a Markdown table and a figure of
every row in the CSV (mean ± sd over the seeds).

About 50 min a seed on 2 cores:

    .venv/bin/python bench/training_curve.py --steps 100 300 1000 2000 --seeds 0 1 2 --out bench/results/training_curve
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cplib.data import list_categories
from cplib.errors import CplibError
from cplib.experiments.measurements import Measurement
from cplib.experiments.results import study_rows
from cplib.experiments.training_curve import curve_table, training_curve
from cplib.plots import curve_figure, save_figure
from cplib.profiles import PROFILES, ensure_dataset, get_profile
from cplib.staging import write_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 300, 1000, 2000])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")
    parser.add_argument("--out", default="build/training_curve", help="prefix of the .csv, .md and .png written")
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root = args.data or ensure_dataset()
        profile = get_profile(args.profile)
        training_curve(root, list_categories(root), profile, sorted(args.steps), args.seeds, args.device, csv)
    except CplibError as error:
        print(f"training_curve: error: {error}", file=sys.stderr)
        return 2
    rows = study_rows(csv, Measurement)  # the whole study: this run's rows and those earlier runs wrote
    table = curve_table(rows)
    write_text(Path(f"{args.out}.md"), table + "\n")
    save_figure(curve_figure(rows), f"{args.out}.png")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
