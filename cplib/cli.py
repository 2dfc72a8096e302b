"""The command line: ``python -m cplib {data,train,evaluate,score,download,series}``.

Errors meant for people (a missing folder, an unknown category or variant, a corrupt image) print one line
and exit with status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .augment import VARIANTS
from .errors import CplibError
from .paths import REPO_ROOT
from .profiles import PRECISIONS, PROFILES, get_profile


def _add_train_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by train and evaluate --train (the same defaults for both)."""
    parser.add_argument("--variant", default="3way", choices=VARIANTS, help="proxy task (default 3way)")
    parser.add_argument("--profile", choices=list(PROFILES), help="scale: cpu (default, or $CPLIB_PROFILE), paper, tiny")
    parser.add_argument("--size", type=int, help="image size in pixels (default: the profile's)")
    parser.add_argument("--steps", type=int, help="optimiser steps (default: the profile's)")
    parser.add_argument("--batch", type=int, help="source images per step (default: the profile's)")
    parser.add_argument("--precision", choices=PRECISIONS, help="fp32, or bf16 autocast (default: the profile's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--weights", default="none", choices=["none", "imagenet"], help="encoder initialisation")


def _data_options(parser: argparse.ArgumentParser) -> None:
    """--data and --category."""
    parser.add_argument("--data", help="MVTec-layout root (default: the embedded default dataset)")
    parser.add_argument("--category", required=True, help="category folder under --data")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m cplib", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    data = commands.add_parser("data", help="write the embedded default dataset if missing and print its folder")
    data.add_argument("--seed", type=int, default=0)

    train = commands.add_parser("train", help="train a model and save it (with its fitted detector) to --out")
    _data_options(train)
    _add_train_options(train)
    train.add_argument("--out", required=True, help="folder to write the model into")

    evaluate = commands.add_parser("evaluate", help="fit the density on train/good and score the test set")
    _data_options(evaluate)
    source = evaluate.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="a folder written by `train`")
    source.add_argument("--train", action="store_true", help="train first, with the train options")
    _add_train_options(evaluate)
    evaluate.add_argument("--json", help="write the results as JSON to this file")

    score = commands.add_parser("score", help="score image files with a trained model")
    score.add_argument("--model", required=True, help="a folder written by `train`")
    score.add_argument("images", nargs="+", help="image files")

    download = commands.add_parser("download", help="download MVTec AD (needs internet; about 5 GB)")
    download.add_argument("--data", required=True, help="folder to put the categories in")
    download.add_argument("--category", action="append", help="only these categories (with a per-category URL)")
    download.add_argument("--url", help="archive URL, or a template with {category} (default: $CPLIB_MVTEC_URL or the official one)")

    series = commands.add_parser("series", help="execute every notebook headless and write HTML")
    series.add_argument("--out", default="build", help="folder for the HTML pages")
    series.add_argument("--notebooks", default=str(REPO_ROOT / "notebooks"), help="folder of NN_topic.ipynb notebooks")
    series.add_argument("--cell-timeout", type=float, help="seconds a cell may run before the run fails (default: nbval's 900)")
    return parser


def _config(args: argparse.Namespace):
    """The TrainConfig the options describe."""
    profile = get_profile(args.profile)
    changes = {k: getattr(args, k) for k in ("size", "steps", "batch", "precision") if getattr(args, k) is not None}
    return profile.config(args.variant, args.category, data_root=args.data, seed=args.seed, weights=args.weights, **changes)


def _train_detector(args: argparse.Namespace):
    """Train per the options and fit a detector on the category's training images; returns (detector, seconds)."""
    from .data import load_split
    from .detector import Detector
    from .train import data_root, train

    config = _config(args)
    root = data_root(config)
    load_split(root, config.category, "train", config.size)  # fail fast on bad data, before training
    started = time.perf_counter()
    model, history = train(config, args.device)
    seconds = time.perf_counter() - started
    detector = Detector(model, config, history).fit(load_split(root, config.category, "train", config.size).images)
    return detector, seconds


def cmd_data(args: argparse.Namespace) -> None:
    """Print the default dataset's folder, writing it first if needed."""
    from .synthetic import ensure_default_data

    print(ensure_default_data(seed=args.seed))


def cmd_train(args: argparse.Namespace) -> None:
    """Train and save."""
    detector, seconds = _train_detector(args)
    path = detector.save(args.out)
    print(f"trained {detector.config.variant} on {detector.config.category} in {seconds:.0f} s; saved to {path}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    """Evaluate a saved or freshly trained model on a category's test set."""
    from .data import load_split
    from .detector import Detector
    from .metrics import image_auroc, per_defect_auroc
    from .synthetic import ensure_default_data

    if args.train:
        detector, seconds = _train_detector(args)
    else:
        detector, seconds = Detector.load(args.model), 0.0
    config = detector.config
    root = args.data if args.data is not None else str(ensure_default_data())
    train_split = load_split(root, args.category, "train", config.size)
    test = load_split(root, args.category, "test", config.size)
    detector.fit(train_split.images)
    scores = detector.score(test.images)
    labels = test.labels.numpy()
    result = {
        "category": args.category,
        "variant": config.variant,
        "image_auroc": image_auroc(labels, scores),
        "per_defect_auroc": per_defect_auroc(test.defects, labels, scores),
        "n_train": len(train_split),
        "n_test": len(test),
        "train_seconds": round(seconds, 1),
        "size": config.size,
        "steps": config.steps,
        "seed": config.seed,
        "precision": config.precision,
    }
    _print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


def _print_table(result: dict) -> None:
    """The evaluation as a small table."""
    print(f"{result['variant']} on {result['category']}: image AUROC {result['image_auroc']:.3f}  (n_train {result['n_train']}, n_test {result['n_test']})")
    for defect, auroc in sorted(result["per_defect_auroc"].items()):
        print(f"  {defect:20s} {auroc:.3f}")


def cmd_score(args: argparse.Namespace) -> None:
    """Score image files: one line each with the score and the verdict."""
    from .detector import Detector

    detector = Detector.load(args.model)
    scores = detector.score_files(args.images)
    for path, score in zip(args.images, scores):
        verdict = "anomalous" if score >= detector.threshold else "normal"
        print(f"{path}\t{score:.3f}\t{verdict}")


def cmd_download(args: argparse.Namespace) -> None:
    """Download MVTec AD."""
    from .download import download_mvtec

    print(download_mvtec(args.data, categories=args.category, url=args.url))


def cmd_series(args: argparse.Namespace) -> None:
    """Run every notebook headless; a cell past its timeout fails the run with one line naming notebook and cell."""
    from .series import CELL_TIMEOUT, run_series

    run_series(Path(args.out), Path(args.notebooks), args.cell_timeout or CELL_TIMEOUT)


COMMANDS = {"data": cmd_data, "train": cmd_train, "evaluate": cmd_evaluate, "score": cmd_score, "download": cmd_download, "series": cmd_series}


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand; errors for people become one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except CplibError as error:
        print(f"cplib: error: {error}", file=sys.stderr)
        return 2
    return 0
