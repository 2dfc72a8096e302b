"""The paper's Table 1 as code: every proxy task on every category, image AUROC, next to the published averages; the same
over several seeds (mean ± sd, against the random network), at larger image sizes, and image AUROC against training length."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import get_or_train
from .evaluate import evaluate_model, random_init_baseline
from .machines import check_reproduction, committed_signature, cross_machine_spread, signature
from .results import from_csv, to_csv
from .paper import IMAGE_AUROC_3WAY, IMAGE_AUROC_TABLE1
from .paths import REPO_ROOT, default_data_root
from .profiles import Profile, resolve_device
from .staging import write_text
from .train import TrainConfig, final_accuracy

TABLE1_VARIANTS = ("cutout", "scar", "cutpaste", "cutpaste-scar", "3way")
CUTPASTE_FAMILY = TABLE1_VARIANTS[2:]  # the variants the method is about: CutPaste, CutPaste-Scar and the 3-way


def run_ablation(
    root: str, categories: Sequence[str], profile: Profile, variants: Sequence[str] = TABLE1_VARIANTS,
    device: str | None = None, seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Image AUROC of each variant on each category: results[variant][category] (models from the cache, else trained)."""
    device = resolve_device(device, profile)
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
    precision: str


def measure(config: TrainConfig, root: str, device: str | None = None) -> Measurement:
    """Image AUROC and proxy accuracy (mean of the last 20 steps) of a config's model, from the cache or trained."""
    trained = get_or_train(config, device, progress=False)
    auroc = evaluate_model(trained.model, config, root).auroc
    accuracy = final_accuracy(trained.history.accuracy)
    return Measurement(config.variant, config.category, config.seed, config.steps, config.size, auroc, accuracy, config.precision)


def measure_random_init(config: TrainConfig, root: str, device: str = "cpu") -> Measurement:
    """Image AUROC of the config's network untrained (same seed): the bar a trained model must clear."""
    auroc = random_init_baseline(config, root, device).auroc
    return Measurement(RANDOM_INIT, config.category, config.seed, 0, config.size, auroc, math.nan, config.precision)


def seeded_ablation(
    root: str, categories: Sequence[str], profile: Profile, seeds: Sequence[int],
    variants: Sequence[str] = TABLE1_VARIANTS, device: str | None = None, **changes: object
) -> list[Measurement]:
    """Every variant (and the random network) on every category for every seed; `changes` (size, steps) go to the configs."""
    device = resolve_device(device, profile)
    rows = []
    for seed in seeds:
        for category in categories:
            base = profile.config("3way", category, data_root=root, seed=seed, **changes)
            rows.append(measure_random_init(base, root, device))
            rows.extend(measure(base.with_(variant=variant), root, device) for variant in variants)
    return rows


def training_curve(
    root: str, categories: Sequence[str], profile: Profile, lengths: Sequence[int], seed: int = 0,
    device: str | None = None,
) -> list[Measurement]:
    """3-way models trained for each number of steps (each its own cosine cycle), and the random network, per category."""
    device = resolve_device(device, profile)
    rows = []
    for category in categories:
        base = profile.config("3way", category, data_root=root, seed=seed)
        rows.append(measure_random_init(base, root, device))
        rows.extend(measure(base.with_(steps=steps), root, device) for steps in lengths)
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


def _over_seeds(rows: Sequence[Measurement], measure: str) -> dict[tuple[str, str], list[float]]:
    """(variant, category) -> the values of one measured field, one per seed."""
    groups: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        groups.setdefault((row.variant, row.category), []).append(getattr(row, measure))
    return groups


def _spreads(rows: Sequence[Measurement]) -> dict[tuple[str, str], tuple[float, float]]:
    """(variant, category) -> (mean, sample sd) of the AUROC over seeds."""
    return {key: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0) for key, v in _over_seeds(rows, "auroc").items()}


def _cell(spread: tuple[float, float], random_mean: float | None) -> str:
    mean, sd = spread
    below = random_mean is not None and mean < random_mean
    return f"{100 * mean:.1f} ± {100 * sd:.1f}" + (" ↓" if below else "")


def write_results(prefix: str | Path, rows: Sequence[Any], markdown: str) -> None:
    """A study's outputs side by side, each written atomically: prefix.csv (the rows) and prefix.md (its table)."""
    out = Path(prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out.with_suffix(".csv"), to_csv(rows))
    write_text(out.with_suffix(".md"), markdown + "\n")


# ---------------------------------------------------------------- the committed seeded Table 1, and margins over random init

COMMITTED_TABLE1 = REPO_ROOT / "bench" / "results" / "table1_seeds.csv"  # written by bench/table1_seeds.py; see the README
COMMITTED_CURVE = REPO_ROOT / "bench" / "results" / "training_curve.csv"  # written by bench/training_curve.py; see the README


