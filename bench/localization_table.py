"""Localisation on every category: the trained 3-way patch model against the same network untrained, shared and
per-location Gaussians; pixel AUROC (AUPRO), image AUROC and the proxy accuracy, as CSV and Markdown. Notebook 06 shows
the committed output and checks its own series-category run against it.

Patch models come from the cache the notebooks fill, else are trained (about a minute each at the CPU profile).

    .venv/bin/python bench/localization_table.py --out bench/results/localization   # about 6 minutes cold on 2 cores
"""

from __future__ import annotations

import argparse
import sys

from cplib.data import list_categories
from cplib.errors import CplibError
from cplib.experiments.localization import localization_table, measure_localization
from cplib.experiments.results import write_results
from cplib.profiles import PROFILES, ensure_dataset, get_profile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    parser.add_argument("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")
    parser.add_argument("--out", default="build/localization", help="prefix of the .csv and .md written")
    args = parser.parse_args(argv)
    try:
        root = args.data or ensure_dataset()
        rows = measure_localization(root, list_categories(root), get_profile(args.profile), args.device)
    except CplibError as error:
        print(f"localization_table: error: {error}", file=sys.stderr)
        return 2
    table = localization_table(rows)
    write_results(args.out, rows, table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
