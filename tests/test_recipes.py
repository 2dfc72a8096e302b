"""The recipe levers (optimiser, schedule, warm-up, batch-norm momentum) and the recipe study, on the tiny profile."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from cplib import __version__
from cplib.checkpoint import cache_key, cache_path, load
from cplib.data import holdout_split, load_split
from cplib.errors import ConfigError
from cplib.evaluate import heldout_proxy_accuracy
from cplib.experiments.recipes import (
    MEASURED,
    RecipeRow,
    chosen_recipe,
    recipe_config,
    recipe_means,
    recipe_study,
    recipe_table,
)
from cplib.experiments.results import read_rows, row_key
from cplib.paths import REPO_ROOT
from cplib.profiles import get_profile
from cplib.train import TrainConfig, build_model, build_optimiser


def _learning_rates(config: TrainConfig) -> list[float]:
    optimiser, schedule = build_optimiser(build_model(config), config)
    rates = []
    for _ in range(config.steps):
        rates.append(optimiser.param_groups[0]["lr"])
        optimiser.step()
        schedule.step()
    return rates


def test_without_warm_up_the_schedule_is_the_papers_cosine() -> None:
    for steps in (1, 7, 300):
        expected = [0.03 * (1 + math.cos(math.pi * k / steps)) / 2 for k in range(steps)]
        np.testing.assert_allclose(_learning_rates(TrainConfig(steps=steps, size=32)), expected, rtol=1e-9, atol=1e-12)


def test_warm_up_ramps_linearly_to_the_peak_then_follows_the_cosine() -> None:
    draws = np.random.default_rng(0)
    for _ in range(20):
        steps = int(draws.integers(3, 80))
        warmup, peak = int(draws.integers(1, steps)), float(draws.uniform(0.01, 0.5))
        rates = _learning_rates(TrainConfig(steps=steps, size=32, lr=peak, warmup=warmup))
        ramp = [peak * (k + 1) / (warmup + 1) for k in range(warmup)]
        cosine = [peak * (1 + math.cos(math.pi * k / (steps - warmup))) / 2 for k in range(steps - warmup)]
        np.testing.assert_allclose(rates, ramp + cosine, rtol=1e-9, atol=1e-12)
        assert max(rates) == pytest.approx(peak)


def test_one_cycle_peaks_at_lr_and_adamw_is_adamw() -> None:
    config = TrainConfig(steps=50, size=32, lr=0.1, schedule="onecycle", optimiser="adamw")
    rates = _learning_rates(config)
    assert max(rates) == pytest.approx(0.1) and rates[0] < 0.01 and rates[-1] < 0.01
    assert isinstance(build_optimiser(build_model(config), config)[0], torch.optim.AdamW)


def test_batch_norm_momentum_reaches_every_batch_norm_layer() -> None:
    model = build_model(TrainConfig(size=32, bn_momentum=0.3))
    layers = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    assert len(layers) > 10 and all(layer.momentum == 0.3 for layer in layers)


@pytest.mark.parametrize(
    "changes, named",
    [
        ({"optimiser": "adam"}, "optimiser"),
        ({"schedule": "step"}, "schedule"),
        ({"warmup": 200}, "warmup"),
        ({"warmup": 5, "schedule": "onecycle"}, "warmup"),
        ({"bn_momentum": 0.0}, "bn_momentum"),
    ],
)
def test_impossible_recipes_are_refused(changes: dict, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        TrainConfig(steps=200, **changes)


def test_every_field_but_the_folder_keys_the_model_cache(study_root: str, tmp_path: Path) -> None:
    """Each recipe lever, and any other field, trains a new model; the folder's path does not, where a copy of the
    data holds the same files (the key is what the data holds, so a moved or re-written dataset keeps its models)."""
    config = TrainConfig(category="weave", data_root=study_root, size=32)
    changes = {"optimiser": "adamw", "schedule": "onecycle", "warmup": 1, "bn_momentum": 0.3, "holdout": 0.2, "seed": 1}
    keys = {cache_key(config.with_(**{name: value})) for name, value in changes.items()}
    assert len(keys) == len(changes) and cache_key(config) not in keys
    copy = tmp_path / "copy"
    shutil.copytree(study_root, copy)
    assert cache_key(config.with_(data_root=str(copy))) == cache_key(config)
    next((copy / "weave" / "train" / "good").glob("*.png")).write_bytes(b"\x89PNG edited")
    assert cache_key(config.with_(data_root=str(copy))) != cache_key(config)


@pytest.mark.parametrize("variant", ["3way", "cutpaste", "cutout"])
def test_held_out_accuracy_of_a_constant_guess_is_one_over_the_classes(variant: str) -> None:
    config = get_profile("tiny").config(variant, size=32)
    model = build_model(config)
    torch.nn.init.zeros_(model.classifier.weight)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.arange(model.classifier.out_features, 0, -1).float())  # always class 0
    images = torch.rand(7, 3, 32, 32)
    assert heldout_proxy_accuracy(model, images, config, rounds=3) == pytest.approx(1 / model.classifier.out_features)


def test_the_study_trains_each_recipe_with_its_holdout_and_resumes_from_its_rows(
    study_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One row per recipe, written as it is measured and keyed on what made it; the model behind each was trained
    without the held-out share its accuracy is measured on; a second run finds every row and trains nothing."""
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    tiny = get_profile("tiny")
    recipes = ("paper", "AdamW 1e-3", "64 images, half the steps")
    out = tmp_path / "recipes.csv"
    rows = recipe_study(study_root, ["weave"], tiny, [0], recipes, out)
    assert [row.recipe for row in rows] == list(recipes)
    assert [(row.steps, row.batch) for row in rows] == [(4, 4), (4, 4), (2, 64)]
    assert read_rows(out, RecipeRow) == rows
    for row in rows:
        config = recipe_config(tiny, row.recipe, "weave", study_root, 0)
        assert row.key == row_key(config, MEASURED) and row.cplib == __version__
        trained = load(cache_path(config))
        assert trained.config.holdout == 0.2
        images = load_split(study_root, "weave", "train", 32).images
        held_out = images[holdout_split(len(images), 0.2, 0)[0]]
        assert row.heldout_accuracy == heldout_proxy_accuracy(trained.model, held_out, config, 0)
    monkeypatch.setattr("cplib.checkpoint.train", lambda *args, **kwargs: pytest.fail("a row present was made again"))
    assert recipe_study(study_root, ["weave"], tiny, [0], recipes, out) == rows


