"""Patch-level localisation (Li et al., CVPR 2021, Sec. 4.3 and Appendix A): dense anomaly maps from a patch model.

A 3-way model trained on random crops (``TrainConfig.patch``) embeds every patch of a test image on a regular
grid; a Gaussian fitted on the patch features of clean training images scores each patch; a transposed
convolution with a Gaussian kernel of the patch size spreads each score back over the pixels the patch saw.

Scale rule: the paper's numbers are at 256 px (32-px patches in the appendix, 64 in the main text; stride 4,
so a 57 x 57 grid for 32-px patches). At another image size S, patch, stride and the kernel's sigma all scale
by S / 256 (`patch_size`, `grid_stride`, `kernel_sigma`), so the grid covers the image the same way.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

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

REFERENCE_SIZE = 256
PAPER_PATCH = 32
PAPER_STRIDE = 4
PAPER_SIGMA = 10.0  # FCDD's rule for a 32-px kernel, which the paper follows
MIN_PATCH = 8  # TrainConfig's smallest patch
ALIGNED = frozenset({"bottle", "cable", "capsule", "metal_nut", "pill", "toothbrush", "transistor", "zipper"})
PER_LOCATION_BUDGET = 2**30  # bytes of Cholesky factors a per-location Gaussian may keep
FIT_VECTORS = 50_000  # patch features a shared Gaussian is fitted on at most (random locations)


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


def extract_patches(images: Tensor, patch: int, stride: int) -> Tensor:
    """Every patch x patch window on the stride grid, (B * rows * cols, C, patch, patch), image-major, row-major.

    unfold gives (B, C, rows, cols, patch, patch); moving C behind the grid axes before flattening keeps each
    patch's pixels together (reshaping unfold's output without that transpose scrambles patches). The copy is
    made channels-last, the layout the encoder runs fastest in.
    """
    windows = images.unfold(2, patch, stride).unfold(3, patch, stride)
    channels = images.shape[1]
    return windows.permute(0, 2, 3, 4, 5, 1).reshape(-1, patch, patch, channels).permute(0, 3, 1, 2)


def _patch_chunks(images: Tensor, patch: int, stride: int, chunk: int) -> Iterator[Tensor]:
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
def dense_features(
    model: CutPasteNet, images: Tensor, patch: int, stride: int, chunk: int = 512, project: PCA | None = None
) -> Tensor:
    """Pooled features of every grid patch, (B, D, rows, cols) float32; at most `chunk` patches in memory at once.

    `project`, a fitted PCA, reduces D on the fly, so only the reduced features are ever stored.
    """
    if chunk < 1:
        raise ConfigError(f"chunk={chunk}: must be at least 1 patch")
    model.eval()
    device = next(model.parameters()).device
    rows, cols = grid_shape(images.shape[-1], patch, stride)
    pieces = []
    for patches in _patch_chunks(images, patch, stride, chunk):
        features = model.features(patches.to(device)).float().cpu()
        pieces.append(_project(features, project))
    flat = torch.cat(pieces)
    return flat.view(len(images), rows, cols, -1).permute(0, 3, 1, 2)


def _project(features: Tensor, pca: PCA | None) -> Tensor:
    """Features (N, D) on a fitted PCA's components, or unchanged."""
    if pca is None:
        return features
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
    kernel-weighted mean of the scores of the patches that saw it, so a uniform map stays uniform. Pixels past
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


