"""The command line: ``python -m cplib {data,train,evaluate,score,table,download,series}``.

Errors meant for people (a missing folder, an unknown category or variant, a corrupt image, an unwritable
output) print one line and exit with status 2, without a traceback; Ctrl-C exits with status 130. Outputs,
device and data are checked before training starts, so a late error never throws away a finished run.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import time
from pathlib import Path

from .augment import VARIANTS
from .errors import ConfigError, CplibError, DataError
from .paths import NOTEBOOKS, require_checkout
from .precision import IMAGE_PRECISION
from .profiles import (
    PROFILES,
    RECIPES,
    chosen_dataset,
    device_setting,
    ensure_dataset,
    get_profile,
    resolve_device,
)
from .train import PRECISIONS
from .validation import seed_option, sha256_option


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by train and evaluate --train (the same defaults for both)."""
    parser.add_argument("--variant", choices=VARIANTS, help="proxy task (default 3way)")
    parser.add_argument(
        "--profile", choices=list(PROFILES), help="scale: cpu (default, or $CPLIB_PROFILE), paper, tiny"
    )
    parser.add_argument("--size", type=int, help="image size in pixels (default: the profile's)")
    parser.add_argument("--steps", type=int, help="optimiser steps (default: the profile's)")
    parser.add_argument("--batch", type=int, help="source images per step (default: the profile's)")
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="fp32, or bf16 autocast, for training and scoring (default: the profile's; scoring: fp32, or the one "
        "saved with --model)",
    )
    parser.add_argument("--seed", type=seed_option, default=0, help="a whole number from 0 to 2**32 - 1")
    parser.add_argument("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")
    parser.add_argument("--weights", default="none", choices=["none", "imagenet"], help="encoder initialisation")
    parser.add_argument(
        "--recipe",
        default="paper",
        choices=list(RECIPES),
        help="optimiser settings (default: the paper's SGD); bench/recipe_study.py --data YOUR_FOLDER compares them",
    )
    parser.add_argument(
        "--holdout",
        type=float,
        help="share of train/good kept out of training and the density, to set the threshold (default 0.2); "
        "0 = the paper's protocol: every normal image in the density, no threshold",
    )


def _data_options(parser: argparse.ArgumentParser) -> None:
    """--data and --category."""
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET, else the embedded default dataset)")
    parser.add_argument("--category", required=True, help="category folder under --data")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m cplib", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="write the embedded default dataset if missing and print its folder")
    data.add_argument("--seed", type=seed_option, default=0)

    train = commands.add_parser("train", help="train a model and save it (with its fitted detector) to --out")
    _data_options(train)
    _add_train_options(train)
    train.add_argument("--out", required=True, help="folder to write the model into")

    evaluate = commands.add_parser("evaluate", help="fit the density on train/good and score the test set")
    _data_options(evaluate)
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a folder written by `train`")
    source.add_argument("--train", action="store_true", help="train first, with the train options")
    evaluate.add_argument("--cross-category", action="store_true", help="allow a --model trained on another category")
    _add_train_options(evaluate)
    evaluate.add_argument("--json", help="write the results as JSON to this file")

    score = commands.add_parser("score", help="score image files with a trained model")
    score.add_argument("--model", required=True, help="a folder written by `train`")
    score.add_argument("images", nargs="+", help="image files")
    score.add_argument(
        "--precision", choices=PRECISIONS, help="the encoder's: fp32 or bf16 (default: the one saved with --model)"
    )

    _table_parser(commands)

    download = commands.add_parser("download", help="download MVTec AD (needs internet; about 5 GB)")
    download.add_argument("--data", required=True, help="folder to put the categories in")
    download.add_argument("--category", action="append", help="only these categories (with a per-category URL)")
    download.add_argument(
        "--url", help="archive URL, or a template with {category} (default: $CPLIB_MVTEC_URL or the official one)"
    )
    download.add_argument("--sha256", type=sha256_option, help="the archive's SHA-256 (default: the official one's)")

    series = commands.add_parser("series", help="execute every notebook headless and write HTML")
    series.add_argument("--out", default="build", help="folder for the HTML pages")
    series.add_argument("--notebooks", help="folder of NN_topic.ipynb notebooks (default: the checkout's notebooks/)")
    series.add_argument(
        "--cell-timeout", type=float, help="seconds a cell may run before the run fails (default: 2400, as make test)"
    )
    return parser


