"""Evaluation against the test set's labels and masks.

Image level: encoder features of clean training images, a density on them, image AUROC on the test set.
Pixel level: a PatchLocalizer's anomaly maps, pixel AUROC and AUPRO against the defect masks, next to the paper's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.linear_model import RidgeCV
from torch import Tensor
from tqdm.auto import tqdm

from .data import Split, load_split
from .density import GaussianDensity
from .inference import encode, model_device
from .localize import PatchLocalizer, image_scores
from .metrics import MasksMissing, aupro, image_auroc, per_defect_auroc, pixel_auroc
from .model import CutPasteNet
from .paper import PIXEL_AUROC_MEAN, PIXEL_AUROC_PATCH_3WAY
from .patches import Geometry, check_images, dense_features
from .precision import IMAGE_PRECISION, inference_precision
from .train import TrainConfig, build_model, proxy_batch, training_foreground

# ---------------------------------------------------------------- image level: the image model's pooled features


def extract_features(
    model: CutPasteNet,
    images: torch.Tensor,
    batch_size: int = 128,
    progress: bool = False,
    head: bool = False,
    precision: str | None = IMAGE_PRECISION,
) -> np.ndarray:
    """512-d pooled features of images (the paper's choice), or with head=True the projection head's output; float64.
    precision: "fp32" (the default, `cplib.precision.IMAGE_PRECISION`), "bf16", or None for bf16 where native."""
    precision = inference_precision(images.shape[-1], precision, model_device(model))
    chunks = torch.split(images, batch_size)
    out = [encode(model, chunk, precision, head) for chunk in tqdm(chunks, desc="features", disable=not progress)]
    return torch.cat(out).double().numpy()


def recovered_share(
    head_train: np.ndarray, pooled_train: np.ndarray, head_test: np.ndarray, pooled_test: np.ndarray
) -> float:
    """Share of the test images' pooled-feature deviation from the normal mean that a linear map of the head's output
    recovers (R² of a ridge fit head → pooled on normal training images): how much of what the pooled features hold the
    head kept."""
    fit = RidgeCV(alphas=np.logspace(-4, 2, 7)).fit(head_train, pooled_train)
    deviation = pooled_test - pooled_train.mean(axis=0)
    return 1.0 - float(((fit.predict(head_test) - pooled_test) ** 2).sum() / (deviation**2).sum())


@dataclass(frozen=True)
class ProxyViews:
    """The proxy classifier on views of normal images, one entry per view: its true and predicted class, the pixels the
    view changed (0 for a normal view) and the view's contrast, the mean over those pixels of the largest change across
    channels (how visible it is)."""

    labels: np.ndarray
    predicted: np.ndarray
    changed: np.ndarray
    contrast: np.ndarray

    @property
    def accuracy(self) -> float:
        return float((self.labels == self.predicted).mean())


@torch.no_grad()
def proxy_views(model: CutPasteNet, images: Tensor, config: TrainConfig, seed: int = 0, rounds: int = 4) -> ProxyViews:
    """The proxy task on views of normal images, drawn as training draws them (`proxy_batch`, on the training
    foreground for a foreground-aware config), in eval mode, `rounds` draws per image."""
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    foreground = training_foreground(config)
    parts: list[tuple[Tensor, ...]] = []
    for _ in range(rounds):
        for chunk in torch.split(images, config.batch):
            inputs, labels, masks = proxy_batch(chunk, config, generator, foreground)
            _, logits = model(inputs.to(device))
            normals = inputs[: len(chunk)].repeat(len(inputs) // len(chunk), 1, 1, 1)
            change = (inputs - normals).abs().amax(dim=1, keepdim=True) * masks
            changed = masks.flatten(1).sum(1)
            parts.append((labels, logits.argmax(1).cpu(), changed, change.flatten(1).sum(1) / changed.clamp(min=1)))
    return ProxyViews(*(torch.cat(column).numpy() for column in zip(*parts)))


def heldout_proxy_accuracy(
    model: CutPasteNet, images: Tensor, config: TrainConfig, seed: int = 0, rounds: int = 4
) -> float:
    """The proxy task's accuracy on normal images the encoder never trained on (e.g. a config's held-out share), in eval
    mode, over `rounds` draws of views per image: how well the task was learned, judged without any test label."""
    return proxy_views(model, images, config, seed, rounds).accuracy


@dataclass
class ImageEvaluation:
    """Scores and AUROCs of one model on one category's test set."""

    auroc: float
    per_defect: dict[str, float]
    scores: np.ndarray
    labels: np.ndarray
    defects: list[str]


