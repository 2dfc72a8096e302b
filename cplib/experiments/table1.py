"""The paper's Table 1 as code: every proxy task on every category, image AUROC, next to the published averages; the
same over several seeds against each seed's random network, and the committed seeded table that the notebooks read."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..checkpoint import get_or_train
from ..evaluate import evaluate_model
from ..paper import IMAGE_AUROC_3WAY, IMAGE_AUROC_TABLE1
from ..paths import COMMITTED_RESULTS
from ..profiles import PAPER_RECIPE, Profile, resolve_device
from ..train import TrainConfig
from .grid import grid_jobs, measure_jobs
from .machines import check_reproduction, cross_machine_spread, recorded_signature, signature
from .measurements import MEASURED, RANDOM_INIT, Measurement
from .results import committed_rows, row_key

TABLE1_VARIANTS = ("cutout", "scar", "cutpaste", "cutpaste-scar", "3way")
CUTPASTE_FAMILY = TABLE1_VARIANTS[2:]  # the variants the method is about: CutPaste, CutPaste-Scar and the 3-way
COMMITTED_TABLE1 = COMMITTED_RESULTS / "table1_seeds.csv"  # written by bench/table1_seeds.py


def run_ablation(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    variants: Sequence[str] = TABLE1_VARIANTS,
    device: str | None = None,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Image AUROC of each variant on each category: results[variant][category] (models from the cache, else
    trained)."""
    device = resolve_device(device, profile)
    results: dict[str, dict[str, float]] = {}
    for variant in variants:
        results[variant] = {}
        for category in categories:
            config = profile.config(variant, category, data_root=root, seed=seed)
            results[variant][category] = evaluate_model(get_or_train(config, device).model, config, root).auroc
    return results


def markdown_table(results: dict[str, dict[str, float]], title: str = "ours") -> str:
    """A Markdown table: one row per variant, our AUROC (%) per category and mean, then the paper's MVTec AD mean."""
    categories = list(next(iter(results.values())))
    header = ["variant", *categories, f"mean ({title})", "paper MVTec mean"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for variant, row in results.items():
        mean = 100 * sum(row.values()) / len(row)
        paper = IMAGE_AUROC_TABLE1.get(variant, {}).get("all")
        cells = [
            variant,
            *(f"{100 * row[c]:.1f}" for c in categories),
            f"{mean:.1f}",
            "—" if paper is None else f"{paper:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    shared = [c for c in categories if c in IMAGE_AUROC_3WAY]
    if shared:
        lines.append(
            "| paper 3-way | "
            + " | ".join(f"{IMAGE_AUROC_3WAY[c]:.1f}" if c in IMAGE_AUROC_3WAY else "—" for c in categories)
            + " | | |"
        )
    return "\n".join(lines)


def seeded_ablation(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    seeds: Sequence[int],
    variants: Sequence[str] = TABLE1_VARIANTS,
    device: str | None = None,
    out: str | Path | None = None,
    **changes: object,
) -> list[Measurement]:
    """Every variant (and the random network) on every category for every seed; `changes` (size, steps) go to the
    configs. With `out` (a CSV), each row is written as its model is measured and the rows already there are kept, so a
    stopped study resumes (`grid.measure_jobs`)."""
    jobs = grid_jobs(root, categories, profile, seeds, variants, **changes)
    return measure_jobs(jobs, root, resolve_device(device, profile), out)


def seeded_results(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    variants: Sequence[str] = TABLE1_VARIANTS,
    device: str | None = None,
) -> list[Measurement]:
    """The committed seeded Table 1 where it describes this data and profile (the default data at its size), else seed 0
    measured here."""
    committed = committed_rows(COMMITTED_TABLE1, root, categories, Measurement) or []
    rows = [row for row in committed if row.variant in (RANDOM_INIT, *variants)]
    if rows and all(row.size == profile.size and row.steps in (0, profile.steps) for row in rows):
        return rows
    return seeded_ablation(root, categories, profile, [0], variants, device)


def made_with(row: Measurement, config: TrainConfig) -> bool:
    """Whether a row was measured on `config` at the row's seed: its key says so; a row written before rows kept keys
    was made with the paper's optimiser settings, so it matches only a config that keeps them."""
    if row.key:
        return row.key == row_key(config.with_(seed=row.seed), MEASURED)
    return all(getattr(config, field) == value for field, value in PAPER_RECIPE.items())


def check_reproduced(rows: Sequence[Measurement], config: TrainConfig, auroc: float, device: str | None = None) -> str:
    """A line comparing this machine's run of a config on `device` (resolve_device's rule) with the committed seeds of
    the same config (machines.check_reproduction): ResultDrift only where the machine the rows record made them all
    and is this one."""
    same = [
        row
        for row in rows
        if (row.variant, row.category, row.size, row.steps, row.precision)
        == (config.variant, config.category, config.size, config.steps, config.precision)
        and made_with(row, config)
    ]
    name = f"{config.category} {config.variant} image AUROC"
    if not same:
        return (
            f"{name}: this machine's run {auroc:.3f} · "
            f"no committed seed has this config and precision ({config.precision})"
        )
    made_on, here, cross = (
        recorded_signature(same),
        signature(config.precision, resolve_device(device)),
        cross_machine_spread(["image AUROC"]),
    )
    values = [row.auroc for row in same]
    return check_reproduction(name, auroc, values, made_on, here, cross, "bench/table1_seeds.py (docs/results.md)")
