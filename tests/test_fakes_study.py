"""Notebook 11's study (cplib.experiments.fakes, bench/fakes_study.py): the natural fakes beside CutPaste, the 3-way
task and the random network over seeds, on the tiny profile and a tiny dataset; its CutPaste, 3-way and random-network
rows are the seeded Table 1's models."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from rule_by_hand import gap_cell, verdict

from cplib.checkpoint import cache_key
from cplib.experiments import grid
from cplib.experiments.fakes import (
    BASELINES,
    FAKES_VARIANTS,
    compare,
    comparisons,
    fakes_jobs,
    fakes_study,
    fakes_table,
)
from cplib.experiments.measurements import RANDOM_INIT, Measurement
from cplib.experiments.results import read_rows, to_csv
from cplib.experiments.table1 import TABLE1_VARIANTS, seeded_ablation
from cplib.paths import REPO_ROOT
from cplib.profiles import get_profile, lesson_config

CATEGORIES = ("capsule", "weave")
SHARED = ("cutpaste", "3way", RANDOM_INIT)  # the rows both studies make


@pytest.mark.parametrize("name", ["cpu", "tiny"])
def test_the_cutpaste_3way_and_random_jobs_are_the_seeded_table1_s(name: str, study_root: str) -> None:
    """Same configs, same model-cache keys, same row keys: bench/fakes_study.py loads bench/table1_seeds.py's models and
    trains only the natural fakes; the 3-way models are the lessons'."""
    profile = get_profile(name)
    fakes = [
        job for job in fakes_jobs(study_root, CATEGORIES, profile, [0, 1, 2], FAKES_VARIANTS) if job.variant in SHARED
    ]
    table1 = [job for job in grid.grid_jobs(study_root, CATEGORIES, profile, [0, 1, 2], TABLE1_VARIANTS)]
    table1 = [job for job in table1 if job.variant in SHARED]
    assert [(job.config, job.random_init, job.key) for job in fakes] == [
        (job.config, job.random_init, job.key) for job in table1
    ]
    assert [cache_key(job.config) for job in fakes] == [cache_key(job.config) for job in table1]
    three_way = [job.config for job in fakes if job.variant == "3way"]
    assert three_way == [lesson_config(profile, c, study_root, seed) for c in CATEGORIES for seed in (0, 1, 2)]
    natural = {job.config.variant for job in fakes_jobs(study_root, CATEGORIES, profile, [0], FAKES_VARIANTS)} - set(
        SHARED
    )
    assert natural == set(BASELINES) and len(fakes_jobs(study_root, CATEGORIES, profile, [0], FAKES_VARIANTS)) == 2 * 7


