"""Checks at the door of the command line and the Python API: each refusal names the thing, what it may be, and the fix.

Detector.score's inputs (`image_batch`), whether a training run fits in memory (`check_memory`), whether the
images a density is fitted on vary (`check_images_differ`), and the command line's own option types.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .augment import num_classes
from .data import pil_image, read_image
from .errors import ConfigError, DataError
from .train import MAX_SEED, TrainConfig

ACCEPTED = (
    "a float tensor (N, 3, S, S) or (3, S, S) in [0, 1] or a uint8 one, a numpy array (N, S, S, 3) or (S, S, 3) "
    "likewise, an image path, a PIL image, or a list of paths or PIL images"
)
ACTIVATION_BYTES_PER_PIXEL = 600  # ResNet-18's layer outputs per input pixel in fp32 (forward hooks, 64 and 128 px)
SHA256 = re.compile(r"[0-9a-fA-F]{64}")


def image_batch(images: object, size: int) -> torch.Tensor:
    """`images` as the float32 (N, 3, size, size) batch in [0, 1] that a model of `size` px scores.

    Paths and PIL images are read and resized as image files are (`cplib.data.read_image`); tensors and arrays are
    pixels already at the model's size, uint8 ones divided by 255, float ones (float64 included) cast to float32.
    Anything else is a TypeError or ValueError naming what was given and what is accepted.
    """
    if isinstance(images, (str, Path, Image.Image)):
        images = [images]
    if isinstance(images, (list, tuple)):
        return _read_all(images, size)
    if isinstance(images, np.ndarray):
        images = _from_channels_last(images)
    if not isinstance(images, torch.Tensor):
        raise TypeError(f"images: got a {type(images).__name__}; pass {ACCEPTED}")
    batch = images[None] if images.ndim == 3 else images
    if batch.ndim != 4 or batch.shape[1] != 3:
        found = tuple(images.shape)
        raise ValueError(f"images: expected (N, 3, {size}, {size}) (3 colour channels first), got {found}")
    if tuple(batch.shape[2:]) != (size, size):
        height, width = batch.shape[2:]
        raise ValueError(
            f"images are {width}×{height} px but the model was trained at {size}×{size}: resize them, or pass "
            "their paths or PIL images, which are resized like the training images"
        )
    if len(batch) == 0:
        raise ValueError("images: the batch is empty; pass at least one image")
    return _unit_floats(batch)


def _read_all(items: Sequence[object], size: int) -> torch.Tensor:
    """Paths and PIL images read and resized to size, stacked."""
    if not items:
        raise ValueError("images: the list is empty; pass at least one image path or PIL image")
    for item in items:
        if not isinstance(item, (str, Path, Image.Image)):
            raise TypeError(f"images: a list may hold image paths or PIL images, not a {type(item).__name__}")
    return torch.stack([pil_image(it, size) if isinstance(it, Image.Image) else read_image(it, size) for it in items])


def _from_channels_last(array: np.ndarray) -> torch.Tensor:
    """A numpy (..., H, W, 3) array as a (..., 3, H, W) tensor."""
    if array.ndim not in (3, 4) or array.shape[-1] != 3:
        raise ValueError(f"images: a numpy array must be (N, H, W, 3) or (H, W, 3), channels last; got {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array)).movedim(-1, -3)


def _unit_floats(batch: torch.Tensor) -> torch.Tensor:
    """uint8 pixels divided by 255; float pixels (float64 too, numpy's default) checked to be finite and in [0, 1], as
    float32; other types refused."""
    if batch.dtype == torch.uint8:
        return batch.float() / 255
    if not batch.is_floating_point():
        raise TypeError(f"images: {batch.dtype} pixels; pass floats in [0, 1] or uint8 in 0 ... 255")
    if not torch.isfinite(batch).all():
        raise ValueError("images: NaN or inf pixels; pass finite floats in [0, 1]")
    low, high = float(batch.min()), float(batch.max())
    if low < 0 or high > 1:
        hint = " (divide 8-bit pixels by 255)" if high > 1 else ""
        raise ValueError(f"images: pixel values from {low:g} to {high:g}; pass floats in [0, 1]{hint}")
    return batch.float()


def check_memory(config: TrainConfig, n_images: int, device: str) -> None:
    """Refuse a run whose images and one step's activations would not fit in the device's whole memory."""
    total = device_memory(device)
    if total is None:
        return
    side = config.patch or config.size
    views = config.batch * num_classes(config.variant)
    needed = 4 * 3 * n_images * config.size**2 + ACTIVATION_BYTES_PER_PIXEL * views * side**2
    if needed > total:
        raise ConfigError(
            f"--size {config.size} with --batch {config.batch} needs about {_gib(needed)} of memory to train "
            f"({n_images} images and {views} views per step); {device} has {_gib(total)}: "
            "use a smaller --size or --batch"
        )


def device_memory(device: str) -> int | None:
    """The whole memory of a device in bytes (a CPU's RAM, a GPU's own), or None where it cannot be read."""
    kind = torch.device(device)
    if kind.type == "cuda":
        return torch.cuda.get_device_properties(kind.index or 0).total_memory
    if kind.type == "cpu" and hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def _gib(n_bytes: float) -> str:
    return f"{n_bytes / 2**30:,.1f} GiB"


def check_images_differ(images: torch.Tensor, kept: np.ndarray, folder: Path) -> None:
    """Refuse to fit a density on training images (`kept` of `images`) that are all the same: zero covariance."""
    first = images[int(kept[0])]
    if bool((images[torch.as_tensor(kept)] == first).all()):
        same = int((images == first).flatten(1).all(1).sum())
        which = f"all {same}" if same == len(images) else f"{same} of the {len(images)}"
        raise DataError(
            f"{which} training images in {folder} are identical, including the {len(kept)} the density is fitted on: "
            "add normal images that differ"
        )


def seed_option(text: str) -> int:
    """argparse type of --seed: a whole number from 0 to MAX_SEED."""
    if not re.fullmatch(r"\d+", text.strip()) or int(text) > MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text!r} is not a seed: use a whole number from 0 to {MAX_SEED}")
    return int(text)


def sha256_option(text: str) -> str:
    """argparse type of --sha256: 64 hexadecimal digits."""
    if not SHA256.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a SHA-256: pass the archive's 64 hexadecimal digits")
    return text.strip().lower()