def committed_rows(path: Path, root: str, categories: Sequence[str], kind: type = Measurement) -> list[Any] | None:
    """A committed result file's rows (of `kind`) if it exists and describes these categories of the default data, else None."""
    if not path.is_file() or Path(root).resolve() != default_data_root().resolve():
        return None
    rows = from_csv(path.read_text(), kind)
    return rows if {row.category for row in rows} == set(categories) else None


def seeded_results(
    root: str, categories: Sequence[str], profile: Profile, variants: Sequence[str] = TABLE1_VARIANTS,
    device: str | None = None,
) -> list[Measurement]:
    """The committed seeded Table 1 where it describes this data and profile (the default data at its size), else seed 0 measured here."""
    rows = [row for row in committed_rows(COMMITTED_TABLE1, root, categories) or [] if row.variant in (RANDOM_INIT, *variants)]
    if rows and all(row.size == profile.size and row.steps in (0, profile.steps) for row in rows):
        return rows
    return seeded_ablation(root, categories, profile, [0], variants, device)


def committed_curve(root: str, categories: Sequence[str], profile: Profile) -> list[Measurement] | None:
    """The committed training-length curve where it describes this data at the profile's size; None elsewhere (an hour to measure)."""
    rows = committed_rows(COMMITTED_CURVE, root, categories)
    return rows if rows and all(row.size == profile.size for row in rows) else None


