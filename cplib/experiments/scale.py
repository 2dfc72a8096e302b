"""The scale study: the seeded Table 1 at larger image sizes, each model trained for the steps that cost the profile's
training time there, and the committed study that notebook 05 reads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..paths import COMMITTED_RESULTS
from ..profiles import Profile, resolve_device
from .grid import grid_jobs, measure_jobs
from .margins import gap_cells, seed_spreads, spread_cell
from .measurements import RANDOM_INIT, Measurement
from .results import committed_rows
from .table1 import CUTPASTE_FAMILY

SCALE_SIZES = (64, 96, 128)
COMMITTED_SCALE = COMMITTED_RESULTS / "scale.csv"  # written by bench/scale_study.py
STEP_OVERHEAD_PIXELS = (
    4_400  # a step costs a fixed overhead plus its pixels; bench/train_throughput.py at 64/96/128 px: overhead ≈ 66²
)


def budget_steps(profile: Profile, size: int) -> int:
    """Optimiser steps at `size` px that cost the profile's training time, a step costing STEP_OVERHEAD_PIXELS plus
    size²."""
    return max(1, round(profile.steps * (STEP_OVERHEAD_PIXELS + profile.size**2) / (STEP_OVERHEAD_PIXELS + size**2)))


def scale_study(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    sizes: Sequence[int],
    seeds: Sequence[int],
    variants: Sequence[str] = CUTPASTE_FAMILY,
    device: str | None = None,
    out: str | Path | None = None,
) -> list[Measurement]:
    """The seeded Table 1 at each image size, every model trained for the steps the profile's time buys there
    (budget_steps). With `out` (a CSV), each row is written as its model is measured and the rows already there are
    kept, so a stopped study resumes."""
    jobs = [
        job
        for size in sizes
        for job in grid_jobs(root, categories, profile, seeds, variants, size=size, steps=budget_steps(profile, size))
    ]
    return measure_jobs(jobs, root, resolve_device(device, profile), out)


def by_size(rows: Sequence[Measurement]) -> dict[int, list[Measurement]]:
    """The rows of each image size, smallest first."""
    return {size: [row for row in rows if row.size == size] for size in sorted({row.size for row in rows})}


def scale_table(rows: Sequence[Measurement]) -> str:
    """Markdown: per image size and its steps, the random network's AUROC (%) and each variant's paired gap to it ·
    proxy accuracy."""
    categories = list(dict.fromkeys(row.category for row in rows))
    lines = ["| size · steps | variant | " + " | ".join(categories) + " |", "|---" * (len(categories) + 2) + "|"]
    for size, at in by_size(rows).items():
        spreads, seeds = seed_spreads(at), len({row.seed for row in at})
        steps = max(row.steps for row in at)
        lines.append(
            f"| {size} px · {steps} steps | random init, AUROC ({seeds} seeds) | "
            + " | ".join(spread_cell(spreads[RANDOM_INIT, c], None) for c in categories)
            + " |"
        )
        lines.extend(
            f"| | {variant}: gap · proxy acc. | " + " | ".join(gap_cells(at, variant, categories)) + " |"
            for variant in dict.fromkeys(row.variant for row in at)
            if variant != RANDOM_INIT
        )
    return "\n".join(lines)


def committed_scale(root: str, categories: Sequence[str], profile: Profile) -> list[Measurement] | None:
    """The committed scale study where it describes this data and the profile's time budget; None elsewhere (hours to
    measure)."""
    rows = committed_rows(COMMITTED_SCALE, root, categories, Measurement)
    return rows if rows and all(row.steps in (0, budget_steps(profile, row.size)) for row in rows) else None