def test_the_study_reuses_table1_s_rows_models_and_keys_and_resumes_where_it_stopped(
    study_root: str, model_cache: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", model_cache)
    tiny = get_profile("tiny")
    table1 = seeded_ablation(study_root, ["weave"], tiny, [0], ("cutpaste", "3way"), out=tmp_path / "table1.csv")
    out, made, real = tmp_path / "fakes.csv", [], grid.run_job

    def stop_at_the_fourth(job, root, device):
        if len(made) == 3:
            raise KeyboardInterrupt  # the end of a session
        made.append(job.variant)
        return real(job, root, device)

    monkeypatch.setattr(grid, "run_job", stop_at_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        fakes_study(study_root, ["weave"], tiny, [0], out)
    assert [row.variant for row in read_rows(out, Measurement)] == made == [RANDOM_INIT, "cutpaste", "seamless"]
    trained = []
    monkeypatch.setattr(grid, "run_job", lambda job, root, device: made.append(job.variant) or real(job, root, device))
    monkeypatch.setattr("cplib.checkpoint.train", _recording(trained))
    rows = fakes_study(study_root, ["weave"], tiny, [0], out)
    assert made[3:] == ["perlin", "3way", "3way-seamless", "3way-perlin"]  # only the missing jobs ran
    assert sorted(trained) == ["3way-perlin", "3way-seamless", "perlin"]  # 3-way came from Table 1's cache
    assert [row.variant for row in rows] == [RANDOM_INIT, *FAKES_VARIANTS]
    assert to_csv(read_rows(out, Measurement)) == to_csv(rows)  # CSV text: the random network's NaN accuracy compares
    shared = [row for row in rows if row.variant in SHARED]
    assert to_csv(shared) == to_csv(table1)  # the same models, measured alike: the same rows, keys included
    assert all(row.cpu and row.isa and row.threads > 0 and row.torch and row.cplib for row in rows)


def _recording(trained: list[str]):
    """cplib.checkpoint.train, noting each config's variant as it trains."""
    from cplib import checkpoint

    real = checkpoint.train

    def train(config, *args, **kwargs):
        trained.append(config.variant)
        return real(config, *args, **kwargs)

    return train


def test_the_bench_script_writes_csv_markdown_and_figure_and_a_rerun_trains_nothing(
    study_root: str, model_cache: str
) -> None:
    prefix = Path(model_cache) / "bench" / "fakes"
    command = [sys.executable, str(REPO_ROOT / "bench" / "fakes_study.py"), "--data", study_root, "--profile", "tiny"]
    command += ["--seeds", "0", "1", "--categories", "weave", "--out", str(prefix)]
    environment = {**os.environ, "CPLIB_DATA_DIR": model_cache, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    assert done.returncode == 0, done.stderr
    rows = read_rows(prefix.with_suffix(".csv"), Measurement)
    assert sorted((row.variant, row.seed) for row in rows) == sorted(
        (v, s) for v in (RANDOM_INIT, *FAKES_VARIANTS) for s in (0, 1)
    )
    markdown = prefix.with_suffix(".md").read_text()
    assert fakes_table(rows) in markdown and fakes_table(rows) in done.stdout and "tiny profile" in markdown
    assert prefix.with_suffix(".png").stat().st_size > 0
    again = subprocess.run(command, capture_output=True, text=True, env=environment)
    assert again.returncode == 0 and to_csv(read_rows(prefix.with_suffix(".csv"), Measurement)) == to_csv(rows)


def _row(variant: str, category: str, seed: int, auroc: float, accuracy: float) -> Measurement:
    steps = 0 if variant == RANDOM_INIT else 300
    return Measurement(variant, category, seed, steps, 64, auroc, accuracy, "fp32", key=f"{variant}{category}{seed}")


def _cells(table: list[str], *first: str) -> list[str]:
    """The category cells of the table line whose first cells are `first`."""
    start = "| " + " | ".join(first) + " |"
    line = next(line for line in table if line.startswith(start))
    return [cell.strip() for cell in line.removeprefix(start).strip(" |").split("|")]


def test_the_table_and_the_verdicts_match_a_brute_force_reading() -> None:
    draws = np.random.default_rng(11)
    names = (RANDOM_INIT, *FAKES_VARIANTS)
    for _ in range(30):
        seeds = int(draws.integers(1, 6))
        auroc = draws.uniform(0.4, 1.0, size=(len(names), len(CATEGORIES), seeds))
        auroc[names.index("seamless"), 0] = auroc[names.index("cutpaste"), 0] + draws.uniform(0.05, 0.06, seeds)
        accuracy = draws.uniform(0.3, 1.0, size=auroc.shape)
        rows = [
            _row(v, c, s, float(auroc[i, j, s]), float("nan") if v == RANDOM_INIT else float(accuracy[i, j, s]))
            for s in range(seeds)
            for i, v in enumerate(names)
            for j, c in enumerate(CATEGORIES)
        ]
        table = fakes_table(rows).splitlines()
        assert len(table) == 2 + len(names) + 1 + 2 + len(FAKES_VARIANTS) + len(BASELINES)
        for i, variant in enumerate(names):
            for j, cell in enumerate(_cells(table, variant)):
                values, below = 100 * auroc[i, j], i > 0 and auroc[i, j].mean() < auroc[0, j].mean()
                sd = values.std(ddof=1) if seeds > 1 else 0.0
                expected = f"{values.mean():.1f} ± {sd:.1f}" + (" ↓" if below else "")
                if variant != RANDOM_INIT:
                    expected += f" · {accuracy[i, j].mean():.2f}"
                assert cell == expected
        pairs = [(v, RANDOM_INIT) for v in FAKES_VARIANTS] + list(BASELINES.items())
        assert list(comparisons(rows)) == [(v, RANDOM_INIT) for v in FAKES_VARIANTS] + list(BASELINES.items())
        for variant, against in pairs:
            cells = _cells(table, variant, against)
            for j, category in enumerate(CATEGORIES):
                gaps = auroc[names.index(variant), j] - auroc[names.index(against), j]
                margin = compare(rows, variant, against)[category]
                assert margin.differences == pytest.approx(tuple(gaps)) and margin.verdict == verdict(gaps)
                assert cells[j] == gap_cell(gaps)
        if seeds > 1:  # seamless planted 5-6 points above CutPaste on every seed of the first category
            assert compare(rows, "seamless", "cutpaste")[CATEGORIES[0]].verdict == "above"


def test_a_fake_without_its_baseline_is_compared_with_the_random_network_only() -> None:
    rows = [_row(v, "weave", s, 0.5 + 0.1 * s, 0.9) for v in (RANDOM_INIT, "perlin") for s in (0, 1)]
    assert list(comparisons(rows)) == [("perlin", RANDOM_INIT)]
    assert "| perlin | random init | +0.0 ± 0.0 |" in fakes_table(rows)
