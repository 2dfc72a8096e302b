"""Patch-level localisation (Li et al., CVPR 2021, Sec. 4.3 and Appendix A): dense anomaly maps from a patch model.

A 3-way model trained on random crops (``TrainConfig.patch``) embeds every patch of a test image on a regular
grid (`cplib.patches`); a Gaussian fitted on the patch features of clean training images scores each patch; a
transposed convolution with a Gaussian kernel of the patch size spreads each score back over the pixels the patch
saw. The kernel's sigma is proportional to the patch (`kernel_sigma`), as the grid is to the image (`cplib.patches`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from sklearn.decomposition import PCA
from torch import Tensor
from torch.nn import functional as F

from .density import GaussianDensity, PerLocationGaussian
from .errors import ConfigError
from .inference import model_device
from .model import FEATURE_DIM, CutPasteNet
from .patches import PAPER_PATCH, PAPER_STRIDE, Geometry, check_images, default_chunk, dense_features
from .precision import inference_precision
from .train import TrainConfig

if TYPE_CHECKING:
    from .profiles import Profile

PAPER_SIGMA = 10.0  # sigma of the paper's 32-px kernel under FCDD's rule, which the paper follows
ALIGNED = frozenset({"bottle", "cable", "capsule", "metal_nut", "pill", "toothbrush", "transistor", "zipper"})
PER_LOCATION_BUDGET = 2**30  # bytes of Cholesky factors a per-location Gaussian may keep
FIT_VECTORS = 50_000  # patch features a shared Gaussian is fitted on at most (random locations)


def kernel_sigma(patch: int) -> float:
    """Sigma of the upsampling kernel: PAPER_SIGMA · patch / PAPER_PATCH, proportional to the patch side.

    This is cplib's rule, not FCDD's. FCDD (whose upsampling the paper follows) sets sigma = log10(0.45 k + 1) + 0.25
    for a k-px kernel under 32 px and 10 from 32 px up; the two agree only at 32 px, the paper's appendix patch.
    Scaling sigma with the patch keeps a map at any image size the 256-px map resized, as the grid scale rule does.

    Examples
    --------
    >>> [kernel_sigma(patch) for patch in (8, 16, 32, 64)]  # FCDD's rule: about 0.91, 1.16, 10, 10
    [2.5, 5.0, 10.0, 20.0]
    """
    return PAPER_SIGMA * patch / PAPER_PATCH


def default_shared(category: str) -> bool:
    """One Gaussian shared by all locations, except for the paper's aligned objects (one per location).

    Unknown categories (your own data) get the shared Gaussian: it does not assume the object sits in one place.
    """
    return category not in ALIGNED


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

    Examples
    --------
    >>> maps = upsample(torch.ones(1, 3, 3), patch=8, stride=4, size=16)  # a 3 x 3 grid covers 16 px
    >>> maps.shape, bool((maps == 1).all())  # a uniform map stays uniform
    (torch.Size([1, 16, 16]), True)
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

    Parameters
    ----------
    model : CutPasteNet
        The patch model (put in eval mode).
    geometry : Geometry
        Image size, patch side and stride in pixels.
    shared : bool, default True
        One Gaussian for all locations (True) or one per location (False).
    components : int or None, default None
        Feature dimensions kept by a PCA; None: all 512, unless the per-location budget forces fewer.
    chunk : int or None, default None
        Patches per encoder call; None: `default_chunk` for the patch size.
    pca_images : int, default 16
        Training images the within-location PCA is fitted on.
    seed : int, default 0
        Seed of the random patches a shared Gaussian is fitted on.
    precision : {"fp32", "bf16"} or None, default None
        The encoder's precision for fitting and scoring alike (`cplib.inference`); None: bf16 where this machine
        computes it natively and the patch is at least 32 px, else fp32.

    Examples
    --------
    >>> geometry = Geometry(size=32, patch=16, stride=8)  # a 3 x 3 grid of 16-px patches
    >>> localizer = PatchLocalizer(CutPasteNet(3), geometry).fit(torch.rand(4, 3, 32, 32))
    >>> localizer.anomaly_maps(torch.rand(2, 3, 32, 32)).shape
    torch.Size([2, 32, 32])
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
        precision: str | None = None,
    ) -> None:
        self.model = model.eval()
        self.precision = inference_precision(geometry.patch, precision, model_device(model))
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
            f"a per-location Gaussian on the {rows}x{cols} grid would keep "
            f"{rows * cols * FEATURE_DIM**2 * 8 / 1e9:.1f} GB "
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
        check_images(images, self.geometry.size)
        g = self.geometry
        return dense_features(self.model, images, g.patch, g.stride, self.chunk, self.precision)

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
        return torch.cat(
            [self._scores(self._reduce(self.features(part))) for part in torch.split(images, self._group())]
        )

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


def _most_components(rows: int, cols: int) -> int:
    """The most feature dimensions whose per-location Cholesky factors fit PER_LOCATION_BUDGET on a grid."""
    return int((PER_LOCATION_BUDGET / (rows * cols * 8)) ** 0.5)


def _flat(maps: Tensor) -> Tensor:
    """Feature maps (B, D, rows, cols) as rows of features (B * rows * cols, D)."""
    return maps.permute(0, 2, 3, 1).reshape(-1, maps.shape[1])


def image_scores(maps: Tensor) -> Tensor:
    """Image anomaly scores from pixel maps (B, H, W): the maximum, as in the paper."""
    return maps.flatten(1).amax(1)


# ---------------------------------------------------------------- the scale of a localisation run


@dataclass(frozen=True)
class LocalizationSettings:
    """The scale of a localisation run (a profile's ``localization``): image size, patch and stride at 256 px, training
    length, images used.

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

    def patch_config(
        self, profile: Profile, category: str, patch_at_256: int | None = None, **changes: object
    ) -> TrainConfig:
        """The 3-way patch model's training config: CutPaste inside random patch-sized crops of normal images."""
        patch = self.geometry(patch_at_256).patch
        return profile.config("3way", category, size=self.size, patch=patch, steps=self.steps, batch=self.batch).with_(
            **changes
        )
