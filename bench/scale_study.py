"""The scale study: the CutPaste family against the random network at 64, 96 and 128 px, each size trained for the steps
the CPU profile's training time buys there (experiments.scale.budget_steps: 300, 187, 123), over seeds. Does a larger
image, where CutPaste-Scar's strokes are wider, make the proxy tasks learnable within the same budget? Models are
cached, so a rerun only evaluates; the 64-px models are Table 1's (bench/table1_seeds.py). Writes a CSV (one row per
model, each as its model is measured, keyed on what made it: a rerun skips the rows it has and resumes a stopped
study), and a Markdown table and a figure of every row in the CSV.

About 15 min per size and seed on 2 cores:

    .venv/bin/python bench/scale_study.py --seeds 0 1 2 --out bench/results/scale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cplib.data import list_categories
from cplib.errors import CplibError
from cplib.experiments.measurements import Measurement
from cplib.experiments.results import study_rows
from cplib.experiments.scale import SCALE_SIZES, scale_study, scale_table
from cplib.experiments.table1 import CUTPASTE_FAMILY, TABLE1_VARIANTS
from cplib.plots import save_figure, scale_figure
from cplib.profiles import PROFILES, ensure_dataset, get_profile
from cplib.staging import write_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SCALE_SIZES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--variants", nargs="+", default=list(CUTPASTE_FAMILY), choices=TABLE1_VARIANTS)
    parser.add_argument("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")
    parser.add_argument("--out", default="build/scale", help="prefix of the .csv, .md and .png written")
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root = args.data or ensure_dataset()
        profile = get_profile(args.profile)
        categories = list_categories(root)
        scale_study(root, categories, profile, args.sizes, args.seeds, args.variants, args.device, csv)
    except CplibError as error:
        print(f"scale_study: error: {error}", file=sys.stderr)
        return 2
    rows = study_rows(csv, Measurement)  # the whole study: this run's rows and those earlier runs wrote
    table = scale_table(rows)
    write_text(
        Path(f"{args.out}.md"),
        f"Image size at equal training time ({profile.name} profile, seeds {sorted({row.seed for row in rows})}): "
        f"the random network's image AUROC (%, mean ± sd), "
        f"then each variant's gap to it, seed by seed (AUROC points, mean ± sd; ▲/▼ beyond two sds) · "
        f"final proxy accuracy\n\n{table}\n",
    )
    save_figure(scale_figure(rows), f"{args.out}.png")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
