"""Patch-level localisation (Li et al., CVPR 2021, Sec. 4.3 and Appendix A): dense anomaly maps from a patch model.

A 3-way model trained on random crops (``TrainConfig.patch``) embeds every patch of a test image on a regular
grid; a Gaussian fitted on the patch features of clean training images scores each patch; a transposed
convolution with a Gaussian kernel of the patch size spreads each score back over the pixels the patch saw.

Scale rule: the paper's numbers are at 256 px (32-px patches in the appendix, 64 in the main text; stride 4,
so a 57 x 57 grid for 32-px patches). At another image size S, patch, stride and the kernel's sigma all scale
by S / 256 (`patch_size`, `grid_stride`, `kernel_sigma`), so the grid covers the image the same way.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from sklearn.decomposition import PCA
from torch import Tensor
from torch.nn import functional as F

from .data import Split
from .density import GaussianDensity, PerLocationGaussian
from .errors import ConfigError
from .metrics import MasksMissing, aupro, image_auroc, pixel_auroc
from .model import FEATURE_DIM, CutPasteNet
from .plots import overlay, to_display
from .profiles import Profile, TrainConfig
from .synthetic import CATEGORIES as SYNTHETIC

REFERENCE_SIZE = 256
PAPER_PATCH = 32
PAPER_STRIDE = 4
PAPER_SIGMA = 10.0  # FCDD's rule for a 32-px kernel, which the paper follows
MIN_PATCH = 8  # TrainConfig's smallest patch
ALIGNED = frozenset({"bottle", "cable", "capsule", "metal_nut", "pill", "toothbrush", "transistor", "zipper"})
PER_LOCATION_BUDGET = 2**30  # bytes of Cholesky factors a per-location Gaussian may keep
CHUNK_PIXELS = 512 * 32 * 32  # patch pixels per encoder call by default: 512 patches of 32 px, 8,192 of 8 px
FIT_VECTORS = 50_000  # patch features a shared Gaussian is fitted on at most (random locations)
PAPER_PIXEL_AUROC = {  # Table 2, patch 3-way model, MVTec AD, %
    "carpet": 98.3, "grid": 97.5, "leather": 99.5, "tile": 90.5, "wood": 95.5, "bottle": 97.6, "cable": 90.0,
    "capsule": 97.4, "hazelnut": 97.3, "metal_nut": 93.1, "pill": 95.7, "screw": 96.7, "toothbrush": 98.1,
    "transistor": 93.0, "zipper": 99.3, "texture mean": 96.3, "object mean": 95.8, "mean": 96.0,
}


# ---------------------------------------------------------------- scale rules


def _scaled(size: int, at_256: float) -> float:
    if not (isinstance(size, int) and size >= 1):
        raise ConfigError(f"size={size!r}: an image size must be a positive whole number of pixels")
    return at_256 * size / REFERENCE_SIZE


def patch_size(size: int, at_256: int = PAPER_PATCH) -> int:
    """Patch side in pixels at image size `size` for a patch of `at_256` px at 256 px (at least 8, at most size)."""
    if not 1 <= at_256 <= REFERENCE_SIZE:
        raise ConfigError(f"at_256={at_256}: a patch at 256 px must lie in [1, 256] pixels")
    return min(size, max(MIN_PATCH, round(_scaled(size, at_256))))


def grid_stride(size: int, at_256: int = PAPER_STRIDE) -> int:
    """Grid stride in pixels at image size `size` for a stride of `at_256` px at 256 px (at least 1)."""
    if not 1 <= at_256 <= REFERENCE_SIZE:
        raise ConfigError(f"stride at_256={at_256}: must lie in [1, 256] pixels")
    return max(1, round(_scaled(size, at_256)))


def kernel_sigma(patch: int) -> float:
    """Sigma of the upsampling kernel: 10 px for a 32-px patch (FCDD), proportional to the patch side."""
    return PAPER_SIGMA * patch / PAPER_PATCH


def grid_shape(size: int, patch: int, stride: int) -> tuple[int, int]:
    """Rows and columns of the patch grid on a size x size image: (size - patch) // stride + 1 each."""
    if not 1 <= patch <= size:
        raise ConfigError(f"patch={patch}: must lie in [1, size={size}] pixels")
    if stride < 1:
        raise ConfigError(f"stride={stride}: must be at least 1 pixel")
    cells = (size - patch) // stride + 1
    return cells, cells