def evaluate(model: CutPasteNet, train: Split, test: Split, density: GaussianDensity | None = None) -> ImageEvaluation:
    """Fit a density (Ledoit-Wolf Gaussian by default) on clean training features and score the test set."""
    density = density if density is not None else GaussianDensity()
    density.fit(extract_features(model, train.images))
    scores = density.score_samples(extract_features(model, test.images))
    labels = test.labels.numpy()
    return ImageEvaluation(
        image_auroc(labels, scores), per_defect_auroc(test.defects, labels, scores), scores, labels, test.defects
    )


def evaluate_category(
    model: CutPasteNet, root: str, category: str, size: int, density: GaussianDensity | None = None
) -> ImageEvaluation:
    """evaluate() on a category read from an MVTec-layout folder at the given size, on every test image (masks or not:
    the same test set as `python -m cplib evaluate`)."""
    test = load_split(root, category, "test", size, masks=False)
    return evaluate(model, load_split(root, category, "train", size), test, density)


def auroc_row(evaluation: ImageEvaluation) -> dict[str, float]:
    """'all' and per-defect AUROCs of an evaluation, for tables and bar charts."""
    return {"all": evaluation.auroc, **evaluation.per_defect}


def evaluate_model(model: CutPasteNet, config: TrainConfig, root: str | None = None) -> ImageEvaluation:
    """Evaluate a model on its config's category (the config's dataset unless root is given), at its size."""
    return evaluate_category(model, root or config.resolved_root(), config.category, config.size)


def random_init_baseline(config: TrainConfig, root: str | None = None, device: str = "cpu") -> ImageEvaluation:
    """The same network and seed as `config`, untrained, on `device`: the bar a trained model must clear."""
    return evaluate_model(build_model(config).to(device).eval(), config, root)


# ---------------------------------------------------------------- pixel level: anomaly maps of a PatchLocalizer


@dataclass
class Localization:
    """Anomaly maps of a test split and their metrics: image AUROC on every test image, pixel metrics on the annotated
    ones (None without masks); `note` says why they are missing, or on how many images they rest when not on all."""

    maps: Tensor
    test: Split
    image_auroc: float
    pixel_auroc: float | None
    aupro: float | None
    note: str = ""


def evaluate_maps(maps: Tensor, test: Split) -> Localization:
    """Image AUROC (map maximum) on every test image; pixel AUROC and AUPRO (FPR up to 0.3) on those with masks
    (`Split.annotated`); a dataset without masks is reported."""
    scores = image_scores(maps).numpy()
    image = image_auroc(test.labels.numpy(), scores)
    pixel = test.pixel_positions()
    masks = None if test.masks is None else test.masks[pixel]
    try:
        pixel_metrics = pixel_auroc(masks, maps[pixel]), aupro(masks, maps[pixel])
    except MasksMissing as missing:
        return Localization(maps, test, image, None, None, f"no pixel metrics: {missing}")
    total = len(test.labels)
    note = "" if len(pixel) == total else f"pixel metrics on the {len(pixel)} of {total} test images with masks"
    return Localization(maps, test, image, *pixel_metrics, note)


