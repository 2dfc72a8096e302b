"""The patch grid of patch-level localisation (Li et al., CVPR 2021, Appendix A): where patches sit on an image,
and the encoder's features of every one of them.

Scale rule: the paper's numbers are at 256 px (32-px patches in the appendix, 64 in the main text; stride 4,
so a 57 x 57 grid for 32-px patches). At another image size S, patch, stride and the kernel's sigma all scale
by S / 256 (`patch_size`, `grid_stride`, `cplib.localize.kernel_sigma`), so the grid covers the image the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from .errors import ConfigError
from .inference import encode, model_device
from .model import CutPasteNet
from .precision import inference_precision

REFERENCE_SIZE = 256
PAPER_PATCH = 32
PAPER_STRIDE = 4
MIN_PATCH = 8  # TrainConfig's smallest patch
CHUNK_PIXELS = 512 * 32 * 32  # patch pixels per encoder call by default: 512 patches of 32 px, 8,192 of 8 px


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


def grid_shape(size: int, patch: int, stride: int) -> tuple[int, int]:
    """Rows and columns of the patch grid on a size x size image: (size - patch) // stride + 1 each."""
    if not 1 <= patch <= size:
        raise ConfigError(f"patch={patch}: must lie in [1, size={size}] pixels")
    if stride < 1:
        raise ConfigError(f"stride={stride}: must be at least 1 pixel")
    cells = (size - patch) // stride + 1
    return cells, cells


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


# ---------------------------------------------------------------- patch extraction and features


def check_images(images: Tensor, size: int | None = None) -> None:
    """Refuse anything but a batch of square images (B, C, S, S), at `size` px when given: the grid is laid out from
    one side."""
    square = images.ndim == 4 and images.shape[-2] == images.shape[-1]
    if not square or images.shape[-1] != (size or images.shape[-1]):
        side = "S" if size is None else size
        got = tuple(images.shape)
        raise ValueError(f"images: expected square images (B, 3, {side}, {side}), got {got}; resize them first")


def default_chunk(patch: int) -> int:
    """Patches per encoder call that keep about CHUNK_PIXELS pixels in flight: big batches for small patches run
    faster."""
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


def dense_features(
    model: CutPasteNet, images: Tensor, patch: int, stride: int, chunk: int | None = None, precision: str | None = None
) -> Tensor:
    """Pooled features of every grid patch of square images, (B, D, rows, cols) float32; `chunk` patches
    (default_chunk) per encoder call, at `precision` (None: `cplib.inference.inference_precision`'s choice)."""
    check_images(images)
    chunk = default_chunk(patch) if chunk is None else chunk
    if chunk < 1:
        raise ConfigError(f"chunk={chunk}: must be at least 1 patch")
    precision = inference_precision(patch, precision, model_device(model))
    rows, cols = grid_shape(images.shape[-1], patch, stride)
    pieces = [encode(model, patches, precision) for patches in patch_chunks(images, patch, stride, chunk)]
    flat = torch.cat(pieces)
    return flat.view(len(images), rows, cols, -1).permute(0, 3, 1, 2)
