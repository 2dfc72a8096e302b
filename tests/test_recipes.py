"""The recipe levers (optimiser, schedule, warm-up, batch-norm momentum) and the recipe study, on the tiny profile."""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from cplib import __version__
from cplib.checkpoint import cache_key
from cplib.errors import ConfigError
from cplib.evaluate import heldout_proxy_accuracy
from cplib.experiments.recipes import RECIPES, RecipeRow, chosen_recipe, recipe_config, recipe_study, recipe_table
from cplib.paths import REPO_ROOT
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset
from cplib.train import TrainConfig, build_model, build_optimiser

RECIPE_FIELDS = ("optimiser", "schedule", "warmup", "bn_momentum")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(
        write_dataset(
            tmp_path_factory.mktemp("data") / "default", counts=Counts(train=10, test_good=3, test_per_defect=2)
        )
    )


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


def test_the_paper_recipe_keeps_the_cache_keys_models_were_cached_under() -> None:
    draws = np.random.default_rng(1)
    for _ in range(20):
        variant, seed, steps = (
            str(draws.choice(["3way", "cutpaste"])),
            int(draws.integers(0, 99)),
            int(draws.integers(2, 999)),
        )
        config = TrainConfig(variant=variant, seed=seed, steps=steps)
        keyed = {k: v for k, v in asdict(config).items() if k not in ("holdout", *RECIPE_FIELDS)}
        before = hashlib.sha256(
            json.dumps({"config": keyed, "cplib": __version__}, sort_keys=True).encode()
        ).hexdigest()[:16]
        assert cache_key(config) == before
        changed = {
            cache_key(config.with_(**{name: value}))
            for name, value in [("optimiser", "adamw"), ("schedule", "onecycle"), ("warmup", 1), ("bn_momentum", 0.3)]
        }
        assert len(changed) == 4 and before not in changed


@pytest.mark.parametrize("variant", ["3way", "cutpaste", "cutout"])
def test_held_out_accuracy_of_a_constant_guess_is_one_over_the_classes(variant: str) -> None:
    config = get_profile("tiny").config(variant, size=32)
    model = build_model(config)
    torch.nn.init.zeros_(model.classifier.weight)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.arange(model.classifier.out_features, 0, -1).float())  # always class 0
    images = torch.rand(7, 3, 32, 32)
    assert heldout_proxy_accuracy(model, images, config, rounds=3) == pytest.approx(1 / model.classifier.out_features)


def test_the_study_trains_each_recipe_with_its_holdout_and_chooses_by_held_out_accuracy(
    root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    tiny = get_profile("tiny")
    recipes = {name: RECIPES[name] for name in ("paper", "AdamW 1e-3", "64 images, half the steps")}
    rows = recipe_study(root, ["weave"], tiny, [0], recipes)
    assert [row.recipe for row in rows] == list(recipes)
    assert [(row.steps, row.batch) for row in rows] == [
        (tiny.steps, tiny.batch),
        (tiny.steps, tiny.batch),
        (tiny.steps // 2, 64),
    ]
    assert all(recipe_config(tiny, recipes[row.recipe], "weave", root, 0).holdout == 0.2 for row in rows)
    assert len(list((tmp_path / "models").glob("*.pt"))) == 3
    assert all(0 <= row.heldout_accuracy <= 1 and row.threads == torch.get_num_threads() for row in rows)


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


def test_the_recipe_study_script_writes_its_table_figure_and_rows(root: str, tmp_path: Path) -> None:
    out = tmp_path / "recipes"
    done = subprocess.run(
        [
            sys.executable,
            str(REPO_ROOT / "bench" / "recipe_study.py"),
            "--data",
            root,
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
