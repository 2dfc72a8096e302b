"""What several seeds say: each variant's image AUROC as mean ± sd over seeds, and its margin over the random network,
measured seed by seed (each trained model starts from its seed's random network), with a verdict against the noise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .measurements import RANDOM_INIT, Measurement

MARKS = {"above": " ▲", "below": " ▼"}


def over_seeds(rows: Sequence[Measurement], field: str) -> dict[tuple[str, str], list[float]]:
    """(variant, category) -> the values of one measured field, one per seed."""
    groups: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        groups.setdefault((row.variant, row.category), []).append(getattr(row, field))
    return groups


def mean_sd(values: Sequence[float]) -> tuple[float, float]:
    """The mean and sample sd of values over seeds; the sd of one seed is 0."""
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def seed_spreads(rows: Sequence[Measurement]) -> dict[tuple[str, str], tuple[float, float]]:
    """(variant, category) -> (mean, sample sd) of the AUROC over seeds."""
    return {key: mean_sd(values) for key, values in over_seeds(rows, "auroc").items()}


def spread_cell(spread: tuple[float, float], random_mean: float | None) -> str:
    """A (mean, sd) AUROC as "mean ± sd" in %, marked ↓ where the mean is below the random network's."""
    mean, sd = spread
    below = random_mean is not None and mean < random_mean
    return f"{100 * mean:.1f} ± {100 * sd:.1f}" + (" ↓" if below else "")


def spread_table(rows: Sequence[Measurement]) -> str:
    """Markdown: image AUROC (%) mean ± sd over seeds per variant and category; ↓ marks a mean below the random
    network's. Where variants have different seed counts, each row names its own."""
    cells = seed_spreads(rows)
    categories = list(dict.fromkeys(row.category for row in rows))
    variants = list(dict.fromkeys(row.variant for row in rows))
    seeds = {variant: len({row.seed for row in rows if row.variant == variant}) for variant in variants}
    same = len(set(seeds.values())) == 1
    header = f"variant ({seeds[variants[0]]} seeds)" if same else "variant (seeds)"
    lines = [f"| {header} | " + " | ".join(categories) + " |", "|---" * (len(categories) + 1) + "|"]
    for variant in variants:
        marks = [
            spread_cell(cells[variant, c], cells[RANDOM_INIT, c][0] if variant != RANDOM_INIT else None)
            for c in categories
        ]
        label = variant if same else f"{variant} ({seeds[variant]})"
        lines.append(f"| {label} | " + " | ".join(marks) + " |")
    return "\n".join(lines)


@dataclass(frozen=True)
class Margin:
    """A variant against the random network on one category over seeds. Each seed's trained model starts from that
    seed's random network, so the gap is measured per seed (paired): training's effect, without the spread of the
    initialisations. Other paired comparisons (`paired_margins`: one scorer against another on each seed's model, one
    training against another from each seed) keep their baseline's mean and sd in the random_* fields."""

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
        return mean_sd(self.differences)[1]

    @property
    def verdict(self) -> str:
        """ "above" or "below" the random network by more than two sds of the paired gaps, else "inside the noise"."""
        if len(self.differences) < 2:
            return "one seed: no spread"
        if abs(self.gap) <= 2 * self.gap_sd:
            return "inside the noise"
        return "above" if self.gap > 0 else "below"

    def describe(self) -> str:
        wins = sum(d > 0 for d in self.differences)
        return (
            f"{self.category:8s} {self.variant} {self.mean:.3f} ± {self.sd:.3f} · "
            f"random init {self.random_mean:.3f} ± {self.random_sd:.3f}"
            f" · gap {self.gap:+.3f} ± {self.gap_sd:.3f} "
            f"(better on {wins} of {len(self.differences)} seeds): {self.verdict}"
        )


def paired_margin(variant: str, category: str, mine: Mapping[int, float], theirs: Mapping[int, float]) -> Margin:
    """A Margin of `mine` against `theirs` ({seed: value}): each side's mean and sd over its own seeds, and the
    per-seed differences mine − theirs on the seeds both have, in `mine`'s order; its random_* fields hold `theirs`."""
    differences = tuple(float(mine[s] - theirs[s]) for s in mine if s in theirs)
    return Margin(variant, category, *mean_sd(list(mine.values())), *mean_sd(list(theirs.values())), differences)


def paired_margins(values: Mapping[tuple[str, str, int], float], name: str, baseline: str) -> dict[str, Margin]:
    """Per category, `name` against `baseline` seed by seed (`paired_margin`), from values keyed (name, category,
    seed). Categories are those where the two share a seed, in the order `values` first names them with `name`."""
    found = {}
    for category in dict.fromkeys(c for (n, c, _) in values if n == name):
        mine = {s: value for (n, c, s), value in values.items() if (n, c) == (name, category)}
        theirs = {s: value for (n, c, s), value in values.items() if (n, c) == (baseline, category)}
        if mine.keys() & theirs.keys():
            found[category] = paired_margin(name, category, mine, theirs)
    return found


def margins(rows: Sequence[Measurement], variant: str) -> dict[str, Margin]:
    """Per category, the variant's seed spread, the random network's, and the per-seed gaps between them."""
    return paired_margins({(row.variant, row.category, row.seed): row.auroc for row in rows}, variant, RANDOM_INIT)


def proxy_accuracies(rows: Sequence[Measurement], variant: str) -> dict[str, float]:
    """Per category, the variant's final proxy accuracy averaged over seeds: did the network learn the task at all?"""
    return {
        category: float(np.mean(values))
        for (name, category), values in over_seeds(rows, "proxy_accuracy").items()
        if name == variant
    }


def gap_cells(rows: Sequence[Measurement], variant: str, categories: Sequence[str]) -> list[str]:
    """Per category: the variant's paired gap to the random network (points, mean ± sd, ▲/▼ beyond two sds) · proxy
    accuracy."""
    found, accuracy = margins(rows, variant), proxy_accuracies(rows, variant)
    return [f"{gap_cell(found[c])} · {accuracy[c]:.2f}" for c in categories]


def gap_cell(margin: Margin | None, scale: float = 100, digits: int = 1) -> str:
    """A margin's paired gap as "mean ± sd" of the per-seed gaps (times `scale`: points for an AUROC or a share),
    marked ▲/▼ beyond two sds; a dash where there is no pair."""
    if margin is None:
        return "—"
    gap, sd = scale * margin.gap, scale * margin.gap_sd
    return f"{gap:+.{digits}f} ± {sd:.{digits}f}{MARKS.get(margin.verdict, '')}"


def margin_table(rows: Sequence[Measurement]) -> str:
    """Markdown: each variant's per-seed gap to the random network (AUROC points, mean ± sd); ▲/▼ beyond two sds, and
    the mean final proxy accuracy, which tells whether the task was learned at all."""
    variants = [v for v in dict.fromkeys(row.variant for row in rows) if v != RANDOM_INIT]
    categories = list(dict.fromkeys(row.category for row in rows))
    lines = [
        "| variant | " + " | ".join(f"{c}: gap · proxy acc." for c in categories) + " |",
        "|---" * (len(categories) + 1) + "|",
    ]
    lines.extend(f"| {variant} | " + " | ".join(gap_cells(rows, variant, categories)) + " |" for variant in variants)
    return "\n".join(lines)
