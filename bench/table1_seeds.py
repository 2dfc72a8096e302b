"""Table 1 on the default data over several seeds: every variant and the random network, mean ± sd, cells below random
marked.

Writes a CSV (one row per model, each as its model is measured, keyed on what made it: a rerun skips the rows it has and
resumes a stopped study), a Markdown table and a figure of every row in the CSV; models are cached, so a rerun of a row
only evaluates. --size and --steps train at another scale; the scale study, at 96 and 128 px for the same training
time, is bench/scale_study.py. About a minute per model at the CPU profile's 64 px on 2 cores:

    .venv/bin/python bench/table1_seeds.py --seeds 0 1 2 --out build/table1_seeds
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cplib.augment import VARIANTS
from cplib.data import list_categories
from cplib.errors import CplibError
from cplib.experiments.margins import margin_table, spread_table
from cplib.experiments.measurements import Measurement
from cplib.experiments.results import study_rows
from cplib.experiments.table1 import TABLE1_VARIANTS, seeded_ablation
from cplib.plots import save_figure, spread_figure
from cplib.profiles import PROFILES, ensure_dataset, get_profile
from cplib.staging import write_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(TABLE1_VARIANTS), choices=VARIANTS)
    parser.add_argument("--size", type=int, help="image size (default: the profile's)")
    parser.add_argument("--steps", type=int, help="optimiser steps (default: the profile's)")
    parser.add_argument("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")
    parser.add_argument("--out", default="build/table1_seeds", help="prefix of the .csv, .md and .png written")
    args = parser.parse_args(argv)
    changes = {name: getattr(args, name) for name in ("size", "steps") if getattr(args, name) is not None}
    csv = Path(f"{args.out}.csv")
    try:
        root = args.data or ensure_dataset()
        profile = get_profile(args.profile)
        seeded_ablation(root, list_categories(root), profile, args.seeds, args.variants, args.device, csv, **changes)
    except CplibError as error:
        print(f"table1_seeds: error: {error}", file=sys.stderr)
        return 2
    rows = study_rows(csv, Measurement)  # the whole study: this run's rows and those earlier runs wrote
    table, gaps = spread_table(rows), margin_table(rows)
    scale = f"{profile.name} profile" + "".join(f", {name} {value}" for name, value in changes.items())
    seeds = sorted({row.seed for row in rows})
    write_text(
        Path(f"{args.out}.md"),
        f"Image AUROC (%), {scale}, mean ± sd over seeds {seeds}; ↓ mean below random init\n\n{table}\n\n"
        f"Gap to the random network, seed by seed (AUROC points, mean ± sd; ▲/▼ beyond two sds) · "
        f"final proxy accuracy\n\n{gaps}\n",
    )
    save_figure(spread_figure(rows), f"{args.out}.png")
    print(table, gaps, sep="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
