"""Result rows on disk (cplib.experiments.results): CSV round trips, appends from processes at once, resumable jobs."""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from pathlib import Path

import pytest

from cplib.experiments.measurements import MadeBy
from cplib.experiments.results import append_row, from_csv, read_rows, run_jobs, study_rows, to_csv


@dataclass(frozen=True)
class Row:
    name: str
    value: float
    count: int
    key: str


@dataclass(frozen=True)
class Later:
    """A row type that gained its last fields after files of it were written."""

    name: str
    value: float
    cplib: str = ""
    key: str = ""

    def cell(self) -> str:
        return self.name


@dataclass(frozen=True)
class Made(MadeBy):
    """A row type whose fields that say what made it come from a base."""

    name: str
    value: float


def test_rows_round_trip_through_csv_text_with_commas_and_quotes() -> None:
    rows = [Row("plain", 0.1 + 0.2, 3, "a"), Row('warm-up, peak 0.1 "quoted"', -1e-300, 0, "b"), Row("", 5.0, 7, "c")]
    assert from_csv(to_csv(rows), Row) == rows


def _append_many(path: str, worker: int, count: int, start) -> None:
    start.wait()
    for index in range(count):
        append_row(Path(path), Row(f"worker {worker}", float(index), index, f"{worker}-{index}"))


def test_processes_appending_to_one_file_at_once_lose_no_row(tmp_path: Path) -> None:
    """Each append reads, adds and rewrites the file: without the lock, two writers overwrite each other's rows."""
    path, count, writers = tmp_path / "rows.csv", 150, (0, 1, 2)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(writers))
    workers = [context.Process(target=_append_many, args=(str(path), worker, count, start)) for worker in writers]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
        assert worker.exitcode == 0
    keys = [row.key for row in read_rows(path, Row)]
    assert sorted(keys) == sorted(f"{worker}-{index}" for worker in writers for index in range(count))
    assert [path.name] == [p.name for p in tmp_path.iterdir()]  # no lock or temporary file left beside it


def test_jobs_run_once_and_a_stopped_study_resumes(tmp_path: Path) -> None:
    path, made = tmp_path / "rows.csv", []

    def job(key: str, fail: bool = False):
        def make() -> Row:
            if fail:
                raise KeyboardInterrupt
            made.append(key)
            return Row(key, 1.0, 1, key)

        return key, make

    with pytest.raises(KeyboardInterrupt):
        run_jobs(path, Row, [job("a"), job("b"), job("c", fail=True)], progress=False)
    assert [row.key for row in read_rows(path, Row)] == ["a", "b"]  # the rows finished before the stop are kept
    rows = run_jobs(path, Row, [job("c"), job("b"), job("a")], progress=False)
    assert made == ["a", "b", "c"] and [row.key for row in rows] == ["c", "b", "a"]


def test_a_job_whose_row_carries_another_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="keys disagree"):
        run_jobs(tmp_path / "rows.csv", Row, [("a", lambda: Row("x", 0.0, 0, "b"))], progress=False)


def test_a_file_written_before_rows_had_keys_loads_and_a_study_reruns_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("name,value\na,1.0\nb,2.0\n")
    old = [Later("a", 1.0), Later("b", 2.0)]
    assert read_rows(path, Later) == old  # the later fields at their defaults
    rerun = Later("a", 3.0, "0.3.0", "key-a")
    assert run_jobs(path, Later, [("key-a", lambda: rerun)], progress=False) == [rerun]  # an empty key is never done
    assert path.read_text().splitlines()[0] == "name,value,cplib,key" and read_rows(path, Later) == [*old, rerun]
    assert from_csv(path.read_text(), Later) == [*old, rerun] and from_csv(to_csv(old), Later) == old
    assert study_rows(path, Later) == [rerun, old[1]]  # of a cell's rows, the one written last, where the cell began
    for header in ("value,name", "name", "name,value,key"):  # another order; a field without a default; a gap
        with pytest.raises(ValueError, match="not a Later CSV"):
            from_csv(f"{header}\n", Later)


def test_the_fields_a_row_shares_for_what_made_it_are_its_last_columns_and_may_be_missing() -> None:
    row = Made("a", 1.0, cpu="x", threads=2, key="k")
    assert to_csv([row]).splitlines() == ["name,value,cpu,isa,threads,torch,cplib,key", "a,1.0,x,,2,,,k"]
    assert from_csv(to_csv([row]), Made) == [row] and from_csv("name,value\na,1.0\n", Made) == [Made("a", 1.0)]
    with pytest.raises(ValueError, match="not a Made CSV"):
        from_csv("cpu,isa,threads,torch,cplib,key,name,value\n", Made)
