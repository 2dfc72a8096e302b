"""Table 1 as a grid of jobs (cplib.experiments.grid and .launchers, `python -m cplib table`) with the local launcher:
one row per job, a rerun resumes, a broken job is named and the others finish. tests/test_ray_grid.py runs the same on
Ray."""

from __future__ import annotations

import math
import multiprocessing
import sys
from pathlib import Path

import pytest

from cplib import checkpoint
from cplib.cli import main
from cplib.errors import ConfigError
from cplib.experiments import grid, results
from cplib.experiments.launchers import run_grid, task_options
from cplib.experiments.measurements import RANDOM_INIT, Measurement
from cplib.experiments.results import append_row, read_rows
from cplib.profiles import get_profile
from cplib.synthetic import Counts, ensure_default_data, write_dataset


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small default-style dataset (weave, granite, capsule)."""
    counts = Counts(train=6, test_good=3, test_per_defect=2)
    return str(write_dataset(tmp_path_factory.mktemp("data") / "default", counts=counts))


@pytest.fixture
def trainings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The jobs trained (category variant seed), into a model cache of this test's own."""
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "cache"))
    trained: list[str] = []
    real = checkpoint.train

    def train(config, device="cpu", progress=True):
        trained.append(f"{config.category} {config.variant} seed {config.seed}")
        return real(config, device, progress)

    monkeypatch.setattr(checkpoint, "train", train)
    return trained


def jobs(root: str, categories=("weave", "capsule"), seeds=(0, 1), variants=("cutout", "3way")) -> list[grid.Job]:
    return grid.grid_jobs(root, categories, get_profile("tiny"), seeds, variants)


