"""Localisation on every category: the trained 3-way patch model against the same network untrained, shared and
per-location Gaussians; pixel AUROC (AUPRO), image AUROC and the proxy accuracy, as CSV and Markdown. Notebook 06 shows
the committed output and checks its own series-category run against it.

Patch models come from the cache the notebooks fill, else are trained (about a minute each at the CPU profile). Each row
is written as it is measured, keyed on what made it (a rerun skips the rows it has and resumes a stopped study), with
the precision its maps were scored in and the signature of the machine that made it; the table is made of every row in
the CSV.

    .venv/bin/python bench/localization_table.py --out bench/results/localization   # about 6 minutes cold on 2 cores
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cplib.data import list_categories
from cplib.errors import CplibError
from cplib.experiments.localization import LocalizationRow, localization_table, measure_localization
from cplib.experiments.results import study_rows
from cplib.profiles import PROFILES, ensure_dataset, get_profile
from cplib.staging import write_text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    parser.add_argument("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")
    parser.add_argument("--out", default="build/localization", help="prefix of the .csv and .md written")
    args = parser.parse_args(argv)
    csv = Path(f"{args.out}.csv")
    try:
        root = args.data or ensure_dataset()
        measure_localization(root, list_categories(root), get_profile(args.profile), args.device, csv)
    except CplibError as error:
        print(f"localization_table: error: {error}", file=sys.stderr)
        return 2
    table = localization_table(study_rows(csv, LocalizationRow))  # this run's rows and those earlier runs wrote
    write_text(Path(f"{args.out}.md"), table + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
