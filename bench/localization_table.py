"""Localisation on every category over seeds: the trained 3-way patch model against the same network untrained (its
seed's initialisation), shared and per-location Gaussians; pixel AUROC (AUPRO), image AUROC and the proxy accuracy, as
CSV and Markdown: mean ± sd over seeds, the paired per-seed gaps trained − random init and per-location − shared, ▲/▼
beyond two sds. Notebook 06 shows the committed output and checks its own series-category run against it.

Patch models come from the cache the notebooks fill, else are trained, one per category and seed (with its scoring,
about 2 minutes each at the cpu profile on 2 cores). Every category of a seed runs before the next seed. Each row is
written as it is measured, keyed on what made it (a rerun skips the rows it has and resumes a stopped study, seed 0's
rows included from before seeds were an option), with the precision its maps were scored in and the signature of the
machine that made it; the table is made of every row in the CSV.

    .venv/bin/python bench/localization_table.py --seeds 0 1 2 --out bench/results/localization
    # about 2 minutes per category and seed cold on 2 cores: 18 minutes for 3 categories and 3 seeds
"""

from __future__ import annotations

import sys
from pathlib import Path

from cplib.data import list_categories
from cplib.errors import CplibError
from cplib.experiments.localization import LocalizationRow, localization_table, measure_localization
from cplib.experiments.results import study_rows
from cplib.profiles import ensure_dataset, get_profile
from cplib.study_cli import DEVICE, option, publish, refused, study_parser
from cplib.validation import seed_option


def main(argv: list[str] | None = None) -> int:
    seeds = option("--seeds", type=seed_option, nargs="+", default=[0, 1, 2], help="default: 0 1 2")
    parser = study_parser(__doc__, "build/localization", DEVICE, seeds, written=".csv and .md")
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root = args.data or ensure_dataset()
        measure_localization(root, list_categories(root), get_profile(args.profile), args.device, csv, args.seeds)
    except CplibError as error:
        return refused("localization_table", error)
    table = localization_table(study_rows(csv, LocalizationRow))  # this run's rows and those earlier runs wrote
    publish(args.out, table, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