def _table_parser(commands: argparse._SubParsersAction) -> None:
    """The `table` subcommand: Table 1 as a resumable grid of jobs, run here or on Ray."""
    from .experiments.launchers import LAUNCHERS
    from .experiments.table1 import TABLE1_VARIANTS

    table = commands.add_parser("table", help="Table 1 over seeds as a resumable grid of jobs, here or on Ray")
    table.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    table.add_argument("--profile", choices=list(PROFILES), help="scale: cpu (default, or $CPLIB_PROFILE), paper, tiny")
    table.add_argument(
        "--seeds", type=seed_option, nargs="+", default=[0, 1, 2, 3, 4], help="default: five, as the paper"
    )
    table.add_argument("--variants", nargs="+", default=list(TABLE1_VARIANTS), choices=VARIANTS)
    table.add_argument("--categories", nargs="+", help="default: every category under --data")
    table.add_argument("--out", required=True, help="folder of the results (a rerun skips the rows already there)")
    table.add_argument("--launcher", default="local", choices=LAUNCHERS, help="local, or ray (RAY_ADDRESS or local)")
    table.add_argument("--device", help="auto (CUDA where present), cpu, cuda (default: $CPLIB_DEVICE, the profile's)")
    table.add_argument("--cpus-per-job", type=int, help="Ray: CPUs, torch threads a job (default: CPUs per GPU, or 1)")


def _config(args: argparse.Namespace):
    """The TrainConfig the options describe, to train on the --device they name (its "auto" precision that device's),
    holding out --holdout of the training images for the threshold."""
    from .detector import DEFAULT_HOLDOUT

    profile = get_profile(args.profile)
    changes = {k: getattr(args, k) for k in ("size", "steps", "batch", "precision") if getattr(args, k) is not None}
    holdout = DEFAULT_HOLDOUT if args.holdout is None else args.holdout
    return profile.config(
        args.variant or "3way",
        args.category,
        recipe=args.recipe,
        device=args.device,
        data_root=chosen_dataset(args.data),
        seed=args.seed,
        weights=args.weights,
        holdout=holdout,
        **changes,
    )


def _check_device(name: str) -> None:
    """Refuse a device this machine lacks, naming those it has."""
    import torch

    available = (
        ["cpu"]
        + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
        + (["mps"] if torch.backends.mps.is_available() else [])
    )
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    wanted = None if device is None else f"{device.type}:{device.index or 0}" if device.type == "cuda" else device.type
    if wanted not in available:
        raise ConfigError(f"--device {name!r} is not available here: use one of {', '.join(available)}")


def _announce_data(args: argparse.Namespace, splits: tuple[str, ...]) -> str:
    """The dataset folder (`cplib.profiles.ensure_dataset`: the default one written if it is the one and missing),
    printed first, then the files its splits skip, if any."""
    from .data import IMAGE_SUFFIXES, skipped_files

    root = ensure_dataset(args.data)
    print(f"data: {root}")
    skipped = skipped_files(root, args.category, splits)
    if skipped:
        names = ", ".join(path.name for path in skipped[:3]) + (", ..." if len(skipped) > 3 else "")
        kinds = "/".join(IMAGE_SUFFIXES)
        print(f"skipped {len(skipped)} files of {args.category} that are hidden or not {kinds}: {names}")
    return root


def _device(args: argparse.Namespace) -> str:
    """The device the options name (profiles.device_setting's rule), checked against this machine before any work."""
    setting = device_setting(args.device, get_profile(args.profile))
    if setting != "auto":
        _check_device(setting)
    return resolve_device(setting)


