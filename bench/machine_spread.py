"""How far another machine moves a lesson's model: the series category's models, trained on emulated other machines.

Each emulated machine (cplib.experiments.machines.EMULATED: another thread count, no native bfloat16, oneDNN's AVX2
kernels) runs in a process of its own, since the variables take effect when torch starts, with a model cache of its own
(build/machines/NAME; `make test-portable MACHINE=NAME` reuses it). It trains every model of the cpu profile that the
notebooks train on the series category and assert on, and records image AUROC, proxy accuracy (last 20 steps, and first
100) and the patch model's pixel AUROC; and, for the 3-way model of every category, the kNN measures notebook 07 asserts
on. Each machine's process writes each row to the CSV as it is measured, keyed on what made it (the config, the data,
the machine's label and signature, the measure, the cplib version): a rerun skips the rows it has and resumes a stopped
study, and the CSV keeps the rows of every CPU it ran on. Rows are labelled "NAME on ISA", ISA this CPU's best
instruction set, so that runs on two real CPUs sit side by side. The Markdown table holds this CPU's rows, and with
`--add` those of the other CPUs in the CSV too; a table of this CPU alone, in bench/results, records its signature.
About 10 minutes per machine at 2 threads:

    .venv/bin/python bench/machine_spread.py --out bench/results/machine_spread
    .venv/bin/python bench/machine_spread.py --machines native threads-1 avx --add --out bench/results/machine_spread
"""

from __future__ import annotations

import argparse
import functools
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cplib import __version__
from cplib.checkpoint import Trained, get_or_train
from cplib.data import list_categories, load_split
from cplib.embedding import Measures, embed, measures
from cplib.evaluate import GAUSSIAN_LAYOUTS, evaluate_model
from cplib.experiments.localization import TRAINED, LocalizationRow, compare_networks, to_rows
from cplib.experiments.machines import (
    EMULATED,
    Signature,
    SpreadRow,
    best_instruction_set,
    emulation_environment,
    machine_label,
    machines_legend,
    record_signature,
    signature,
    spread_table,
)
from cplib.experiments.measurements import RANDOM_INIT, measure_random_init
from cplib.experiments.results import Job, row_key, run_jobs, study_rows
from cplib.paths import COMMITTED_RESULTS
from cplib.profiles import ensure_dataset, get_profile, series_category
from cplib.staging import write_text
from cplib.train import TrainConfig, final_accuracy

IMAGE_MODELS = (
    "cutout",
    "scar",
    "cutpaste",
    "cutpaste-scar",
    "3way",
)  # notebooks 01-05 train these on the series category
PATCH_MODEL = "3way patch"
EARLY_STEPS = 100  # notebook 02 compares the first 100 steps' accuracy of Scar and Cutout
KNN_MEASURES = (
    "normal_vs_synthetic",
    "defect_to_synthetic",
)  # notebook 07 asserts on these (k = 5, 50 images per group)


@dataclass(frozen=True)
class Machine:
    """The emulated machine this process runs as: its label (machine_label) and signature."""

    label: str
    made: Signature

    def job(self, config: TrainConfig, model: str, measure: str, value: Callable[[], float]) -> Job:
        """One row's job: its key (the config and its data, this machine's label and signature, the model, the
        measure) and the call that measures `value` and makes the row."""
        key = row_key(config, f"machine spread on {self.label} ({self.made.describe()}): {model}, {measure}")
        made = self.made

        def make() -> SpreadRow:
            return SpreadRow(
                self.label,
                model,
                config.category,
                measure,
                float(value()),
                made.cpu,
                made.isa,
                made.threads,
                made.precision,
                __version__,
                key,
            )

        return key, make


@functools.lru_cache(maxsize=1)  # a model's jobs follow each other
def trained(config: TrainConfig) -> Trained:
    return get_or_train(config, "cpu", progress=False)


@functools.lru_cache(maxsize=1)
def patch_rows(root: str, category: str) -> list[LocalizationRow]:
    return to_rows(*compare_networks(root, category, get_profile(), progress=False, device="cpu"), 0)


