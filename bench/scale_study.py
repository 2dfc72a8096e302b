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

import sys
from pathlib import Path

from cplib.errors import CplibError
from cplib.experiments.measurements import Measurement
from cplib.experiments.results import study_rows
from cplib.experiments.scale import SCALE_SIZES, scale_study, scale_table
from cplib.experiments.table1 import CUTPASTE_FAMILY, TABLE1_VARIANTS
from cplib.plots import scale_figure
from cplib.study_cli import DEVICE, option, publish, refused, seeds_option, study_parser, study_seeds, study_setting


def main(argv: list[str] | None = None) -> int:
    parser = study_parser(
        __doc__,
        "build/scale",
        option("--sizes", type=int, nargs="+", default=list(SCALE_SIZES)),
        seeds_option([0, 1, 2]),
        option("--variants", nargs="+", default=list(CUTPASTE_FAMILY), choices=TABLE1_VARIANTS),
        DEVICE,
    )
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root, profile, categories = study_setting(args)
        scale_study(root, categories, profile, args.sizes, args.seeds, args.variants, args.device, csv)
    except CplibError as error:
        return refused("scale_study", error)
    rows = study_rows(csv, Measurement)  # the whole study: this run's rows and those earlier runs wrote
    table = scale_table(rows)
    caption = (
        f"Image size at equal training time ({profile.name} profile, seeds {study_seeds(rows)}): "
        f"the random network's image AUROC (%, mean ± sd), "
        f"then each variant's gap to it, seed by seed (AUROC points, mean ± sd; ▲/▼ beyond two sds) · "
        f"final proxy accuracy"
    )
    publish(args.out, f"{caption}\n\n{table}", table, scale_figure(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
