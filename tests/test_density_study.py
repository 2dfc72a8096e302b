"""Notebook 05's study (cplib.experiments.densities, bench/density_study.py): every scorer on the lessons' 3-way models
over seeds, on the tiny profile and a tiny dataset."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PathCollection
from rule_by_hand import gap_cell, verdict

from cplib import __version__
from cplib.checkpoint import cache_path, load
from cplib.data import load_split
from cplib.density import GaussianDensity, KNNDensity
from cplib.evaluate import evaluate_model, extract_features, recovered_share
from cplib.experiments import densities
from cplib.experiments.densities import (
    BASELINE,
    MEASURED,
    SCORERS,
    DensityRow,
    committed_densities,
    compare_scorers,
    density_study,
    density_table,
)
from cplib.experiments.results import read_rows, row_key, to_csv
from cplib.experiments.table1 import seeded_ablation
from cplib.metrics import image_auroc
from cplib.paths import REPO_ROOT
from cplib.profiles import get_profile, lesson_config
from cplib.studies import density_figure

matplotlib.use("Agg")
CATEGORIES = ("capsule", "weave")


def test_the_study_scores_the_seeded_table1_s_3way_models_as_the_evaluation_does_and_trains_none(
    study_root: str, model_cache: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", model_cache)
    tiny = get_profile("tiny")
    seeded_ablation(study_root, CATEGORIES, tiny, [0, 1], ("3way",))  # bench/table1_seeds.py's 3-way models
    monkeypatch.setattr("cplib.checkpoint.train", lambda *args, **kwargs: pytest.fail("the study trained a model"))
    out = tmp_path / "densities.csv"
    rows = density_study(study_root, CATEGORIES, tiny, [0, 1], out)
    assert [(row.seed, row.category) for row in rows] == [(s, c) for s in (0, 1) for c in CATEGORIES]
    assert read_rows(out, DensityRow) == rows
    for row in rows:
        config = lesson_config(tiny, row.category, study_root, row.seed)
        assert (row.key, row.cplib, row.precision) == (row_key(config, MEASURED), __version__, config.precision)
        assert row.cpu and row.isa and row.threads > 0 and row.torch  # the machine that measured it
        model = load(cache_path(config)).model
        # the paper's scorer, as every study measures it
        assert row.gde == evaluate_model(model, config, study_root).auroc
        train, test = (
            load_split(study_root, row.category, split, tiny.size, masks=False) for split in ("train", "test")
        )
        labels = test.labels.numpy()
        pooled, head = ([extract_features(model, s.images, head=h) for s in (train, test)] for h in (False, True))
        assert row.knn == image_auroc(labels, KNNDensity(k=5).fit(pooled[0]).score_samples(pooled[1]))
        assert row.gde_head == image_auroc(labels, GaussianDensity().fit(head[0]).score_samples(head[1]))
        defective = labels == 1
        assert row.head_defective == recovered_share(head[0], pooled[0], head[1][defective], pooled[1][defective])


def test_a_stopped_study_resumes_with_the_missing_rows_only(
    study_root: str, model_cache: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", model_cache)
    tiny, out, made = get_profile("tiny"), tmp_path / "densities.csv", []
    real = densities.measure_densities

    def stop_at_the_third(config, device=None):
        if len(made) == 2:
            raise KeyboardInterrupt  # the end of a session
        made.append((config.category, config.seed))
        return real(config, device)

    monkeypatch.setattr(densities, "measure_densities", stop_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        density_study(study_root, CATEGORIES, tiny, [0, 1], out)
    assert [(row.category, row.seed) for row in read_rows(out, DensityRow)] == made == [("capsule", 0), ("weave", 0)]
    monkeypatch.setattr(densities, "measure_densities", lambda config, device=None: made.append(config) or real(config))
    rows = density_study(study_root, CATEGORIES, tiny, [0, 1], out)
    assert [(config.category, config.seed) for config in made[2:]] == [("capsule", 1), ("weave", 1)]
    assert read_rows(out, DensityRow) == rows and len(rows) == 4


def _row(category: str, seed: int, gde: float, knn: float) -> DensityRow:
    return DensityRow(category, seed, 300, 64, gde, 0.7, 0.6, 0.5, knn, 0.8, 0.4, "bf16", key=f"{category}{seed}")


def test_the_paired_gaps_and_the_table_match_a_brute_force_reading() -> None:
    draws = np.random.default_rng(5)
    for _ in range(40):
        seeds = int(draws.integers(1, 6))
        gde, knn = draws.uniform(0.5, 1.0, size=(2, len(CATEGORIES), seeds))
        rows = [_row(c, s, float(gde[i, s]), float(knn[i, s])) for s in range(seeds) for i, c in enumerate(CATEGORIES)]
        table = density_table(rows).splitlines()
        assert len(table) == (2 + len(SCORERS)) + 1 + (2 + 2)
        cells = next(line for line in table if line.startswith("| kNN")).strip("|").split("|")[1:]
        for i, category in enumerate(CATEGORIES):
            margin, gaps = compare_scorers(rows, "knn")[category], knn[i] - gde[i]
            assert margin.differences == pytest.approx(tuple(gaps)) and margin.mean == pytest.approx(knn[i].mean())
            assert margin.random_mean == pytest.approx(gde[i].mean())
            assert margin.verdict == verdict(gaps)
            assert cells[i].strip().endswith(f"· {gap_cell(gaps)}")
            assert cells[i].strip().startswith(f"{100 * knn[i].mean():.1f} ±")
        baseline = table[2]  # the first scorer: the baseline, with no gap to itself
        assert baseline.startswith(f"| {SCORERS[BASELINE].label} |") and baseline.count("· —") == len(CATEGORIES)


def test_the_figure_has_one_panel_per_category_and_a_dot_per_seed() -> None:
    figure = density_figure([_row(c, s, 0.8, 0.7 + 0.1 * s) for c in CATEGORIES for s in range(2)])
    assert [axis.get_title() for axis in figure.axes] == list(CATEGORIES)
    assert [tick.get_text() for tick in figure.axes[0].get_xticklabels()] == [s.label for s in SCORERS.values()]
    knn = [c.get_offsets() for c in figure.axes[0].collections if isinstance(c, PathCollection)][-1]
    assert sorted(knn[:, 1]) == pytest.approx([0.7, 0.8])


def test_the_committed_study_is_read_only_for_the_default_data_at_the_profile_s_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    committed = tmp_path / "densities.csv"
    rows = [_row(c, s, 0.8, 0.7) for c in CATEGORIES for s in range(2)]
    committed.write_text(to_csv(rows))
    monkeypatch.setattr(densities, "COMMITTED_DENSITIES", committed)
    default = str(tmp_path / "default")
    assert committed_densities(default, CATEGORIES, get_profile("cpu")) == rows
    assert committed_densities(default, CATEGORIES, get_profile("tiny")) is None  # another scale
    assert committed_densities(default, ["weave"], get_profile("cpu")) is None  # other categories
    assert committed_densities(str(tmp_path / "mine"), CATEGORIES, get_profile("cpu")) is None
    monkeypatch.setattr(densities, "COMMITTED_DENSITIES", tmp_path / "absent.csv")
    assert committed_densities(default, CATEGORIES, get_profile("cpu")) is None


def test_the_density_study_script_writes_its_rows_table_and_figure(
    study_root: str, model_cache: str, tmp_path: Path
) -> None:
    out = tmp_path / "densities"
    command = [sys.executable, str(REPO_ROOT / "bench" / "density_study.py"), "--data", study_root, "--profile", "tiny"]
    command += ["--seeds", "0", "--categories", *CATEGORIES, "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "CPLIB_DATA_DIR": model_cache})
    assert done.returncode == 0, done.stderr
    assert {p.name for p in tmp_path.glob("densities.*")} == {"densities.csv", "densities.md", "densities.png"}
    rows = read_rows(out.with_suffix(".csv"), DensityRow)
    assert [(row.category, row.seed) for row in rows] == [(c, 0) for c in CATEGORIES]
    markdown = out.with_suffix(".md").read_text()
    assert "tiny profile" in markdown and density_table(rows) in markdown and "seeds [0]" in markdown
