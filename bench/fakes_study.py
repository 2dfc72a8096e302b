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

import argparse
import sys
from pathlib import Path

from cplib.augment import VARIANTS
from cplib.data import list_categories
from cplib.errors import CplibError
from cplib.experiments.fakes import FAKES_VARIANTS, fakes_study, fakes_table
from cplib.experiments.measurements import Measurement
from cplib.experiments.results import study_rows
from cplib.plots import save_figure, spread_figure
from cplib.profiles import PROFILES, ensure_dataset, get_profile
from cplib.staging import write_text
from cplib.studies import EFFECT_RULE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--categories", nargs="+", help="default: every category of the data folder")
    parser.add_argument("--variants", nargs="+", default=list(FAKES_VARIANTS), choices=VARIANTS)
    parser.add_argument("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")
    parser.add_argument("--out", default="build/fakes", help="prefix of the .csv, .md and .png written")
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root = args.data or ensure_dataset()
        profile = get_profile(args.profile)
        categories = args.categories or list_categories(root)
        fakes_study(root, categories, profile, args.seeds, csv, args.variants, args.device)
    except CplibError as error:
        print(f"fakes_study: error: {error}", file=sys.stderr)
        return 2
    rows = study_rows(csv, Measurement)  # the whole study: this run's rows and those earlier runs wrote
    table = fakes_table(rows)
    seeds = sorted({row.seed for row in rows})
    write_text(
        Path(f"{args.out}.md"),
        f"Natural fakes under CutPaste's protocol, {profile.name} profile ({profile.size} px, {profile.steps} steps), "
        f"seeds {seeds}: image AUROC (%, mean ± sd; ↓ mean below random init) · final proxy accuracy; then each "
        f"natural fake's gap to the task it changes and every variant's gap to the random network, seed by seed (AUROC "
        f"points, mean ± sd; ▲/▼ beyond two sds: {EFFECT_RULE})\n\n{table}\n",
    )
    save_figure(spread_figure(rows), f"{args.out}.png")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
