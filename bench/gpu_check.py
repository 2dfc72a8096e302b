"""The GPU path in one run: the paper profile's 3-way model at 256 px trained through cplib.train on the default data,
the full step's images/s against a bare ResNet-18 step on the same shapes, dense features at stride 4 per image, a 2-job
Ray grid. Meant for a machine with a GPU (a few minutes); --tiny runs every step small on the CPU, as the tests do.

On a machine without internet, install the carried wheels first (Ray and its needs, cplib itself):

    python3 -m pip install --no-index --find-links .whl ray && python3 -m pip install --no-deps -e .
    python3 bench/gpu_check.py --steps 300            # CUDA, bf16 autocast, channels-last
    python3 bench/gpu_check.py --tiny --device cpu    # every step small, on the CPU
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn import functional as F

from cplib.augment import num_classes
from cplib.errors import CplibError
from cplib.experiments.grid import grid_jobs
from cplib.experiments.launchers import run_grid
from cplib.patches import dense_features
from cplib.profiles import get_profile, resolve_device
from cplib.synthetic import ensure_default_data
from cplib.train import TrainConfig, build_model, train, train_step

CATEGORY = "capsule"


def synchronise(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(step: Callable[[], object], device: str, repeats: int) -> float:
    """Fastest seconds of one call, after one warm-up call, the device's queue drained around each."""
    step()
    times = []
    for _ in range(repeats):
        synchronise(device)
        started = time.perf_counter()
        step()
        synchronise(device)
        times.append(time.perf_counter() - started)
    return min(times)


def check_config(size: int, batch: int, steps: int) -> TrainConfig:
    """The paper profile's 3-way config at this scale: bf16 autocast, channels-last (TrainConfig's default)."""
    return get_profile("paper").config("3way", CATEGORY, size=size, batch=batch, steps=steps, precision="bf16")


def training_rate(config: TrainConfig, device: str) -> tuple[float, float]:
    """(seconds, images/s over all views) of cplib.train's loop for the config on the default data."""
    synchronise(device)
    started = time.perf_counter()
    _, history = train(config, device, progress=False)
    synchronise(device)
    seconds = time.perf_counter() - started
    return seconds, len(history.loss) * config.batch * num_classes(config.variant) / seconds


def step_rates(config: TrainConfig, device: str, repeats: int) -> tuple[float, float]:
    """(full step, bare ResNet-18 step) images/s on the same shapes: the proxy batch made from source images on the
    device and the update, against forward, backward and update of ready inputs."""
    model = build_model(config).to(device)
    optimiser = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    generator = torch.Generator().manual_seed(0)
    sources = torch.rand(config.batch, 3, config.size, config.size, device=device)
    views = config.batch * num_classes(config.variant)
    inputs = torch.rand(views, 3, config.size, config.size, device=device).contiguous(memory_format=torch.channels_last)
    labels = torch.randint(num_classes(config.variant), (views,), device=device)

    def bare() -> None:
        with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
            logits = model(inputs)[1]
        loss = F.cross_entropy(logits.float(), labels)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    full = timed(lambda: train_step(model, optimiser, sources, config, generator), device, repeats)
    return views / full, views / timed(bare, device, repeats)


def dense_seconds(config: TrainConfig, device: str, patch: int, stride: int, images: int = 2) -> float:
    """Seconds per image of the dense features of every patch at `stride` (the encoder pass of dense scoring)."""
    model = build_model(config).to(device).eval()
    batch = torch.rand(images, 3, config.size, config.size, device=device)
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
        return timed(lambda: dense_features(model, batch, patch, stride), device, 2) / images


def ray_grid(root: str, device: str, out: Path) -> str:
    """A 2-job grid (the random network and the 3-way model of one seed, tiny profile) on a local Ray."""
    jobs = grid_jobs(root, [CATEGORY], get_profile("tiny"), [0], ["3way"])
    started = time.perf_counter()
    run = run_grid(jobs, root, out, "ray", device)
    failed = "; ".join(failure.describe() for failure in run.failures) or "none failed"
    return f"{run.ran} jobs in {time.perf_counter() - started:.0f} s ({failed})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", help="default: $CPLIB_DEVICE, else CUDA where present")
    parser.add_argument("--steps", type=int, default=300, help="training steps of the 3-way model")
    parser.add_argument("--tiny", action="store_true", help="64 px, 4 sources, 2 steps: the CPU parts, in seconds")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray grid")
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device, get_profile("paper"))
        config = check_config(64, 4, 2) if args.tiny else check_config(256, 32, args.steps)
        root = str(ensure_default_data())
        name = torch.cuda.get_device_name() if device.startswith("cuda") else "CPU"
        print(
            f"torch {torch.__version__} on {device} ({name}); 3-way at {config.size} px, {config.batch} sources a step"
        )
        seconds, rate = training_rate(config.with_(data_root=root), device)
        print(f"training: {config.steps} steps in {seconds:.1f} s, {rate:.0f} img/s")
        full, bare = step_rates(config, device, 2 if args.tiny else 10)
        print(f"full step {full:.0f} img/s, bare ResNet-18 step {bare:.0f} img/s, ratio {full / bare:.2f} (goal 0.85)")
        patch = 32
        seconds = dense_seconds(config, device, patch, 4)
        print(f"dense features, {patch}-px patches at stride 4: {seconds:.3f} s per image")
        if not args.no_ray:
            with tempfile.TemporaryDirectory() as out:
                print("Ray grid:", ray_grid(root, device, Path(out)))
    except CplibError as error:
        print(f"gpu_check: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
