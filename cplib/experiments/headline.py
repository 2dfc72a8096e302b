"""Does CutPaste work here? The README's headline table, computed from the committed studies of the default data: the
seeded Table 1 (3-way against its random networks), the training-length curve and the localisation table.

``python -m cplib.experiments.headline`` prints it; ``tests/test_project.py`` checks that the README holds it unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..profiles import LESSON_RECIPE, Profile, ensure_dataset, get_profile
from .localization import COMMITTED_LOCALIZATION, TRAINED, LocalizationRow, default_density, pixel_aurocs
from .margins import gap_cells, seed_spreads, spread_cell
from .measurements import RANDOM_INIT, Measurement
from .results import study_rows
from .table1 import COMMITTED_TABLE1, made_with
from .training_curve import COMMITTED_CURVE, curve_means

VARIANT = "3way"
RECIPE_NAMES = {LESSON_RECIPE: "lesson recipe", "paper": "paper's SGD"}


def recipe_name(rows: Sequence[Measurement], profile: Profile, root: str) -> str:
    """Which recipe trained the rows' models (`table1.made_with`): the lesson recipe or the paper's SGD, at the
    precision each row records, whatever this CPU's own."""
    trained = [row for row in rows if row.variant != RANDOM_INIT]
    for recipe, name in RECIPE_NAMES.items():
        made = (
            made_with(
                row,
                profile.config(
                    row.variant, row.category, recipe=recipe, data_root=root, steps=row.steps, precision=row.precision
                ),
            )
            for row in trained
        )
        if all(made):
            return name
    return "mixed recipes"


def headline_table(
    table1: Sequence[Measurement],
    curve: Sequence[Measurement],
    localization: Sequence[LocalizationRow],
    recipes: tuple[str, str] = ("", ""),
) -> str:
    """Markdown: per category, the 3-way model's image AUROC over seeds beside its random networks', their paired
    gap, the longest training of the curve against its random network (each the mean over the curve's seeds), and
    pixel AUROC with the default density (the mean over the localisation study's seeds); `recipes` names what trained
    the table's and the curve's models."""
    table_recipe, curve_recipe = (f", {name}" if name else "" for name in recipes)
    categories = list(dict.fromkeys(row.category for row in table1))
    seeds = sorted({row.seed for row in table1})
    spreads = seed_spreads(table1)
    steps = max(row.steps for row in table1)
    longest = max(row.steps for row in curve)
    at = curve_means(curve)
    pixel, density = pixel_aurocs(localization), {c: default_density(c) for c in categories}
    seed_names = ", ".join(map(str, seeds))
    rows = [
        (
            f"image AUROC %, 3-way, {steps} steps{table_recipe} (seeds {seed_names})",
            [spread_cell(spreads[VARIANT, c], spreads[RANDOM_INIT, c][0]) for c in categories],
        ),
        (
            f"image AUROC %, random network (seeds {seed_names})",
            [spread_cell(spreads[RANDOM_INIT, c], None) for c in categories],
        ),
        ("3-way's gap to it, points · proxy acc. (▲ beyond 2 sd)", gap_cells(table1, VARIANT, categories)),
        (
            f"image AUROC %, 3-way, {longest} steps{curve_recipe} vs random ({_seeds_named(curve)})",
            [f"{100 * at[c, longest].auroc:.1f} vs {100 * at[c, 0].auroc:.1f}" for c in categories],
        ),
        (
            f"pixel AUROC, 3-way patch model vs random, {localization[0].size} px ({_seeds_named(localization)})",
            [f"{pixel[c, TRAINED, density[c]]:.3f} vs {pixel[c, RANDOM_INIT, density[c]]:.3f}" for c in categories],
        ),
    ]
    lines = ["| default data, CPU profile | " + " | ".join(categories) + " |", "|---" * (len(categories) + 1) + "|"]
    lines.extend(f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows)
    return "\n".join(lines)


def _seeds_named(rows: Sequence[LocalizationRow | Measurement]) -> str:
    """ "seed 0" for one seed, "mean of seeds 0, 1, 2" for several."""
    seeds = sorted({row.seed for row in rows})
    return f"seed {seeds[0]}" if len(seeds) == 1 else "mean of seeds " + ", ".join(map(str, seeds))


def committed_headline() -> str:
    """The headline table of the committed studies in bench/results/ (the newest row of each cell:
    `results.study_rows`)."""
    table1 = [row for row in study_rows(COMMITTED_TABLE1, Measurement) if row.variant in (RANDOM_INIT, VARIANT)]
    curve = study_rows(COMMITTED_CURVE, Measurement)
    profile, root = get_profile("cpu"), ensure_dataset()
    recipes = (recipe_name(table1, profile, root), recipe_name(curve, profile, root))
    return headline_table(table1, curve, study_rows(COMMITTED_LOCALIZATION, LocalizationRow), recipes)


if __name__ == "__main__":
    print(committed_headline())