def _train_detector(args: argparse.Namespace, root: str):
    """Train per the options and fit a detector on held-out training images; returns (detector, seconds).

    The device, the memory a step needs and the data are checked first; the encoder never sees the held-out images,
    the density is fitted on the others, and the threshold comes from the held-out scores under that density. With
    --holdout 0 the encoder and the density see every training image and there is no threshold.
    """
    from .data import count_images, holdout_split, load_split
    from .detector import Detector
    from .train import train
    from .validation import check_images_differ, check_memory

    device = _device(args)
    config = _config(args)
    n_images = count_images(root, config.category, ("train",))["train"]
    kept = holdout_split(n_images, config.holdout, config.seed)[1]
    check_memory(config, n_images, device)
    normal = load_split(root, config.category, "train", config.size)  # fail fast on unreadable images
    check_images_differ(normal.images, kept, normal.paths[0].parent)
    started = time.perf_counter()
    model, history = train(config, device)
    seconds = time.perf_counter() - started
    detector = Detector(model, config, history, precision=args.precision or IMAGE_PRECISION)
    return detector.fit(normal.images, holdout=config.holdout), seconds


def cmd_data(args: argparse.Namespace) -> None:
    """Print the default dataset's folder, writing it first if needed."""
    from .synthetic import ensure_default_data

    print(ensure_default_data(seed=args.seed))


def cmd_train(args: argparse.Namespace) -> None:
    """Train and save, after checking that --out can take the model without losing anything."""
    from .detector import check_destination

    root = _announce_data(args, ("train",))
    out = check_destination(args.out)
    detector, seconds = _train_detector(args, root)
    path = detector.save(out)
    print(f"trained {detector.config.variant} on {detector.config.category} in {seconds:.0f} s; saved to {path}")
    print(f"{detector.protocol}; features in {detector.precision}")
    if detector.calibration is not None:
        print(f"{detector.calibration.describe()} (threshold {detector.threshold:.3f})")


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Evaluate a saved or freshly trained detector, as it is, on a category's test set."""
    from .data import SPLITS, count_images, load_split
    from .detector import Detector
    from .metrics import image_auroc, per_defect_auroc
    from .staging import write_text

    _check_json_path(args.json)
    loaded = None if args.train else Detector.load(args.model, args.precision)
    root = _announce_data(args, SPLITS)
    if loaded is not None:
        _check_model(loaded.config, args)
    counts = count_images(root, args.category)
    _check_both_classes(counts, args.category)
    detector, seconds = _train_detector(args, root) if loaded is None else (loaded, 0.0)
    config = detector.config
    test = load_split(root, args.category, "test", config.size, masks=False)
    scores = detector.score(test.images)
    labels = test.labels.numpy()
    result = {
        "category": args.category,
        "model_category": config.category,
        "variant": config.variant,
        "image_auroc": image_auroc(labels, scores),
        "per_defect_auroc": per_defect_auroc(test.defects, labels, scores),
        "n_train": counts["train"],
        "n_held_out": 0 if detector.calibration is None else detector.calibration.n_held_out,
        "n_density": detector.density_images,
        "protocol": detector.protocol,
        "n_test": len(test),
        "train_seconds": round(seconds, 1),
        "size": config.size,
        "steps": config.steps,
        "seed": config.seed,
        "precision": config.precision,
        "scoring_precision": detector.precision,
    }
    _print_table(result)
    if args.json:
        write_text(Path(args.json), json.dumps(result, indent=2))


def _check_model(config, args: argparse.Namespace) -> None:
    """Refuse --variant or --size other than the saved model's, and a model trained on another category than
    --category unless --cross-category, which is then said."""
    for option, trained in (("variant", config.variant), ("size", config.size)):
        given = getattr(args, option)
        if given is not None and given != trained:
            raise ConfigError(f"--{option} {given}: --model {args.model} was trained with {trained}; omit --{option}")
    if config.category == args.category:
        return
    if not args.cross_category:
        raise ConfigError(
            f"--model {args.model} was trained on {config.category!r}, not {args.category!r}: pass --category "
            f"{config.category}, or add --cross-category to evaluate it on another category"
        )
    print(f"note: the model was trained on {config.category!r}; evaluating it on {args.category!r} (--cross-category)")


def _check_json_path(path: str | None) -> None:
    """Refuse a --json path that could not be written, before any work."""
    if path is None:
        return
    target = Path(path)
    if target.is_dir():
        raise DataError(f"--json {path} is a folder: pass a file path such as {target / 'result.json'}")
    if not target.parent.is_dir():
        raise DataError(f"--json {path}: the folder {target.parent} does not exist; create it or pass another path")
    if not os.access(target.parent, os.W_OK):
        raise DataError(f"--json {path}: cannot write in {target.parent}; pass a path in a writable folder")