def paper_reference(category: str, kinds: Mapping[str, str] | None = None) -> tuple[str, float]:
    """The paper's pixel AUROC (%) to set a category against: its own, else the mean of its kind ("texture" or
    "object", from `kinds`), else the mean."""
    if category in PIXEL_AUROC_PATCH_3WAY:
        return category, PIXEL_AUROC_PATCH_3WAY[category]
    kind = (kinds or {}).get(category)
    if kind in PIXEL_AUROC_MEAN:
        return f"{kind} mean", PIXEL_AUROC_MEAN[kind]
    return "mean", PIXEL_AUROC_MEAN["all"]


def summary_table(results: dict[str, Localization], kinds: Mapping[str, str] | None = None) -> str:
    """One line per result: pixel AUROC, AUPRO, image AUROC, and the paper's pixel AUROC for the category the name
    starts with ("capsule GradCAM" → capsule), or why pixel metrics are missing. `kinds` maps a category the paper
    did not measure to "texture" or "object", to set it against that kind's mean (e.g. the default dataset's:
    ``{name: c.kind for name, c in cplib.synthetic.CATEGORIES.items()}``)."""
    width = max(map(len, results), default=0)
    lines = [f"{'':{width}s} {'pixel AUROC':>11s} {'AUPRO':>6s} {'image AUROC':>11s}   paper pixel AUROC (MVTec AD)"]
    for name, result in results.items():
        reference, value = paper_reference(name.split()[0], kinds)
        if result.pixel_auroc is None:
            lines.append(f"{name:{width}s} {'-':>11s} {'-':>6s} {result.image_auroc:11.3f}   {result.note}")
        else:
            paper = f"{value / 100:.3f} ({reference})" + (f"; {result.note}" if result.note else "")
            metrics = f"{result.pixel_auroc:11.3f} {result.aupro:6.3f} {result.image_auroc:11.3f}"
            lines.append(f"{name:{width}s} {metrics}   {paper}")
    return "\n".join(lines)


def per_defect_subset(test: Split, count: int | None) -> Split:
    """The first `count` images of every defect type (good included), or the whole split when count is None."""
    if count is None:
        return test
    seen: dict[str, int] = {}
    keep = []
    for i, defect in enumerate(test.defects):
        seen[defect] = seen.get(defect, 0) + 1
        if seen[defect] <= count:
            keep.append(i)
    return test.select(keep)


def evaluate_localization(
    model: CutPasteNet,
    train: Split,
    test: Split,
    geometry: Geometry,
    shared: bool = True,
    fit_images: int | None = None,
    **options: object,
) -> Localization:
    """Fit a PatchLocalizer on (the first `fit_images`) clean training images and evaluate its maps on `test`."""
    localizer = PatchLocalizer(model, geometry, shared=shared, **options)
    localizer.fit(train.images[:fit_images])
    return evaluate_maps(localizer.anomaly_maps(test.images), test)


GAUSSIAN_LAYOUTS = {
    "shared": True,
    "per-location": False,
}  # a localisation Gaussian's layout -> PatchLocalizer(shared=)


def localize_densities(
    model: CutPasteNet,
    train: Split,
    test: Split,
    geometry: Geometry,
    fit_images: int | None = None,
    chunk: int | None = None,
    precision: str | None = None,
) -> dict[str, Localization]:
    """Shared and per-location Gaussians from one extraction of dense features at `precision` (None: this machine's,
    `cplib.inference`), keyed "shared" and "per-location".

    Holds the 512-d features of the fit and test images in memory (fine for small grids); PatchLocalizer.fit streams.
    """
    g = geometry
    check_images(train.images, g.size)
    check_images(test.images, g.size)
    fit_maps = dense_features(model, train.images[:fit_images], g.patch, g.stride, chunk, precision)
    test_maps = dense_features(model, test.images, g.patch, g.stride, chunk, precision)
    return {
        name: evaluate_maps(
            PatchLocalizer(model, g, shared=shared, chunk=chunk).fit_features(fit_maps).score_features(test_maps), test
        )
        for name, shared in GAUSSIAN_LAYOUTS.items()
    }
