"""Training throughput: the full CutPaste step vs. a bare ResNet-18 forward+backward on tensors of the same shape.

Prints images/s of both, measured alternately in the same run, for fp32 and bfloat16 autocast, channels-last and
contiguous, and ends with `ratio: X.XX` (full / bare; goal >= 0.85) for cplib's default setting: channels-last, with the
CPU profile's precision (bf16 where the CPU computes it natively, else fp32; see cplib.precision.native_precision).

    python bench/train_throughput.py [--size 64] [--batch 32] [--variant 3way] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch.nn import functional as F

from cplib.augment import num_classes
from cplib.profiles import get_profile
from cplib.train import PRECISIONS, build_model, train_step


def timed(step, repeats: int) -> float:
    """Median seconds of one call after one warm-up call."""
    step()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def measure(
    size: int, batch: int, variant: str, repeats: int, channels_last: bool, precision: str
) -> tuple[float, float]:
    """(full-step images/s, bare-step images/s) for one setting."""
    config = get_profile().config(variant, size=size, batch=batch, channels_last=channels_last, precision=precision)
    model = build_model(config)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9, weight_decay=3e-5)
    generator = torch.Generator().manual_seed(0)
    sources = torch.rand(batch, 3, size, size)
    views = batch * num_classes(variant)
    inputs = torch.rand(views, 3, size, size)
    labels = torch.randint(num_classes(variant), (views,))
    if channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)

    def full() -> None:
        train_step(model, optimiser, sources, config, generator)

    def bare() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = model(inputs)[1]
        loss = F.cross_entropy(logits.float(), labels)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()

    full_s, bare_s = [], []
    for _ in range(2):
        full_s.append(timed(full, repeats))
        bare_s.append(timed(bare, repeats))
    return views / min(full_s), views / min(bare_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=get_profile().size)
    parser.add_argument("--batch", type=int, default=get_profile().batch)
    parser.add_argument("--variant", default="3way")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.variant} at {args.size} px, "
        f"{args.batch} source images per step"
    )
    results = {}
    for precision in PRECISIONS:
        for channels_last in (True, False):
            full, bare = measure(args.size, args.batch, args.variant, args.repeats, channels_last, precision)
            results[precision, channels_last] = (full, bare)
            name = f"{precision}, {'channels-last' if channels_last else 'contiguous'}"
            print(
                f"{name:20s} full step {full:7.1f} img/s   "
                f"bare ResNet-18 step {bare:7.1f} img/s   ratio {full / bare:.2f}"
            )
    default = get_profile("cpu").config().precision
    full, bare = results[default, True]
    speedup = full / results["fp32", True][0]
    print(f"cplib's default here: {default}, channels-last ({speedup:.2f}x the fp32 full step)")
    print(f"ratio: {full / bare:.2f}")


if __name__ == "__main__":
    main()
