"""Notebook 10 (CutPaste on your own images) runs without edits on a folder it has never seen, and trains what the
command line's `train` would."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cplib.checkpoint import cache_path
from cplib.cli import _config, build_parser
from cplib.detector import Detector
from cplib.series import execute_notebook
from cplib.synthetic import Counts, write_dataset

CAPSTONE = Path(__file__).resolve().parent.parent / "notebooks" / "10_your_data.ipynb"


@pytest.fixture
def own_folder(tmp_path: Path) -> Path:
    """An MVTec-layout folder with one category, named unlike any of the default data's, with masks."""
    root = write_dataset(tmp_path / "written", seed=7, counts=Counts(train=10, test_good=3, test_per_defect=2))
    mine = tmp_path / "my_images"
    mine.mkdir()
    shutil.move(root / "capsule", mine / "tablets")
    return mine


def test_the_capstone_runs_on_another_folder_and_saves_the_cli_s_model(
    own_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CPLIB_DATASET", str(own_folder))
    monkeypatch.setenv("CPLIB_CATEGORY", "tablets")
    monkeypatch.setenv("CPLIB_PROFILE", "tiny")
    monkeypatch.setenv("CPLIB_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CPLIB_DEVICE", "cpu")
    copy = (
        tmp_path / "notebooks" / CAPSTONE.name
    )  # executed in a folder of its own, so nothing is written beside the original
    copy.parent.mkdir()
    shutil.copy(CAPSTONE, copy)

    notebook = execute_notebook(copy, cell_timeout=600)

    printed = "".join(
        output.get("text", "") for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    )
    assert f"dataset: {own_folder}" in printed and "this notebook: tablets" in printed
    assert "anomalous" in printed or "normal" in printed  # the command line's verdict on one image
    cli = _config(build_parser().parse_args(["train", "--category", "tablets", "--out", str(tmp_path / "unused")]))
    saved = Detector.load(cache_path(cli).with_suffix(""))  # the folder the notebook saved, found by the CLI's config
    assert saved.config == cli and saved.threshold is not None
    assert saved.calibration.n_held_out == 2 and saved.density_images == 8  # a fifth of the 10 normals held out
