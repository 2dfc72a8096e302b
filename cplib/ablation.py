"""The paper's Table 1 as code: every proxy task on every category, image AUROC, next to the published averages; the same
over several seeds (mean ± sd, against the random network), and image AUROC against training length."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from .checkpoint import get_or_train
from .evaluate import evaluate_model, random_init_baseline
from .paper import IMAGE_AUROC_3WAY, IMAGE_AUROC_TABLE1
from .profiles import Profile
from .train import TrainConfig, final_accuracy

TABLE1_VARIANTS = ("cutout", "scar", "cutpaste", "cutpaste-scar", "3way")


def run_ablation(
    root: str, categories: Sequence[str], profile: Profile, variants: Sequence[str] = TABLE1_VARIANTS, device: str = "cpu", seed: int = 0
) -> dict[str, dict[str, float]]:
    """Image AUROC of each variant on each category: results[variant][category] (models from the cache, else trained)."""
    results: dict[str, dict[str, float]] = {}
    for variant in variants:
        results[variant] = {}
        for category in categories:
            config = profile.config(variant, category, data_root=root, seed=seed)
            results[variant][category] = evaluate_model(get_or_train(config, device).model, config, root).auroc
    return results


def markdown_table(results: dict[str, dict[str, float]], title: str = "ours") -> str:
    """A Markdown table: one row per variant, our AUROC (%) per category and mean, then the paper's MVTec AD mean."""
    categories = list(next(iter(results.values())))
    header = ["variant", *categories, f"mean ({title})", "paper MVTec mean"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for variant, row in results.items():
        mean = 100 * sum(row.values()) / len(row)
        paper = IMAGE_AUROC_TABLE1.get(variant, {}).get("all")
        cells = [variant, *(f"{100 * row[c]:.1f}" for c in categories), f"{mean:.1f}", "—" if paper is None else f"{paper:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    shared = [c for c in categories if c in IMAGE_AUROC_3WAY]
    if shared:
        lines.append("| paper 3-way | " + " | ".join(f"{IMAGE_AUROC_3WAY[c]:.1f}" if c in IMAGE_AUROC_3WAY else "—" for c in categories) + " | | |")
    return "\n".join(lines)


# ---------------------------------------------------------------- spreads over seeds, and training length

RANDOM_INIT = "random init"


@dataclass(frozen=True)
class Measurement:
    """One model's image AUROC and final proxy accuracy (NaN for the untrained network), with what made it."""

    variant: str
    category: str
    seed: int
    steps: int
    size: int
    auroc: float
    proxy_accuracy: float


def measure(config: TrainConfig, root: str, device: str = "cpu") -> Measurement:
    """Image AUROC and proxy accuracy (mean of the last 20 steps) of a config's model, from the cache or trained."""
    trained = get_or_train(config, device, progress=False)
    auroc = evaluate_model(trained.model, config, root).auroc
    accuracy = final_accuracy(trained.history.accuracy)
    return Measurement(config.variant, config.category, config.seed, config.steps, config.size, auroc, accuracy)


def measure_random_init(config: TrainConfig, root: str) -> Measurement:
    """Image AUROC of the config's network untrained (same seed): the bar a trained model must clear."""
    auroc = random_init_baseline(config, root).auroc
    return Measurement(RANDOM_INIT, config.category, config.seed, 0, config.size, auroc, math.nan)


def seeded_ablation(
    root: str, categories: Sequence[str], profile: Profile, seeds: Sequence[int], variants: Sequence[str] = TABLE1_VARIANTS, **changes: object
) -> list[Measurement]:
    """Every variant (and the random network) on every category for every seed; `changes` (size, steps) go to the configs."""
    rows = []
    for seed in seeds:
        for category in categories:
            base = profile.config("3way", category, data_root=root, seed=seed, **changes)
            rows.append(measure_random_init(base, root))
            rows.extend(measure(base.with_(variant=variant), root) for variant in variants)
    return rows


def training_curve(root: str, categories: Sequence[str], profile: Profile, lengths: Sequence[int], seed: int = 0) -> list[Measurement]:
    """3-way models trained for each number of steps (each its own cosine cycle), and the random network, per category."""
    rows = []
    for category in categories:
        base = profile.config("3way", category, data_root=root, seed=seed)
        rows.append(measure_random_init(base, root))
        rows.extend(measure(base.with_(steps=steps), root) for steps in lengths)
    return rows


def spread_table(rows: Sequence[Measurement]) -> str:
    """Markdown: image AUROC (%) mean ± sd over seeds per variant and category; ↓ marks a mean below the random network's."""
    cells = _spreads(rows)
    categories = list(dict.fromkeys(row.category for row in rows))
    variants = list(dict.fromkeys(row.variant for row in rows))
    seeds = len({row.seed for row in rows})
    lines = [f"| variant ({seeds} seeds) | " + " | ".join(categories) + " |", "|---" * (len(categories) + 1) + "|"]
    for variant in variants:
        marks = [_cell(cells[variant, c], cells[RANDOM_INIT, c][0] if variant != RANDOM_INIT else None) for c in categories]
        lines.append(f"| {variant} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


def _spreads(rows: Sequence[Measurement]) -> dict[tuple[str, str], tuple[float, float]]:
    """(variant, category) -> (mean, sample sd) of the AUROC over seeds."""
    groups: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        groups.setdefault((row.variant, row.category), []).append(row.auroc)
    return {key: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0) for key, v in groups.items()}


def _cell(spread: tuple[float, float], random_mean: float | None) -> str:
    mean, sd = spread
    below = random_mean is not None and mean < random_mean
    return f"{100 * mean:.1f} ± {100 * sd:.1f}" + (" ↓" if below else "")


def to_csv(rows: Sequence[Measurement]) -> str:
    """The measurements as CSV text, one row per model, for plotting and diffing."""
    names = [field.name for field in fields(Measurement)]
    return "\n".join([",".join(names), *(",".join(str(getattr(row, name)) for name in names) for row in rows)]) + "\n"
