"""Table 1 on the default data over several seeds: every variant and the random network, mean ± sd, cells below random
marked.

Writes a CSV (one row per model, each as its model is measured, keyed on what made it: a rerun skips the rows it has and
resumes a stopped study), a Markdown table and a figure of every row in the CSV; models are cached, so a rerun of a row
only evaluates. --size and --steps train at another scale; the scale study, at 96 and 128 px for the same training
time, is bench/scale_study.py. About a minute per model at the CPU profile's 64 px on 2 cores:

    .venv/bin/python bench/table1_seeds.py --seeds 0 1 2 --out build/table1_seeds
"""

from __future__ import annotations

import sys
from pathlib import Path

from cplib.augment import VARIANTS
from cplib.errors import CplibError
from cplib.experiments.margins import margin_table, spread_table
from cplib.experiments.measurements import Measurement
from cplib.experiments.results import study_rows
from cplib.experiments.table1 import TABLE1_VARIANTS, seeded_ablation
from cplib.plots import spread_figure
from cplib.study_cli import DEVICE, option, publish, refused, seeds_option, study_parser, study_seeds, study_setting


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(
        __doc__,
        "build/table1_seeds",
        seeds_option([0, 1, 2]),
        option("--variants", nargs="+", default=list(TABLE1_VARIANTS), choices=VARIANTS),
        option("--size", type=int, help="image size (default: the profile's)"),
        option("--steps", type=int, help="optimiser steps (default: the profile's)"),
        DEVICE,
    )
    args = parser.parse_args(argv)
    changes = {name: getattr(args, name) for name in ("size", "steps") if getattr(args, name) is not None}
    csv = Path(f"{args.out}.csv")
    try:
        root, profile, categories = study_setting(args)
        seeded_ablation(root, categories, profile, args.seeds, args.variants, args.device, csv, **changes)
    except CplibError as error:
        return refused("table1_seeds", error)
    rows = study_rows(csv, Measurement)  # the whole study: this run's rows and those earlier runs wrote
    table, gaps = spread_table(rows), margin_table(rows)
    scale = f"{profile.name} profile" + "".join(f", {name} {value}" for name, value in changes.items())
    markdown = (
        f"Image AUROC (%), {scale}, mean ± sd over seeds {study_seeds(rows)}; ↓ mean below random init\n\n{table}\n\n"
        f"Gap to the random network, seed by seed (AUROC points, mean ± sd; ▲/▼ beyond two sds) · "
        f"final proxy accuracy\n\n{gaps}"
    )
    publish(args.out, markdown, f"{table}\n\n{gaps}", spread_figure(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
