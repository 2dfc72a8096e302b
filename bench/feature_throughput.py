"""Image feature extraction throughput (`cplib.evaluate.extract_features`: the GDE features, t-SNE, the Detector) in
fp32 and bf16 side by side, in one run, on the same images.

Prints images/s of both precisions at each size, interleaved best-of timings, and the bf16/fp32 speed-up (last line,
`speed-up: X.XX` at the first size). Where this CPU has no native bfloat16 the script says so and still measures it.
The AUROCs of both precisions on trained models are `bench/precision_table.py`'s.

    PYTHONPATH=. .venv/bin/python bench/feature_throughput.py [--sizes 256 64] [--images 128] [--threads 1]
        [--out bench/results/feature_throughput.md]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from cplib.data import read_image
from cplib.evaluate import extract_features
from cplib.precision import native_precision
from cplib.staging import write_text
from cplib.synthetic import ensure_default_data
from cplib.train import PRECISIONS, TrainConfig, build_model


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 64], help="image sizes, px (256: paper, 64: cpu)")
    parser.add_argument("--images", type=int, default=128, help="images per timing (one extract_features batch)")
    parser.add_argument("--repeats", type=int, default=3, help="timings of each precision; the fastest counts")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    parser.add_argument("--out", type=Path, help="also write the table to this Markdown file")
    return parser.parse_args()


def images_per_second(size: int, count: int, repeats: int) -> dict[str, float]:
    """images/s of extract_features at each precision on `count` capsule training images at `size` px."""
    torch.manual_seed(0)
    model = build_model(TrainConfig(size=size)).eval()
    paths = sorted((ensure_default_data(verbose=False) / "capsule" / "train" / "good").glob("*.png"))
    images = torch.stack([read_image(paths[i % len(paths)], size) for i in range(count)])
    for precision in PRECISIONS:  # warm-up: first calls of each shape pay one-time setup
        extract_features(model, images[:8], precision=precision)
    best = {precision: float("inf") for precision in PRECISIONS}
    for _ in range(repeats):
        for precision in PRECISIONS:
            started = time.perf_counter()
            extract_features(model, images, batch_size=count, precision=precision)
            best[precision] = min(best[precision], time.perf_counter() - started)
    return {precision: count / seconds for precision, seconds in best.items()}


def main() -> None:
    args = arguments()
    if args.threads:
        torch.set_num_threads(args.threads)
    native = native_precision()
    print(f"torch threads {torch.get_num_threads()}, {args.images} images per timing, best of {args.repeats}")
    print(
        "bf16 on this CPU: native"
        if native == "bf16"
        else "bf16 on this CPU: emulated (no native bfloat16), so slower than fp32"
    )
    lines = ["| size | fp32, images/s | bf16, images/s | bf16 / fp32 |", "|---|---|---|---|"]
    speedups = []
    for size in args.sizes:
        rate = images_per_second(size, args.images, args.repeats)
        speedups.append(rate["bf16"] / rate["fp32"])
        lines.append(f"| {size} | {rate['fp32']:,.0f} | {rate['bf16']:,.0f} | {speedups[-1]:.2f} |")
    print("\n".join(lines))
    if args.out:
        write_text(args.out, "\n".join(lines) + "\n")
    print(f"speed-up: {speedups[0]:.2f}")


if __name__ == "__main__":
    main()
