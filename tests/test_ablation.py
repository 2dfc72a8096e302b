"""The Table 1 ablation and its paper-scale script, on a tiny dataset with the tiny profile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cplib.ablation import markdown_table, run_ablation
from cplib.paths import REPO_ROOT
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small default-style dataset."""
    return str(write_dataset(tmp_path_factory.mktemp("data") / "default", counts=Counts(train=6, test_good=3, test_per_defect=2)))


def test_markdown_table_lists_every_variant_with_the_paper_mean() -> None:
    table = markdown_table({"cutout": {"a": 0.5, "b": 0.7}, "3way": {"a": 0.9, "b": 1.0}}, title="t")
    lines = table.splitlines()
    assert lines[0] == "| variant | a | b | mean (t) | paper MVTec mean |"
    assert lines[2] == "| cutout | 50.0 | 70.0 | 60.0 | 71.3 |" and lines[3] == "| 3way | 90.0 | 100.0 | 95.0 | 95.2 |"


def test_run_ablation_covers_every_pair(root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    results = run_ablation(root, ["weave", "capsule"], get_profile("tiny"), variants=("cutout", "3way"))
    assert set(results) == {"cutout", "3way"} and all(set(row) == {"weave", "capsule"} for row in results.values())
    assert all(0 <= value <= 1 for row in results.values() for value in row.values())
    assert len(list((tmp_path / "models").glob("*.pt"))) == 4


def test_mvtec_table_script_runs_on_the_default_layout(root: str, tmp_path: Path) -> None:
    out = tmp_path / "table.md"
    env = {**os.environ, "CPLIB_DATA_DIR": str(tmp_path)}
    command = [sys.executable, str(REPO_ROOT / "bench" / "mvtec_table.py"), "--data", root, "--profile", "tiny", "--variants", "scar", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert "| scar | " in text and "85.0" in text and "capsule" in text and "granite" in text and "weave" in text


def test_mvtec_table_script_names_a_missing_folder(tmp_path: Path) -> None:
    command = [sys.executable, str(REPO_ROOT / "bench" / "mvtec_table.py"), "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "t.md")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert done.returncode == 2 and "dataset folder not found" in done.stderr and "Traceback" not in done.stderr


def test_results_script_writes_table1_with_random_init_and_the_localisation_table(root: str, tmp_path: Path) -> None:
    """bench/results.py, the README's tables: every variant and the random-init row, then trained vs random maps."""
    out = tmp_path / "results.md"
    env = {**os.environ, "CPLIB_DATA_DIR": str(tmp_path)}
    command = [sys.executable, str(REPO_ROOT / "bench" / "results.py"), "--data", root, "--profile", "tiny", "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    assert all(f"| {row} | " in text for row in ("cutout", "scar", "cutpaste", "cutpaste-scar", "3way", "random init"))
    rows = [line for line in text.splitlines() if line.startswith(("| capsule (", "| granite (", "| weave ("))]
    assert len(rows) == 3 and "| capsule (per-location) |" in text and all(line.count("(0.") + line.count("(1.") == 4 for line in rows)


def test_seeded_ablation_measures_every_variant_seed_and_the_random_network(root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cplib.ablation import RANDOM_INIT, seeded_ablation, spread_table, to_csv

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    rows = seeded_ablation(root, ["weave", "capsule"], get_profile("tiny"), seeds=[0, 1], variants=("cutout", "3way"))
    assert sorted((r.variant, r.category, r.seed) for r in rows) == sorted(
        (v, c, s) for v in ("cutout", "3way", RANDOM_INIT) for c in ("weave", "capsule") for s in (0, 1)
    )
    assert all(0 <= r.auroc <= 1 for r in rows) and all((r.variant == RANDOM_INIT) == (r.steps == 0) for r in rows)
    table = spread_table(rows)
    mean = lambda v, c: np.mean([r.auroc for r in rows if (r.variant, r.category) == (v, c)])  # noqa: E731
    for line in table.splitlines()[2:]:
        variant, *cells = [cell.strip() for cell in line.strip("|").split("|")]
        for category, cell in zip(("weave", "capsule"), cells):
            assert cell.startswith(f"{100 * mean(variant, category):.1f} ± ")
            assert cell.endswith("↓") == (variant != RANDOM_INIT and mean(variant, category) < mean(RANDOM_INIT, category))
    assert to_csv(rows).count("\n") == len(rows) + 1


def test_training_curve_trains_each_length_once_and_keeps_the_random_line(root: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cplib.ablation import RANDOM_INIT, training_curve

    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path))
    rows = training_curve(root, ["weave"], get_profile("tiny"), lengths=[2, 4])
    assert [(r.variant, r.steps) for r in rows] == [(RANDOM_INIT, 0), ("3way", 2), ("3way", 4)]
    assert all(0 <= r.proxy_accuracy <= 1 for r in rows[1:]) and np.isnan(rows[0].proxy_accuracy)
    assert len(list((tmp_path / "models").glob("*.pt"))) == 2


@pytest.mark.parametrize("script, options", [("table1_seeds.py", ["--seeds", "0", "--variants", "scar"]), ("training_curve.py", ["--steps", "2"])])
def test_study_scripts_write_their_csv_and_figure(root: str, tmp_path: Path, script: str, options: list[str]) -> None:
    env = {**os.environ, "CPLIB_DATA_DIR": str(tmp_path), "MPLBACKEND": "Agg"}
    out = tmp_path / "study"
    command = [sys.executable, str(REPO_ROOT / "bench" / script), "--data", root, "--profile", "tiny", *options, "--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
    assert out.with_suffix(".csv").read_text().startswith("variant,category,seed,steps,size,auroc,proxy_accuracy")
    assert out.with_suffix(".png").stat().st_size > 0
