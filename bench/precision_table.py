r"""fp32 against bf16 scoring on the same trained models: image and pixel AUROC of both precisions, per category.

For every category of the data: the `cpu` profile's 3-way image model scores the whole test split (image AUROC and the
Spearman correlation of the two precisions' scores), and the localisation settings' 3-way patch model scores the
capped test split densely with the category's Gaussian (pixel AUROC and the maps' Spearman correlation). Models come
from the cache (`get_or_train`), so after the notebooks have run this only scores. Writes PREFIX.csv and PREFIX.md.

    PYTHONPATH=. .venv/bin/python bench/precision_table.py \
        [--data ROOT] [--categories ...] [--out bench/results/precision]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
from scipy.stats import spearmanr

from cplib.checkpoint import get_or_train
from cplib.data import list_categories, load_split
from cplib.density import GaussianDensity
from cplib.evaluate import extract_features, localize_densities
from cplib.experiments.localization import localization_splits
from cplib.experiments.results import write_results
from cplib.localize import default_shared
from cplib.metrics import image_auroc
from cplib.precision import native_precision
from cplib.profiles import Profile, chosen_dataset, ensure_dataset, get_profile
from cplib.train import TrainConfig


@dataclass
class PrecisionRow:
    """One category: image and pixel AUROC at both precisions and the Spearman correlation of their scores."""

    category: str
    image_fp32: float
    image_bf16: float
    image_spearman: float
    pixel_fp32: float
    pixel_bf16: float
    pixel_spearman: float
    size: int
    patch_size: int
    cpu_bf16: str


def image_scores(config: TrainConfig, root: str, precision: str) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores of every test image (as `python -m cplib evaluate` scores them) under the profile's image
    model, its Gaussian fitted on every training image."""
    model = get_or_train(config, "cpu", progress=False).model
    train = load_split(root, config.category, "train", config.size)
    test = load_split(root, config.category, "test", config.size, masks=False)
    density = GaussianDensity().fit(extract_features(model, train.images, precision=precision))
    return test.labels.numpy(), density.score_samples(extract_features(model, test.images, precision=precision))


def pixel_results(profile: Profile, root: str, category: str) -> dict[str, tuple[float, np.ndarray]]:
    """Per precision: the patch model's pixel AUROC and its maps, with the category's Gaussian."""
    settings = profile.localization
    config = settings.patch_config(profile, category, data_root=root)
    model = get_or_train(config, "cpu", progress=False).model
    train, test = localization_splits(root, category, settings)
    density = "shared" if default_shared(category) else "per-location"
    results = {}
    for precision in ("fp32", "bf16"):
        localization = localize_densities(
            model, train, test, settings.geometry(), settings.fit_images, precision=precision
        )[density]
        results[precision] = (localization.pixel_auroc, localization.maps.numpy().ravel())
    return results


def measure(data: str | None, root: str, category: str) -> PrecisionRow:
    """One category's row; the image model's config as the notebooks make it (data_root `data`: None for the default
    dataset), so that their cached model is the one scored."""
    profile = get_profile("cpu")
    config = profile.config("3way", category, data_root=data)
    (labels, fp32), (_, bf16) = (image_scores(config, root, precision) for precision in ("fp32", "bf16"))
    pixels = pixel_results(profile, root, category)
    patch = profile.localization.geometry().patch
    return PrecisionRow(
        category,
        image_auroc(labels, fp32),
        image_auroc(labels, bf16),
        float(spearmanr(fp32, bf16).statistic),
        pixels["fp32"][0],
        pixels["bf16"][0],
        float(spearmanr(pixels["fp32"][1], pixels["bf16"][1]).statistic),
        config.size,
        patch,
        "native" if native_precision() == "bf16" else "emulated",
    )


def markdown(rows: list[PrecisionRow]) -> str:
    """The rows as a Markdown table, with the bf16 - fp32 differences."""
    lines = [
        "| category | image AUROC fp32 | bf16 | Δ | Spearman | pixel AUROC fp32 | bf16 | Δ | Spearman |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.category} | {r.image_fp32:.4f} | {r.image_bf16:.4f} | {r.image_bf16 - r.image_fp32:+.4f} | "
            f"{r.image_spearman:.4f} "
            f"| {r.pixel_fp32:.4f} | {r.pixel_bf16:.4f} | {r.pixel_bf16 - r.pixel_fp32:+.4f} | {r.pixel_spearman:.4f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--categories", nargs="+", help="default: every category under --data")
    parser.add_argument("--out", default="bench/results/precision", help="prefix of the .csv and .md written")
    args = parser.parse_args()
    root = ensure_dataset(args.data)
    rows = [measure(chosen_dataset(args.data), root, category) for category in args.categories or list_categories(root)]
    table = markdown(rows)
    print(f"bf16 on this CPU: {rows[0].cpu_bf16}; image models {rows[0].size} px, patches {rows[0].patch_size} px")
    print(table)
    write_results(args.out, rows, table)


if __name__ == "__main__":
    main()
