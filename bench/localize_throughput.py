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


def best_seconds(run: Callable[[], object], repeats: int) -> float:
    """The fastest of `repeats` timed runs: the machine is shared, so the minimum is the least disturbed."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


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
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    torch.manual_seed(0)
    geometry = Geometry.at(256)
    model = build_model(TrainConfig(size=256, patch=geometry.patch)).eval()
    root = ensure_default_data(verbose=False)
    train = load_split(root, "capsule", "train", 256).images[: args.fit_images]
    test = load_split(root, "capsule", "test", 256).images[-args.images :]
    localizer = PatchLocalizer(model, geometry, shared=not args.per_location, chunk=args.chunk).fit(train)
    patches = len(test) * geometry.grid[0] * geometry.grid[1]
    bare = bare_forward(localizer, test)
    bare()  # warm-up: first calls of each shape pay one-time setup

    dense_seconds = best_seconds(lambda: localizer.anomaly_maps(test), args.repeats)
    bare_seconds = best_seconds(bare, args.repeats)
    print(f"geometry: {geometry.size} px, patch {geometry.patch}, stride {geometry.stride}, grid {geometry.grid}, chunk {args.chunk}, "
          f"{'per-location (PCA 32)' if args.per_location else 'shared 512-d'} Gaussian, torch threads {torch.get_num_threads()}")
    print(f"dense scoring end to end: {patches / dense_seconds:8.0f} patches/s")
    print(f"bare encoder forward:     {patches / bare_seconds:8.0f} patches/s ({patches} patches)")
    print(f"seconds per 256x256 image at stride 4: {dense_seconds / len(test):.2f}")
    print(f"peak memory (ru_maxrss): {peak_rss_gib():.2f} GiB")
    print(f"ratio: {bare_seconds / dense_seconds:.2f}")


if __name__ == "__main__":
    main()