def test_a_recipe_screened_out_on_fewer_seeds_is_not_chosen_on_them() -> None:
    """A recipe measured on seed 0 only is out of the running, however well it did there: its mean is of other draws."""
    row = RecipeRow("x", "c", 0, 2, 300, 32, 0.5, 0.5, 0.5, 0.5, "0", "k")
    rows = [
        row.__class__(**{**row.__dict__, "recipe": r, "seed": s, "heldout_accuracy": a})
        for r, s, a in [("screened", 0, 0.99), ("full", 0, 0.6), ("full", 1, 0.7), ("other", 0, 0.5), ("other", 1, 0.6)]
    ]
    assert chosen_recipe(rows) == "full"
    assert chosen_recipe(rows[:2]) == "screened"


def test_recipe_means_are_each_recipe_and_category_s_mean_over_whichever_seeds_it_has() -> None:
    draws = np.random.default_rng(5)
    row = RecipeRow("x", "c", 0, 2, 300, 32, 0.5, 0.5, 0.5, 0.5, "0", "k")
    for _ in range(50):
        cells = [(r, c, s) for r in "ab" for c in "xyz" for s in range(4) if draws.uniform() < 0.7]
        rows = [
            replace(row, recipe=r, category=c, seed=s, heldout_accuracy=draws.uniform(), train_accuracy=draws.uniform())
            for r, c, s in cells
        ]
        assert recipe_means(rows) == recipe_means(rows, "heldout_accuracy")
        for measure in ("heldout_accuracy", "train_accuracy"):
            means = recipe_means(rows, measure)
            assert set(means) == {(r, c) for r, c, _ in cells}
            for (recipe, category), mean in means.items():
                of = [getattr(x, measure) for x in rows if (x.recipe, x.category) == (recipe, category)]
                assert math.isclose(mean, sum(of) / len(of))


def test_the_choice_and_the_table_follow_the_held_out_accuracy_only() -> None:
    draws = np.random.default_rng(2)
    for _ in range(50):
        rows = [
            RecipeRow(
                r,
                c,
                s,
                2,
                300,
                32,
                float(draws.uniform(0.3, 1)),
                float(draws.uniform()),
                float(draws.uniform()),
                float(draws.uniform()),
                "0",
                f"{r}{c}{s}",
            )
            for r in ("a", "b", "c")
            for c in ("x", "y")
            for s in (0, 1)
        ]
        means = {r: np.mean([row.heldout_accuracy for row in rows if row.recipe == r]) for r in ("a", "b", "c")}
        assert chosen_recipe(rows) == max(means, key=means.get)
        table = recipe_table(rows).splitlines()
        assert len(table) == 5 and table[2 + "abc".index(chosen_recipe(rows))].startswith(
            f"| **{chosen_recipe(rows)}** |"
        )


def test_the_machine_table_puts_each_model_beside_its_native_twin_only() -> None:
    """Over random runs: one line per model whose (recipe, category, seed, steps) the native run has, with both AUROCs
    and the distance between them; a model without a twin (another length here) is left out."""
    from cplib.experiments.recipes import machine_table

    draws = np.random.default_rng(9)
    row = RecipeRow("x", "c", 0, 2, 300, 32, 0.5, 0.5, 0.5, 0.5, "0", "k")
    for _ in range(20):
        cells = [(r, c, s) for r in "ab" for c in "xy" for s in range(3)]
        native = [replace(row, recipe=r, category=c, seed=s, auroc=draws.uniform()) for r, c, s in cells]
        here = [replace(twin, auroc=draws.uniform(), heldout_accuracy=draws.uniform()) for twin in native]
        here += [replace(here[0], steps=1000)]
        lines = machine_table(here, native).splitlines()[2:]
        assert len(lines) == len(native)
        for line, mine, twin in zip(lines, here, native):
            cells_of_line = [cell.strip() for cell in line.strip("|").split("|")]
            assert cells_of_line[:3] == [mine.recipe, mine.category, str(mine.seed)]
            assert cells_of_line[4] == f"{mine.auroc:.3f} / {twin.auroc:.3f}"
            assert float(cells_of_line[5]) == pytest.approx(abs(mine.auroc - twin.auroc), abs=5e-4)


