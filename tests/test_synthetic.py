"""The embedded default dataset: deterministic, with visible defects and exact masks, written atomically once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

import cplib.synthetic as synthetic
from cplib.synthetic import CATEGORIES, SIZE, STAMP, Counts, draw_sample, ensure_default_data, write_dataset

SMALL = Counts(train=2, test_good=1, test_per_defect=1)
DEFECTS = [(category, defect) for category, spec in CATEGORIES.items() for defect in spec.defects]
VISIBLE = 0.08  # least colour difference between a defect and the ring around it; generated defects give ≥ 0.11


def files(root: Path) -> dict[str, bytes]:
    """Every file under root by relative path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def contrast(picture: np.ndarray, mask: np.ndarray) -> float:
    """The largest per-channel difference between the mean colour inside mask and in a 3-pixel ring around it."""
    ring = ndimage.binary_dilation(mask, iterations=3) & ~mask
    return float(np.abs(picture[mask].mean(0) - picture[ring].mean(0)).max())


def test_same_seed_writes_identical_bytes(tmp_path: Path) -> None:
    first = files(write_dataset(tmp_path / "a", seed=3, counts=SMALL))
    second = files(write_dataset(tmp_path / "b", seed=3, counts=SMALL))
    assert len(first) > len(CATEGORIES) * 3
    assert first == second


def test_different_seed_draws_different_images(tmp_path: Path) -> None:
    first = files(write_dataset(tmp_path / "a", seed=0, counts=SMALL))
    other = files(write_dataset(tmp_path / "b", seed=1, counts=SMALL))
    assert first.keys() == other.keys()
    images = [name for name in first if "/ground_truth/" not in name]
    assert images and all(first[name] != other[name] for name in images)


def test_written_layout_has_masks_for_defects_only(tmp_path: Path) -> None:
    counts = Counts(train=2, test_good=2, test_per_defect=2)
    root = write_dataset(tmp_path / "d", seed=0, counts=counts)
    for category, spec in CATEGORIES.items():
        folder = root / category
        assert len(list((folder / "train" / "good").glob("*.png"))) == counts.train
        assert len(list((folder / "test" / "good").glob("*.png"))) == counts.test_good
        assert sorted(p.name for p in (folder / "ground_truth").iterdir()) == sorted(spec.defects)
        for defect in spec.defects:
            images = sorted((folder / "test" / defect).glob("*.png"))
            masks = sorted((folder / "ground_truth" / defect).glob("*_mask.png"))
            assert [f"{p.stem}_mask.png" for p in images] == [p.name for p in masks]
            assert len(images) == counts.test_per_defect


