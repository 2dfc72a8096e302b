"""Notebook 06's comparison on every category: the trained 3-way patch model against the same network untrained, each
with a shared and a per-location Gaussian; as rows that bench/localization_table.py commits, and the check that a rerun
agrees."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..checkpoint import Trained, get_or_train
from ..data import Split, load_split
from ..evaluate import GAUSSIAN_LAYOUTS, Localization, localize_densities, per_defect_subset
from ..localize import LocalizationSettings, default_shared
from ..paths import COMMITTED_RESULTS
from ..profiles import Profile, resolve_device
from ..train import build_model, final_accuracy
from .machines import check_reproduction, committed_signature, cross_machine_spread, signature
from .measurements import RANDOM_INIT
from .results import committed_rows

TRAINED = "trained"
COMMITTED_LOCALIZATION = COMMITTED_RESULTS / "localization.csv"  # written by bench/localization_table.py


@dataclass(frozen=True)
class LocalizationRow:
    """One network and density on one category: pixel AUROC, AUPRO, image AUROC (map maximum), and what made them.

    proxy_accuracy is the trained patch model's final 3-way accuracy (chance 1/3), on both networks' rows: it says
    whether the task the training could add was learned at all. Pixel metrics are NaN on data without masks.
    """

    category: str
    network: str
    density: str
    pixel_auroc: float
    aupro: float
    image_auroc: float
    proxy_accuracy: float
    size: int
    patch: int
    stride: int
    steps: int
    precision: str
    seed: int


def localization_splits(root: str, category: str, settings: LocalizationSettings) -> tuple[Split, Split]:
    """The training images and the (capped) test images of a category at the localisation size; test images without a
    mask stay, for image metrics (`Split.annotated`)."""
    test = load_split(root, category, "test", settings.size, keep_unmasked=True)
    return load_split(root, category, "train", settings.size), per_defect_subset(test, settings.test_per_defect)


def compare_networks(
    root: str, category: str, profile: Profile, progress: bool = True, device: str | None = None
) -> tuple[Trained, dict[str, dict[str, Localization]]]:
    """The category's 3-way patch model (cached or trained) and {network: {density: Localization}} for it and its
    untrained self, both on `device` (resolve_device's rule with the profile)."""
    settings = profile.localization
    config = settings.patch_config(profile, category, data_root=root)
    device = resolve_device(device, profile)
    trained = get_or_train(config, device, progress=progress)
    train, test = localization_splits(root, category, settings)
    networks = {TRAINED: trained.model, RANDOM_INIT: build_model(config).to(device)}
    return trained, {
        name: localize_densities(model, train, test, settings.geometry(), settings.fit_images)
        for name, model in networks.items()
    }


def to_rows(trained: Trained, compared: dict[str, dict[str, Localization]], stride: int) -> list[LocalizationRow]:
    """compare_networks' results as one row per network and density; `stride` is the grid's, in pixels."""
    config, accuracy = trained.config, final_accuracy(trained.history.accuracy)
    return [
        LocalizationRow(
            config.category,
            network,
            density,
            _or_nan(result.pixel_auroc),
            _or_nan(result.aupro),
            result.image_auroc,
            accuracy,
            config.size,
            config.patch,
            stride,
            config.steps,
            config.precision,
            config.seed,
        )
        for network, densities in compared.items()
        for density, result in densities.items()
    ]


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def measure_localization(
    root: str, categories: Sequence[str], profile: Profile, device: str | None = None
) -> list[LocalizationRow]:
    """Every category's trained-vs-untrained comparison (a patch model each: about a minute apiece on the CPU
    profile)."""
    stride = profile.localization.geometry().stride
    rows = []
    for category in categories:
        rows.extend(to_rows(*compare_networks(root, category, profile, progress=False, device=device), stride))
    return rows


def localization_results(
    root: str, categories: Sequence[str], profile: Profile, device: str | None = None
) -> list[LocalizationRow]:
    """The committed rows where they describe this data at this profile's settings (the default data), else measured
    here."""
    settings = profile.localization
    scale = (settings.size, settings.geometry().patch, settings.geometry().stride, settings.steps)
    rows = committed_rows(COMMITTED_LOCALIZATION, root, categories, LocalizationRow)
    if rows and all((row.size, row.patch, row.stride, row.steps) == scale for row in rows):
        return rows
    return measure_localization(root, categories, profile, device)


def pixel_aurocs(rows: Sequence[LocalizationRow]) -> dict[tuple[str, str, str], float]:
    """(category, network, density) -> pixel AUROC, for reading and asserting a comparison."""
    return {(row.category, row.network, row.density): row.pixel_auroc for row in rows}


def proxy_accuracy(rows: Sequence[LocalizationRow]) -> dict[str, float]:
    """Per category, the trained patch model's final proxy accuracy."""
    return {row.category: row.proxy_accuracy for row in rows if row.network == TRAINED}


def localization_table(rows: Sequence[LocalizationRow]) -> str:
    """Markdown: pixel AUROC (AUPRO) per category of both networks with both densities, and the proxy accuracy."""
    columns = [(network, density) for network in (TRAINED, RANDOM_INIT) for density in GAUSSIAN_LAYOUTS]
    cells = {(row.category, row.network, row.density): row for row in rows}
    lines = [
        "| category (default density) | proxy acc. | " + " | ".join(f"{n}, {d}" for n, d in columns) + " |",
        "|---" * (len(columns) + 2) + "|",
    ]
    for category, accuracy in proxy_accuracy(rows).items():
        default = "shared" if default_shared(category) else "per-location"
        found = [cells[(category, *column)] for column in columns]
        lines.append(
            f"| {category} ({default}) | {accuracy:.2f} | "
            + " | ".join(f"{r.pixel_auroc:.3f} ({r.aupro:.3f})" for r in found)
            + " |"
        )
    return "\n".join(lines)


def check_localization(committed: Sequence[LocalizationRow], measured: Sequence[LocalizationRow]) -> str:
    """One line per row of this run that the committed table has (same category, network, density, scale, precision and
    seed), comparing their pixel AUROC (machines.check_reproduction: ResultDrift only where the machine that made them
    disagrees)."""
    key = lambda row: (
        row.category,
        row.network,
        row.density,
        row.size,
        row.patch,
        row.stride,
        row.steps,
        row.precision,
        row.seed,
    )  # noqa: E731
    reference = {key(row): row.pixel_auroc for row in committed}
    pairs = [(row, reference[key(row)]) for row in measured if key(row) in reference]
    if not pairs:
        return (
            f"this machine's {measured[0].category} rows: "
            "not comparable with the committed ones (another precision or setting)"
        )
    made_on, cross = (
        committed_signature(COMMITTED_LOCALIZATION.stem),
        cross_machine_spread([f"pixel AUROC {d}" for d in GAUSSIAN_LAYOUTS]),
    )
    command = "bench/localization_table.py (docs/results.md)"
    return "\n".join(
        check_reproduction(
            f"{row.category} {row.network}, {row.density}: pixel AUROC",
            row.pixel_auroc,
            [then],
            made_on,
            signature(row.precision),
            cross,
            command,
        )
        for row, then in pairs
    )
