"""Speed of the natural fakes (cplib.natural_fakes) against CutPaste on the same batch: median seconds per call over
alternating repeats (so that a busy machine slows all of them alike), and each one's ratio to CutPaste's.

    python bench/fakes_throughput.py [--batch 96] [--sizes 64 256] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch

from cplib.augment import cutpaste
from cplib.natural_fakes import perlin_paste, seamless_paste

AUGMENTATIONS = {"cutpaste": cutpaste, "seamless": seamless_paste, "perlin": perlin_paste}


def medians(images: torch.Tensor, repeats: int) -> dict[str, float]:
    """Median seconds of one call of each augmentation, after one warm-up call each, the calls interleaved."""
    times: dict[str, list[float]] = {name: [] for name in AUGMENTATIONS}
    for augmentation in AUGMENTATIONS.values():
        augmentation(images, torch.Generator().manual_seed(0))
    for repeat in range(repeats):
        for name, augmentation in AUGMENTATIONS.items():
            generator = torch.Generator().manual_seed(repeat + 1)
            started = time.perf_counter()
            augmentation(images, generator)
            times[name].append(time.perf_counter() - started)
    return {name: sorted(values)[len(values) // 2] for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=96)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"torch threads: {torch.get_num_threads()}; batch {args.batch}, median of {args.repeats}")
    print(
        "| size | "
        + " | ".join(f"{name} (s)" for name in AUGMENTATIONS)
        + " | seamless / cutpaste | perlin / cutpaste |"
    )
    print("|---" * (len(AUGMENTATIONS) + 3) + "|")
    for size in args.sizes:
        images = torch.rand(args.batch, 3, size, size, generator=torch.Generator().manual_seed(size))
        seconds = medians(images, args.repeats)
        cells = [f"{seconds[name]:.3f}" for name in AUGMENTATIONS]
        ratios = [f"{seconds[name] / seconds['cutpaste']:.2f}" for name in ("seamless", "perlin")]
        print(f"| {size} | " + " | ".join(cells + ratios) + " |")


if __name__ == "__main__":
    main()
