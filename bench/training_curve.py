"""3-way image AUROC and proxy accuracy against training length on each category, with the random network: does more
training move us toward the paper? Each length is its own run (its own cosine cycle), cached, so a rerun only evaluates.

Writes a CSV (one row per model, each as its model is measured, keyed on what made it: a rerun skips the rows it has and
resumes a stopped study, which leaves whole seeds: they run one after another), and a Markdown table and a figure of
every row in the CSV (mean ± sd over the seeds).

About 50 min a seed on 2 cores:

    .venv/bin/python bench/training_curve.py --steps 100 300 1000 2000 --seeds 0 1 2 --out bench/results/training_curve
"""

from __future__ import annotations

import sys
from pathlib import Path

from cplib.errors import CplibError
from cplib.experiments.measurements import Measurement
from cplib.experiments.results import study_rows
from cplib.experiments.training_curve import curve_table, training_curve
from cplib.plots import curve_figure
from cplib.study_cli import DEVICE, option, publish, refused, seeds_option, study_parser, study_setting


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(
        __doc__,
        "build/training_curve",
        option("--steps", type=int, nargs="+", default=[100, 300, 1000, 2000]),
        seeds_option([0]),
        DEVICE,
    )
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root, profile, categories = study_setting(args)
        training_curve(root, categories, profile, sorted(args.steps), args.seeds, args.device, csv)
    except CplibError as error:
        return refused("training_curve", error)
    rows = study_rows(csv, Measurement)  # the whole study: this run's rows and those earlier runs wrote
    table = curve_table(rows)
    publish(args.out, table, table, curve_figure(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
