"""The augmentation explorer and the localisation browser, driven the way ipywidgets drives them: by setting
control values."""

from __future__ import annotations

import matplotlib
import pytest
import torch

from cplib import widgets as widgets_module
from cplib.data import Split
from cplib.evaluate import evaluate_maps
from cplib.plots import augmentation_figure
from cplib.synthetic import Counts, write_dataset
from cplib.widgets import (
    AugmentationExplorer,
    LocalizationBrowser,
    augment_examples,
    control_values,
    parameter_controls,
    training_view,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small default-style dataset."""
    return str(
        write_dataset(
            tmp_path_factory.mktemp("data") / "default", counts=Counts(train=4, test_good=1, test_per_defect=1)
        )
    )


def changed(explorer: AugmentationExplorer) -> torch.Tensor:
    """Changed-pixel share per example of the explorer's current result."""
    return explorer.result[2].float().mean(dim=(1, 2, 3))


def test_area_slider_changes_the_patch_size(root: str) -> None:
    explorer = AugmentationExplorer(["cutpaste"], root=root, size=64, count=4)
    small = changed(explorer)
    explorer.controls["cutpaste"]["area"].value = (0.3, 0.35)
    large = changed(explorer)
    assert (large > small).all() and large.min() > 0.1


def test_seed_category_and_variant_pickers_redraw(root: str) -> None:
    explorer = AugmentationExplorer(["cutpaste", "cutpaste-scar"], root=root, size=64, count=2)
    first = explorer.result[1].clone()
    explorer.seed.value = 5
    assert not torch.equal(first, explorer.result[1])
    explorer.category.value = "granite"
    assert torch.equal(explorer.result[0], augment_examples("cutpaste", "granite", 5, root, 64, 2)[0])
    explorer.variant.value = "cutpaste-scar"
    assert [control.description for control in explorer.parameters.children] == [
        "width px",
        "length px",
        "angle °",
        "jitter",
    ]
    assert changed(explorer).max() < 0.1  # a thin scar, not a big patch


@pytest.mark.parametrize("variant", ["cutout", "scar", "cutpaste", "cutpaste-scar"])
def test_the_explorer_shows_the_same_draw_at_the_training_size(root: str, variant: str) -> None:
    explorer = AugmentationExplorer([variant], root=root, size=64, count=3, training_size=32)
    params = control_values(explorer.controls[variant])  # the sliders' values: the draw the explorer shows
    at_training_size = augment_examples(variant, "capsule", 0, root, 32, 3, **params)
    assert torch.equal(explorer.seen, at_training_size[1]) and explorer.seen.shape == (3, 3, 32, 32)
    assert (
        (explorer.seen - at_training_size[0]).abs().flatten(1).amax(1) > 0
    ).all()  # every draw still changes the small image
    explorer.seed.value = 7
    assert torch.equal(explorer.seen, training_view(variant, "capsule", 7, root, 32, 3, **params))
    assert (
        AugmentationExplorer([variant], root=root, size=32, count=1, training_size=32).seen is None
    )  # nothing extra to show


def test_the_augmentation_figure_adds_a_row_for_the_model_input(root: str) -> None:
    original, augmented, mask = augment_examples("scar", "capsule", 0, root, 64, 2)
    assert len(augmentation_figure(original, augmented, mask).axes) == 6
    figure = augmentation_figure(original, augmented, mask, seen=training_view("scar", "capsule", 0, root, 32, 2))
    assert len(figure.axes) == 8 and figure.axes[6].get_ylabel() == "model input (32 px)"


def test_a_refused_parameter_shows_a_message_not_a_traceback(root: str, monkeypatch: pytest.MonkeyPatch) -> None:
    explorer = AugmentationExplorer(["cutout"], root=root, size=32, count=2)
    before = explorer.result

    def refuse(images: torch.Tensor, generator: torch.Generator, **params: object) -> None:
        raise ValueError("area=(0.45, 0.5): the patch cannot fit")

    monkeypatch.setitem(widgets_module.AUGMENTATIONS, "cutout", refuse)
    explorer.seed.value = 3
    assert "area=(0.45, 0.5)" in explorer.message.value and explorer.result is before
    monkeypatch.undo()
    explorer.seed.value = 4
    assert explorer.message.value == "" and explorer.result is not before


def test_fill_picker_and_aspect_control_values() -> None:
    controls = parameter_controls("cutout")
    controls["fill"].value = "random"
    controls["aspect"].value = 2.0
    assert control_values(controls) == {"fill": "random", "area": (0.02, 0.15), "aspect": (0.5, 2.0)}


def test_browser_follows_its_sliders(holes: Split) -> None:
    browser = LocalizationBrowser(evaluate_maps(holes.masks.float() + 0.1 * torch.rand(4, 16, 16), holes))
    browser.index.value = 3
    assert torch.equal(browser.view.image, holes.images[3]) and browser.view.mask.sum() == 16
    browser.threshold.value = 0.5
    assert torch.equal(browser.view.flagged, holes.masks[3])
    browser.threshold.value = browser.threshold.min
    assert browser.view.flagged.all() and "100.0% flagged" in browser.view.title