@functools.lru_cache(maxsize=1)
def knn(config: TrainConfig) -> Measures:
    root = config.resolved_root()
    train, test = (load_split(root, config.category, split, config.size) for split in ("train", "test"))
    return measures(embed(trained(config).model, train, test, count=min(50, len(train) // 3)))


def image_jobs(here: Machine, config: TrainConfig, root: str) -> list[Job]:
    """A whole-image model's jobs: image AUROC, final proxy accuracy, and the accuracy of its first EARLY_STEPS."""

    def auroc() -> float:
        return evaluate_model(trained(config).model, config, root).auroc

    def accuracy(steps: int | None = None) -> float:
        history = trained(config).history.accuracy
        return final_accuracy(history[:steps], steps) if steps else final_accuracy(history)

    return [
        here.job(config, config.variant, "image AUROC", auroc),
        here.job(config, config.variant, "proxy accuracy", accuracy),
        here.job(config, config.variant, "early accuracy", functools.partial(accuracy, EARLY_STEPS)),
    ]


def patch_jobs(here: Machine, root: str, category: str) -> list[Job]:
    """The patch model's jobs: the pixel AUROC of it and of its untrained self with each density, and its proxy
    accuracy."""
    profile = get_profile()
    config = profile.localization.patch_config(profile, category, data_root=root)
    names = {TRAINED: PATCH_MODEL, RANDOM_INIT: f"{RANDOM_INIT} patch"}

    def found(network: str, density: str) -> LocalizationRow:
        return next(row for row in patch_rows(root, category) if (row.network, row.density) == (network, density))

    return [
        *(
            here.job(
                config,
                names[network],
                f"pixel AUROC {density}",
                lambda network=network, density=density: found(network, density).pixel_auroc,
            )
            for network in names
            for density in GAUSSIAN_LAYOUTS
        ),
        here.job(config, PATCH_MODEL, "proxy accuracy", lambda: found(TRAINED, "shared").proxy_accuracy),
    ]


def knn_jobs(here: Machine, config: TrainConfig) -> list[Job]:
    """The kNN measures of a category's 3-way model."""
    return [
        here.job(config, "3way", f"kNN {name}", lambda name=name: getattr(knn(config), name)) for name in KNN_MEASURES
    ]


def spread_jobs(machine: str) -> list[Job]:
    """Every row's job on emulated machine `machine`, in this process's environment: the series category's image
    models and random network, its patch model, and every category's 3-way kNN measures."""
    profile, root, category = get_profile(), ensure_dataset(), series_category()
    here = Machine(machine_label(machine), signature(profile.precision_for(profile.size)))
    jobs = [
        job
        for variant in IMAGE_MODELS
        for job in image_jobs(here, profile.config(variant, category, data_root=root), root)
    ]
    base = profile.config("3way", category, data_root=root)
    jobs.append(here.job(base, RANDOM_INIT, "image AUROC", lambda: measure_random_init(base, root).auroc))
    jobs += patch_jobs(here, root, category)
    for other in list_categories(root):
        jobs += knn_jobs(here, profile.config("3way", other, data_root=root))
    return jobs


def run_machine(machine: str, csv: Path) -> None:
    """spread_jobs in a new process with the machine's environment and its own model cache (the native one uses
    data/), each row appended to `csv` as it is measured."""
    environment = {**os.environ, **emulation_environment(machine)}
    command = [sys.executable, __file__, "--worker", machine, "--rows", str(csv.resolve())]
    subprocess.run(command, env=environment, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", nargs="+", default=list(EMULATED), choices=list(EMULATED))
    parser.add_argument("--out", default="build/machine_spread", help="prefix of the .csv and .md written")
    parser.add_argument(
        "--add", action="store_true", help="show the rows of other CPUs in --out's CSV beside this CPU's in the table"
    )
    parser.add_argument("--worker", choices=list(EMULATED), help=argparse.SUPPRESS)
    parser.add_argument("--rows", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_jobs(Path(args.rows), SpreadRow, spread_jobs(args.worker))
        return 0
    out = Path(args.out)
    csv = out.with_suffix(".csv")
    for machine in args.machines:
        print(f"machine_spread: {machine} ({EMULATED[machine] or 'as it is'})", flush=True)
        run_machine(machine, csv)
    this_cpu = f" on {best_instruction_set()}"
    rows = [row for row in study_rows(csv, SpreadRow) if args.add or row.machine.endswith(this_cpu)]
    table = spread_table(rows)
    write_text(out.with_suffix(".md"), f"Machines (emulated on each CPU):\n\n{machines_legend(rows)}\n\n{table}\n")
    native = next(row for row in rows if row.machine == machine_label(args.machines[0]))
    alone = all(row.machine.endswith(this_cpu) for row in rows)
    if alone and out.parent.resolve() == COMMITTED_RESULTS.resolve():
        record_signature(out.name, signature(native.precision))
    print(machines_legend(rows), table, sep="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