def _check_both_classes(counts: dict[str, int], category: str) -> None:
    """Refuse a test split without normal or without defective images: its AUROC is undefined."""
    if "test/good" not in counts:
        raise DataError(f"the test split of {category} has no normal images: AUROC needs some in test/good")
    if not any(key.startswith("test/") and key != "test/good" for key in counts):
        raise DataError(
            f"the test split of {category} has only normal images: AUROC needs defective ones in test/<defect>"
        )


def _print_table(result: dict) -> None:
    """The evaluation as a small table."""
    print(
        f"{result['variant']} on {result['category']}: image AUROC {result['image_auroc']:.3f}  "
        f"(n_train {result['n_train']}, n_test {result['n_test']})"
    )
    print(f"  {result['protocol']}; features in {result['scoring_precision']}")
    for defect, auroc in sorted(result["per_defect_auroc"].items()):
        print(f"  {defect:20s} {auroc:.3f}")


def cmd_score(args: argparse.Namespace) -> None:
    """Score image files: one line each with the score and the verdict (the score alone for a model without a
    threshold); what the scores rest on, their precision included, said once on stderr."""
    from .detector import Detector

    detector = Detector.load(args.model, args.precision)
    scores = detector.score_files(args.images)
    verdicts = "" if detector.threshold is not None else "; train with --holdout > 0 for verdicts"
    print(f"cplib: {args.model}: {detector.protocol}; features in {detector.precision}{verdicts}", file=sys.stderr)
    for path, score in zip(args.images, scores):
        verdict = "" if detector.threshold is None else "\tanomalous" if score >= detector.threshold else "\tnormal"
        print(f"{path}\t{score:.3f}{verdict}")


def cmd_table(args: argparse.Namespace) -> None:
    """Run the grid's missing jobs, write the table from all its rows, and fail naming the jobs that failed."""
    from .data import list_categories
    from .experiments.grid import RESULTS, TABLE, grid_jobs, write_table
    from .experiments.launchers import run_grid

    root = ensure_dataset(args.data)
    available = list_categories(root)
    categories = args.categories or available
    if unknown := [category for category in categories if category not in available]:
        raise DataError(f"--categories {' '.join(unknown)}: not under {root}; it has {', '.join(available)}")
    profile = get_profile(args.profile)
    jobs = grid_jobs(root, categories, profile, args.seeds, args.variants)
    out = Path(args.out)
    run = run_grid(jobs, root, out, args.launcher, device_setting(args.device, profile), cpus_per_job=args.cpus_per_job)
    title = f"Image AUROC (%), {profile.name} profile, {root}, mean ± sd over seeds {args.seeds}; ↓ below random"
    print(write_table(out, jobs, title))
    print(f"{run.ran} jobs run, {run.skipped} had rows already; rows in {out / RESULTS}, table in {out / TABLE}")
    if run.failures:
        failed = "; ".join(failure.describe() for failure in run.failures)
        raise CplibError(f"{len(run.failures)} of {len(jobs)} jobs failed ({failed}): fix them and rerun the command")


def cmd_download(args: argparse.Namespace) -> None:
    """Download MVTec AD."""
    from .download import download_mvtec

    print(download_mvtec(args.data, categories=args.category, url=args.url, sha256=args.sha256))


def cmd_series(args: argparse.Namespace) -> None:
    """Run every notebook headless; a cell past its timeout fails the run with one line naming notebook and cell."""
    from .series import CELL_TIMEOUT, run_series

    folder = Path(args.notebooks) if args.notebooks else require_checkout(NOTEBOOKS, "--notebooks")
    run_series(Path(args.out), folder, args.cell_timeout or CELL_TIMEOUT)


COMMANDS = {
    "data": cmd_data,
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "score": cmd_score,
    "table": cmd_table,
    "download": cmd_download,
    "series": cmd_series,
}


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; errors for people become one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except CplibError as error:
        print(f"cplib: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        where = "" if error.filename is None else f": {error.filename}"
        fix = "Free some space there" if error.errno == errno.ENOSPC else "Check the path and its permissions"
        print(f"cplib: error: {error.strerror or error}{where}. {fix}.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"cplib: interrupted: {args.command} stopped and kept nothing half-written; rerun it to start again",
            file=sys.stderr,
        )
        return 130
    return 0
