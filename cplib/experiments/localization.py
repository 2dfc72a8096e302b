"""Notebook 06's comparison on every category over seeds: the trained 3-way patch model against the same network
untrained (its seed's initialisation), each with a shared and a per-location Gaussian; as rows that
bench/localization_table.py commits, their table (mean ± sd over seeds, and paired per-seed gaps under the course's
rule), and the check that a rerun agrees."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from .. import __version__
from ..checkpoint import Trained, get_or_train
from ..data import Split, load_split
from ..errors import ConfigError
from ..evaluate import GAUSSIAN_LAYOUTS, Localization, localize_densities, per_defect_subset
from ..inference import model_device
from ..localize import LocalizationSettings, default_shared
from ..paths import COMMITTED_RESULTS
from ..precision import inference_precision
from ..profiles import Profile, resolve_device
from ..train import TrainConfig, build_model, final_accuracy
from .machines import check_reproduction, cross_machine_spread, recorded_signature
from .margins import Margin, gap_cell, mean_sd, paired_margin
from .measurements import RANDOM_INIT, MadeBy, made_on
from .results import committed_rows, row_key, run_jobs

TRAINED = "trained"
COMMITTED_LOCALIZATION = COMMITTED_RESULTS / "localization.csv"  # written by bench/localization_table.py


@dataclass(frozen=True)
class LocalizationRow(MadeBy):
    """One network and density on one category: pixel AUROC, AUPRO, image AUROC (map maximum), and what made them
    (`measurements.MadeBy`).

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
    scoring_precision: str = ""

    def setting(self) -> tuple[str, str, str, int, int, int, int, str, int]:
        """What made the row but the precision it was scored in: category, network, density, scale, training
        precision and seed."""
        return (
            self.category,
            self.network,
            self.density,
            self.size,
            self.patch,
            self.stride,
            self.steps,
            self.precision,
            self.seed,
        )

    def cell(self) -> tuple[object, ...]:
        """What the row measured, whatever its values: a table holds one row of each (`results.study_rows`)."""
        return (*self.setting(), self.scoring_precision)


def scoring_precision(config: TrainConfig, device: str | torch.device) -> str:
    """The precision a patch model's maps are scored in on `device`: `cplib.precision`'s rule for its patch side (bf16
    where native), whatever precision it trained in."""
    return inference_precision(config.patch or config.size, None, device)


def localization_key(
    config: TrainConfig, settings: LocalizationSettings, network: str, density: str, scoring: str
) -> str:
    """The key of one row (`results.row_key`): the patch model's config, the localisation settings (grid, images used),
    the network, the density and the scoring precision."""
    return row_key(config, f"localization at {settings}: {network} network, {density} Gaussian, scored in {scoring}")


def localization_splits(root: str, category: str, settings: LocalizationSettings) -> tuple[Split, Split]:
    """The training images and the (capped) test images of a category at the localisation size; test images without a
    mask stay, for image metrics (`Split.annotated`)."""
    test = load_split(root, category, "test", settings.size, keep_unmasked=True)
    return load_split(root, category, "train", settings.size), per_defect_subset(test, settings.test_per_defect)


def compare_networks(
    root: str, category: str, profile: Profile, progress: bool = True, device: str | None = None, seed: int = 0
) -> tuple[Trained, dict[str, dict[str, Localization]]]:
    """The category's 3-way patch model of `seed` (cached or trained) and {network: {density: Localization}} for it and
    its untrained self (the seed's initialisation), both on `device` (resolve_device's rule with the profile), scored in
    `scoring_precision`."""
    settings = profile.localization
    config = settings.patch_config(profile, category, data_root=root, seed=seed)
    device = resolve_device(device, profile)
    trained = get_or_train(config, device, progress=progress)
    train, test = localization_splits(root, category, settings)
    networks = {TRAINED: trained.model, RANDOM_INIT: build_model(config).to(device)}
    scoring = scoring_precision(config, device)
    return trained, {
        name: localize_densities(model, train, test, settings.geometry(), settings.fit_images, precision=scoring)
        for name, model in networks.items()
    }


def to_rows(trained: Trained, compared: dict[str, dict[str, Localization]], stride: int) -> list[LocalizationRow]:
    """compare_networks' results as one row per network and density, each with the precision its maps were scored in
    and this machine's signature; `stride` is the grid's, in pixels. The rows carry no key: a study's rows get theirs
    from `localization_keys`."""
    config, accuracy = trained.config, final_accuracy(trained.history.accuracy)
    device = model_device(trained.model)
    scoring, made = scoring_precision(config, device), made_on(config.precision, device)
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
            scoring,
            **made,
            cplib=__version__,
        )
        for network, densities in compared.items()
        for density, result in densities.items()
    ]


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


