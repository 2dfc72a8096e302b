"""The command line the bench study scripts share (bench/density_study.py and the others): their options, --data and
--profile first, each study's own next, --out last; the data, profile and categories those options name; a refused
setting reported as argparse reports a bad option; and a study's end, its Markdown beside its CSV, its figure, its
table printed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from .data import list_categories
from .errors import CplibError
from .plots import save_figure
from .profiles import PROFILES, Profile, ensure_dataset, get_profile
from .staging import write_text

Option = tuple[str, dict[str, Any]]
"""A study's own option: its flag and the keywords `ArgumentParser.add_argument` takes for it."""


def option(flag: str, **settings: Any) -> Option:
    """The option that ``parser.add_argument(flag, **settings)`` adds."""
    return flag, settings


def seeds_option(default: list[int]) -> Option:
    """--seeds: whole numbers, `default` where not given."""
    return option("--seeds", type=int, nargs="+", default=default)


CATEGORIES = option("--categories", nargs="+", help="default: every category of the data folder")
DEVICE = option("--device", help="auto (CUDA where present), cpu, cuda, cuda:N (default: $CPLIB_DEVICE, auto)")


def study_parser(doc: str, out: str, *options: Option, written: str = ".csv, .md and .png") -> argparse.ArgumentParser:
    """A study script's parser: described by the first paragraph of its docstring `doc`, with --data and --profile,
    then the study's own `options` in order, then --out, the prefix of the files it writes (`out` where not given)."""
    parser = argparse.ArgumentParser(description=" ".join(doc.split("\n\n")[0].split()))
    parser.add_argument("--data", help="MVTec-layout root (default: $CPLIB_DATASET or the default dataset)")
    parser.add_argument("--profile", choices=list(PROFILES), help="default: $CPLIB_PROFILE or cpu")
    for flag, settings in options:
        parser.add_argument(flag, **settings)
    parser.add_argument("--out", default=out, help=f"prefix of the {written} written")
    return parser


def study_setting(args: argparse.Namespace) -> tuple[str, Profile, list[str]]:
    """The data folder (--data, else the default dataset, written where missing), the profile and the categories
    (--categories where the study has that option and it is given, else every category of the data folder) that a
    study's options name."""
    root = args.data or ensure_dataset()
    profile = get_profile(args.profile)
    return root, profile, getattr(args, "categories", None) or list_categories(root)


def refused(script: str, error: CplibError) -> int:
    """Report a setting the study refused as argparse reports a bad option, ``script: error: ...``; the exit status."""
    print(f"{script}: error: {error}", file=sys.stderr)
    return 2


def study_seeds(rows: Sequence[Any]) -> list[int]:
    """The seeds a study's rows hold, sorted: what its caption names."""
    return sorted({row.seed for row in rows})


def publish(out: str, markdown: str, printed: str, figure: Figure | None = None) -> None:
    """A study's end, beside its CSV: write `markdown` as out.md (atomically), save `figure` as out.png where the study
    has one, and print `printed`, its table."""
    write_text(Path(f"{out}.md"), f"{markdown}\n")
    if figure is not None:
        save_figure(figure, f"{out}.png")
    print(printed)
