"""Training throughput: the full CutPaste step vs. a bare ResNet-18 forward+backward on tensors of the same shape.

Prints images/s of both, measured alternately in the same run, and ends with `ratio: X.XX` (full / bare; goal >= 0.85).
Also tries channels-last and bfloat16 autocast, which cplib keeps only where they speed up without costing AUROC.

    python bench/train_throughput.py [--size 64] [--batch 32] [--variant 3way] [--repeats 5]
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch
from torch.nn import functional as F

from cplib.augment import num_classes
from cplib.profiles import get_profile
from cplib.train import build_model, train_step


def timed(step, repeats: int) -> float:
    """Median seconds of one call after one warm-up call."""
    step()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def measure(size: int, batch: int, variant: str, repeats: int, channels_last: bool, bf16: bool) -> tuple[float, float]:
    """(full-step images/s, bare-step images/s) for one setting."""
    config = get_profile().config(variant, size=size, batch=batch, channels_last=channels_last)
    model = build_model(config)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9, weight_decay=3e-5)
    generator = torch.Generator().manual_seed(0)
    sources = torch.rand(batch, 3, size, size)
    views = batch * num_classes(variant)
    inputs = torch.rand(views, 3, size, size)
    labels = torch.randint(num_classes(variant), (views,))
    if channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    precision = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    def full() -> None:
        with precision:
            train_step(model, optimiser, sources, config, generator)

    def bare() -> None:
        with precision:
            loss = F.cross_entropy(model(inputs)[1], labels)
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
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.variant} at {args.size} px, {args.batch} source images per step")
    settings = [("fp32, channels-last", True, False), ("fp32, contiguous", False, False), ("bf16 autocast, channels-last", True, True)]
    results = {}
    for name, channels_last, bf16 in settings:
        full, bare = measure(args.size, args.batch, args.variant, args.repeats, channels_last, bf16)
        results[name] = (full, bare)
        print(f"{name:30s} full step {full:7.1f} img/s   bare ResNet-18 step {bare:7.1f} img/s   ratio {full / bare:.2f}")
    full, bare = results["fp32, channels-last"]
    print("cplib's default is fp32, channels-last (TrainConfig.channels_last)")
    print(f"ratio: {full / bare:.2f}")


if __name__ == "__main__":
    main()
