"""The MVTec-layout reader on small folders written by the tests: sizes, modes, masks, labels and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cplib.data import list_categories, load_split, read_image
from cplib.errors import DataError
from cplib.synthetic import CATEGORIES, Counts, write_dataset

SIZE = 16


def expected_box(box: tuple[float, float, float, float], size: int) -> torch.Tensor:
    """A mask rectangle at size×size: where a source rectangle must land after nearest-neighbour resizing."""
    top, bottom, left, right = (round(f * size) for f in box)
    mask = torch.zeros(size, size, dtype=torch.bool)
    mask[top:bottom, left:right] = True
    return mask


def test_rgb_train_split_is_resized_and_keeps_colour_and_paths(tmp_path: Path, mvtec) -> None:
    folder = mvtec.category(tmp_path, "bottle", shape=(37, 53), train=3)
    split = load_split(tmp_path, "bottle", "train", size=SIZE)
    assert split.images.shape == (3, 3, SIZE, SIZE)
    assert split.images.dtype == torch.float32
    for i, image in enumerate(split.images):
        colour = torch.from_numpy(mvtec.colour(40 + 10 * i)).float() / 255
        assert torch.allclose(image, colour[:, None, None].expand(3, SIZE, SIZE), atol=1e-6)
    assert split.labels.tolist() == [0, 0, 0]
    assert split.defects == ["good"] * 3
    assert split.masks is None
    assert split.paths == sorted((folder / "train" / "good").glob("*.png"))


def test_grayscale_images_become_three_equal_channels(tmp_path: Path, mvtec) -> None:
    mvtec.category(tmp_path, "grid", mode="L", shape=(53, 37))
    images = load_split(tmp_path, "grid", "test", size=SIZE).images
    assert images.shape[1:] == (3, SIZE, SIZE)
    assert torch.equal(images[:, 0], images[:, 1]) and torch.equal(images[:, 1], images[:, 2])
    assert torch.allclose(images[0, 0], torch.full((SIZE, SIZE), 120 / 255))


def test_test_split_labels_defects_and_masks(tmp_path: Path, mvtec) -> None:
    mvtec.category(tmp_path, "tile", shape=(40, 80), test={"good": 2, "crack": 3, "glue": 1})
    split = load_split(tmp_path, "tile", "test", size=SIZE)
    assert sorted(split.defects) == ["crack"] * 3 + ["glue"] + ["good"] * 2
    assert split.labels.tolist() == [int(d != "good") for d in split.defects]
    assert [p.parent.name for p in split.paths] == split.defects
    assert split.masks is not None and split.masks.dtype == torch.bool
    empty = torch.zeros(SIZE, SIZE, dtype=torch.bool)
    for defect, mask in zip(split.defects, split.masks):
        assert torch.equal(mask, empty if defect == "good" else expected_box(mvtec.box, SIZE))


@pytest.mark.parametrize("size", [16, 32])
def test_mask_rectangle_lands_where_expected_after_resize(tmp_path: Path, mvtec, size: int) -> None:
    mvtec.category(tmp_path, "wood", shape=(40, 80), test={"hole": 1})
    masks = load_split(tmp_path, "wood", "test", size=size).masks
    assert masks is not None
    assert torch.equal(masks[0], expected_box(mvtec.box, size))


def test_category_without_ground_truth_has_no_masks(tmp_path: Path, mvtec) -> None:
    mvtec.category(tmp_path, "mine", masks=False)
    split = load_split(tmp_path, "mine", "test", size=SIZE)
    assert split.masks is None
    assert split.labels.tolist() == [int(d != "good") for d in split.defects]
    assert 1 in split.labels.tolist()


def test_non_image_files_are_skipped(tmp_path: Path, mvtec) -> None:
    folder = mvtec.category(tmp_path, "cable", train=2)
    (folder / "train" / "good" / "notes.txt").write_text("taken on Monday")
    (folder / "train" / "good" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "test" / "good" / "README").write_text("no image")
    assert len(load_split(tmp_path, "cable", "train", size=SIZE)) == 2
    test_paths = load_split(tmp_path, "cable", "test", size=SIZE).paths
    assert len(test_paths) == 4 and all(p.suffix == ".png" for p in test_paths)


@pytest.mark.parametrize("suffix", [".PNG", ".jpg", ".jpeg", ".bmp", ".tif"])
def test_accepted_image_suffixes_are_read(tmp_path: Path, mvtec, suffix: str) -> None:
    path = tmp_path / f"picture{suffix}"
    Image.fromarray(mvtec.image(90, 20, 30)).save(
        path, format={".PNG": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}.get(suffix)
    )
    image = read_image(path, SIZE)
    assert image.shape == (3, SIZE, SIZE)
    assert abs(image[0].mean().item() - 90 / 255) < 0.02


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    Image.fromarray(np.full((20, 30), 32768, np.uint16)).save(path)
    assert abs(read_image(path, SIZE).mean().item() - 0.5) < 0.02


def test_corrupt_image_raises_data_error_naming_the_file(tmp_path: Path, mvtec) -> None:
    folder = mvtec.category(tmp_path, "screw")
    (folder / "train" / "good" / "broken.png").write_bytes(b"this is not a PNG file")
    with pytest.raises(DataError, match="broken.png"):
        load_split(tmp_path, "screw", "train", size=SIZE)


def test_corrupt_mask_raises_data_error_naming_the_file(tmp_path: Path, mvtec) -> None:
    folder = mvtec.category(tmp_path, "pill", test={"crack": 1})
    (folder / "ground_truth" / "crack" / "000_mask.png").write_bytes(b"\x89PNG broken")
    with pytest.raises(DataError, match="000_mask.png"):
        load_split(tmp_path, "pill", "test", size=SIZE)


def test_missing_root_names_the_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="nowhere"):
        load_split(missing, "bottle")
    with pytest.raises(DataError, match="nowhere"):
        list_categories(missing)


def test_unknown_category_lists_the_categories_found(tmp_path: Path, mvtec) -> None:
    mvtec.category(tmp_path, "bottle")
    mvtec.category(tmp_path, "zipper")
    with pytest.raises(DataError, match="'carpet'.*bottle, zipper"):
        load_split(tmp_path, "carpet")


def test_empty_train_good_names_the_folder(tmp_path: Path) -> None:
    (tmp_path / "leather" / "train" / "good").mkdir(parents=True)
    (tmp_path / "leather" / "train" / "good" / "notes.txt").write_text("")
    with pytest.raises(DataError, match=r"no images in .*leather.train.good"):
        load_split(tmp_path, "leather", "train")


def test_unknown_split_names_the_split(tmp_path: Path, mvtec) -> None:
    mvtec.category(tmp_path, "bottle")
    with pytest.raises(DataError, match="'validation'.*train, test"):
        load_split(tmp_path, "bottle", "validation")


def test_list_categories_needs_train_good(tmp_path: Path, mvtec) -> None:
    mvtec.category(tmp_path, "hazelnut")
    (tmp_path / "half" / "train").mkdir(parents=True)
    mvtec.png(tmp_path / "loose.png", mvtec.image(0, 4, 4, "L"))
    assert list_categories(tmp_path) == ["hazelnut"]


def test_select_keeps_images_labels_masks_and_paths_together(tmp_path: Path, mvtec) -> None:
    mvtec.category(tmp_path, "metal_nut", test={"good": 2, "bent": 2})
    split = load_split(tmp_path, "metal_nut", "test", size=SIZE)
    subset = split.select([3, 0])
    assert subset.paths == [split.paths[3], split.paths[0]]
    assert subset.defects == [split.defects[3], split.defects[0]]
    assert subset.labels.tolist() == [split.labels[3].item(), split.labels[0].item()]
    assert torch.equal(subset.images, split.images[[3, 0]])
    assert torch.equal(subset.masks, split.masks[[3, 0]])


def test_default_dataset_loads_through_the_same_reader(tmp_path: Path) -> None:
    counts = Counts(train=3, test_good=2, test_per_defect=2)
    root = write_dataset(tmp_path / "default", counts=counts)
    assert list_categories(root) == sorted(CATEGORIES)
    for name, spec in CATEGORIES.items():
        train = load_split(root, name, "train", size=64)
        test = load_split(root, name, "test", size=64)
        assert len(train) == counts.train and train.masks is None
        assert len(test) == counts.test_good + counts.test_per_defect * len(spec.defects)
        assert set(test.defects) == {"good", *spec.defects}
        assert test.masks is not None
        defective = test.labels.bool()
        assert test.masks[defective].flatten(1).any(1).all()
        assert not test.masks[~defective].any()


def test_masks_resize_with_nearest_exact_to_the_pixels_they_mostly_cover(tmp_path: Path, mvtec) -> None:
    folder = mvtec.category(tmp_path, "plate", shape=(256, 256), test={"dent": 1})
    block = np.zeros((256, 256), np.uint8)
    block[61:125, 61:125] = 255  # output pixel 15 covers source rows 60-63 (3/4 inside), pixel 31 rows 124-127 (1/4)
    mvtec.png(folder / "ground_truth" / "dent" / "000_mask.png", block)
    mask = load_split(tmp_path, "plate", "test", size=64).masks[0]
    expected = torch.zeros(64, 64, dtype=torch.bool)
    expected[15:31, 15:31] = True
    assert torch.equal(mask, expected)


def test_a_mask_of_another_size_than_its_image_is_refused_naming_it(tmp_path: Path, mvtec) -> None:
    folder = mvtec.category(tmp_path, "pill", shape=(40, 40), test={"crack": 1})
    mvtec.png(folder / "ground_truth" / "crack" / "000_mask.png", mvtec.mask(20, 40))
    with pytest.raises(DataError, match=r"mask .*000_mask.png is 40×20 pixels but its image .*000.png is 40×40"):
        load_split(tmp_path, "pill", "test", size=SIZE)


def test_a_defective_image_without_mask_is_left_out_of_pixel_work_with_a_warning(tmp_path: Path, mvtec) -> None:
    folder = mvtec.category(tmp_path, "nut", test={"good": 1, "crack": 2})
    (folder / "ground_truth" / "crack" / "001_mask.png").unlink()
    with pytest.warns(UserWarning, match=r"1 defective images have no mask .*crack.001.png"):
        split = load_split(tmp_path, "nut", "test", size=SIZE)
    assert [p.relative_to(folder / "test").as_posix() for p in split.paths] == ["crack/000.png", "good/000.png"]
    assert torch.equal(split.masks[0], expected_box(mvtec.box, SIZE)) and not split.masks[1].any()
    assert len(load_split(tmp_path, "nut", "test", size=SIZE, masks=False)) == 3


def test_keep_unmasked_keeps_every_test_image_and_marks_those_with_a_mask(tmp_path: Path, mvtec) -> None:
    folder = mvtec.category(tmp_path, "nut", test={"good": 1, "crack": 2})
    (folder / "ground_truth" / "crack" / "001_mask.png").unlink()
    with pytest.warns(UserWarning, match=r"1 defective images have no mask .* count in image metrics .*crack.001.png"):
        split = load_split(tmp_path, "nut", "test", size=SIZE, keep_unmasked=True)
    assert split.paths == load_split(tmp_path, "nut", "test", size=SIZE, masks=False).paths
    assert split.annotated.tolist() == [True, False, True] and split.pixel_positions().tolist() == [0, 2]
    assert torch.equal(split.masks[0], expected_box(mvtec.box, SIZE)) and not split.masks[1:].any()
    assert split.select([1, 2]).annotated.tolist() == [False, True]


def test_image_level_loading_reads_no_mask(tmp_path: Path, mvtec) -> None:
    folder = mvtec.category(tmp_path, "pill", test={"crack": 1})
    (folder / "ground_truth" / "crack" / "000_mask.png").write_bytes(b"\x89PNG broken")
    split = load_split(tmp_path, "pill", "test", size=SIZE, masks=False)
    assert split.masks is None and split.labels.tolist() == [1]


def test_a_file_given_as_the_dataset_folder_is_called_a_file(tmp_path: Path) -> None:
    (tmp_path / "data.zip").write_bytes(b"PK")
    with pytest.raises(DataError, match=r"data.zip is a file, not a dataset folder"):
        load_split(tmp_path / "data.zip", "bottle")


def test_a_folder_given_as_an_image_is_called_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"is a folder, not an image file"):
        read_image(tmp_path, SIZE)