@dataclass
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

    shared=True fits one Gaussian on the features of all locations (textures, objects in any pose);
    shared=False one per grid location (aligned objects). A per-location Gaussian keeps rows·cols·d²·8 bytes of
    Cholesky factors, 6.8 GB at d = 512 on the paper's 57 x 57 grid, so it works on `components` PCA dimensions
    (default 32: 27 MB on that grid; the PCA is fitted on the first `pca_images` training images). The shared
    Gaussian keeps the 512-d features unless `components` is given, fitted on at most FIT_VECTORS random patches.
    """

    def __init__(
        self,
        model: CutPasteNet,
        geometry: Geometry,
        shared: bool = True,
        components: int | None = None,
        chunk: int = 512,
        pca_images: int = 16,
        seed: int = 0,
    ) -> None:
        self.model = model.eval()
        self.geometry = geometry
        self.shared = shared
        self.components = components if components is not None or shared else 32
        self.chunk = chunk
        self.pca_images = pca_images
        self.seed = seed
        self._check_memory()
        self.pca: PCA | None = None
        self.density: GaussianDensity | PerLocationGaussian | None = None

    def _check_memory(self) -> None:
        """Refuse a per-location Gaussian whose Cholesky factors would not fit PER_LOCATION_BUDGET."""
        rows, cols = self.geometry.grid
        dims = self.components or FEATURE_DIM
        needed = rows * cols * dims**2 * 8
        if not self.shared and needed > PER_LOCATION_BUDGET:
            most = int((PER_LOCATION_BUDGET / (rows * cols * 8)) ** 0.5)
            raise ConfigError(
                f"components={self.components}: a per-location Gaussian on the {rows}x{cols} grid would keep "
                f"{needed / 2**30:.1f} GiB; use components <= {most}, a coarser grid or shared=True"
            )

    def features(self, images: Tensor) -> Tensor:
        """Dense (possibly PCA-reduced) features (B, d, rows, cols) of images at the geometry's size."""
        g = self.geometry
        return dense_features(self.model, images, g.patch, g.stride, self.chunk, self.pca)

    def fit(self, images: Tensor) -> PatchLocalizer:
        """Fit the PCA (if any) and the Gaussian(s) on clean normal training images; returns self."""
        self._check_images(images)
        self.pca = None
        head = self.features(images[: self.pca_images])
        if self.components is not None:
            self.pca = PCA(self.components, random_state=self.seed).fit(_flat(head))
            head = _project(head.permute(0, 2, 3, 1), self.pca).permute(0, 3, 1, 2)
        maps = torch.cat([head, self.features(images[self.pca_images :])]) if len(images) > self.pca_images else head
        self.density = PerLocationGaussian(shared=False).fit(maps) if not self.shared else self._fit_shared(maps)
        return self

    def _fit_shared(self, maps: Tensor) -> GaussianDensity:
        """One Gaussian on the features of at most FIT_VECTORS random (image, location) pairs."""
        flat = _flat(maps)
        if len(flat) > FIT_VECTORS:
            generator = torch.Generator().manual_seed(self.seed)
            flat = flat[torch.randperm(len(flat), generator=generator)[:FIT_VECTORS]]
        return GaussianDensity().fit(flat)

    def grid_scores(self, images: Tensor) -> Tensor:
        """Anomaly score of every grid patch, (B, rows, cols); higher = more anomalous."""
        if self.density is None:
            raise RuntimeError("PatchLocalizer is not fitted: call .fit(train_images) first")
        self._check_images(images)
        maps = self.features(images)
        if self.shared:
            scores = self.density.score_samples(_flat(maps)).reshape(len(images), *maps.shape[2:])
        else:
            scores = self.density.score_samples(maps)
        return torch.from_numpy(scores)

    def anomaly_maps(self, images: Tensor, batch: int = 64) -> Tensor:
        """Pixel anomaly maps (B, size, size), float32, in batches of images."""
        g = self.geometry
        maps = [upsample(self.grid_scores(part), g.patch, g.stride, g.size, g.sigma) for part in torch.split(images, batch)]
        return torch.cat(maps).float()

    def _check_images(self, images: Tensor) -> None:
        size = self.geometry.size
        if images.ndim != 4 or images.shape[-2:] != (size, size):
            raise ValueError(f"images: expected (B, 3, {size}, {size}) at the localiser's size, got {tuple(images.shape)}")


def _flat(maps: Tensor) -> Tensor:
    """Feature maps (B, D, rows, cols) as rows of features (B * rows * cols, D)."""
    return maps.permute(0, 2, 3, 1).reshape(-1, maps.shape[1])


def image_scores(maps: Tensor) -> Tensor:
    """Image anomaly scores from pixel maps (B, H, W): the maximum, as in the paper."""
    return maps.flatten(1).amax(1)
