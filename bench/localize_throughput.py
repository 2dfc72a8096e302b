"""Dense-scoring throughput at the paper's geometry (256 px, 32-px patches, stride 4: 57 x 57 patches per image).

Prints patches/s of end-to-end dense scoring (extraction, features, density, upsampling) and of the bare encoder
forward on the same number of patch tensors in the same run, their ratio (last line, `ratio: X.XX`), seconds per
256 x 256 image and the process's peak resident memory (resource.getrusage: tracemalloc does not see torch).

    PYTHONPATH=. .venv/bin/python bench/localize_throughput.py [--chunk 512] [--images 2] [--per-location] [--threads 1]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from pathlib import Path

import torch

from cplib.data import read_image
from cplib.localize import PatchLocalizer
from cplib.patches import Geometry, patch_chunks
from cplib.synthetic import ensure_default_data
from cplib.train import TrainConfig, build_model


def seconds(run: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def best_seconds(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """The fastest of `repeats` timings of each run, interleaved so that both see the same load on a shared machine."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(seconds(run))
    return {name: min(values) for name, values in times.items()}


def bare_forward(localizer: PatchLocalizer, images: torch.Tensor) -> Callable[[], None]:
    """The encoder alone on the same patch tensors, extracted beforehand in the same chunks."""
    g = localizer.geometry
    chunks = [patches.contiguous(memory_format=torch.channels_last) for patches in patch_chunks(images, g.patch, g.stride, localizer.chunk)]

    @torch.inference_mode()
    def run() -> None:
        for patches in chunks:
            localizer.model.features(patches)

    return run


def read_images(paths: list[Path]) -> torch.Tensor:
    """Only the images the bench uses, at 256 px (loading a whole split would dominate the memory figure)."""
    return torch.stack([read_image(path, 256) for path in paths])


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=512, help="patches per encoder call (the memory bound)")
    parser.add_argument("--images", type=int, default=2, help="test images scored")
    parser.add_argument("--fit-images", type=int, default=8, help="clean images the density is fitted on")
    parser.add_argument("--per-location", action="store_true", help="one Gaussian per location (PCA 32) instead of shared")
    parser.add_argument("--repeats", type=int, default=3, help="timings of each path; the fastest counts")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    return parser.parse_args()


def fitted_localizer(args: argparse.Namespace) -> tuple[PatchLocalizer, torch.Tensor]:
    """A random-init network's localiser at the paper's geometry, fitted on clean capsule images, and test images."""
    torch.manual_seed(0)
    geometry = Geometry.at(256)
    model = build_model(TrainConfig(size=256, patch=geometry.patch)).eval()
    root = ensure_default_data(verbose=False)
    train = read_images(sorted((root / "capsule" / "train" / "good").glob("*.png"))[: args.fit_images])
    test = read_images(sorted((root / "capsule" / "test").glob("*/*.png"))[-args.images :])
    localizer = PatchLocalizer(model, geometry, shared=not args.per_location, chunk=args.chunk)
    return localizer.fit(train), test


def main() -> None:
    args = arguments()
    if args.threads:
        torch.set_num_threads(args.threads)
    baseline_rss = peak_rss_gib()
    localizer, test = fitted_localizer(args)
    fitted_rss = peak_rss_gib()
    g = localizer.geometry
    patches = len(test) * g.grid[0] * g.grid[1]
    bare = bare_forward(localizer, test)
    bare()  # warm-up: first calls of each shape pay one-time setup
    timings = best_seconds({"dense": lambda: localizer.anomaly_maps(test), "bare": bare}, args.repeats)
    density = "per-location (PCA 32)" if args.per_location else "shared 512-d"
    print(f"geometry: {g.size} px, patch {g.patch}, stride {g.stride}, grid {g.grid}, chunk {args.chunk}, {density} Gaussian, "
          f"torch threads {torch.get_num_threads()}")
    print(f"dense scoring end to end: {patches / timings['dense']:8.0f} patches/s")
    print(f"bare encoder forward:     {patches / timings['bare']:8.0f} patches/s ({patches} patches)")
    print(f"seconds per 256x256 image at stride 4: {timings['dense'] / len(test):.2f}")
    print(f"peak memory (ru_maxrss): {peak_rss_gib():.2f} GiB (after imports {baseline_rss:.2f}, after loading and fitting {fitted_rss:.2f})")
    print(f"ratio: {timings['bare'] / timings['dense']:.2f}")


if __name__ == "__main__":
    main()
