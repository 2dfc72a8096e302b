"""Notebook 08's study (cplib.experiments.foreground, bench/foreground_study.py): plain against foreground-aware 3-way
training over seeds, on the tiny profile and a tiny dataset."""

from __future__ import annotations

import math
import os
import shutil
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
from cplib.evaluate import evaluate_model
from cplib.experiments import foreground
from cplib.experiments.foreground import (
    AWARE,
    LABELS,
    MEASURED,
    MEASURES,
    PLACEMENTS,
    PLAIN,
    ForegroundRow,
    committed_foreground,
    compare_placements,
    foreground_config,
    foreground_study,
    foreground_table,
    measure_foreground,
)
from cplib.experiments.results import read_rows, row_key, to_csv
from cplib.experiments.table1 import seeded_ablation
from cplib.paths import REPO_ROOT
from cplib.profiles import get_profile, lesson_config
from cplib.studies import comparison_figure

matplotlib.use("Agg")
CATEGORIES = ("capsule", "weave")


def test_the_study_pairs_each_seeded_table1_model_with_its_foreground_aware_twin_training_only_the_twin(
    study_root: str, model_cache: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", model_cache)
    tiny = get_profile("tiny")
    seeded_ablation(study_root, CATEGORIES, tiny, [0, 1], ("3way",))  # bench/table1_seeds.py's 3-way models
    from cplib import checkpoint

    trained, real = [], checkpoint.train
    monkeypatch.setattr(checkpoint, "train", lambda config, *args: trained.append(config) or real(config, *args))
    out = tmp_path / "foreground.csv"
    rows = foreground_study(study_root, CATEGORIES, tiny, [0, 1], out)
    assert [(row.seed, row.category, row.placement) for row in rows] == [
        (seed, c, placement) for seed in (0, 1) for c in CATEGORIES for placement in PLACEMENTS
    ]
    assert trained == [lesson_config(tiny, c, study_root, s).with_(foreground=True) for s in (0, 1) for c in CATEGORIES]
    assert read_rows(out, ForegroundRow) == rows
    for row in rows:
        config = foreground_config(tiny, row.category, study_root, row.seed, row.placement)
        assert config == lesson_config(tiny, row.category, study_root, row.seed).with_(
            foreground=row.placement == AWARE
        )
        assert (row.key, row.cplib, row.precision) == (row_key(config, MEASURED), __version__, config.precision)
        assert (row.steps, row.size) == (tiny.steps, tiny.size) and 0 <= row.pixel_auroc <= 1
        assert row.cpu and row.isa and row.threads > 0 and row.torch  # the machine that measured it
        assert row.image_auroc == evaluate_model(load(cache_path(config)).model, config, study_root).auroc
    by = {(row.category, row.placement, row.seed): row for row in rows}
    for seed in (0, 1):  # a texture's foreground is the whole image: the same views, so the same model and values
        plain, aware = by["weave", PLAIN, seed], by["weave", AWARE, seed]
        assert [getattr(plain, name) for name in MEASURES] == [getattr(aware, name) for name in MEASURES]
    assert by["capsule", AWARE, 0].waste < by["capsule", PLAIN, 0].waste  # the object: fewer wasted views


def test_a_stopped_study_resumes_with_the_missing_rows_only(
    study_root: str, model_cache: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", model_cache)
    tiny, out, made = get_profile("tiny"), tmp_path / "foreground.csv", []
    real = foreground.measure_foreground

    def stop_at_the_fourth(config, device=None):
        if len(made) == 3:
            raise KeyboardInterrupt  # the end of a session
        made.append(config)
        return real(config, device)

    monkeypatch.setattr(foreground, "measure_foreground", stop_at_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        foreground_study(study_root, CATEGORIES, tiny, [0], out)
    assert len(read_rows(out, ForegroundRow)) == 3
    monkeypatch.setattr(
        foreground, "measure_foreground", lambda config, device=None: made.append(config) or real(config)
    )
    rows = foreground_study(study_root, CATEGORIES, tiny, [0], out)
    assert made[3:] == [foreground_config(tiny, "weave", study_root, 0, AWARE)]  # only the missing row's job ran
    assert read_rows(out, ForegroundRow) == rows and len(rows) == 4


def test_a_dataset_without_masks_has_no_pixel_auroc(
    study_root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    unmasked = tmp_path / "unmasked"
    shutil.copytree(Path(study_root) / "weave", unmasked / "weave")
    shutil.rmtree(unmasked / "weave" / "ground_truth")
    row = measure_foreground(foreground_config(get_profile("tiny"), "weave", str(unmasked), 0, PLAIN))
    assert math.isnan(row.pixel_auroc) and 0 <= row.image_auroc <= 1


def test_an_unknown_placement_is_refused(study_root: str) -> None:
    with pytest.raises(ValueError, match="placement"):
        foreground_config(get_profile("tiny"), "weave", study_root, 0, "aware")


def _row(category: str, placement: str, seed: int, auroc: float, waste: float = 0.5) -> ForegroundRow:
    return ForegroundRow(category, placement, seed, 300, 64, waste, 0.6, auroc, 0.7, "bf16", key=f"{placement}{seed}")


def test_the_paired_gaps_and_the_table_match_a_brute_force_reading() -> None:
    draws = np.random.default_rng(3)
    for _ in range(40):
        seeds = int(draws.integers(1, 6))
        values = draws.uniform(0.5, 1.0, size=(2, seeds))  # plain, aware × seeds
        rows = [_row("capsule", p, s, float(values[i, s])) for s in range(seeds) for i, p in enumerate(PLACEMENTS)]
        extra = int(draws.integers(0, 2))  # a plain seed whose twin is not measured yet: left out of the pairs
        rows += [_row("capsule", PLAIN, seeds, 0.1)] * extra
        margin = compare_placements(rows, "image_auroc")["capsule"]
        gaps = values[1] - values[0]
        assert margin.differences == pytest.approx(tuple(gaps)) and margin.verdict == verdict(gaps)
        plain = [*values[0], *[0.1] * extra]
        assert (margin.mean, margin.random_mean) == pytest.approx((values[1].mean(), np.mean(plain)))
        table = foreground_table(rows).splitlines()
        assert len(table) == 2 + 2 + 1 + 2 + 1  # both placements, then one line of gaps
        assert table[2].startswith(f"| capsule | plain | {seeds + extra} | ")
        assert table[3].startswith(f"| capsule | foreground-aware | {seeds} | 0.500 ± 0.000 | 0.600 ± 0.000 | ")
        assert f"| {values[1].mean():.3f} ± " in table[3]
        gap_cells = table[-1].strip("|").split("|")
        assert gap_cells[1 + MEASURES.index("image_auroc")].strip() == gap_cell(gaps)


def test_a_category_without_pairs_gets_a_dash() -> None:
    rows = [_row("capsule", PLAIN, 0, 0.8), _row("weave", PLAIN, 0, 0.9), _row("weave", AWARE, 0, 0.9)]
    lines = foreground_table(rows).splitlines()
    assert lines[-2] == "| capsule | — | — | — | — |" and lines[-1].startswith("| weave | +0.0 ± 0.0 |")


def test_the_figure_has_one_panel_per_measure_and_a_dot_per_seed() -> None:
    rows = [_row("capsule", p, s, 0.6 + 0.1 * s) for p in PLACEMENTS for s in (0, 1)]
    figure = comparison_figure(rows)
    assert [axis.get_title() for axis in figure.axes] == [LABELS[name] for name in MEASURES]
    axis = figure.axes[MEASURES.index("image_auroc")]
    dots = [c.get_offsets() for c in axis.collections if isinstance(c, PathCollection)]  # plain left, aware right
    assert [(float(points[0, 0]), sorted(points[:, 1])) for points in dots] == [
        (-0.15, pytest.approx([0.6, 0.7])),
        (0.15, pytest.approx([0.6, 0.7])),
    ]
    assert {text.get_text() for text in figure.axes[0].get_legend().get_texts()} == set(PLACEMENTS)


def test_the_committed_study_is_read_only_for_the_default_data_at_the_profile_s_scale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    committed = tmp_path / "foreground.csv"
    rows = [_row(c, p, 0, 0.8) for c in CATEGORIES for p in PLACEMENTS]
    committed.write_text(to_csv(rows))
    monkeypatch.setattr(foreground, "COMMITTED_FOREGROUND", committed)
    default = str(tmp_path / "default")
    assert committed_foreground(default, CATEGORIES, get_profile("cpu")) == rows
    assert committed_foreground(default, CATEGORIES, get_profile("tiny")) is None  # another scale
    assert committed_foreground(default, ["capsule"], get_profile("cpu")) is None  # other categories
    assert committed_foreground(str(tmp_path / "mine"), CATEGORIES, get_profile("cpu")) is None
    monkeypatch.setattr(foreground, "COMMITTED_FOREGROUND", tmp_path / "absent.csv")
    assert committed_foreground(default, CATEGORIES, get_profile("cpu")) is None


def test_the_foreground_study_script_writes_its_rows_table_and_figure(
    study_root: str, model_cache: str, tmp_path: Path
) -> None:
    out = tmp_path / "foreground"
    command = [
        sys.executable,
        str(REPO_ROOT / "bench" / "foreground_study.py"),
        "--data",
        study_root,
        "--profile",
        "tiny",
    ]
    command += ["--seeds", "0", "--categories", *CATEGORIES, "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "CPLIB_DATA_DIR": model_cache})
    assert done.returncode == 0, done.stderr
    assert {p.name for p in tmp_path.glob("foreground.*")} == {"foreground.csv", "foreground.md", "foreground.png"}
    rows = read_rows(out.with_suffix(".csv"), ForegroundRow)
    assert [(row.category, row.placement) for row in rows] == [(c, p) for c in CATEGORIES for p in PLACEMENTS]
    markdown = out.with_suffix(".md").read_text()
    assert "tiny profile" in markdown and foreground_table(rows) in markdown and "seeds [0]" in markdown