def curve_table(rows: Sequence[Measurement]) -> str:
    """Markdown: per category, the random network's AUROC (%), then the 3-way model's at each training length · its proxy accuracy."""
    lengths = sorted({row.steps for row in rows if row.variant != RANDOM_INIT})
    cells = {(row.category, row.steps if row.variant != RANDOM_INIT else 0): row for row in rows}
    lines = ["| category | random init | " + " | ".join(f"{n} steps" for n in lengths) + " |", "|---" * (len(lengths) + 2) + "|"]
    for category in dict.fromkeys(row.category for row in rows):
        trained = [f"{100 * cells[category, n].auroc:.1f} · {cells[category, n].proxy_accuracy:.2f}" for n in lengths]
        lines.append(f"| {category} | {100 * cells[category, 0].auroc:.1f} | " + " | ".join(trained) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- scale: larger images for the same training time

SCALE_SIZES = (64, 96, 128)
COMMITTED_SCALE = REPO_ROOT / "bench" / "results" / "scale.csv"  # written by bench/scale_study.py; see the README
STEP_OVERHEAD_PIXELS = 4_400  # a step costs a fixed overhead plus its pixels; bench/train_throughput.py at 64/96/128 px: overhead ≈ 66²


def budget_steps(profile: Profile, size: int) -> int:
    """Optimiser steps at `size` px that cost the profile's training time, a step costing STEP_OVERHEAD_PIXELS plus size²."""
    return max(1, round(profile.steps * (STEP_OVERHEAD_PIXELS + profile.size**2) / (STEP_OVERHEAD_PIXELS + size**2)))


def scale_study(
    root: str, categories: Sequence[str], profile: Profile, sizes: Sequence[int], seeds: Sequence[int],
    variants: Sequence[str] = CUTPASTE_FAMILY, device: str | None = None
) -> list[Measurement]:
    """The seeded Table 1 at each image size, every model trained for the steps the profile's time buys there (budget_steps)."""
    return [row for size in sizes for row in seeded_ablation(
        root, categories, profile, seeds, variants, device, size=size, steps=budget_steps(profile, size))]


def by_size(rows: Sequence[Measurement]) -> dict[int, list[Measurement]]:
    """The rows of each image size, smallest first."""
    return {size: [row for row in rows if row.size == size] for size in sorted({row.size for row in rows})}


def scale_table(rows: Sequence[Measurement]) -> str:
    """Markdown: per image size and its steps, the random network's AUROC (%) and each variant's paired gap to it · proxy accuracy."""
    categories = list(dict.fromkeys(row.category for row in rows))
    lines = ["| size · steps | variant | " + " | ".join(categories) + " |", "|---" * (len(categories) + 2) + "|"]
    for size, at in by_size(rows).items():
        spreads, seeds = _spreads(at), len({row.seed for row in at})
        steps = max(row.steps for row in at)
        lines.append(f"| {size} px · {steps} steps | random init, AUROC ({seeds} seeds) | " + " | ".join(_cell(spreads[RANDOM_INIT, c], None) for c in categories) + " |")
        lines.extend(f"| | {variant}: gap · proxy acc. | " + " | ".join(_gap_cells(at, variant, categories)) + " |"
                     for variant in dict.fromkeys(row.variant for row in at) if variant != RANDOM_INIT)
    return "\n".join(lines)


def committed_scale(root: str, categories: Sequence[str], profile: Profile) -> list[Measurement] | None:
    """The committed scale study where it describes this data and the profile's time budget; None elsewhere (hours to measure)."""
    rows = committed_rows(COMMITTED_SCALE, root, categories)
    return rows if rows and all(row.steps in (0, budget_steps(profile, row.size)) for row in rows) else None


@dataclass(frozen=True)
class Margin:
    """A variant against the random network on one category over seeds. Each seed's trained model starts from that seed's
    random network, so the gap is measured per seed (paired): training's effect, without the spread of the initialisations."""

    variant: str
    category: str
    mean: float
    sd: float
    random_mean: float
    random_sd: float
    differences: tuple[float, ...]

    @property
    def gap(self) -> float:
        return float(np.mean(self.differences))

    @property
    def gap_sd(self) -> float:
        return float(np.std(self.differences, ddof=1)) if len(self.differences) > 1 else 0.0

    @property
    def verdict(self) -> str:
        """"above" or "below" the random network by more than two sds of the paired gaps, else "inside the noise"."""
        if len(self.differences) < 2:
            return "one seed: no spread"
        if abs(self.gap) <= 2 * self.gap_sd:
            return "inside the noise"
        return "above" if self.gap > 0 else "below"

    def describe(self) -> str:
        wins = sum(d > 0 for d in self.differences)
        return (f"{self.category:8s} {self.variant} {self.mean:.3f} ± {self.sd:.3f} · random init {self.random_mean:.3f} ± {self.random_sd:.3f}"
                f" · gap {self.gap:+.3f} ± {self.gap_sd:.3f} (better on {wins} of {len(self.differences)} seeds): {self.verdict}")


def margins(rows: Sequence[Measurement], variant: str) -> dict[str, Margin]:
    """Per category, the variant's seed spread, the random network's, and the per-seed gaps between them."""
    spreads = _spreads(rows)
    auroc = {(row.variant, row.category, row.seed): row.auroc for row in rows}
    result = {}
    for category in dict.fromkeys(row.category for row in rows if row.variant == variant):
        seeds = [s for (v, c, s) in auroc if (v, c) == (variant, category) and (RANDOM_INIT, c, s) in auroc]
        differences = tuple(auroc[variant, category, s] - auroc[RANDOM_INIT, category, s] for s in seeds)
        result[category] = Margin(variant, category, *spreads[variant, category], *spreads[RANDOM_INIT, category], differences)
    return result


MARKS = {"above": " ▲", "below": " ▼"}


def margin_table(rows: Sequence[Measurement]) -> str:
    """Markdown: each variant's per-seed gap to the random network (AUROC points, mean ± sd); ▲/▼ beyond two sds, and the
    mean final proxy accuracy, which tells whether the task was learned at all."""
    variants = [v for v in dict.fromkeys(row.variant for row in rows) if v != RANDOM_INIT]
    categories = list(dict.fromkeys(row.category for row in rows))
    lines = ["| variant | " + " | ".join(f"{c}: gap · proxy acc." for c in categories) + " |", "|---" * (len(categories) + 1) + "|"]
    lines.extend(f"| {variant} | " + " | ".join(_gap_cells(rows, variant, categories)) + " |" for variant in variants)
    return "\n".join(lines)


def _gap_cells(rows: Sequence[Measurement], variant: str, categories: Sequence[str]) -> list[str]:
    """Per category: the variant's paired gap to the random network (points, mean ± sd, ▲/▼ beyond two sds) · proxy accuracy."""
    found, accuracy = margins(rows, variant), proxy_accuracies(rows, variant)
    return [f"{100 * found[c].gap:+.1f} ± {100 * found[c].gap_sd:.1f}{MARKS.get(found[c].verdict, '')} · {accuracy[c]:.2f}" for c in categories]


def proxy_accuracies(rows: Sequence[Measurement], variant: str) -> dict[str, float]:
    """Per category, the variant's final proxy accuracy averaged over seeds: did the network learn the task at all?"""
    return {category: float(np.mean(values)) for (name, category), values in _over_seeds(rows, "proxy_accuracy").items() if name == variant}


def check_reproduced(rows: Sequence[Measurement], config: TrainConfig, auroc: float) -> str:
    """A line comparing this machine's run of a config with the committed seeds of the same config (machines.check_reproduction):
    ResultDrift only where the machine that made them disagrees with itself."""
    same = [row.auroc for row in rows if (row.variant, row.category, row.size, row.steps, row.precision)
            == (config.variant, config.category, config.size, config.steps, config.precision)]
    name = f"{config.category} {config.variant} image AUROC"
    if not same:
        return f"{name}: this machine's run {auroc:.3f} · no committed seed has this config and precision ({config.precision})"
    made_on, here, cross = committed_signature(COMMITTED_TABLE1.stem), signature(config.precision), cross_machine_spread(["image AUROC"])
    return check_reproduction(name, auroc, same, made_on, here, cross, "bench/table1_seeds.py (README, Results)")
