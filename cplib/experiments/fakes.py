"""Notebook 11's study (issue 40, beyond the paper): do more natural fakes teach better? And the committed study that
the notebook reads.

CutPaste and the 3-way task, NSA's seamless paste and DRAEM's Perlin region (`cplib.natural_fakes`) as binary proxy
tasks, and the 3-way task with either as its third class, on every category over seeds, each beside its seed's random
network, everything else fixed (network, recipe, Gaussian, data, seeds). The jobs are the seeded Table 1's
(`grid.grid_jobs`) with these variants: the CutPaste, 3-way and random-network rows are the same models, keyed alike
(`measurements.Measurement`), so the study loads them from the model cache where bench/table1_seeds.py ran. Each
natural fake is compared seed by seed with the task it changes (BASELINES: the binary fakes with CutPaste, the 3-way
ones with the 3-way task) and with the random network, under the rule of `margins.Margin`; every AUROC stands beside
its model's final proxy accuracy, which tells whether the fake was learned at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..paths import COMMITTED_RESULTS
from ..profiles import Profile
from .grid import Job, grid_jobs
from .margins import Margin, gap_cell, paired_margins, proxy_accuracies, seed_spreads, spread_cell
from .measurements import RANDOM_INIT, Measurement
from .results import committed_rows
from .table1 import seeded_ablation

FAKES_VARIANTS = ("cutpaste", "seamless", "perlin", "3way", "3way-seamless", "3way-perlin")
BASELINES = {"seamless": "cutpaste", "perlin": "cutpaste", "3way-seamless": "3way", "3way-perlin": "3way"}
"""Each natural fake -> the paper's task it changes: the same task with CutPaste (or CutPaste-Scar) in its place."""
COMMITTED_FAKES = COMMITTED_RESULTS / "fakes.csv"  # written by bench/fakes_study.py


def fakes_jobs(
    root: str, categories: Sequence[str], profile: Profile, seeds: Sequence[int], variants: Sequence[str]
) -> list[Job]:
    """Per category and seed, the random network and each variant at the profile's scale: the seeded Table 1's jobs
    (`grid.grid_jobs`), so a variant both studies train is one model, one row key."""
    return grid_jobs(root, categories, profile, seeds, variants)


def fakes_study(
    root: str,
    categories: Sequence[str],
    profile: Profile,
    seeds: Sequence[int],
    out: str | Path,
    variants: Sequence[str] = FAKES_VARIANTS,
    device: str | None = None,
) -> list[Measurement]:
    """Every variant and the random network on every category for every seed, each row appended to `out` (a CSV) as its
    model is measured; the rows already there are kept, so a stopped study resumes (`table1.seeded_ablation`)."""
    return seeded_ablation(root, categories, profile, seeds, variants, device, out)


def committed_fakes(root: str, categories: Sequence[str], profile: Profile) -> list[Measurement] | None:
    """The committed study where it describes this data at the profile's size and steps; None elsewhere
    (bench/fakes_study.py measures it)."""
    rows = committed_rows(COMMITTED_FAKES, root, categories, Measurement)
    fits = rows and all(row.size == profile.size and row.steps in (0, profile.steps) for row in rows)
    return rows if fits else None


def compare(rows: Sequence[Measurement], variant: str, against: str) -> dict[str, Margin]:
    """Per category, a variant's image AUROC against another's (or RANDOM_INIT's), seed by seed (both start from the
    seed's random network): a Margin whose random_* fields hold `against`'s mean and sd and whose differences are
    variant − against."""
    return paired_margins({(row.variant, row.category, row.seed): row.auroc for row in rows}, variant, against)


def comparisons(rows: Sequence[Measurement]) -> dict[tuple[str, str], dict[str, Margin]]:
    """(variant, against) -> per category Margin: every trained variant against the random network, and each natural
    fake against its baseline (BASELINES) where the rows hold it."""
    variants = [v for v in dict.fromkeys(row.variant for row in rows) if v != RANDOM_INIT]
    pairs = [(v, RANDOM_INIT) for v in variants] + [(v, BASELINES[v]) for v in variants if BASELINES.get(v) in variants]
    return {(variant, against): compare(rows, variant, against) for variant, against in pairs}


def fakes_table(rows: Sequence[Measurement]) -> str:
    """Markdown: per variant and category, the image AUROC (%, mean ± sd over seeds; ↓ below the random network's
    mean) · the final proxy accuracy (mean over seeds; chance 0.5 binary, 0.33 3-way); then each comparison of
    `comparisons`, its paired gap (AUROC points, mean ± sd of the per-seed gaps, ▲/▼ beyond two sds)."""
    categories = list(dict.fromkeys(row.category for row in rows))
    spreads = seed_spreads(rows)
    lines = [f"| variant | {' | '.join(f'{c}: AUROC · proxy acc.' for c in categories)} |"]
    lines.append("|---" * (len(categories) + 1) + "|")
    for variant in dict.fromkeys(row.variant for row in rows):
        accuracy = proxy_accuracies(rows, variant) if variant != RANDOM_INIT else {}
        cells = [
            _auroc_cell(spreads, variant, c) + (f" · {accuracy[c]:.2f}" if c in accuracy else "") for c in categories
        ]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    lines += ["", f"| variant | against | {' | '.join(f'{c}: gap' for c in categories)} |"]
    lines.append("|---" * (len(categories) + 2) + "|")
    for (variant, against), found in comparisons(rows).items():
        lines.append(f"| {variant} | {against} | " + " | ".join(gap_cell(found.get(c)) for c in categories) + " |")
    return "\n".join(lines)


def _auroc_cell(spreads: dict[tuple[str, str], tuple[float, float]], variant: str, category: str) -> str:
    """`margins.spread_cell` of a variant on a category (↓ below the random network's mean); a dash without rows."""
    if (variant, category) not in spreads:
        return "—"
    random = spreads.get((RANDOM_INIT, category)) if variant != RANDOM_INIT else None
    return spread_cell(spreads[variant, category], None if random is None else random[0])
