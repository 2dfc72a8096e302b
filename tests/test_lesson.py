"""The lesson's 3-way model: one config per category (`cplib.profiles.lesson_config`), which notebooks 04-07 and 10,
the seeded Table 1 and the density and foreground studies share, so that the series trains it once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cplib.checkpoint import cache_key
from cplib.cli import _config, build_parser
from cplib.experiments.grid import grid_jobs
from cplib.paths import NOTEBOOKS
from cplib.profiles import LESSON_HOLDOUT, LESSON_RECIPE, PROFILES, get_profile, lesson_config, recipe_changes
from cplib.synthetic import Counts, write_dataset

REUSERS = ("05_gde", "06_localization", "07_tsne", "10_your_data")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    counts = Counts(train=5, test_good=2, test_per_defect=1)
    return str(write_dataset(tmp_path_factory.mktemp("data") / "default", counts=counts))


@pytest.mark.parametrize("name", list(PROFILES))
def test_the_lesson_model_is_the_profile_s_3way_model_with_its_recipe_and_holdout(name: str, root: str) -> None:
    profile = get_profile(name)
    config = lesson_config(profile, "weave", root)
    assert config == profile.config("3way", "weave", data_root=root)
    assert (config.variant, config.seed, config.holdout) == ("3way", 0, profile.holdout)
    assert (config.size, config.batch) == (profile.size, profile.batch)
    recipe = recipe_changes(profile.recipe, profile.steps)
    assert {field: getattr(config, field) for field in recipe} == recipe  # the profile's optimiser, steps, warm-up
    assert lesson_config(profile, "weave", root, seed=2) == config.with_(seed=2)
    assert lesson_config(profile, "weave", None).data_root is None  # the embedded default dataset


def test_each_category_and_seed_is_its_own_model(root: str) -> None:
    cpu = get_profile("cpu")
    keys = {cache_key(lesson_config(cpu, c, root, seed)) for c in ("capsule", "weave") for seed in (0, 1)}
    assert len(keys) == 4


def test_at_the_cpu_profile_the_command_line_with_the_lesson_recipe_trains_the_lesson_model(root: str) -> None:
    """`python -m cplib train` keeps DEFAULT_HOLDOUT for the threshold and the paper's SGD unless --recipe names
    another; the cpu profile holds out the same share from every lesson model, so with its recipe the command line
    loads notebook 04's model from the cache."""
    cpu = get_profile("cpu")
    assert cpu.holdout == LESSON_HOLDOUT > 0 and cpu.recipe == LESSON_RECIPE
    options = ["train", "--profile", "cpu", "--category", "capsule", "--data", root, "--out", "unused"]
    lesson = build_parser().parse_args([*options, "--recipe", LESSON_RECIPE])
    assert _config(lesson) == lesson_config(cpu, "capsule", root)
    assert cache_key(_config(lesson)) == cache_key(lesson_config(cpu, "capsule", None).with_(data_root=root))
    assert _config(build_parser().parse_args(options)).optimiser == "sgd"  # the command line's default: the paper's


@pytest.mark.parametrize("name", ["cpu", "tiny"])
def test_the_seeded_table1_s_3way_models_are_the_lesson_models_of_each_seed(name: str, root: str) -> None:
    """bench/table1_seeds.py's 3-way jobs (`grid.grid_jobs`) train the lesson config of every seed: the density and
    foreground studies, and the lessons, load its models from the cache."""
    profile = get_profile(name)
    jobs = grid_jobs(root, ["capsule", "weave"], profile, [0, 1, 2], ["3way"])
    trained = [job.config for job in jobs if not job.random_init]
    expected = [lesson_config(profile, c, root, seed) for c in ("capsule", "weave") for seed in (0, 1, 2)]
    assert trained == expected
    assert [cache_key(config) for config in trained] == [cache_key(config) for config in expected]


@pytest.mark.parametrize("name", REUSERS)
def test_the_notebooks_that_reuse_it_name_it(name: str) -> None:
    code = _code(name)
    assert "lesson_config(profile, " in code and 'profile.config("3way"' not in code


def test_notebook_04_trains_the_lesson_model_as_the_others_name_it() -> None:
    """Notebook 04 trains the lesson model under the config that `lesson_config` returns for seed 0 (its own name
    `lesson_config` is the recipe's config it writes by hand)."""
    assert 'three_way = get_or_train(profile.config("3way", category, data_root=root))' in _code("04_three_way")


def _code(name: str) -> str:
    notebook = json.loads((Path(NOTEBOOKS) / f"{name}.ipynb").read_text())
    return "\n".join("".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code")
