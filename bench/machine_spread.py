"""How far another machine moves a lesson's model: the series category's models, trained on emulated other machines.

Each emulated machine (cplib.machines.EMULATED: another thread count, no native bfloat16, oneDNN's AVX2 kernels) runs in a
process of its own, since the variables take effect when torch starts, with a model cache of its own (build/machines/NAME;
`make test-portable MACHINE=NAME` reuses it). It trains every model of the cpu profile that the notebooks train on the series
category and assert on, and records image AUROC, proxy accuracy (last 20 steps, and first 100) and the patch model's pixel
AUROC. Writes a CSV, a Markdown table and records the signature of each machine. About 10 minutes per machine at 2 threads:

    .venv/bin/python bench/machine_spread.py --out bench/results/machine_spread
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from cplib.ablation import RANDOM_INIT, measure_random_init
from cplib.checkpoint import get_or_train
from cplib.evaluate import evaluate_model
from cplib.localization_study import compare_networks, to_rows
from cplib.machines import EMULATED, SpreadRow, emulation_environment, machines_legend, record_signature, signature, spread_table
from cplib.paths import REPO_ROOT
from cplib.profiles import dataset_root, get_profile, series_category
from cplib.results import from_csv, to_csv
from cplib.staging import write_text
from cplib.train import final_accuracy

IMAGE_MODELS = ("cutout", "scar", "cutpaste", "cutpaste-scar", "3way")  # notebooks 01-05 train these on the series category
PATCH_MODEL = "3way patch"
EARLY_STEPS = 100  # notebook 02 compares the first 100 steps' accuracy of Scar and Cutout


def measure_here(machine: str) -> list[SpreadRow]:
    """Train (or load from this machine's cache) and evaluate the series category's models, in this process's environment."""
    profile, root, category = get_profile(), dataset_root(), series_category()
    made = signature(profile.precision_for(profile.size))
    row = lambda model, measure, value: SpreadRow(machine, model, category, measure, float(value), made.cpu, made.isa,  # noqa: E731
                                                   made.threads, made.precision)
    rows = []
    for variant in IMAGE_MODELS:
        config = profile.config(variant, category, data_root=root)
        trained = get_or_train(config, "cpu", progress=False)
        rows += [row(variant, "image AUROC", evaluate_model(trained.model, config, root).auroc),
                 row(variant, "proxy accuracy", final_accuracy(trained.history.accuracy)),
                 row(variant, "early accuracy", final_accuracy(trained.history.accuracy[:EARLY_STEPS], EARLY_STEPS))]
    rows.append(row(RANDOM_INIT, "image AUROC", measure_random_init(profile.config("3way", category, data_root=root), root).auroc))
    patch_model, compared = compare_networks(root, category, profile, progress=False, device="cpu")
    for found in to_rows(patch_model, compared, 0):
        model = PATCH_MODEL if found.network != RANDOM_INIT else f"{RANDOM_INIT} patch"
        rows.append(row(model, f"pixel AUROC {found.density}", found.pixel_auroc))
    rows.append(row(PATCH_MODEL, "proxy accuracy", final_accuracy(patch_model.history.accuracy)))
    return rows


def run_machine(machine: str) -> list[SpreadRow]:
    """measure_here in a new process with the machine's environment and its own model cache (the native one uses data/)."""
    environment = {**os.environ, **emulation_environment(machine)}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "rows.csv"
        subprocess.run([sys.executable, __file__, "--worker", machine, "--rows", str(out)], env=environment, check=True)
        return from_csv(out.read_text(), SpreadRow)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", nargs="+", default=list(EMULATED), choices=list(EMULATED))
    parser.add_argument("--out", default="build/machine_spread", help="prefix of the .csv and .md written")
    parser.add_argument("--worker", choices=list(EMULATED), help=argparse.SUPPRESS)
    parser.add_argument("--rows", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        write_text(Path(args.rows), to_csv(measure_here(args.worker)))
        return 0
    rows = []
    for machine in args.machines:
        print(f"machine_spread: {machine} ({EMULATED[machine] or 'as it is'})", flush=True)
        rows += run_machine(machine)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out.with_suffix(".csv"), to_csv(rows))
    table = spread_table(rows)
    write_text(out.with_suffix(".md"), f"Emulated machines:\n\n{machines_legend(rows)}\n\n{table}\n")
    native = next(row for row in rows if row.machine == args.machines[0])
    if out.parent.resolve() == (REPO_ROOT / "bench" / "results").resolve():
        record_signature(out.name, signature(native.precision))
    print(machines_legend(rows), table, sep="\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
