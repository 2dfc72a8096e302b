"""Dense-scoring throughput at the paper's geometry (256 px, 32-px patches, stride 4: 57 x 57 patches per image).

Prints patches/s of end-to-end dense scoring (extraction, features, density, upsampling) and of the bare encoder
forward on the same number of patch tensors in the same run, their ratio (last line, `ratio: X.XX`), seconds per
256 x 256 image and the process's peak resident memory (resource.getrusage: tracemalloc does not see torch).

    PYTHONPATH=. .venv/bin/python bench/localize_throughput.py [--chunk 512] [--images 2] [--per-location]
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable

import torch

from cplib.data import load_split
from cplib.localize import Geometry, PatchLocalizer, patch_chunks
from cplib.profiles import TrainConfig
from cplib.synthetic import ensure_default_data
from cplib.train import build_model


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


def peak_rss_gib() -> float:
    """Peak resident set size of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk", type=int, default=512, help="patches per encoder call (memory bound)")
    parser.add_argument("--images", type=int, default=2, help="test images scored")
    parser.add_argument("--fit-images", type=int, default=8, help="clean images the density is fitted on")
    parser.add_argument("--per-location", action="store_true", help="one Gaussian per location (PCA 32) instead of shared")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    torch.manual_seed(0)
    geometry = Geometry.at(256)
    model = build_model(TrainConfig(size=256, patch=geometry.patch)).eval()
    root = ensure_default_data(verbose=False)
    train = load_split(root, "capsule", "train", 256).images[: args.fit_images]
    test = load_split(root, "capsule", "test", 256).images[-args.images :]
    localizer = PatchLocalizer(model, geometry, shared=not args.per_location, chunk=args.chunk).fit(train)
    fitted_rss = peak_rss_gib()
    patches = len(test) * geometry.grid[0] * geometry.grid[1]
    bare = bare_forward(localizer, test)
    bare()  # warm-up: first calls of each shape pay one-time setup

    timings = best_seconds({"dense": lambda: localizer.anomaly_maps(test), "bare": bare}, args.repeats)
    dense_seconds, bare_seconds = timings["dense"], timings["bare"]
    print(f"geometry: {geometry.size} px, patch {geometry.patch}, stride {geometry.stride}, grid {geometry.grid}, chunk {args.chunk}, "
          f"{'per-location (PCA 32)' if args.per_location else 'shared 512-d'} Gaussian, torch threads {torch.get_num_threads()}")
    print(f"dense scoring end to end: {patches / dense_seconds:8.0f} patches/s")
    print(f"bare encoder forward:     {patches / bare_seconds:8.0f} patches/s ({patches} patches)")
    print(f"seconds per 256x256 image at stride 4: {dense_seconds / len(test):.2f}")
    print(f"peak memory (ru_maxrss): {peak_rss_gib():.2f} GiB ({fitted_rss:.2f} GiB after loading data and fitting)")
    print(f"ratio: {bare_seconds / dense_seconds:.2f}")


if __name__ == "__main__":
    main()
