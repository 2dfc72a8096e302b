"""Dense-scoring throughput at the paper's geometry (256 px, 32-px patches, stride 4: 57 x 57 patches per image), in
fp32 and bf16 side by side.

For each precision, in a process of its own (so that each peak memory is its own): patches/s of end-to-end dense
scoring (extraction, features, density, upsampling) and of the bare encoder forward on the same patch tensors at the
same precision, their ratio, seconds per 256 x 256 image and the peak resident memory (resource.getrusage:
tracemalloc does not see torch). Then the bf16/fp32 speed-up (last line, `speed-up: X.XX`). Where this CPU has no
native bfloat16, bf16 is emulated and slower: the script says so and still measures it. The AUROCs of both
precisions on trained models are `bench/precision_table.py`'s.

    PYTHONPATH=. .venv/bin/python bench/localize_throughput.py [--chunk 512] [--images 2] [--per-location] [--threads 1]
        [--out bench/results/localize_throughput.md]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

from cplib.data import read_image
from cplib.inference import encode
from cplib.localize import PatchLocalizer
from cplib.patches import Geometry, patch_chunks
from cplib.precision import native_precision
from cplib.staging import write_text
from cplib.synthetic import ensure_default_data
from cplib.train import PRECISIONS, TrainConfig, build_model


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
    """The encoder alone, at the localiser's precision, on the same patch tensors extracted beforehand in the same
    chunks."""
    g = localizer.geometry
    chunks = list(patch_chunks(images, g.patch, g.stride, localizer.chunk))

    def run() -> None:
        for patches in chunks:
            encode(localizer.model, patches, localizer.precision)

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
    parser.add_argument(
        "--per-location", action="store_true", help="one Gaussian per location (PCA 32) instead of shared"
    )
    parser.add_argument("--repeats", type=int, default=3, help="timings of each path; the fastest counts")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--only", choices=PRECISIONS, help="measure one precision in this process and print JSON")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    return parser.parse_args()


def fitted_localizer(args: argparse.Namespace) -> tuple[PatchLocalizer, torch.Tensor]:
    """A random-init network's localiser at the paper's geometry, fitted on clean capsule images, and test images."""
    torch.manual_seed(0)
    geometry = Geometry.at(256)
    model = build_model(TrainConfig(size=256, patch=geometry.patch)).eval()
    root = ensure_default_data(verbose=False)
    train = read_images(sorted((root / "capsule" / "train" / "good").glob("*.png"))[: args.fit_images])
    test = read_images(sorted((root / "capsule" / "test").glob("*/*.png"))[-args.images :])
    localizer = PatchLocalizer(model, geometry, shared=not args.per_location, chunk=args.chunk, precision=args.only)
    return localizer.fit(train), test


def measure(args: argparse.Namespace) -> dict[str, float]:
    """One precision's figures, measured in this process."""
    if args.threads:
        torch.set_num_threads(args.threads)
    localizer, test = fitted_localizer(args)
    g = localizer.geometry
    patches = len(test) * g.grid[0] * g.grid[1]
    bare = bare_forward(localizer, test)
    bare()  # warm-up: first calls of each shape pay one-time setup
    timings = best_seconds({"dense": lambda: localizer.anomaly_maps(test), "bare": bare}, args.repeats)
    return {
        "dense": patches / timings["dense"],
        "bare": patches / timings["bare"],
        "patches": patches,
        "seconds_per_image": timings["dense"] / len(test),
        "peak_gib": peak_rss_gib(),
        "threads": torch.get_num_threads(),
    }


def measure_apart(precision: str) -> dict[str, float]:
    """One precision's figures from a child process running this script with --only."""
    command = [sys.executable, __file__, *without_out(sys.argv[1:]), "--only", precision]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def without_out(options: list[str]) -> list[str]:
    """The command line's options minus --out and its value (a child process writes nothing)."""
    kept, skip = [], False
    for option in options:
        if not skip and option != "--out" and not option.startswith("--out="):
            kept.append(option)
        skip = option == "--out"
    return kept


def main() -> None:
    args = arguments()
    if args.only:
        print(json.dumps(measure(args)))
        return
    g = Geometry.at(256)
    density = "per-location (PCA 32)" if args.per_location else "shared 512-d"
    native = native_precision()
    results = {precision: measure_apart(precision) for precision in PRECISIONS}
    print(
        f"geometry: {g.size} px, patch {g.patch}, stride {g.stride}, grid {g.grid}, chunk {args.chunk}, "
        f"{density} Gaussian, "
        f"torch threads {results['fp32']['threads']}, {results['fp32']['patches']} patches"
    )
    print(
        "bf16 on this CPU: native"
        if native == "bf16"
        else "bf16 on this CPU: emulated (no native bfloat16), so slower than fp32"
    )
    lines = [
        "| precision | dense scoring, patches/s | bare forward, patches/s | dense / bare "
        "| s per 256² image | peak memory, GiB |",
        "|---|---|---|---|---|---|",
    ]
    for precision, r in results.items():
        lines.append(
            f"| {precision} | {r['dense']:,.0f} | {r['bare']:,.0f} | {r['dense'] / r['bare']:.2f} | "
            f"{r['seconds_per_image']:.2f} | {r['peak_gib']:.2f} |"
        )
    print("\n".join(lines))
    if args.out:
        write_text(args.out, "\n".join(lines) + "\n")
    print(f"speed-up: {results['bf16']['dense'] / results['fp32']['dense']:.2f}")


if __name__ == "__main__":
    main()
