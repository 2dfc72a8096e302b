"""The grid on a real local Ray (ray.init(num_cpus=2)): the local launcher's rows, a killed worker retried, a resumed
grid training only what is missing, a broken job named while the others finish."""

from __future__ import annotations

import functools
import os
import signal
import sys
from pathlib import Path

import pytest
import torch

from cplib.experiments import grid
from cplib.experiments.launchers import run_grid
from cplib.experiments.measurements import RANDOM_INIT, Measurement
from cplib.experiments.results import read_rows, to_csv
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset

ray = pytest.importorskip("ray", reason="Ray is the optional extra cplib[cluster]; `make test` installs it")


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> None:
    """One local Ray for the module, with the test module's runners pickled by value (workers cannot import tests/)."""
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    counts = Counts(train=6, test_good=3, test_per_defect=2)
    return str(write_dataset(tmp_path_factory.mktemp("data") / "default", counts=counts))


def models(cache: Path) -> list[str]:
    return sorted(path.name for path in (cache / "models").glob("*.pt"))


def test_a_ray_grid_gives_the_rows_of_the_local_launcher(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = grid.grid_jobs(root, ["weave", "capsule"], get_profile("tiny"), [0, 1], ["cutout", "3way"])
    threads = torch.get_num_threads()
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "local-cache"))
    torch.set_num_threads(1)  # the thread count of a one-CPU Ray task
    try:
        assert run_grid(jobs, root, tmp_path / "local", "local", "cpu").failures == ()
    finally:
        torch.set_num_threads(threads)
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "ray-cache"))
    assert run_grid(jobs, root, tmp_path / "ray", "ray", "cpu", cpus_per_job=1).failures == ()
    local, on_ray = (
        grid.grid_rows(jobs, read_rows(tmp_path / name / grid.RESULTS, Measurement)) for name in ("local", "ray")
    )
    assert len(on_ray) == len(jobs) == 12 and to_csv(on_ray) == to_csv(
        local
    )  # as text: the random network's NaN accuracy
    assert len(models(tmp_path / "ray-cache")) == 8


def kill_once(marker: Path, job: grid.Job, root: str, device: str) -> Measurement:
    """Kills its own worker process the first time it runs (a node lost mid-job), then runs the job."""
    if not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return grid.run_job(job, root, device)


def test_a_killed_worker_is_retried_and_the_table_completes(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "cache"))
    jobs = grid.grid_jobs(root, ["weave"], get_profile("tiny"), [0], ["3way"])
    run = run_grid(jobs, root, tmp_path / "out", "ray", "cpu", functools.partial(kill_once, tmp_path / "killed"), 1)
    assert (tmp_path / "killed").exists() and run.failures == ()
    rows = read_rows(tmp_path / "out" / grid.RESULTS, Measurement)
    assert sorted(row.variant for row in rows) == ["3way", RANDOM_INIT]


def test_a_resumed_ray_grid_trains_only_what_is_missing(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("CPLIB_DATA_DIR", str(cache))
    first = grid.grid_jobs(root, ["weave"], get_profile("tiny"), [0], ["cutout", "3way"])
    assert run_grid(first, root, tmp_path / "out", "ray", "cpu", cpus_per_job=1).ran == 3
    for path in (cache / "models").glob("*.pt"):  # a job run again would have to train again
        path.unlink()
    both = grid.grid_jobs(root, ["weave"], get_profile("tiny"), [0, 1], ["cutout", "3way"])
    run = run_grid(both, root, tmp_path / "out", "ray", "cpu", cpus_per_job=1)
    assert (run.ran, run.skipped) == (3, 3) and len(models(cache)) == 2  # seed 1's cutout and 3-way only
    assert len(grid.grid_rows(both, read_rows(tmp_path / "out" / grid.RESULTS, Measurement))) == 6


def test_a_broken_job_on_ray_is_named_and_the_others_finish(
    mvtec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data"
    mvtec.category(data, "tiles", shape=(32, 32), train=4)
    mvtec.category(data, "broken", shape=(32, 32), train=4)
    (data / "broken" / "train" / "good" / "001.png").write_bytes(b"")
    jobs = grid.grid_jobs(str(data), ["broken", "tiles"], get_profile("tiny"), [0], ["3way"])
    run = run_grid(jobs, str(data), tmp_path / "out", "ray", "cpu", cpus_per_job=1)
    assert sorted(failure.job for failure in run.failures) == ["broken 3way seed 0", "broken random init seed 0"]
    assert all(failure.error.startswith("DataError: ") and "001.png" in failure.error for failure in run.failures)
    rows = read_rows(tmp_path / "out" / grid.RESULTS, Measurement)
    assert sorted((row.category, row.variant) for row in rows) == [("tiles", "3way"), ("tiles", RANDOM_INIT)]
