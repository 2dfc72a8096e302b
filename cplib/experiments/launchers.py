"""Running a grid of jobs (cplib.experiments.grid): in this process, or as Ray tasks on whatever cluster Ray finds.

Both launchers hand each finished row to `record` at once and go on past a failed job; the failures come back as one
line each, naming the job. Ray is optional (``pip install cplib[cluster]``) and imported only by the Ray launcher:
``ray.init()`` connects to the cluster in RAY_ADDRESS, or to one started with ``ray start`` on this machine, or starts
a local one. A task whose worker dies (killed, out of memory, node lost) is retried MAX_RETRIES times; an exception
raised by the job itself (broken data, a diverged training) is not, since it would fail again.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..errors import ConfigError
from ..profiles import resolve_device
from .grid import RESULTS, Job, pending, run_job
from .measurements import Measurement
from .results import append_row, read_rows

Runner = Callable[[Job, str, str], Measurement]
Record = Callable[[Measurement], None]
LAUNCHERS = ("local", "ray")
MAX_RETRIES = 3
INSTALL_RAY = "--launcher ray needs Ray: pip install 'cplib[cluster]' (or pip install ray), or use --launcher local"


@dataclass(frozen=True)
class Failure:
    """A job that did not produce its row, and the error's first line."""

    job: str
    error: str

    def describe(self) -> str:
        return f"{self.job}: {self.error}"


@dataclass(frozen=True)
class GridRun:
    """What one run of a grid did: how many jobs it ran (the others had rows already) and which failed."""

    ran: int
    skipped: int
    failures: tuple[Failure, ...]


def one_line(error: BaseException) -> str:
    """An exception as "Type: first line of its message"."""
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


def run_grid(
    jobs: Sequence[Job],
    root: str,
    out: Path,
    launcher: str = "local",
    device: str = "auto",
    runner: Runner = run_job,
    cpus_per_job: int | None = None,
) -> GridRun:
    """Run the jobs whose rows out/RESULTS lacks with `launcher`, appending each row as it comes; skip the others."""
    if launcher not in LAUNCHERS:
        raise ConfigError(f"unknown launcher {launcher!r}: use one of {', '.join(LAUNCHERS)}")
    out.mkdir(parents=True, exist_ok=True)
    results = out / RESULTS
    todo = pending(jobs, read_rows(results, Measurement))
    record = lambda row: append_row(results, row)  # noqa: E731
    if not todo:
        return GridRun(0, len(jobs), ())
    if launcher == "local":
        failures = run_local(todo, root, resolve_device(device), record, runner)
    else:
        failures = run_ray(todo, root, device, record, runner, cpus_per_job)
    return GridRun(len(todo), len(jobs) - len(todo), tuple(failures))


def _report(bar: tqdm, failure: Failure) -> Failure:
    bar.write(f"failed: {failure.describe()}")
    return failure


def run_local(jobs: Sequence[Job], root: str, device: str, record: Record, runner: Runner = run_job) -> list[Failure]:
    """The jobs one after another in this process, on its torch threads."""
    failures = []
    with tqdm(jobs, desc="grid", unit="job") as bar:
        for job in bar:
            try:
                row = runner(job, root, device)
            except Exception as error:  # one job's failure, whatever it is, must not end the grid
                failures.append(_report(bar, Failure(job.name, one_line(error))))
                continue
            record(row)
    return failures


def import_ray() -> Any:
    """The ray module, or a ConfigError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(INSTALL_RAY) from None
    return ray


def task_options(resources: Mapping[str, float], device: str, cpus_per_job: int | None) -> tuple[dict[str, Any], str]:
    """Ray options of one job and the device it runs on, from the cluster's resources and the device setting.

    "auto" takes a GPU per job where the cluster has GPUs; a GPU job gets the cluster's CPUs per GPU unless cpus_per_job
    is given, a CPU job one CPU (many jobs side by side, each on one thread).
    """
    gpus, cpus = resources.get("GPU", 0), resources.get("CPU", 1)
    on_gpu = device.startswith("cuda") or (device == "auto" and gpus > 0)
    if on_gpu and gpus == 0:
        raise ConfigError(f"--device {device}: the Ray cluster has no GPU; use --device auto or cpu")
    if on_gpu:
        return {"num_gpus": 1, "num_cpus": cpus_per_job or max(1, int(cpus // gpus))}, "cuda"
    return {"num_cpus": cpus_per_job or 1}, "cpu" if device == "auto" else device


def run_in_worker(
    job: Job, root: str, device: str, threads: int, environment: Mapping[str, str], runner: Runner
) -> Measurement:
    """One job inside a Ray worker: the driver's CPLIB_* settings, torch on the task's CPUs, then the job."""
    os.environ.update(environment)
    torch.set_num_threads(threads)
    return runner(job, root, device)


def run_ray(
    jobs: Sequence[Job],
    root: str,
    device: str,
    record: Record,
    runner: Runner = run_job,
    cpus_per_job: int | None = None,
) -> list[Failure]:
    """One Ray task per job on the cluster ray.init() finds; rows are recorded in the order the tasks finish."""
    ray = import_ray()
    if not ray.is_initialized():
        ray.init()
    options, task_device = task_options(ray.cluster_resources(), device, cpus_per_job)
    task = ray.remote(max_retries=MAX_RETRIES)(run_in_worker).options(**options)
    environment = {name: value for name, value in os.environ.items() if name.startswith("CPLIB_")}
    running = {task.remote(job, root, task_device, options["num_cpus"], environment, runner): job for job in jobs}
    failures = []
    per_job = f"{options['num_cpus']} CPU" + (", 1 GPU" if "num_gpus" in options else "")
    with tqdm(total=len(jobs), desc=f"grid on Ray ({per_job} a job)", unit="job") as bar:
        while running:
            (finished,), _ = ray.wait(list(running), num_returns=1)
            job = running.pop(finished)
            try:
                record(ray.get(finished))
            except ray.exceptions.RayError as error:
                failures.append(_report(bar, Failure(job.name, one_line(getattr(error, "cause", None) or error))))
            bar.update()
    return failures
