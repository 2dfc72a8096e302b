"""Interactive explorers: the augmentations and localisation maps, plain functions behind ipywidgets controls.

The computation (:func:`augment_examples`, :func:`browser_view`) is a plain function the notebooks also call for
their static figures; :class:`AugmentationExplorer` and :class:`LocalizationBrowser` only wire controls to it, and
tests drive them by setting ``.value``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from matplotlib.figure import Figure
from torch import Tensor

from .augment import AUGMENTATIONS, FILLS
from .data import list_categories, load_split
from .evaluate import Localization
from .plots import augmentation_figure, colour_range, heat_overlay, hide_ticks, overlay, to_display
from .synthetic import ensure_default_data

SLIDER = {"continuous_update": False, "style": {"description_width": "90px"}, "layout": widgets.Layout(width="420px")}


def augment_examples(
    variant: str,
    category: str,
    seed: int = 0,
    root: str | None = None,
    size: int = 256,
    count: int = 4,
    **params: object,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The first `count` training images of a category, augmented with one seeded draw: (original, augmented, mask)."""
    original = _first_images(root or str(ensure_default_data()), category, size, count)
    augmented, mask = AUGMENTATIONS[variant](original, torch.Generator().manual_seed(seed), **params)
    return original, augmented, mask


def training_view(
    variant: str,
    category: str,
    seed: int = 0,
    root: str | None = None,
    training_size: int = 64,
    count: int = 4,
    **params: object,
) -> torch.Tensor:
    """The same seeded draw made on the images at the training size (sizes scale with the image): what the network
    gets."""
    return augment_examples(variant, category, seed, root, training_size, count, **params)[1]


@lru_cache(maxsize=16)
def _first_images(root: str, category: str, size: int, count: int) -> torch.Tensor:
    """The first training images of a category (cached: the explorer redraws often)."""
    return load_split(root, category, "train", size).images[:count]


def parameter_controls(variant: str) -> dict[str, widgets.ValueWidget]:
    """One control per parameter of an augmentation, starting at the paper's values."""
    area = widgets.FloatRangeSlider(value=(0.02, 0.15), min=0.005, max=0.5, step=0.005, description="area", **SLIDER)
    aspect = widgets.FloatSlider(value=3.3, min=1.0, max=6.0, step=0.1, description="max aspect", **SLIDER)
    jitter = widgets.FloatSlider(value=0.1, min=0.0, max=0.5, step=0.05, description="jitter", **SLIDER)
    width = widgets.IntRangeSlider(value=(2, 16), min=1, max=40, description="width px", **SLIDER)
    length = widgets.IntRangeSlider(value=(10, 25), min=2, max=80, description="length px", **SLIDER)
    angle = widgets.IntRangeSlider(value=(-45, 45), min=-90, max=90, description="angle °", **SLIDER)
    fill = widgets.Dropdown(
        options=FILLS, value="grey", description="fill", **{k: v for k, v in SLIDER.items() if k != "continuous_update"}
    )
    return {
        "cutout": {"fill": fill, "area": area, "aspect": aspect},
        "scar": {"width": width, "length": length, "angle": angle},
        "cutpaste": {"area": area, "aspect": aspect, "jitter": jitter},
        "cutpaste-scar": {"width": width, "length": length, "angle": angle, "jitter": jitter},
    }[variant]


def control_values(controls: dict[str, widgets.ValueWidget]) -> dict[str, object]:
    """Augmentation keyword arguments from the controls (max aspect a becomes the range (1/a, a))."""
    values = {name: control.value for name, control in controls.items()}
    if "aspect" in values:
        values["aspect"] = (1 / values["aspect"], values["aspect"])
    return values


