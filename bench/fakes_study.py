r"""The natural-fakes study (cplib.experiments.fakes, issue 40, beyond the paper): do more natural fakes teach better?

CutPaste, NSA's seamless paste and DRAEM's Perlin region as binary proxy tasks, and the 3-way task with CutPaste-Scar,
the seamless paste or the Perlin region as its third class, on every category over seeds, each beside its seed's random
network, under the profile's recipe (the cpu profile's: the lessons'). The jobs are the seeded Table 1's with these
variants, so the CutPaste, 3-way and random-network rows are bench/table1_seeds.py's models, from the model cache where
that ran. Writes a CSV (one row per model, each as its model is measured, keyed on what made it: a rerun skips the rows
it has and resumes a stopped study), a Markdown table of every row in the CSV (AUROC beside the final proxy accuracy,
the paired gaps of each natural fake to CutPaste or the 3-way task and of every variant to the random network, with
their verdicts) and a figure. `--data` runs it on MVTec AD (or your own MVTec-layout data), `--device cuda` on a GPU.
Notebook 11 reads the committed copy:

    .venv/bin/python bench/fakes_study.py --seeds 0 1 2 --out bench/results/fakes
    .venv/bin/python bench/fakes_study.py --data ~/mvtec --device cuda --out build/fakes-mvtec
"""

from __future__ import annotations

import sys
from pathlib import Path

from cplib.augment import VARIANTS
from cplib.errors import CplibError
from cplib.experiments.fakes import FAKES_VARIANTS, fakes_study, fakes_table
from cplib.experiments.measurements import Measurement
from cplib.experiments.results import study_rows
from cplib.plots import spread_figure
from cplib.studies import EFFECT_RULE
from cplib.study_cli import (
    CATEGORIES,
    DEVICE,
    option,
    publish,
    refused,
    seeds_option,
    study_parser,
    study_seeds,
    study_setting,
)


def main(argv: list[str] | None = None) -> int:
    variants = option("--variants", nargs="+", default=list(FAKES_VARIANTS), choices=VARIANTS)
    parser = study_parser(__doc__, "build/fakes", seeds_option([0, 1, 2]), CATEGORIES, variants, DEVICE)
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root, profile, categories = study_setting(args)
        fakes_study(root, categories, profile, args.seeds, csv, args.variants, args.device)
    except CplibError as error:
        return refused("fakes_study", error)
    rows = study_rows(csv, Measurement)  # the whole study: this run's rows and those earlier runs wrote
    table = fakes_table(rows)
    caption = (
        f"Natural fakes under CutPaste's protocol, {profile.name} profile ({profile.size} px, {profile.steps} steps), "
        f"seeds {study_seeds(rows)}: image AUROC (%, mean ± sd; ↓ mean below random init) · final proxy accuracy; then "
        f"each natural fake's gap to the task it changes and every variant's gap to the random network, seed by seed "
        f"(AUROC points, mean ± sd; ▲/▼ beyond two sds: {EFFECT_RULE})"
    )
    publish(args.out, f"{caption}\n\n{table}", table, spread_figure(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
