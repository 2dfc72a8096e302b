"""The paper's Table 1 as code: every proxy task on every category, image AUROC, next to the published averages."""

from __future__ import annotations

from collections.abc import Sequence

from .checkpoint import get_or_train
from .evaluate import evaluate_model
from .paper import IMAGE_AUROC_3WAY, IMAGE_AUROC_TABLE1
from .profiles import Profile

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
