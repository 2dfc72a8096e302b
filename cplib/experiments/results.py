"""Result rows on disk: instances of one dataclass as CSV text and back; a study's rows kept as each job finishes, keyed
on what made them, so that a study that stops resumes where it stopped; a study's CSV and Markdown side by side; and the
committed rows of a study that the notebooks read instead of measuring again."""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import MISSING, Field, fields
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import __version__
from ..checkpoint import config_fields
from ..data import files_fingerprint
from ..paths import default_data_root
from ..staging import write_text
from ..train import TrainConfig


def columns(kind: type) -> list[Field[Any]]:
    """A row dataclass's fields in its constructor's order, the columns of its CSV: keyword-only ones (a base's, such
    as `measurements.MadeBy`) after the others."""
    return sorted(fields(kind), key=lambda field: field.kw_only)


def to_csv(rows: Sequence[Any]) -> str:
    """Result rows (instances of one dataclass, e.g. Measurement) as CSV text, one per line, in its `columns`, for
    plotting, diffing and committing; a value holding a comma is quoted."""
    names = [field.name for field in columns(type(rows[0]))]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerows([names, *([getattr(row, name) for name in names] for row in rows)])
    return text.getvalue()


def from_csv(text: str, kind: type) -> list[Any]:
    """Rows of `kind` back from to_csv's text: a committed result file, for the notebooks and the results page.

    A file written before `kind` gained its last fields (those with a default, such as a row's `cplib` and `key`) is
    read with those fields at their defaults; any other header is refused.
    """
    header, *lines = csv.reader(io.StringIO(text.strip()))
    kinds = {field.name: field.type for field in columns(kind)}
    later = list(kinds)[len(header) :]
    if header != list(kinds)[: len(header)] or any(name in _required(kind) for name in later):
        raise ValueError(f"not a {kind.__name__} CSV: header {','.join(header)!r}, expected {','.join(kinds)}")
    convert = {"int": int, "float": float, "str": str}
    return [kind(**{name: convert[kinds[name]](value) for name, value in zip(header, line)}) for line in lines]


def _required(kind: type) -> set[str]:
    """The fields of a dataclass without a default."""
    return {field.name for field in fields(kind) if field.default is MISSING and field.default_factory is MISSING}


def row_key(config: TrainConfig, measured: str) -> str:
    """What made a result row, as a short hash: the config's fields (`checkpoint.config_fields`), what its category's
    train and test files hold (`cplib.data.files_fingerprint`), the cplib version, and `measured`, the study's name for
    what it measured (e.g. "random init"). A change to any of them makes the row missing, so its job runs again."""
    data = files_fingerprint(config.resolved_root(), config.category, ("train", "test"))
    text = json.dumps(
        {"config": config_fields(config), "data": data, "cplib": __version__, "measured": measured}, sort_keys=True
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def stamp(config: TrainConfig, measured: str) -> dict[str, str]:
    """A row's `cplib` (the version that made it) and `key` (`row_key`) fields."""
    return {"cplib": __version__, "key": row_key(config, measured)}


def read_rows(path: str | Path, kind: type) -> list[Any]:
    """The rows of `kind` in a results CSV; none where it does not exist yet."""
    path = Path(path)
    return from_csv(path.read_text(), kind) if path.is_file() else []


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on a folder (its own descriptor: no lock file left behind) while a block reads, changes
    and writes a file in it."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


def append_row(path: str | Path, row: Any) -> None:
    """Add one row to a results CSV: under a lock, so that processes appending to one file at once lose no row, and
    replaced atomically, so that a kill leaves the old file or the new, never half of one."""
    path = Path(path)
    with _locked(path.parent):
        write_text(path, to_csv([*read_rows(path, type(row)), row]))


Job = tuple[str, Callable[[], Any]]
"""A study's job: the key of the row it makes (`row_key`) and the call that makes it."""


def run_jobs(path: str | Path, kind: type, jobs: Sequence[Job], progress: bool = True) -> list[Any]:
    """Run the jobs whose rows the results CSV lacks, appending each row as its job finishes; returns the jobs' rows in
    job order. A study stopped part-way (a closed laptop, a session's end) resumes where it stopped."""
    done = {row.key for row in read_rows(path, kind)}
    waiting = [(key, make) for key, make in jobs if key not in done]
    for key, make in tqdm(waiting, desc=f"{Path(path).stem}: jobs to run", disable=not progress or not waiting):
        row = make()
        if row.key != key:
            raise RuntimeError(f"a job keyed {key} made a row keyed {row.key}: the study's keys disagree")
        append_row(path, row)
    by_key = {row.key: row for row in read_rows(path, kind)}
    return [by_key[key] for key, _ in jobs]


def study_rows(path: str | Path, kind: type) -> list[Any]:
    """The rows a study's table is made of: of the rows in its CSV that fill one cell (`kind.cell(row)`: what the row
    measured, not its values), the one written last, in the order the cells first appear. A cell rerun after a version
    bump, or after rows gained keys, holds its newest row only."""
    newest = {}
    for row in read_rows(path, kind):
        newest[kind.cell(row)] = row
    return list(newest.values())


def write_results(prefix: str | Path, rows: Sequence[Any], markdown: str) -> None:
    """A study's outputs side by side, each written atomically: prefix.csv (the rows) and prefix.md (its table)."""
    out = Path(prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out.with_suffix(".csv"), to_csv(rows))
    write_text(out.with_suffix(".md"), markdown + "\n")


def committed_rows(path: Path, root: str, categories: Sequence[str], kind: type) -> list[Any] | None:
    """A committed result file's rows (of `kind`, the newest of each cell: `study_rows`) if it exists and describes
    these categories of the default data, else None."""
    if not path.is_file() or Path(root).resolve() != default_data_root().resolve():
        return None
    rows = study_rows(path, kind)
    return rows if {row.category for row in rows} == set(categories) else None
