"""Paper scale: every proxy task of Table 1 on every category of an MVTec-layout folder, as a Markdown table next to the
paper.

Meant for MVTec AD on a GPU with the paper profile (hours); the tests run it on the default data with the tiny profile.

    python bench/mvtec_table.py --data /path/to/mvtec --profile paper --device cuda --out build/mvtec_table.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cplib.data import list_categories
from cplib.errors import CplibError
from cplib.experiments.table1 import TABLE1_VARIANTS, markdown_table, run_ablation
from cplib.profiles import PROFILES, ensure_dataset, get_profile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    parser.add_argument("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")
    parser.add_argument("--variants", nargs="+", default=list(TABLE1_VARIANTS), choices=TABLE1_VARIANTS)
    parser.add_argument("--out", default="build/mvtec_table.md")
    args = parser.parse_args(argv)
    try:
        root = args.data or ensure_dataset()
        profile = get_profile(args.profile)
        table = markdown_table(
            run_ablation(root, list_categories(root), profile, args.variants, args.device), title=profile.name
        )
    except CplibError as error:
        print(f"mvtec_table: error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_suffix(out.suffix + ".tmp")
    temporary.write_text(f"# Image AUROC (%), {profile.name} profile, {root}\n\n{table}\n")
    temporary.replace(out)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