class AugmentationExplorer:
    """Pick an augmentation, a category and a seed, move its parameter sliders, and see the result and its mask; with a
    `training_size` other than `size`, also the same draw at the size the network trains on."""

    def __init__(
        self,
        variants: Sequence[str] = ("cutpaste",),
        root: str | None = None,
        size: int = 256,
        count: int = 4,
        training_size: int | None = None,
    ) -> None:
        self.root, self.size, self.count = root or str(ensure_default_data()), size, count
        self.training_size = training_size if training_size != size else None
        self.variant = widgets.Dropdown(options=list(variants), description="augmentation")
        self.category = widgets.Dropdown(options=list_categories(self.root), description="category")
        self.seed = widgets.IntSlider(value=0, min=0, max=99, description="seed", **SLIDER)
        self.controls = {variant: parameter_controls(variant) for variant in variants}
        self.output = widgets.Output()
        self.message = widgets.HTML().add_class("cplib-message")
        self.parameters = widgets.VBox(list(self.controls[self.variant.value].values()))
        for control in self._all_controls():
            control.observe(self.update, names="value")
        self.widget = widgets.VBox(
            [widgets.HBox([self.variant, self.category]), self.seed, self.parameters, self.message, self.output]
        )
        self.result: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.seen: torch.Tensor | None = None
        self.update()

    def _all_controls(self) -> list[widgets.ValueWidget]:
        """The pickers, the seed and every variant's parameter controls."""
        return [
            self.variant,
            self.category,
            self.seed,
            *(c for controls in self.controls.values() for c in controls.values()),
        ]

    def compute(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The current (original, augmented, mask) for the controls' values."""
        params = control_values(self.controls[self.variant.value])
        return augment_examples(
            self.variant.value, self.category.value, self.seed.value, self.root, self.size, self.count, **params
        )

    def compute_seen(self) -> torch.Tensor | None:
        """The same draw at the training size (None when the explorer draws at the training size already)."""
        if self.training_size is None:
            return None
        params = control_values(self.controls[self.variant.value])
        return training_view(
            self.variant.value,
            self.category.value,
            self.seed.value,
            self.root,
            self.training_size,
            self.count,
            **params,
        )

    def update(self, change: object = None) -> None:
        """Recompute and redraw inside the output, so any error shows there; a refused parameter becomes a message."""
        self.parameters.children = list(self.controls[self.variant.value].values())
        with self.output:
            try:
                result, seen = self.compute(), self.compute_seen()
            except ValueError as error:
                self.message.value = f"<span style='color:#b00'>{error}</span>"
                return
            self.result, self.seen, self.message.value = result, seen, ""
            changed = result[2].float().mean().item()
            self.output.clear_output(wait=True)
            figure = augmentation_figure(
                *result, title=f"{self.variant.value}: {changed:.1%} of pixels changed", seen=seen
            )
            display(figure)
            plt.close(figure)

    def _ipython_display_(self) -> None:
        display(self.widget)


# ---------------------------------------------------------------- browsing localisation maps (notebook 06)


@dataclass
class BrowserView:
    """What the browser shows for one test image at one threshold."""

    image: Tensor
    map: Tensor
    mask: Tensor | None
    flagged: Tensor
    title: str


def browser_view(result: Localization, index: int, threshold: float) -> BrowserView:
    """Image `index` of a localisation result, its map, and the pixels at or above `threshold`."""
    test = result.test
    if not 0 <= index < len(result.maps):
        raise ValueError(f"index={index}: must lie in [0, {len(result.maps) - 1}]")
    flagged = result.maps[index] >= threshold
    mask = None if test.masks is None else test.masks[index]
    title = f"#{index} {test.defects[index]}: max {result.maps[index].max():.1f}, {flagged.float().mean():.1%} flagged"
    if mask is not None and mask.any():
        title += f", {(flagged & mask).sum() / mask.sum():.0%} of the defect"
    return BrowserView(test.images[index], result.maps[index], mask, flagged, title)


def browser_figure(view: BrowserView, vmin: float, vmax: float) -> Figure:
    """Image, anomaly map, and flagged pixels (pink) with the ground-truth outline (white) for one BrowserView."""
    figure, axes = plt.subplots(1, 3, figsize=(9, 3.3))
    axes[0].imshow(to_display(view.image))
    heat_overlay(axes[1], view.image, view.map, vmin, vmax)
    axes[2].imshow(overlay(view.image, view.flagged))
    if view.mask is not None and view.mask.any():
        axes[2].contour(view.mask.numpy().astype(float), levels=[0.5], colors="white", linewidths=1)
    for axis, title in zip(axes, ("image", "anomaly map", "flagged / ground truth")):
        axis.set_title(title, fontsize=9)
    figure.suptitle(view.title, fontsize=10)
    hide_ticks(axes)
    figure.tight_layout()
    return figure


class LocalizationBrowser:
    """Browse a localisation result: a test-image slider and a threshold slider over the anomaly maps."""

    def __init__(self, result: Localization, threshold: float | None = None) -> None:
        self.result = result
        self.vmin, self.vmax = colour_range(result.maps)
        start = float(np.percentile(result.maps.numpy(), 95)) if threshold is None else threshold
        slider = {"continuous_update": False, "layout": widgets.Layout(width="420px")}
        self.index = widgets.IntSlider(value=0, min=0, max=len(result.maps) - 1, description="test image", **slider)
        low, high = float(result.maps.min()), float(result.maps.max())
        self.threshold = widgets.FloatSlider(
            value=start, min=low, max=high, step=(high - low) / 200, description="threshold", **slider
        )
        self.output = widgets.Output()
        self.index.observe(self.update, names="value")
        self.threshold.observe(self.update, names="value")
        self.widget = widgets.VBox([self.index, self.threshold, self.output])
        self.view: BrowserView | None = None
        self.update()

    def compute(self) -> BrowserView:
        """The view for the controls' current values."""
        return browser_view(self.result, self.index.value, self.threshold.value)

    def update(self, change: object = None) -> None:
        """Recompute the view and redraw it into the output area."""
        self.view = self.compute()
        with self.output:
            self.output.clear_output(wait=True)
            figure = browser_figure(self.view, self.vmin, self.vmax)
            display(figure)
            plt.close(figure)

    def _ipython_display_(self) -> None:
        display(self.widget)
