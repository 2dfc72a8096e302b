"""Foreground estimation, foreground-aware augmentations, wasted-draw measures and the training path that uses them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cplib import augment as A
from cplib.data import load_split
from cplib.errors import ConfigError
from cplib.foreground import (
    Changes,
    changes,
    estimate_foreground,
    foreground_steps,
    iou,
    measure_waste,
    otsu_threshold,
    views_waste,
    waste,
)
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset
from cplib.train import train

SIZE = 48


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The default dataset's three categories, a few images each."""
    root = tmp_path_factory.mktemp("data") / "default"
    return str(write_dataset(root, counts=Counts(train=6, test_good=3, test_per_defect=2)))


def disc(size: int = SIZE, centre: tuple[float, float] = (24, 22), radius: float = 11) -> torch.Tensor:
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return (rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2


def discs_on_grey(count: int = 9, seed: int = 0) -> torch.Tensor:
    """Noisy images of an orange disc on a plain grey background, shifted by up to a pixel, with brightness changes."""
    generator = torch.Generator().manual_seed(seed)
    images = []
    for _ in range(count):
        shift = torch.randint(-1, 2, (2,), generator=generator)
        shape = disc(centre=(24 + float(shift[0]), 22 + float(shift[1])))
        colour = torch.where(shape, torch.tensor([0.9, 0.55, 0.2]).view(3, 1, 1), torch.tensor(0.3))
        brightness = 1 + 0.1 * (torch.rand(1, generator=generator) - 0.5)
        noise = 0.02 * torch.randn(3, SIZE, SIZE, generator=generator)
        images.append((colour * brightness + noise).clamp(0, 1))
    return torch.stack(images)


def generator(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# ---------------------------------------------------------------- estimating the foreground


def test_otsu_splits_two_modes() -> None:
    values = np.concatenate(
        [np.random.default_rng(0).normal(0.1, 0.02, 500), np.random.default_rng(1).normal(0.7, 0.05, 200)]
    )
    assert 0.2 < otsu_threshold(values) < 0.55


def test_disc_on_plain_background_is_recovered() -> None:
    mask = estimate_foreground(discs_on_grey())
    assert mask.shape == (SIZE, SIZE) and mask.dtype == torch.bool
    assert iou(mask, disc()) > 0.9


def test_steps_report_the_border_colour_and_threshold() -> None:
    steps = foreground_steps(discs_on_grey())
    assert torch.allclose(steps.background, torch.full((3,), 0.3), atol=0.02)
    assert steps.threshold >= 0.1 and not steps.whole_image


@pytest.mark.parametrize("category", ["weave", "granite"])
def test_texture_foreground_is_the_whole_image(tiny_root: str, category: str) -> None:
    images = load_split(tiny_root, category, "train", 64).images
    assert foreground_steps(images).whole_image
    assert estimate_foreground(images).all()


def test_capsule_foreground_is_the_object(tiny_root: str) -> None:
    mask = estimate_foreground(load_split(tiny_root, "capsule", "train", 64).images)
    assert 0.12 < mask.float().mean() < 0.3
    assert mask[32, 32] and not mask[:4].any() and not mask[:, :4].any()


@pytest.mark.parametrize("kwargs, name", [({"border": 0.7}, "border"), ({"min_contrast": -0.1}, "min_contrast")])
def test_estimate_rejects_bad_parameters(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        estimate_foreground(discs_on_grey(3), **kwargs)


# ---------------------------------------------------------------- foreground-aware augmentations


@pytest.mark.parametrize("name", list(A.AUGMENTATIONS))
def test_pastes_overlap_the_mask_by_min_overlap(name: str) -> None:
    foreground = disc(64, (36, 26), 21)
    _, masks = A.AUGMENTATIONS[name](torch.rand(200, 3, 64, 64), generator(), foreground=foreground, min_overlap=0.5)
    share = (masks & foreground).flatten(1).sum(1) / masks.flatten(1).sum(1)
    assert (share >= 0.5).all()


@pytest.mark.parametrize("name", list(A.AUGMENTATIONS))
def test_pastes_always_overlap_a_small_mask(name: str) -> None:
    """A disc smaller than many boxes: those cannot reach min_overlap and keep their best draw, never a miss."""
    foreground = disc(64, (40, 20), 7)
    _, masks = A.AUGMENTATIONS[name](torch.rand(200, 3, 64, 64), generator(), foreground=foreground, min_overlap=0.9)
    assert ((masks & foreground).flatten(1).sum(1) > 0).all()


@pytest.mark.parametrize("name", list(A.AUGMENTATIONS))
def test_a_single_foreground_pixel_is_always_covered(name: str) -> None:
    foreground = torch.zeros(64, 64, dtype=torch.bool)
    foreground[30, 33] = True
    _, masks = A.AUGMENTATIONS[name](torch.rand(32, 3, 64, 64), generator(1), foreground=foreground)
    assert masks[:, 0, 30, 33].all()


@pytest.mark.parametrize("name", ["cutpaste", "scar"])
def test_per_sample_masks_are_followed(name: str) -> None:
    foreground = torch.zeros(100, 1, 64, 64, dtype=torch.bool)
    foreground[0::2, ..., :12] = foreground[1::2, ..., 52:] = True
    _, masks = A.AUGMENTATIONS[name](torch.rand(100, 3, 64, 64), generator(), foreground=foreground, min_overlap=0.3)
    assert ((masks & foreground).flatten(1).sum(1) > 0).all()


@pytest.mark.parametrize("name", list(A.AUGMENTATIONS))
def test_all_true_mask_changes_nothing(name: str) -> None:
    images = torch.rand(32, 3, 48, 40)
    plain_generator, aware_generator = generator(3), generator(3)
    plain = A.AUGMENTATIONS[name](images, plain_generator)
    aware = A.AUGMENTATIONS[name](images, aware_generator, foreground=torch.ones(48, 40, dtype=torch.bool))
    assert torch.equal(plain[0], aware[0]) and torch.equal(plain[1], aware[1])
    assert torch.equal(plain_generator.get_state(), aware_generator.get_state())


def test_texture_mask_leaves_three_way_views_identical(tiny_root: str) -> None:
    images = load_split(tiny_root, "granite", "train", 64).images
    foreground = estimate_foreground(images)
    plain = A.make_views(images, "3way", generator())
    aware = A.make_views(images, "3way", generator(), foreground=foreground)
    assert all(torch.equal(a, b) for a, b in zip(plain, aware))


def test_placement_is_uniform_among_qualifying_positions() -> None:
    """Two allowed 8-px columns at the sides: fixed-size boxes land left and right about equally often."""
    foreground = torch.zeros(64, 64, dtype=torch.bool)
    foreground[:, :8] = foreground[:, 56:] = True
    _, masks = A.cutout(torch.rand(1000, 3, 64, 64), generator(), area=(0.02, 0.02), foreground=foreground)
    left = (masks[..., :8].flatten(1).sum(1) > 0).float().mean()
    assert 0.45 < left < 0.55


@pytest.mark.parametrize(
    "foreground, message",
    [
        (torch.ones(32, 32), "foreground"),
        (torch.ones(16, 16, dtype=torch.bool), "foreground"),
        (torch.zeros(32, 32, dtype=torch.bool), "at least one True"),
    ],
)
def test_bad_foreground_is_a_value_error(foreground: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        A.cutpaste(torch.rand(2, 3, 32, 32), generator(), foreground=foreground)


@pytest.mark.parametrize("min_overlap", [0, 1.5, -0.2])
def test_min_overlap_outside_its_range_is_a_value_error(min_overlap: float) -> None:
    with pytest.raises(ValueError, match="min_overlap"):
        A.scar(
            torch.rand(2, 3, 32, 32),
            generator(),
            foreground=torch.ones(32, 32, dtype=torch.bool),
            min_overlap=min_overlap,
        )


# ---------------------------------------------------------------- wasted draws


def test_changes_and_waste_on_a_hand_made_case() -> None:
    images = torch.zeros(3, 3, 8, 8)
    augmented = images.clone()
    masks = torch.zeros(3, 1, 8, 8, dtype=torch.bool)
    foreground = torch.zeros(8, 8, dtype=torch.bool)
    foreground[4:, :] = True
    masks[0, 0, :2, :2] = True  # on background, changed by 0.5: off the object, visible
    augmented[0, :, :2, :2] = 0.5
    masks[1, 0, 4:6, :2] = True  # on the object, changed by 0.01: invisible
    augmented[1, :, 4:6, :2] = 0.01
    found = changes(images, augmented, masks, foreground)  # sample 2 changed nothing: both
    assert torch.allclose(found.on_foreground, torch.tensor([0.0, 1.0, 0.0]))
    assert torch.allclose(found.mean_change, torch.tensor([0.5, 0.01, 0.0]))
    result = waste(found)
    assert (result.off_object, result.invisible, result.either, result.draws) == pytest.approx((2 / 3, 2 / 3, 1.0, 3))


def test_foreground_aware_draws_stay_on_the_capsule(tiny_root: str) -> None:
    images = load_split(tiny_root, "capsule", "train", 64).images
    foreground = estimate_foreground(images)
    plain = measure_waste(images, "scar", foreground, repeats=20)
    aware = measure_waste(images, "scar", foreground, aware=True, repeats=20)
    assert plain.off_object > 0.3 and aware.off_object == 0.0 and aware.draws == 120


def test_views_waste_counts_every_anomalous_view(tiny_root: str) -> None:
    images = load_split(tiny_root, "capsule", "train", 64).images
    foreground = estimate_foreground(images)
    plain = views_waste(images, "3way", foreground, repeats=10)
    aware = views_waste(images, "3way", foreground, aware=True, repeats=10)
    assert plain.draws == aware.draws == 120
    assert aware.off_object == 0.0 and plain.either > aware.either


def test_measure_waste_rejects_unknown_augmentations() -> None:
    with pytest.raises(ValueError, match="augmentation"):
        measure_waste(torch.rand(2, 3, 32, 32), "mixup", torch.ones(32, 32, dtype=torch.bool))


def test_a_visible_draw_on_the_object_is_not_wasted() -> None:
    assert waste(Changes(torch.tensor([0.5]), torch.tensor([0.1]))).either == 0.0


# ---------------------------------------------------------------- training and the comparison table


def test_foreground_training_on_a_texture_is_identical(tiny_root: str) -> None:
    config = get_profile("tiny").config("3way", "weave", data_root=tiny_root, steps=2, batch=2)
    plain, _ = train(config, progress=False)
    aware, _ = train(config.with_(foreground=True), progress=False)
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), aware.state_dict().values()))


def test_foreground_training_runs_on_an_object(tiny_root: str) -> None:
    config = get_profile("tiny").config("3way", "capsule", data_root=tiny_root, steps=2, batch=2, foreground=True)
    _, history = train(config, progress=False)
    assert len(history.loss) == 2


def test_foreground_and_patch_training_exclude_each_other() -> None:
    with pytest.raises(ConfigError, match="foreground"):
        get_profile("tiny").config(foreground=True, patch=16)