def localization_keys(
    root: str, category: str, profile: Profile, device: str, seed: int = 0
) -> dict[tuple[str, str], str]:
    """(network, density) -> the key of that row of a category and seed (`localization_key`) on `device`."""
    settings = profile.localization
    config = settings.patch_config(profile, category, data_root=root, seed=seed)
    scoring = scoring_precision(config, device)
    return {
        (network, density): localization_key(config, settings, network, density, scoring)
        for network in (TRAINED, RANDOM_INIT)
        for density in GAUSSIAN_LAYOUTS
    }


def measure_localization(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    device: str | None = None,
    out: str | Path | None = None,
    seeds: Sequence[int] = (0,),
) -> list[LocalizationRow]:
    """Every category's trained-vs-untrained comparison for every seed (a patch model each: about two minutes apiece
    on the CPU profile), every category of a seed before the next seed. With `out` (a CSV), each row is written as it
    is measured and the rows already there are kept, so a stopped study resumes (`results.run_jobs`); a category's
    comparison at a seed runs once for all its rows."""
    check_seeds(seeds)
    stride, device = profile.localization.geometry().stride, resolve_device(device, profile)
    measured: dict[tuple[str, int], list[LocalizationRow]] = {}  # the last category and seed compared

    def row(category: str, seed: int, network: str, density: str, key: str) -> LocalizationRow:
        if (category, seed) not in measured:
            compared = compare_networks(root, category, profile, progress=False, device=device, seed=seed)
            measured.clear()
            measured[category, seed] = to_rows(*compared, stride)
        made = next(made for made in measured[category, seed] if (made.network, made.density) == (network, density))
        return replace(made, key=key)

    jobs = [
        (key, functools.partial(row, category, seed, network, density, key))
        for seed in seeds
        for category in categories
        for (network, density), key in localization_keys(root, category, profile, device, seed).items()
    ]
    if out is None:
        return [make() for _, make in jobs]
    return run_jobs(out, LocalizationRow, jobs)


def check_seeds(seeds: Sequence[int]) -> None:
    """Refuse a study without seeds or with a seed named twice (TrainConfig refuses a seed out of range)."""
    if not seeds:
        raise ConfigError("no seeds: name at least one, e.g. 0 1 2")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"seeds {list(seeds)}: name each seed once")


def localization_results(
    root: str, categories: Sequence[str], profile: Profile, device: str | None = None
) -> list[LocalizationRow]:
    """The committed rows (every seed they hold) where they describe this data at this profile's settings (the default
    data), else seed 0 measured here."""
    settings = profile.localization
    scale = (settings.size, settings.geometry().patch, settings.geometry().stride, settings.steps)
    rows = committed_rows(COMMITTED_LOCALIZATION, root, categories, LocalizationRow)
    if rows and all((row.size, row.patch, row.stride, row.steps) == scale for row in rows):
        return rows
    return measure_localization(root, categories, profile, device)


def default_density(category: str) -> str:
    """The Gaussian a category localises with by default (`localize.default_shared`)."""
    return "shared" if default_shared(category) else "per-location"


def by_seed(rows: Sequence[LocalizationRow], measure: str) -> dict[tuple[str, str, str], dict[int, float]]:
    """(category, network, density) -> {seed: the row's `measure`}, e.g. measure "pixel_auroc"."""
    values: dict[tuple[str, str, str], dict[int, float]] = {}
    for row in rows:
        values.setdefault((row.category, row.network, row.density), {})[row.seed] = getattr(row, measure)
    return values


def seed_count(rows: Sequence[LocalizationRow], category: str) -> int:
    """How many seeds a category's rows hold."""
    return len({row.seed for row in rows if row.category == category})


def pixel_aurocs(rows: Sequence[LocalizationRow]) -> dict[tuple[str, str, str], float]:
    """(category, network, density) -> pixel AUROC, the mean over seeds, for reading and asserting a comparison."""
    return {cell: mean_sd(list(values.values()))[0] for cell, values in by_seed(rows, "pixel_auroc").items()}


def proxy_accuracy(rows: Sequence[LocalizationRow]) -> dict[str, float]:
    """Per category, the trained patch model's final proxy accuracy, the mean over seeds."""
    accuracy = by_seed([row for row in rows if row.network == TRAINED], "proxy_accuracy")
    per_category = {category: values for (category, _, _), values in accuracy.items()}  # the densities agree
    return {category: mean_sd(list(values.values()))[0] for category, values in per_category.items()}


def training_margins(rows: Sequence[LocalizationRow], measure: str = "pixel_auroc") -> dict[str, Margin]:
    """Per category, the trained network against random init with the category's default density, seed by seed
    (`margins.paired_margin`: each seed's trained model starts from that seed's random network)."""
    values = by_seed(rows, measure)
    return {
        category: paired_margin(
            TRAINED, category, values[category, TRAINED, density], values[category, RANDOM_INIT, density]
        )
        for category, density in _categories(rows).items()
    }