def test_written_mask_is_the_drawn_mask(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d", seed=5, counts=SMALL)
    category, defect = DEFECTS[-1]
    written = np.asarray(Image.open(root / category / "ground_truth" / defect / "000_mask.png")) > 127
    assert np.array_equal(written, draw_sample(category, 5, 0, defect)[1])


@pytest.mark.parametrize(("category", "defect"), DEFECTS)
def test_defect_masks_are_small_non_empty_and_visible(category: str, defect: str) -> None:
    for index in range(4):
        picture, mask = draw_sample(category, 0, index, defect)
        assert picture.shape == (SIZE, SIZE, 3) and 0 <= picture.min() and picture.max() <= 1
        assert mask.shape == (SIZE, SIZE) and mask.dtype == bool
        assert 0 < mask.mean() < 0.05, f"{category}/{defect} #{index}: mask covers {mask.mean():.1%}"
        assert contrast(picture, mask) > VISIBLE, f"{category}/{defect} #{index} is not visible"


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_good_samples_have_empty_masks(category: str) -> None:
    for index in range(3):
        picture, mask = draw_sample(category, 0, index, "good")
        assert picture.shape == (SIZE, SIZE, 3)
        assert not mask.any()


def test_same_key_draws_the_same_sample_and_other_indices_differ() -> None:
    picture, mask = draw_sample("granite", 2, 7, "stain")
    again, again_mask = draw_sample("granite", 2, 7, "stain")
    assert np.array_equal(picture, again) and np.array_equal(mask, again_mask)
    assert not np.array_equal(picture, draw_sample("granite", 2, 8, "stain")[0])


def test_categories_cover_textures_an_object_and_five_defect_kinds() -> None:
    kinds = [spec.kind for spec in CATEGORIES.values()]
    assert len(CATEGORIES) >= 3
    assert kinds.count("texture") >= 2 and kinds.count("object") >= 1
    assert len({defect for _, defect in DEFECTS}) >= 5


def test_ensure_default_data_writes_once_with_a_stamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = ensure_default_data(tmp_path / "default", counts=SMALL, verbose=False)
    stamp = root / STAMP
    assert json.loads(stamp.read_text())["version"] == synthetic.GENERATOR_VERSION
    before = {p: p.stat().st_mtime_ns for p in root.rglob("*")}
    monkeypatch.setattr(synthetic, "write_dataset", _refuse)
    assert ensure_default_data(root, counts=SMALL, verbose=False) == root
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*")} == before


def test_ensure_default_data_rewrites_for_another_generator_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = ensure_default_data(tmp_path / "default", counts=SMALL, verbose=False)
    (root / "left-over.txt").write_text("from the old generator")
    monkeypatch.setattr(synthetic, "GENERATOR_VERSION", synthetic.GENERATOR_VERSION + 1)
    ensure_default_data(root, counts=SMALL, verbose=False)
    assert json.loads((root / STAMP).read_text())["version"] == synthetic.GENERATOR_VERSION
    assert not (root / "left-over.txt").exists()
    assert (root / "weave" / "train" / "good" / "000.png").is_file()


def test_ensure_default_data_rewrites_for_other_counts(tmp_path: Path) -> None:
    root = ensure_default_data(tmp_path / "default", counts=SMALL, verbose=False)
    bigger = Counts(train=3, test_good=1, test_per_defect=1)
    ensure_default_data(root, counts=bigger, verbose=False)
    assert len(list((root / "granite" / "train" / "good").glob("*.png"))) == bigger.train


def test_interrupted_first_write_leaves_no_root_and_is_redone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "default"
    monkeypatch.setattr(synthetic, "write_dataset", _write_then_fail)
    with pytest.raises(KeyboardInterrupt):
        ensure_default_data(root, counts=SMALL, verbose=False)
    assert not root.exists()
    monkeypatch.undo()
    ensure_default_data(root, counts=SMALL, verbose=False)
    assert files(root) == {
        **files(write_dataset(tmp_path / "reference", counts=SMALL)),
        STAMP: (root / STAMP).read_bytes(),
    }


def test_interrupted_rewrite_keeps_the_old_complete_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = ensure_default_data(tmp_path / "default", counts=SMALL, verbose=False)
    before = files(root)
    monkeypatch.setattr(synthetic, "GENERATOR_VERSION", synthetic.GENERATOR_VERSION + 1)
    monkeypatch.setattr(synthetic, "write_dataset", _write_then_fail)
    with pytest.raises(KeyboardInterrupt):
        ensure_default_data(root, counts=SMALL, verbose=False)
    assert files(root) == before


def test_interrupted_write_removes_its_staging_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(synthetic, "write_dataset", _write_then_fail)
    with pytest.raises(KeyboardInterrupt):
        ensure_default_data(tmp_path / "default", counts=SMALL, verbose=False)
    assert list(tmp_path.iterdir()) == []


def _refuse(*args: object, **kwargs: object) -> Path:
    """Stands in for write_dataset where writing must not happen."""
    raise AssertionError("write_dataset was called although the dataset is up to date")


def _write_then_fail(root: Path, seed: int, counts: Counts) -> Path:
    """Write the training images of every category, then stop as a Ctrl-C would."""
    write_dataset(root, seed, Counts(train=counts.train, test_good=0, test_per_defect=0))
    raise KeyboardInterrupt
