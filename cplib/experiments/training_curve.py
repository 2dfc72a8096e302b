"""Image AUROC against training length: 3-way models trained for each number of steps (each its own schedule) beside
the random network, and the committed curve that notebook 04 reads."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..paths import COMMITTED_RESULTS
from ..profiles import Profile, resolve_device
from .grid import Job, measure_jobs
from .measurements import RANDOM_INIT, Measurement
from .results import committed_rows

COMMITTED_CURVE = COMMITTED_RESULTS / "training_curve.csv"  # written by bench/training_curve.py


def training_curve(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    lengths: Sequence[int],
    seed: int = 0,
    device: str | None = None,
    out: str | Path | None = None,
) -> list[Measurement]:
    """3-way models trained for each number of steps (each its own schedule), and the random network, per
    category. With `out` (a CSV), each row is written as its model is measured and the rows already there are kept, so
    a stopped study resumes."""
    jobs = []
    for category in categories:
        jobs.append(Job(profile.config("3way", category, data_root=root, seed=seed), random_init=True))
        jobs += [Job(profile.config("3way", category, data_root=root, seed=seed, steps=steps)) for steps in lengths]
    return measure_jobs(jobs, root, resolve_device(device, profile), out)


def committed_curve(root: str, categories: Sequence[str], profile: Profile) -> list[Measurement] | None:
    """The committed training-length curve where it describes this data at the profile's size; None elsewhere (an hour
    to measure)."""
    rows = committed_rows(COMMITTED_CURVE, root, categories, Measurement)
    return rows if rows and all(row.size == profile.size for row in rows) else None


def curve_table(rows: Sequence[Measurement]) -> str:
    """Markdown: per category, the random network's AUROC (%), then the 3-way model's at each training length · its
    proxy accuracy."""
    lengths = sorted({row.steps for row in rows if row.variant != RANDOM_INIT})
    cells = {(row.category, row.steps if row.variant != RANDOM_INIT else 0): row for row in rows}
    lines = [
        "| category | random init | " + " | ".join(f"{n} steps" for n in lengths) + " |",
        "|---" * (len(lengths) + 2) + "|",
    ]
    for category in dict.fromkeys(row.category for row in rows):
        trained = [f"{100 * cells[category, n].auroc:.1f} · {cells[category, n].proxy_accuracy:.2f}" for n in lengths]
        lines.append(f"| {category} | {100 * cells[category, 0].auroc:.1f} | " + " | ".join(trained) + " |")
    return "\n".join(lines)