def test_the_table_command_writes_one_row_per_job_and_a_rerun_runs_none(
    root: str, trainings: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    command = [
        "table",
        "--data",
        root,
        "--profile",
        "tiny",
        "--seeds",
        "0",
        "1",
        "--variants",
        "scar",
        "--categories",
        "weave",
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(command) == 0
    rows = read_rows(tmp_path / "out" / grid.RESULTS, Measurement)
    expected = [(RANDOM_INIT, 0), (RANDOM_INIT, 1), ("scar", 0), ("scar", 1)]
    assert sorted((row.variant, row.seed) for row in rows) == expected
    table = (tmp_path / "out" / grid.TABLE).read_text()
    assert "| variant (2 seeds) | weave | paper MVTec mean |" in table and "| 85.0 |" in table
    assert main(command) == 0
    assert "0 jobs run, 4 had rows already" in capsys.readouterr().out and len(trainings) == 2


def test_an_interrupted_grid_reruns_only_the_jobs_without_rows(root: str, trainings: list[str], tmp_path: Path) -> None:
    grid_jobs = jobs(root)
    started: list[str] = []

    def stop_at_the_fifth(job: grid.Job, root: str, device: str) -> Measurement:
        if len(started) == 4:
            raise KeyboardInterrupt
        started.append(job.name)
        return grid.run_job(job, root, device)

    with pytest.raises(KeyboardInterrupt):
        run_grid(grid_jobs, root, tmp_path / "out", runner=stop_at_the_fifth)
    done = read_rows(tmp_path / "out" / grid.RESULTS, Measurement)
    assert [f"{row.category} {row.variant} seed {row.seed}" for row in done] == started
    trained_before = list(trainings)
    run = run_grid(grid_jobs, root, tmp_path / "out")
    assert (run.ran, run.skipped, run.failures) == (len(grid_jobs) - 4, 4, ())
    missing = [job.name for job in grid_jobs[4:] if not job.random_init]
    assert trainings[len(trained_before) :] == missing
    assert len(read_rows(tmp_path / "out" / grid.RESULTS, Measurement)) == len(grid_jobs)


def test_a_job_with_broken_data_is_named_and_the_others_finish(
    root: str, mvtec, trainings: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "data"
    mvtec.category(data, "tiles", shape=(32, 32), train=4)
    mvtec.category(data, "broken", shape=(32, 32), train=4)
    (data / "broken" / "train" / "good" / "000.png").write_bytes(b"not a png")
    command = [
        "table",
        "--data",
        str(data),
        "--profile",
        "tiny",
        "--seeds",
        "0",
        "--variants",
        "3way",
        "--out",
        str(tmp_path / "out"),
    ]
    assert main(command) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("cplib: error: 2 of 4 jobs failed (broken random init seed 0: DataError: ")
    assert "broken 3way seed 0: DataError: " in error and "000.png" in error
    rows = read_rows(tmp_path / "out" / grid.RESULTS, Measurement)
    assert sorted((row.category, row.variant) for row in rows) == [("tiles", "3way"), ("tiles", RANDOM_INIT)]


def test_the_table_command_names_an_unknown_category(root: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["table", "--data", root, "--categories", "wood", "--out", str(tmp_path / "out")]) == 2
    assert "--categories wood: not under" in capsys.readouterr().err


def test_the_ray_launcher_without_ray_says_how_to_install_it(
    root: str, tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    command = [
        "table",
        "--data",
        root,
        "--profile",
        "tiny",
        "--categories",
        "weave",
        "--launcher",
        "ray",
        "--out",
        str(tmp_path),
    ]
    assert main(command) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "pip install 'cplib[cluster]'" in error


def test_task_options_take_a_gpu_per_job_where_the_cluster_has_gpus() -> None:
    assert task_options({"CPU": 32.0, "GPU": 4.0}, "auto", None) == ({"num_gpus": 1, "num_cpus": 8}, "cuda")
    assert task_options({"CPU": 32.0, "GPU": 4.0}, "cuda", 2) == ({"num_gpus": 1, "num_cpus": 2}, "cuda")
    assert task_options({"CPU": 32.0, "GPU": 4.0}, "cpu", None) == ({"num_cpus": 1}, "cpu")
    assert task_options({"CPU": 8.0}, "auto", None) == ({"num_cpus": 1}, "cpu")
    with pytest.raises(ConfigError, match="no GPU"):
        task_options({"CPU": 8.0}, "cuda", None)


def test_grid_table_adds_the_papers_mean_and_for_mvtec_names_its_per_category_3way_row() -> None:
    rows = [
        Measurement(variant, "capsule", seed, 4, 32, auroc, 0.5, "fp32")
        for variant, auroc in ((RANDOM_INIT, 0.6), ("3way", 0.9))
        for seed in (0, 1)
    ]
    lines = grid.grid_table(rows, mvtec_names=True).splitlines()
    assert lines[0] == "| variant (2 seeds) | capsule | paper MVTec mean |"
    assert lines[2:] == ["| random init | 60.0 ± 0.0 | — |", "| 3way | 90.0 ± 0.0 | 95.2 |", "| paper 3-way | 96.2 | |"]
    assert grid.grid_table(rows, mvtec_names=False).splitlines() == lines[:-1]


def _table_of(root: str, out: Path) -> str:
    """The grid table write_table makes for capsule on `root`, from rows written beside it without training."""
    jobs = grid.grid_jobs(root, ["capsule"], get_profile("tiny"), [0], ["3way"])
    for job in jobs:
        append_row(
            out / grid.RESULTS, Measurement(job.variant, "capsule", 0, 4, 32, 0.7, math.nan, "fp32", key=job.key)
        )
    return grid.write_table(out, jobs, "title")


def test_the_papers_capsule_row_is_for_mvtec_data_never_for_data_cplib_drew(mvtec, tmp_path: Path) -> None:
    drawn = ensure_default_data(
        tmp_path / "drawn", counts=Counts(train=2, test_good=1, test_per_defect=1), verbose=False
    )
    other = tmp_path / "mvtec"
    mvtec.category(other, "capsule", shape=(32, 32), train=2)
    assert grid.drawn_by_cplib(drawn) and not grid.drawn_by_cplib(other)
    assert "paper 3-way" not in _table_of(str(drawn), tmp_path / "drawn-out")
    assert "| paper 3-way | 96.2 | |" in _table_of(str(other), tmp_path / "mvtec-out")


def test_a_grid_on_other_data_into_the_same_folder_runs_its_own_jobs_and_tables_its_own_rows(
    root: str, trainings: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The same category names, other images: none of the first grid's rows is the second's."""
    other = str(write_dataset(tmp_path / "other", seed=1, counts=Counts(train=6, test_good=3, test_per_defect=2)))
    out = tmp_path / "out"
    options = ["--profile", "tiny", "--seeds", "0", "--variants", "scar", "--categories", "weave", "--out", str(out)]
    assert main(["table", "--data", root, *options]) == 0
    capsys.readouterr()
    assert main(["table", "--data", other, *options]) == 0
    assert "2 jobs run, 0 had rows already" in capsys.readouterr().out and len(trainings) == 2
    jobs = grid.grid_jobs(other, ["weave"], get_profile("tiny"), [0], ["scar"])
    rows = read_rows(out / grid.RESULTS, Measurement)
    assert len(rows) == 4 and len({row.key for row in rows}) == 4
    title, table = (out / grid.TABLE).read_text().split("\n\n", 1)
    assert other in title and table == grid.grid_table(grid.grid_rows(jobs, rows), mvtec_names=True) + "\n"
    assert grid.grid_rows(jobs, rows) == rows[2:]


def test_a_cplib_version_bump_makes_every_row_missing(
    root: str, trainings: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    assert run_grid(jobs(root, ["weave"], [0], ["3way"]), root, out).ran == 2
    assert run_grid(jobs(root, ["weave"], [0], ["3way"]), root, out).ran == 0
    monkeypatch.setattr(results, "__version__", "99.0")  # where row_key reads it (the model cache keeps its models)
    bumped = jobs(root, ["weave"], [0], ["3way"])
    assert grid.pending(bumped, read_rows(out / grid.RESULTS, Measurement)) == bumped
    assert run_grid(bumped, root, out).ran == 2 and len(trainings) == 1
    assert [row.cplib for row in grid.grid_rows(bumped, read_rows(out / grid.RESULTS, Measurement))] == ["99.0"] * 2


def _fake_row(job: grid.Job, root: str, device: str) -> Measurement:
    """A job's row without training: what the grid's bookkeeping needs."""
    return Measurement(job.variant, job.config.category, job.config.seed, 0, 32, 0.5, math.nan, "fp32", key=job.key)


def _run_grid_from(root: str, out: str, seeds: list[int], start) -> None:
    start.wait()
    run = run_grid(jobs(root, ["weave"], seeds, ["3way"]), root, Path(out), runner=_fake_row)
    assert run.failures == ()


def test_two_processes_running_grids_into_one_folder_lose_no_row(root: str, tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    halves = (list(range(0, 40)), list(range(40, 80)))
    workers = [
        context.Process(target=_run_grid_from, args=(root, str(tmp_path / "out"), seeds, start)) for seeds in halves
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
        assert worker.exitcode == 0
    expected = jobs(root, ["weave"], range(80), ["3way"])
    rows = read_rows(tmp_path / "out" / grid.RESULTS, Measurement)
    assert sorted(row.key for row in rows) == sorted(job.key for job in expected) and len(rows) == 160
