"""The README's result tables, computed: Table 1 with the random-init row, and localisation trained vs random init.

Models come from the cache that the notebooks fill (`make test` or `make run`), else they are trained (about a minute
each at the CPU profile). Prints Markdown to paste into the README and writes it to --out.

    .venv/bin/python bench/results.py --out build/results.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cplib.ablation import markdown_table, run_ablation
from cplib.checkpoint import get_or_train
from cplib.data import list_categories, load_split
from cplib.errors import CplibError
from cplib.evaluate import localize_densities, per_defect_subset, random_init_baseline
from cplib.localize import default_shared, localization_settings
from cplib.profiles import PROFILES, Profile, dataset_root, get_profile
from cplib.staging import write_text
from cplib.train import build_model


def image_table(root: str, categories: list[str], profile: Profile) -> str:
    """Table 1 on this data (image AUROC %, seed 0) with the random-init row a trained model must clear."""
    results = run_ablation(root, categories, profile)
    results["random init"] = {c: random_init_baseline(profile.config("3way", c, data_root=root), root).auroc for c in categories}
    return markdown_table(results, title=profile.name)


def _cell(result) -> str:
    """Pixel AUROC (AUPRO), or a dash without masks."""
    return "—" if result.pixel_auroc is None else f"{result.pixel_auroc:.3f} ({result.aupro:.3f})"


def localization_table(root: str, categories: list[str], profile: Profile) -> str:
    """Pixel AUROC (AUPRO) of the trained 3-way patch model and of the same network untrained, both densities."""
    settings = localization_settings(profile)
    geometry = settings.geometry()
    header = "| category (default density) | trained, shared | trained, per-location | random init, shared | random init, per-location |"
    lines = [header, "|---|---|---|---|---|"]
    for category in categories:
        config = settings.patch_config(profile, category, data_root=root)
        train = load_split(root, category, "train", settings.size)
        test = per_defect_subset(load_split(root, category, "test", settings.size), settings.test_per_defect)
        models = (get_or_train(config).model, build_model(config))
        rows = [localize_densities(model, train, test, geometry, settings.fit_images) for model in models]
        default = "shared" if default_shared(category) else "per-location"
        cells = [_cell(row[name]) for row in rows for name in ("shared", "per-location")]
        lines.append(f"| {category} ({default}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    parser.add_argument("--out", default="build/results.md")
    args = parser.parse_args(argv)
    try:
        root = args.data or dataset_root()
        profile = get_profile(args.profile)
        categories = list_categories(root)
        text = (
            f"Image AUROC (%), {profile.name} profile, seed 0:\n\n{image_table(root, categories, profile)}\n\n"
            f"Pixel AUROC (AUPRO), {profile.name} profile, seed 0:\n\n{localization_table(root, categories, profile)}\n"
        )
    except CplibError as error:
        print(f"results: error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
