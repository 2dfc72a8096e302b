"""The paper's Table 1 as a grid of jobs: one per (category, variant, seed), and the random network per (category,
seed).

A job trains its model or loads it from the model cache (checkpoint.get_or_train), evaluates it and becomes one
Measurement row, keyed on what made it (`results.row_key`: the config, what the category's files hold, the cplib
version). The rows live in one CSV, each appended under a lock as its job finishes, so a grid that stops resumes where
it stopped: a rerun runs only the jobs whose rows are missing, and other data, another setting or another cplib makes
them missing. The table (mean ± sd over seeds, the random network, the paper's column) is computed from the rows of the
grid's jobs in the CSV. The launchers (cplib.experiments.launchers) run the jobs here or on a Ray cluster.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..paper import IMAGE_AUROC_3WAY, IMAGE_AUROC_TABLE1
from ..profiles import Profile
from ..staging import write_text
from ..synthetic import STAMP
from ..train import TrainConfig
from .margins import spread_table
from .measurements import MEASURED, MEASURED_RANDOM, RANDOM_INIT, Measurement, measure, measure_random_init
from .results import read_rows, row_key, run_jobs

RESULTS = "table1.csv"
TABLE = "table1.md"


@dataclass(frozen=True)
class Job:
    """One cell of the grid for one seed: a trained variant, or (random_init) the config's network untrained."""

    config: TrainConfig
    random_init: bool = False

    @property
    def variant(self) -> str:
        return RANDOM_INIT if self.random_init else self.config.variant

    @property
    def name(self) -> str:
        """How reports name the job: category, variant and seed."""
        return f"{self.config.category} {self.variant} seed {self.config.seed}"

    @functools.cached_property
    def key(self) -> str:
        """The key of the row the job makes (`results.row_key`, with the random network's own label)."""
        return row_key(self.config, MEASURED_RANDOM if self.random_init else MEASURED)


def grid_jobs(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    seeds: Sequence[int],
    variants: Sequence[str],
    **changes: object,
) -> list[Job]:
    """Per category and seed: the random network, then each variant, at the profile's scale (with `changes`, e.g. size
    and steps) on the data under root."""
    jobs = []
    for category in categories:
        for seed in seeds:
            base = profile.config("3way", category, data_root=root, seed=seed, **changes)
            jobs.append(Job(base, random_init=True))
            jobs.extend(Job(base.with_(variant=variant)) for variant in variants)
    return jobs


def run_job(job: Job, root: str, device: str) -> Measurement:
    """Train (or load from the cache) and evaluate one job's model on `device`: its row."""
    if job.random_init:
        return measure_random_init(job.config, root, device)
    return measure(job.config, root, device)


def measure_jobs(jobs: Sequence[Job], root: str, device: str, out: str | Path | None = None) -> list[Measurement]:
    """The jobs' rows in job order, measured in this process on `device`; with `out` (a CSV), each row is appended as
    its job finishes and the jobs whose rows are there already are skipped, so a stopped study resumes
    (`results.run_jobs`)."""
    if out is None:
        return [run_job(job, root, device) for job in jobs]
    return run_jobs(out, Measurement, [(job.key, functools.partial(run_job, job, root, device)) for job in jobs])


def pending(jobs: Sequence[Job], rows: Sequence[Measurement]) -> list[Job]:
    """The jobs whose rows are not among `rows`, in grid order."""
    done = {row.key for row in rows}
    return [job for job in jobs if job.key not in done]


def grid_rows(jobs: Sequence[Job], rows: Sequence[Measurement]) -> list[Measurement]:
    """The rows of these jobs, in grid order (a results file may hold rows of other grids, or in finishing order)."""
    by_key = {row.key: row for row in rows}
    return [by_key[job.key] for job in jobs if job.key in by_key]


def drawn_by_cplib(root: str | Path) -> bool:
    """Whether a dataset folder holds images cplib drew (`cplib.synthetic`'s stamp, as the default dataset has): its
    categories may share MVTec AD's names (capsule), never its images."""
    return (Path(root) / STAMP).is_file()


def grid_table(rows: Sequence[Measurement], mvtec_names: bool) -> str:
    """Markdown: spread_table (mean ± sd over seeds, ↓ below the random network) with the paper's MVTec AD mean per
    variant; with `mvtec_names` (the categories name MVTec AD's: data not drawn by cplib, `drawn_by_cplib`), the paper's
    per-category 3-way AUROC of those that MVTec AD has."""
    lines = spread_table(rows).splitlines()
    lines[0] += " paper MVTec mean |"
    lines[1] += "---|"
    for index, line in enumerate(lines[2:], start=2):
        paper = IMAGE_AUROC_TABLE1.get(line.split(" | ")[0].removeprefix("| "), {}).get("all")
        lines[index] += " — |" if paper is None else f" {paper:.1f} |"
    categories = list(dict.fromkeys(row.category for row in rows))
    if mvtec_names and any(category in IMAGE_AUROC_3WAY for category in categories):
        cells = [f"{IMAGE_AUROC_3WAY[c]:.1f}" if c in IMAGE_AUROC_3WAY else "—" for c in categories]
        lines.append("| paper 3-way | " + " | ".join(cells) + " | |")
    return "\n".join(lines)


def write_table(out: Path, jobs: Sequence[Job], title: str) -> str:
    """The table of the grid's rows found in out/RESULTS, written to out/TABLE under `title`; returns the table."""
    mvtec_names = not any(drawn_by_cplib(job.config.resolved_root()) for job in jobs)
    table = grid_table(grid_rows(jobs, read_rows(out / RESULTS, Measurement)), mvtec_names)
    write_text(out / TABLE, f"{title}\n\n{table}\n")
    return table