def density_margins(rows: Sequence[LocalizationRow], measure: str = "pixel_auroc") -> dict[tuple[str, str], Margin]:
    """(category, network) -> the per-location Gaussian against the shared one on the same network, seed by seed: a
    Margin whose variant is "per-location", whose random_* fields hold the shared Gaussian's mean and sd, and whose
    differences are per-location − shared per seed."""
    values = by_seed(rows, measure)
    return {
        (category, network): paired_margin(
            "per-location", category, values[category, network, "per-location"], values[category, network, "shared"]
        )
        for category in _categories(rows)
        for network in (TRAINED, RANDOM_INIT)
    }


def _categories(rows: Sequence[LocalizationRow]) -> dict[str, str]:
    """The rows' categories in order, each with its default density."""
    return {row.category: default_density(row.category) for row in rows}


LOCALIZATION_LEGEND = (
    "Pixel AUROC (AUPRO), mean ± sd over each category's seeds; gaps are paired seed by seed, "
    "▲/▼ where the mean gap lies beyond two sds of the per-seed gaps (one seed: no spread, so no verdict)."
)


def localization_table(rows: Sequence[LocalizationRow]) -> str:
    """Markdown: per category, both networks with both densities (pixel AUROC and AUPRO, mean ± sd over seeds), the
    proxy accuracy and the trained − random init gap with the default density; then per category and network, the
    per-location − shared gap; gaps paired per seed, ▲/▼ beyond two sds; and the legend."""
    return "\n\n".join((_network_table(rows), _density_table(rows), LOCALIZATION_LEGEND))


def _network_table(rows: Sequence[LocalizationRow]) -> str:
    columns = [(network, density) for network in (TRAINED, RANDOM_INIT) for density in GAUSSIAN_LAYOUTS]
    pixel, aupro = by_seed(rows, "pixel_auroc"), by_seed(rows, "aupro")
    accuracy = by_seed([row for row in rows if row.network == TRAINED], "proxy_accuracy")
    gaps, aupro_gaps = training_margins(rows), training_margins(rows, "aupro")
    names = " | ".join(f"{n}, {d}" for n, d in columns)
    lines = [
        f"| category (default density; seeds) | proxy acc. | {names} | trained − random init, default density |",
        "|---" * (len(columns) + 3) + "|",
    ]
    for category, density in _categories(rows).items():
        cells = [f"{_spread(pixel[category, n, d], 3)} ({_spread(aupro[category, n, d], 3)})" for n, d in columns]
        trained_accuracy = _spread(accuracy[category, TRAINED, density], 2)
        gap = f"{_gap(gaps[category])} ({_gap(aupro_gaps[category])})"
        lines.append(f"| {_label(rows, category)} | {trained_accuracy} | " + " | ".join(cells) + f" | {gap} |")
    return "\n".join(lines)


def _density_table(rows: Sequence[LocalizationRow]) -> str:
    gaps, aupro_gaps = density_margins(rows), density_margins(rows, "aupro")
    lines = [
        "| category (default density; seeds) | "
        + " | ".join(f"per-location − shared, {network}" for network in (TRAINED, RANDOM_INIT))
        + " |",
        "|---|---|---|",
    ]
    for category in _categories(rows):
        cells = [f"{_gap(gaps[category, n])} ({_gap(aupro_gaps[category, n])})" for n in (TRAINED, RANDOM_INIT)]
        lines.append(f"| {_label(rows, category)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _label(rows: Sequence[LocalizationRow], category: str) -> str:
    count = seed_count(rows, category)
    return f"{category} ({default_density(category)}; {'one seed' if count == 1 else f'{count} seeds'})"


def _spread(values: dict[int, float], digits: int) -> str:
    mean, sd = mean_sd(list(values.values()))
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


def _gap(margin: Margin) -> str:
    return gap_cell(margin, scale=1, digits=3)


def check_localization(committed: Sequence[LocalizationRow], measured: Sequence[LocalizationRow]) -> str:
    """One line per row of this run that the committed table has (same category, network, density, scale, precision,
    seed and scoring precision, where the committed row records one), comparing their pixel AUROC
    (machines.check_reproduction: ResultDrift only where the machine the committed row records is the one that made
    this run's)."""
    reference = {row.setting(): row for row in committed}
    pairs = [
        (row, reference[row.setting()])
        for row in measured
        if row.setting() in reference and reference[row.setting()].scoring_precision in ("", row.scoring_precision)
    ]
    if not pairs:
        return (
            f"this machine's {measured[0].category} rows: "
            "not comparable with the committed ones (another precision or setting)"
        )
    cross = cross_machine_spread([f"pixel AUROC {d}" for d in GAUSSIAN_LAYOUTS])
    command = "bench/localization_table.py (docs/results.md)"
    return "\n".join(
        check_reproduction(
            f"{row.category} {row.network}, {row.density}: pixel AUROC",
            row.pixel_auroc,
            [then.pixel_auroc],
            recorded_signature([then]),
            recorded_signature([row]),
            cross,
            command,
        )
        for row, then in pairs
    )