def test_the_recipe_study_script_writes_its_table_figure_and_rows(study_root: str, tmp_path: Path) -> None:
    out = tmp_path / "recipes"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "bench" / "recipe_study.py"),
            "--data",
            study_root,
            "--profile",
            "tiny",
            "--seeds",
            "0",
            "--recipes",
            "paper",
            "AdamW 1e-3",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "CPLIB_DATA_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    assert {p.name for p in tmp_path.glob("recipes.*")} == {"recipes.csv", "recipes.md", "recipes.png"}
    assert (out.with_suffix(".csv")).read_text().count(
        "\n"
    ) == 1 + 2 * 3  # two recipes on three categories, and the header
    again = [*done.args[:-1], str(tmp_path / "again"), "--against", str(out.with_suffix(".csv"))]
    rerun = subprocess.run(again, capture_output=True, text=True, env={**os.environ, "CPLIB_DATA_DIR": str(tmp_path)})
    assert rerun.returncode == 0, rerun.stderr
    compared = (tmp_path / "again.md").read_text().split("Against the native run")[1]
    assert compared.count("| 0.000 |") == 2 * 3  # the same models, from the cache: each its own twin


def test_a_recipe_sets_its_fields_over_the_papers_whatever_the_profile_uses() -> None:
    """Every named recipe: its own fields as RECIPES says, the paper's optimiser settings for the rest, the profile's
    steps scaled by steps_share; and naming "paper" on a profile whose own recipe is AdamW gives SGD back."""
    from cplib.cli import _config, build_parser
    from cplib.profiles import PAPER_RECIPE, RECIPES

    tiny = get_profile("tiny")
    for profile in (
        tiny,
        replace(tiny, recipe="AdamW 1e-3, warm-up"),
        replace(get_profile("cpu"), recipe="AdamW 1e-3"),
    ):
        for name, fields in RECIPES.items():
            config = profile.config("3way", "weave", recipe=name, data_root="unused")
            expected = {**PAPER_RECIPE, **{k: v for k, v in fields.items() if not k.endswith("_share")}}
            del expected["warmup"]  # worked out from warmup_share, checked below
            assert {k: getattr(config, k) for k in expected} == expected
            assert config.steps == round(profile.steps * fields.get("steps_share", 1.0))
            assert config.warmup == round(config.steps * fields.get("warmup_share", 0.0))
        assert profile.config("3way", "weave", data_root="unused") == profile.config(
            "3way", "weave", recipe=profile.recipe, data_root="unused"
        )
    with pytest.raises(ConfigError, match="unknown recipe 'adam'"):
        tiny.config("3way", "weave", recipe="adam")
    parsed = build_parser().parse_args(
        ["train", "--category", "weave", "--profile", "cpu", "--out", "m", "--recipe", "AdamW 1e-3"]
    )
    assert (_config(parsed).optimiser, _config(parsed).lr) == ("adamw", 1e-3)
    parsed = build_parser().parse_args(["train", "--category", "weave", "--profile", "cpu", "--out", "m"])
    assert {k: getattr(_config(parsed), k) for k in PAPER_RECIPE} == PAPER_RECIPE  # the command line keeps the paper's


def test_the_lessons_train_with_the_committed_studys_choice_and_the_paper_profile_with_the_papers() -> None:
    rows = read_rows(REPO_ROOT / "bench" / "results" / "recipes.csv", RecipeRow)
    assert len({row.seed for row in rows}) >= 3
    assert get_profile("cpu").recipe == chosen_recipe(rows) != "paper"
    assert get_profile("paper").recipe == "paper"
    paper = get_profile("paper").config("3way", "weave", data_root="unused")
    assert (paper.optimiser, paper.lr, paper.schedule, paper.warmup) == ("sgd", 0.03, "cosine", 0)


def test_at_another_length_the_lesson_recipe_s_row_measures_the_training_curve_s_model(
    study_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `steps` the study trains that many (each recipe its share of them); at the cpu profile the lesson recipe's
    model of a length is the one the training curve trained (the profile holds out the study's share), so the study
    reads the curve's models from the cache and adds their held-out proxy accuracy."""
    cpu = get_profile("cpu")
    for steps in (1000, 2000):
        curve = cpu.config("3way", "weave", data_root=study_root, seed=1, steps=steps)
        assert recipe_config(cpu, cpu.recipe, "weave", study_root, 1, steps=steps) == curve
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    recipes = ("paper", "64 images, half the steps")
    rows = recipe_study(study_root, ["weave"], get_profile("tiny"), [0], recipes, steps=6)
    assert [row.steps for row in rows] == [6, 3]
