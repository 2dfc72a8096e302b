"""How far another machine moves a lesson's model: the series category's models, trained on emulated other machines.

Each emulated machine (cplib.experiments.machines.EMULATED: another thread count, no native bfloat16, oneDNN's AVX2
kernels) runs in a process of its own, since the variables take effect when torch starts, with a model cache of its own
(build/machines/NAME; `make test-portable MACHINE=NAME` reuses it). It trains every model of the cpu profile that the
notebooks train on the series category and assert on, and records image AUROC, proxy accuracy (last 20 steps, and first
100) and the patch model's pixel AUROC; and, for the 3-way model of every category, the kNN measures notebook 07 asserts
on. Writes a CSV, a Markdown table and records the signature of each machine. Rows are labelled "NAME on ISA", ISA this
CPU's best instruction set, so that runs on two real CPUs sit side by side: `--add` keeps the committed rows of other
CPUs and replaces this CPU's. About 10 minutes per machine at 2 threads:

    .venv/bin/python bench/machine_spread.py --out bench/results/machine_spread
    .venv/bin/python bench/machine_spread.py --machines native threads-1 avx --add --out bench/results/machine_spread
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cplib.checkpoint import get_or_train
from cplib.data import list_categories, load_split
from cplib.embedding import embed, measures
from cplib.evaluate import evaluate_model
from cplib.experiments.localization import compare_networks, to_rows
from cplib.experiments.machines import (
    EMULATED,
    SpreadRow,
    best_instruction_set,
    committed_spread,
    emulation_environment,
    machine_label,
    machines_legend,
    record_signature,
    signature,
    spread_table,
)
from cplib.experiments.measurements import RANDOM_INIT, measure_random_init
from cplib.experiments.results import from_csv, to_csv
from cplib.paths import COMMITTED_RESULTS
from cplib.profiles import ensure_dataset, get_profile, series_category
from cplib.staging import write_text
from cplib.train import final_accuracy

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


def measure_here(machine: str) -> list[SpreadRow]:
    """Train (or load from this machine's cache) and evaluate the series category's models, in this process's
    environment."""
    profile, root, category = get_profile(), ensure_dataset(), series_category()
    made = signature(profile.precision_for(profile.size))
    label = machine_label(machine)
    row = lambda model, measure, value, at=category: SpreadRow(
        label,
        model,
        at,
        measure,
        float(value),
        made.cpu,  # noqa: E731
        made.isa,
        made.threads,
        made.precision,
    )
    rows = []
    for variant in IMAGE_MODELS:
        config = profile.config(variant, category, data_root=root)
        trained = get_or_train(config, "cpu", progress=False)
        rows += [
            row(variant, "image AUROC", evaluate_model(trained.model, config, root).auroc),
            row(variant, "proxy accuracy", final_accuracy(trained.history.accuracy)),
            row(variant, "early accuracy", final_accuracy(trained.history.accuracy[:EARLY_STEPS], EARLY_STEPS)),
        ]
    rows.append(
        row(
            RANDOM_INIT,
            "image AUROC",
            measure_random_init(profile.config("3way", category, data_root=root), root).auroc,
        )
    )
    patch_model, compared = compare_networks(root, category, profile, progress=False, device="cpu")
    for found in to_rows(patch_model, compared, 0):
        model = PATCH_MODEL if found.network != RANDOM_INIT else f"{RANDOM_INIT} patch"
        rows.append(row(model, f"pixel AUROC {found.density}", found.pixel_auroc))
    rows.append(row(PATCH_MODEL, "proxy accuracy", final_accuracy(patch_model.history.accuracy)))
    for other in list_categories(root):
        config = profile.config("3way", other, data_root=root)
        train, test = (load_split(root, other, split, config.size) for split in ("train", "test"))
        found = measures(embed(get_or_train(config, "cpu", progress=False).model, train, test))
        rows += [row("3way", f"kNN {name}", getattr(found, name), other) for name in KNN_MEASURES]
    return rows


def run_machine(machine: str) -> list[SpreadRow]:
    """measure_here in a new process with the machine's environment and its own model cache (the native one uses
    data/)."""
    environment = {**os.environ, **emulation_environment(machine)}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "rows.csv"
        subprocess.run([sys.executable, __file__, "--worker", machine, "--rows", str(out)], env=environment, check=True)
        return from_csv(out.read_text(), SpreadRow)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", nargs="+", default=list(EMULATED), choices=list(EMULATED))
    parser.add_argument("--out", default="build/machine_spread", help="prefix of the .csv and .md written")
    parser.add_argument(
        "--add", action="store_true", help="keep the rows of other CPUs already in --out's CSV, replace this CPU's"
    )
    parser.add_argument("--worker", choices=list(EMULATED), help=argparse.SUPPRESS)
    parser.add_argument("--rows", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        write_text(Path(args.rows), to_csv(measure_here(args.worker)))
        return 0
    out = Path(args.out)
    earlier = (committed_spread(out.with_suffix(".csv")) or []) if args.add else []
    other_cpus = [row for row in earlier if not row.machine.endswith(f" on {best_instruction_set()}")]
    rows = list(other_cpus)
    for machine in args.machines:
        print(f"machine_spread: {machine} ({EMULATED[machine] or 'as it is'})", flush=True)
        rows += run_machine(machine)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out.with_suffix(".csv"), to_csv(rows))
    table = spread_table(rows)
    write_text(out.with_suffix(".md"), f"Machines (emulated on each CPU):\n\n{machines_legend(rows)}\n\n{table}\n")
    native = next(row for row in rows if row.machine == machine_label(args.machines[0]))
    if not other_cpus and out.parent.resolve() == COMMITTED_RESULTS.resolve():
        record_signature(out.name, signature(native.precision))
    print(machines_legend(rows), table, sep="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
