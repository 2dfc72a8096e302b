"""Image AUROC against training length: 3-way models trained for each number of steps (each its own schedule) beside
the random network, over seeds, and the committed curve that notebook 04 reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..paths import COMMITTED_RESULTS
from ..profiles import Profile, resolve_device
from .grid import Job, measure_jobs
from .margins import MARKS, Margin, mean_sd, paired_margin, spread_cell
from .measurements import RANDOM_INIT, Measurement
from .results import committed_rows

COMMITTED_CURVE = COMMITTED_RESULTS / "training_curve.csv"  # written by bench/training_curve.py


def training_curve(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    lengths: Sequence[int],
    seeds: Sequence[int] = (0,),
    device: str | None = None,
    out: str | Path | None = None,
) -> list[Measurement]:
    """3-way models trained for each number of steps (each its own schedule), and the random network, per category
    and seed; seed-major, so a stopped study leaves whole seeds complete. With `out` (a CSV), each row is written as its
    model is measured and the rows already there are kept, so a stopped study resumes."""
    jobs = []
    for seed in seeds:
        for category in categories:
            jobs.append(Job(profile.config("3way", category, data_root=root, seed=seed), random_init=True))
            jobs += [Job(profile.config("3way", category, data_root=root, seed=seed, steps=steps)) for steps in lengths]
    return measure_jobs(jobs, root, resolve_device(device, profile), out)


def committed_curve(root: str, categories: Sequence[str], profile: Profile) -> list[Measurement] | None:
    """The committed training-length curve where it describes this data at the profile's size; None elsewhere (an hour
    a seed to measure)."""
    rows = committed_rows(COMMITTED_CURVE, root, categories, Measurement)
    return rows if rows and all(row.size == profile.size for row in rows) else None


def length(row: Measurement) -> int:
    """A row's training steps on the curve: 0 for the random network."""
    return 0 if row.variant == RANDOM_INIT else row.steps


def by_seed(rows: Sequence[Measurement]) -> dict[tuple[str, int], dict[int, Measurement]]:
    """(category, steps) -> {seed: row}, steps 0 the random network, in the order the rows first name them."""
    groups: dict[tuple[str, int], dict[int, Measurement]] = {}
    for row in rows:
        groups.setdefault((row.category, length(row)), {})[row.seed] = row
    return groups


@dataclass(frozen=True)
class CurvePoint:
    """One point of the curve over the seeds that reached it: image AUROC and final proxy accuracy (NaN for the random
    network, steps 0) as mean and sample sd (`margins.mean_sd`: 0 for one seed)."""

    category: str
    steps: int
    auroc: float
    sd: float
    proxy_accuracy: float
    proxy_sd: float
    seeds: tuple[int, ...]


def curve_means(rows: Sequence[Measurement]) -> dict[tuple[str, int], CurvePoint]:
    """(category, steps) -> the curve's point there over its seeds; steps 0 is the random network."""
    return {
        (category, steps): CurvePoint(
            category,
            steps,
            *mean_sd([row.auroc for row in seeds.values()]),
            *mean_sd([row.proxy_accuracy for row in seeds.values()]),
            tuple(sorted(seeds)),
        )
        for (category, steps), seeds in by_seed(rows).items()
    }


def curve_gaps(rows: Sequence[Measurement]) -> dict[tuple[str, int], Margin]:
    """(category, steps) -> the trained models' AUROC against their own seed's random network (`margins.Margin`: the
    paired gaps on the seeds both have), where they share a seed."""
    groups = by_seed(rows)
    gaps = {}
    for (category, steps), trained in groups.items():
        random = groups.get((category, 0), {})
        if steps and trained.keys() & random.keys():
            mine, theirs = ({s: row.auroc for s, row in g.items()} for g in (trained, random))
            gaps[category, steps] = paired_margin(f"3way, {steps} steps", category, mine, theirs)
    return gaps


def seed_names(seeds: Sequence[int]) -> str:
    return ", ".join(map(str, seeds))


def auroc_cell(point: CurvePoint) -> str:
    """The point's AUROC in %: "mean ± sd" over several seeds, the value alone for one."""
    return spread_cell((point.auroc, point.sd), None) if len(point.seeds) > 1 else f"{100 * point.auroc:.1f}"


def curve_cell(point: CurvePoint | None, gap: Margin | None, seeds: tuple[int, ...]) -> str:
    """A table cell: AUROC, ▲/▼ where the paired gap to the random network is beyond two sds, · proxy accuracy for a
    trained point, and the point's own seeds where they are not all of `seeds`; a dash where nothing reached it."""
    if point is None:
        return "—"
    mark = MARKS.get(gap.verdict, "") if gap else ""
    accuracy = f" · {point.proxy_accuracy:.2f}" if point.steps else ""
    partial = f" (seeds {seed_names(point.seeds)})" if point.seeds != seeds else ""
    return auroc_cell(point) + mark + accuracy + partial


def curve_table(rows: Sequence[Measurement]) -> str:
    """Markdown: per category, the random network's AUROC (%), then the 3-way model's at each training length · its
    proxy accuracy; over several seeds each is mean ± sd, ▲/▼ marking a paired gap to the random network beyond two
    sds, and a cell that lacks some of its category's seeds names those it has."""
    points, gaps = curve_means(rows), curve_gaps(rows)
    lengths = sorted({length(row) for row in rows} - {0})
    lines = [
        "| category | seeds | random init | " + " | ".join(f"{n} steps" for n in lengths) + " |",
        "|---" * (len(lengths) + 3) + "|",
    ]
    for category in dict.fromkeys(row.category for row in rows):
        seeds = tuple(sorted({row.seed for row in rows if row.category == category}))
        cells = [curve_cell(points.get((category, n)), gaps.get((category, n)), seeds) for n in (0, *lengths)]
        lines.append(f"| {category} | {seed_names(seeds)} | " + " | ".join(cells) + " |")
    if len({row.seed for row in rows}) > 1:
        lines.append("\nmean ± sd over seeds; ▲/▼: the paired gap to each seed's random network beyond 2 sd")
    return "\n".join(lines)