def default_shared(category: str) -> bool:
    """One Gaussian shared by all locations, except for the paper's aligned objects (one per location).

    Unknown categories (your own data) get the shared Gaussian: it does not assume the object sits in one place.
    """
    return category not in ALIGNED


# ---------------------------------------------------------------- patch extraction and features


def default_chunk(patch: int) -> int:
    """Patches per encoder call that keep about CHUNK_PIXELS pixels in flight: big batches for small patches run faster."""
    return max(1, CHUNK_PIXELS // patch**2)


def extract_patches(images: Tensor, patch: int, stride: int) -> Tensor:
    """Every patch x patch window on the stride grid, (B * rows * cols, C, patch, patch), image-major, row-major.

    unfold gives (B, C, rows, cols, patch, patch); moving C behind the grid axes before flattening keeps each
    patch's pixels together (reshaping unfold's output without that transpose scrambles patches). The copy is
    made channels-last, the layout the encoder runs fastest in.
    """
    windows = images.unfold(2, patch, stride).unfold(3, patch, stride)
    channels = images.shape[1]
    return windows.permute(0, 2, 3, 4, 5, 1).reshape(-1, patch, patch, channels).permute(0, 3, 1, 2)


def patch_chunks(images: Tensor, patch: int, stride: int, chunk: int) -> Iterator[Tensor]:
    """Patches in extract_patches order, at most `chunk` at a time (whole images, or grid rows of one image)."""
    rows, cols = grid_shape(images.shape[-1], patch, stride)
    if rows * cols <= chunk:
        for group in torch.split(images, chunk // (rows * cols)):
            yield extract_patches(group, patch, stride)
        return
    band = max(1, chunk // cols)
    for image in images:
        for top in range(0, rows, band):
            strip = image[:, top * stride : (top + band - 1) * stride + patch]
            yield extract_patches(strip[None], patch, stride)


@torch.inference_mode()
def dense_features(model: CutPasteNet, images: Tensor, patch: int, stride: int, chunk: int | None = None) -> Tensor:
    """Pooled features of every grid patch, (B, D, rows, cols) float32; `chunk` patches (default_chunk) per encoder call."""
    chunk = default_chunk(patch) if chunk is None else chunk
    if chunk < 1:
        raise ConfigError(f"chunk={chunk}: must be at least 1 patch")
    model.eval()
    device = next(model.parameters()).device
    rows, cols = grid_shape(images.shape[-1], patch, stride)
    pieces = []
    for patches in patch_chunks(images, patch, stride, chunk):
        pieces.append(model.features(patches.to(device)).float().cpu())
    flat = torch.cat(pieces)
    return flat.view(len(images), rows, cols, -1).permute(0, 3, 1, 2)


def _project(features: Tensor, pca: PCA) -> Tensor:
    """Features (..., D) on a fitted PCA's components (..., d)."""
    mean = torch.from_numpy(pca.mean_).float()
    components = torch.from_numpy(pca.components_).float()
    return (features - mean) @ components.T


# ---------------------------------------------------------------- receptive-field upsampling


def gaussian_kernel(patch: int, sigma: float | None = None) -> Tensor:
    """A patch x patch Gaussian centred on the patch (peak 1), sigma = kernel_sigma(patch) unless given."""
    sigma = kernel_sigma(patch) if sigma is None else sigma
    if not sigma > 0:
        raise ConfigError(f"sigma={sigma}: must be positive")
    offsets = torch.arange(patch, dtype=torch.float64) - (patch - 1) / 2
    line = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return torch.outer(line, line)


def upsample(scores: Tensor, patch: int, stride: int, size: int, sigma: float | None = None) -> Tensor:
    """Grid scores (B, rows, cols) to pixel maps (B, size, size) by receptive-field upsampling.

    Each patch's score is spread over its pixels with a Gaussian kernel by a transposed convolution of stride
    `stride`, then divided by the same transposed convolution of a map of ones: a pixel gets the
    kernel-weighted mean of the scores of the patches that saw it, so a uniform map stays uniform (the division
    is cplib's choice: the paper's plain transposed convolution sums, which brightens pixels seen by more
    patches, the image's centre against its border). Pixels past
    the last patch (when (size - patch) is not a multiple of stride) take the nearest covered value.
    """
    scores = torch.as_tensor(scores, dtype=torch.float64)
    kernel = gaussian_kernel(patch, sigma)[None, None]
    weighted = F.conv_transpose2d(scores[:, None], kernel, stride=stride)
    coverage = F.conv_transpose2d(torch.ones_like(scores[:1, None]), kernel, stride=stride)
    maps = weighted / coverage
    missing = size - maps.shape[-1]
    if missing < 0:
        raise ConfigError(f"size={size}: smaller than the {maps.shape[-1]} px the grid covers")
    return F.pad(maps, (0, missing, 0, missing), mode="replicate")[:, 0]


# ---------------------------------------------------------------- the localiser


@dataclass(frozen=True)
class Geometry:
    """Where patches sit: image size, patch side and grid stride in pixels, and the upsampling kernel's sigma."""

    size: int
    patch: int
    stride: int
    sigma: float | None = None

    @classmethod
    def at(cls, size: int, patch_at_256: int = PAPER_PATCH, stride_at_256: int = PAPER_STRIDE) -> Geometry:
        """The paper's geometry scaled to image size `size`."""
        return cls(size, patch_size(size, patch_at_256), grid_stride(size, stride_at_256))

    @property
    def grid(self) -> tuple[int, int]:
        """Rows and columns of the patch grid."""
        return grid_shape(self.size, self.patch, self.stride)


class PatchLocalizer:
    """Dense anomaly maps: patch features on a grid → Gaussian → receptive-field upsampling; image score = max.

    shared=True fits one Gaussian on the features of all locations (textures, objects in any pose), on at most
    FIT_VECTORS random patches; shared=False one per grid location (aligned objects). A per-location Gaussian keeps
    rows·cols·d²·8 bytes of Cholesky factors: at d = 512 that is 354 MB on the CPU's 13 x 13 grid, which fits
    PER_LOCATION_BUDGET, and 6.8 GB on the paper's 57 x 57 grid, which does not. So features keep all 512
    dimensions unless the budget forces `reduced_components`; then (with a warning) they are projected on that many
    principal components of the *within-location* deviations (each location's mean removed, fitted on the first
    `pca_images` training images): what a per-location Gaussian models, where a global PCA would mostly keep the
    differences between locations. An explicit `components` always reduces with a PCA (global when shared).
    Images are embedded `chunk` patches per encoder call (default_chunk) and fitted and scored in groups of about
    as many patches, so memory stays bounded for any number of images.
    """

    def __init__(
        self,
        model: CutPasteNet,
        geometry: Geometry,
        shared: bool = True,
        components: int | None = None,
        chunk: int | None = None,
        pca_images: int = 16,
        seed: int = 0,
    ) -> None:
        self.model = model.eval()
        self.geometry = geometry
        self.shared = shared
        self.components = components if components is not None or shared else self.reduced_components(geometry)
        self.chunk = default_chunk(geometry.patch) if chunk is None else chunk
        self.pca_images = pca_images
        self.seed = seed
        self._check_memory()
        self.pca: PCA | None = None
        self.density: GaussianDensity | PerLocationGaussian | None = None

    @staticmethod
    def reduced_components(geometry: Geometry) -> int | None:
        """None (all 512 dimensions) when a per-location Gaussian fits PER_LOCATION_BUDGET on this grid, else the
        most dimensions that fit, said in a warning."""
        rows, cols = geometry.grid
        if rows * cols * FEATURE_DIM**2 * 8 <= PER_LOCATION_BUDGET:
            return None
        most = _most_components(rows, cols)
        warnings.warn(
            f"a per-location Gaussian on the {rows}x{cols} grid would keep {rows * cols * FEATURE_DIM**2 * 8 / 1e9:.1f} GB "
            f"at 512 dimensions; reducing to {most} principal components of the within-location deviations",
            stacklevel=3,
        )
        return most

    def _check_memory(self) -> None:
        """Refuse a per-location Gaussian whose Cholesky factors would not fit PER_LOCATION_BUDGET."""
        rows, cols = self.geometry.grid
        needed = rows * cols * (self.components or FEATURE_DIM) ** 2 * 8
        if not self.shared and needed > PER_LOCATION_BUDGET:
            most = _most_components(rows, cols)
            raise ConfigError(
                f"components={self.components}: a per-location Gaussian on the {rows}x{cols} grid would keep "
                f"{needed / 1e9:.1f} GB; use components <= {most}, a coarser grid or shared=True"
            )

    def features(self, images: Tensor) -> Tensor:
        """512-d dense features (B, 512, rows, cols) of images at the geometry's size."""
        self._check_images(images)
        g = self.geometry
        return dense_features(self.model, images, g.patch, g.stride, self.chunk)

    def fit(self, images: Tensor) -> PatchLocalizer:
        """Fit the PCA (if any) and the Gaussian(s) on clean normal training images, streaming; returns self."""
        return self._fit_parts((self.features(part) for part in self._parts(images)), len(images))

    def fit_features(self, maps: Tensor) -> PatchLocalizer:
        """Fit on precomputed 512-d dense features (N, 512, rows, cols) of clean images, e.g. to compare densities."""
        return self._fit_parts(self._parts(maps), len(maps))

    def _parts(self, batch: Tensor) -> list[Tensor]:
        """The first `pca_images` items, then groups of about `chunk` patches' worth of images."""
        head, tail = batch[: self.pca_images], batch[self.pca_images :]
        return [head, *torch.split(tail, self._group())] if len(tail) else [head]

    def _group(self) -> int:
        """Images per group: about `chunk` patches, at least one image."""
        rows, cols = self.geometry.grid
        return max(1, self.chunk // (rows * cols))

    def _fit_parts(self, parts: Iterable[Tensor], count: int) -> PatchLocalizer:
        """Fit from raw feature maps arriving in parts: the PCA on the first, then keep what the density needs."""
        generator = torch.Generator().manual_seed(self.seed)
        self.pca = None
        kept = torch.cat([self._keep(self._reduce(maps, fit=i == 0), count, generator) for i, maps in enumerate(parts)])
        self.density = GaussianDensity().fit(kept) if self.shared else PerLocationGaussian(shared=False).fit(kept)
        return self

    def _reduce(self, maps: Tensor, fit: bool = False) -> Tensor:
        """Maps on the PCA components (fitting the PCA first when asked); unchanged without components."""
        if self.components is None:
            return maps
        if fit:
            deviations = maps if self.shared else maps - maps.mean(0, keepdim=True)
            self.pca = PCA(self.components, random_state=self.seed).fit(_flat(deviations))
        return _project(maps.permute(0, 2, 3, 1), self.pca).permute(0, 3, 1, 2)

    def _keep(self, maps: Tensor, count: int, generator: torch.Generator) -> Tensor:
        """Per location: the maps. Shared: their features, at most FIT_VECTORS / count random ones per image."""
        if not self.shared:
            return maps
        flat = _flat(maps)
        wanted = len(maps) * -(-FIT_VECTORS // count)
        return flat if len(flat) <= wanted else flat[torch.randperm(len(flat), generator=generator)[:wanted]]

    def grid_scores(self, images: Tensor) -> Tensor:
        """Anomaly score of every grid patch, (B, rows, cols) float64; higher = more anomalous."""
        return torch.cat([self._scores(self._reduce(self.features(part))) for part in torch.split(images, self._group())])

    def anomaly_maps(self, images: Tensor) -> Tensor:
        """Pixel anomaly maps (B, size, size), float32."""
        g = self.geometry
        return upsample(self.grid_scores(images), g.patch, g.stride, g.size, g.sigma).float()

    def score_features(self, maps: Tensor) -> Tensor:
        """Pixel anomaly maps (B, size, size) from precomputed 512-d dense features, the counterpart of fit_features."""
        g = self.geometry
        return upsample(self._scores(self._reduce(maps)), g.patch, g.stride, g.size, g.sigma).float()

    def _scores(self, maps: Tensor) -> Tensor:
        """Grid scores (B, rows, cols) of (reduced) dense features."""
        if self.density is None:
            raise RuntimeError("PatchLocalizer is not fitted: call .fit(train_images) first")
        if self.shared:
            return torch.from_numpy(self.density.score_samples(_flat(maps)).reshape(len(maps), *maps.shape[2:]))
        return torch.from_numpy(self.density.score_samples(maps))

    def _check_images(self, images: Tensor) -> None:
        size = self.geometry.size
        if images.ndim != 4 or images.shape[-2:] != (size, size):
            raise ValueError(f"images: expected (B, 3, {size}, {size}) at the localiser's size, got {tuple(images.shape)}")


def _most_components(rows: int, cols: int) -> int:
    """The most feature dimensions whose per-location Cholesky factors fit PER_LOCATION_BUDGET on a grid."""
    return int((PER_LOCATION_BUDGET / (rows * cols * 8)) ** 0.5)


def _flat(maps: Tensor) -> Tensor:
    """Feature maps (B, D, rows, cols) as rows of features (B * rows * cols, D)."""
    return maps.permute(0, 2, 3, 1).reshape(-1, maps.shape[1])


def image_scores(maps: Tensor) -> Tensor:
    """Image anomaly scores from pixel maps (B, H, W): the maximum, as in the paper."""
    return maps.flatten(1).amax(1)


# ---------------------------------------------------------------- settings per profile


@dataclass(frozen=True)
class LocalizationSettings:
    """The scale of a localisation run: image size, patch and stride at 256 px, training length, images used.

    fit_images caps the clean training images the Gaussian is fitted on (None: all); test_per_defect caps the test
    images per defect type, good included (None: all): both exist to fit the CPU budget.
    """

    size: int
    steps: int
    batch: int
    patch_at_256: int = PAPER_PATCH
    stride_at_256: int = PAPER_STRIDE
    fit_images: int | None = None
    test_per_defect: int | None = None

    def geometry(self, patch_at_256: int | None = None) -> Geometry:
        """The patch grid at this size, for a patch of `patch_at_256` px at 256 px (default the settings' one)."""
        return Geometry.at(self.size, patch_at_256 or self.patch_at_256, self.stride_at_256)

    def patch_config(self, profile: Profile, category: str, patch_at_256: int | None = None, **changes: object) -> TrainConfig:
        """The 3-way patch model's training config: CutPaste inside random patch-sized crops of normal images."""
        patch = self.geometry(patch_at_256).patch
        return profile.config("3way", category, size=self.size, patch=patch, steps=self.steps, batch=self.batch).with_(**changes)

    def image_config(self, profile: Profile, category: str, **changes: object) -> TrainConfig:
        """The whole-image 3-way model GradCAM explains: the series' own (notebook 04's, cached), at the profile's size."""
        return profile.config("3way", category).with_(**changes)


# Chosen by measurement on the 2-core CPU (README, notebook 06). At 64 px the paper's 32-at-256 patch is 8 px and the proxy
# task stays at chance; 128 px with the main text's 64-at-256 patch (32 px) and 300 steps learns it on capsule and weave.
CPU_SETTINGS = LocalizationSettings(size=128, steps=300, batch=32, patch_at_256=64, stride_at_256=16)


def localization_settings(profile: Profile) -> LocalizationSettings:
    """The paper's scale for the "paper" profile; measured small settings that fit 5 minutes on a 2-core CPU otherwise."""
    if profile.name == "paper":
        return LocalizationSettings(profile.size, profile.steps, profile.batch)
    if profile.name == "tiny":
        return LocalizationSettings(profile.size, profile.steps, profile.batch, stride_at_256=32, fit_images=8, test_per_defect=2)
    return CPU_SETTINGS


# ---------------------------------------------------------------- evaluation


@dataclass
class Localization:
    """Anomaly maps of a test split and their metrics; pixel metrics are None (and `note` says why) without masks."""

    maps: Tensor
    test: Split
    image_auroc: float
    pixel_auroc: float | None
    aupro: float | None
    note: str = ""


def evaluate_maps(maps: Tensor, test: Split) -> Localization:
    """Pixel AUROC, AUPRO (FPR up to 0.3) and image AUROC (map maximum) of maps; a dataset without masks is reported."""
    scores = image_scores(maps).numpy()
    image = image_auroc(test.labels.numpy(), scores)
    try:
        return Localization(maps, test, image, pixel_auroc(test.masks, maps), aupro(test.masks, maps))
    except MasksMissing as missing:
        return Localization(maps, test, image, None, None, f"no pixel metrics: {missing}")


def paper_reference(category: str) -> tuple[str, float]:
    """The paper's pixel AUROC (%) to set a category against: its own, else the texture or object mean, else the mean."""
    if category in PAPER_PIXEL_AUROC:
        return category, PAPER_PIXEL_AUROC[category]
    if category in SYNTHETIC:
        key = f"{SYNTHETIC[category].kind} mean"
        return key, PAPER_PIXEL_AUROC[key]
    return "mean", PAPER_PIXEL_AUROC["mean"]


def summary_table(results: dict[str, Localization]) -> str:
    """One line per result: pixel AUROC, AUPRO, image AUROC, and the paper's pixel AUROC for the category the name
    starts with ("capsule GradCAM" → capsule), or why pixel metrics are missing."""
    width = max(map(len, results), default=0)
    lines = [f"{'':{width}s} {'pixel AUROC':>11s} {'AUPRO':>6s} {'image AUROC':>11s}   paper pixel AUROC (MVTec AD)"]
    for name, result in results.items():
        reference, value = paper_reference(name.split()[0])
        if result.pixel_auroc is None:
            lines.append(f"{name:{width}s} {'-':>11s} {'-':>6s} {result.image_auroc:11.3f}   {result.note}")
        else:
            lines.append(f"{name:{width}s} {result.pixel_auroc:11.3f} {result.aupro:6.3f} {result.image_auroc:11.3f}   {value / 100:.3f} ({reference})")
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


def localize(
    model: CutPasteNet, train: Split, test: Split, geometry: Geometry, shared: bool = True, fit_images: int | None = None, **options: object
) -> Localization:
    """Fit a PatchLocalizer on (the first `fit_images`) clean training images and evaluate its maps on `test`."""
    localizer = PatchLocalizer(model, geometry, shared=shared, **options)
    localizer.fit(train.images[:fit_images])
    return evaluate_maps(localizer.anomaly_maps(test.images), test)


DENSITIES = {"shared": True, "per-location": False}


def localize_densities(
    model: CutPasteNet, train: Split, test: Split, geometry: Geometry, fit_images: int | None = None, chunk: int | None = None
) -> dict[str, Localization]:
    """Shared and per-location Gaussians from one extraction of dense features, keyed "shared" and "per-location".

    Holds the 512-d features of the fit and test images in memory (fine for small grids); PatchLocalizer.fit streams.
    """
    g = geometry
    fit_maps = dense_features(model, train.images[:fit_images], g.patch, g.stride, chunk)
    test_maps = dense_features(model, test.images, g.patch, g.stride, chunk)
    return {
        name: evaluate_maps(PatchLocalizer(model, g, shared=shared, chunk=chunk).fit_features(fit_maps).score_features(test_maps), test)
        for name, shared in DENSITIES.items()
    }


# ---------------------------------------------------------------- figures


def _bare(axes: Sequence[plt.Axes]) -> None:
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])


def grid_figure(image: Tensor, geometry: Geometry) -> Figure:
    """The patch grid on an image: every patch centre as a dot; three patches one stride apart and one in the middle."""
    rows, cols = geometry.grid
    patch, stride = geometry.patch, geometry.stride
    figure, axis = plt.subplots(figsize=(4.4, 4.4))
    axis.imshow(to_display(image))
    centres = np.arange(rows) * stride + (patch - 1) / 2
    axis.scatter(*np.meshgrid(centres, centres), s=2, color="white")
    middle = (rows // 2) * stride
    corners = [(0, 0), (0, stride), (0, 2 * stride), (middle, middle)]
    for (top, left), colour in zip(corners, ("#ff2b8a", "#ffb000", "#35e0ff", "#7cff4f")):
        axis.add_patch(Rectangle((left - 0.5, top - 0.5), patch, patch, fill=False, edgecolor=colour, linewidth=1.6))
    axis.set_title(f"{rows}x{cols} patches of {patch} px, stride {stride}", fontsize=9)
    _bare([axis])
    return figure


def upsampling_figure(scores: Tensor, geometry: Geometry) -> Figure:
    """Receptive-field upsampling in four panels: grid scores, the Gaussian kernel, the overlap count, the pixel map."""
    g = geometry
    kernel = gaussian_kernel(g.patch, g.sigma)
    weights = F.conv_transpose2d(torch.ones(1, 1, *scores.shape, dtype=torch.float64), kernel[None, None], stride=g.stride)
    panels = [
        (scores, f"grid scores {tuple(scores.shape)}"),
        (kernel, f"kernel {g.patch} px, sigma {kernel_sigma(g.patch) if g.sigma is None else g.sigma:.1f}"),
        (weights[0, 0], "transposed conv of ones\n(overlap, divided out)"),
        (upsample(scores[None], g.patch, g.stride, g.size, g.sigma)[0], f"pixel map {g.size}x{g.size}"),
    ]
    figure, axes = plt.subplots(1, 4, figsize=(12, 3.2))
    for axis, (values, title) in zip(axes, panels):
        shown = axis.imshow(np.asarray(values, dtype=float), cmap="magma")
        figure.colorbar(shown, ax=axis, fraction=0.046)
        axis.set_title(title, fontsize=9)
    _bare(axes)
    figure.tight_layout()
    return figure


def heat_overlay(axis: plt.Axes, image: Tensor, values: Tensor, vmin: float, vmax: float) -> None:
    """Draw an anomaly map over its image, half transparent, on a fixed colour scale."""
    axis.imshow(to_display(image))
    axis.imshow(np.asarray(values, dtype=float), cmap="jet", alpha=0.5, vmin=vmin, vmax=vmax)


def colour_range(maps: Tensor) -> tuple[float, float]:
    """A colour scale shared by all maps of one localiser: the 1st to 99.9th percentile of their values."""
    low, high = np.percentile(maps.numpy(), [1, 99.9])
    return float(low), float(high)


def heatmap_figure(results: dict[str, Localization], per_category: int = 3) -> Figure:
    """Per category, its first defective test images of each kind: image + ground truth over anomaly map."""
    columns = [(name, i) for name, result in results.items() for i in _examples(result.test, per_category)]
    figure, axes = plt.subplots(2, len(columns), figsize=(1.9 * len(columns), 4.1), squeeze=False)
    for column, (name, i) in enumerate(columns):
        result = results[name]
        test = result.test
        mask = test.masks[i] if test.masks is not None else torch.zeros(test.images.shape[-2:], dtype=torch.bool)
        axes[0, column].imshow(overlay(test.images[i], mask))
        heat_overlay(axes[1, column], test.images[i], result.maps[i], *colour_range(result.maps))
        axes[0, column].set_title(f"{name}\n{test.defects[i]}", fontsize=8)
    axes[0, 0].set_ylabel("ground truth")
    axes[1, 0].set_ylabel("anomaly map")
    _bare(axes.flat)
    figure.tight_layout()
    return figure


def _examples(test: Split, count: int) -> list[int]:
    """Positions of the first defective image of each defect type, then further ones, `count` in all."""
    firsts = [test.defects.index(defect) for defect in dict.fromkeys(test.defects) if defect != "good"]
    rest = [i for i, label in enumerate(test.labels.tolist()) if label and i not in firsts]
    return (firsts + rest)[:count]


# ---------------------------------------------------------------- browsing maps


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
    _bare(axes)
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
        self.threshold = widgets.FloatSlider(value=start, min=low, max=high, step=(high - low) / 200, description="threshold", **slider)
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

