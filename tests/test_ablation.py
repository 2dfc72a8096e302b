"""The Table 1 ablation and its paper-scale script, on a tiny dataset with the tiny profile."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
