"""Reading MVTec AD-layout folders: MVTec AD itself, the embedded default dataset, or your own images.

Layout (``ground_truth/`` is optional: without it only image-level labels exist)::

    <root>/<category>/train/good/*.png
    <root>/<category>/test/<defect>/*.png            (``good`` among the defects)
    <root>/<category>/ground_truth/<defect>/<stem>_mask.png
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torchvision.transforms.v2 import functional as TF

from .errors import DataError

IMAGE_SUFFIXES = (".bmp", ".jfif", ".jpe", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")  # every split, and score
SPLITS = ("train", "test")
MIN_DENSITY_IMAGES = 3  # Ledoit-Wolf on 2 images estimates no shrinkage, so their covariance stays singular


@dataclass
class Split:
    """One split of one category, loaded into memory at a fixed size.

    images: (N, 3, S, S) float in [0, 1]; labels: (N,) 0 good / 1 defective; defects: defect type per image;
    masks: (N, S, S) bool, or None when the category has no ``ground_truth/`` folder; paths: the source files;
    annotated: (N,) bool, which images have a ground-truth mask (good images do: theirs is empty), or None when all
    do. A defective image without a mask holds an empty placeholder in masks: pixel metrics must leave it out.
    """

    images: torch.Tensor
    labels: torch.Tensor
    defects: list[str]
    masks: torch.Tensor | None
    paths: list[Path]
    annotated: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def select(self, index: list[int] | np.ndarray | torch.Tensor) -> Split:
        """A subset of the split, by positions."""
        index = torch.as_tensor(index, dtype=torch.long)
        masks = None if self.masks is None else self.masks[index]
        annotated = None if self.annotated is None else self.annotated[index]
        chosen = index.tolist()
        defects, paths = [self.defects[i] for i in chosen], [self.paths[i] for i in chosen]
        return Split(self.images[index], self.labels[index], defects, masks, paths, annotated)

    def pixel_positions(self) -> torch.Tensor:
        """Positions of the images pixel metrics can use: every image, or the annotated ones."""
        return torch.arange(len(self.labels)) if self.annotated is None else self.annotated.nonzero()[:, 0]


def list_categories(root: str | Path) -> list[str]:
    """The categories under an MVTec-layout root: sub-folders that have ``train/good``.

    Parameters
    ----------
    root : str or Path
        An MVTec-layout dataset folder.

    Returns
    -------
    list of str
        The category names, sorted.
    """
    root = _existing_root(root)
    return sorted(p.name for p in root.iterdir() if (p / "train" / "good").is_dir())


def count_images(root: str | Path, category: str, splits: Sequence[str] = SPLITS) -> dict[str, int]:
    """Image counts of a category's splits: 'train' and one per test defect type ('test/good', 'test/crack', ...)."""
    folder = _category_folder(root, category)
    counts = {"train": len(_split_files(folder, "train"))} if "train" in splits else {}
    for path in _split_files(folder, "test") if "test" in splits else []:
        key = f"test/{path.parent.name}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def skipped_files(root: str | Path, category: str, splits: Sequence[str] = SPLITS) -> list[Path]:
    """The files of a category's splits that loading skips: hidden ones (``.*``, macOS ``._*``) and other suffixes."""
    folder = _category_folder(root, category)
    return sorted(path for split in splits if (folder / split).is_dir() for path in _listing(folder / split)[1])


def load_split(
    root: str | Path,
    category: str,
    split: str = "train",
    size: int = 256,
    masks: bool = True,
    keep_unmasked: bool = False,
) -> Split:
    """Load every image of a category's split, resized to size×size, with its ground-truth masks if masks is True.

    Pixel metrics need a mask per defective image. With masks, a defective image without one is left out, with a
    warning naming it, unless keep_unmasked: then every image is kept and `Split.annotated` marks those with a mask
    (image metrics on all, pixel metrics on the annotated). masks=False (image-level work) keeps every image and reads
    no mask.

    Parameters
    ----------
    root : str or Path
        An MVTec-layout dataset folder.
    category : str
        A category folder under `root`.
    split : {"train", "test"}, default "train"
        The split to read.
    size : int, default 256
        Side in pixels every image is resized to.
    masks : bool, default True
        Read the ground-truth masks of defective test images.
    keep_unmasked : bool, default False
        With masks, keep defective images without a mask (marked in `Split.annotated`) instead of leaving them out.

    Returns
    -------
    Split
        Images (N, 3, size, size) in [0, 1], labels (0 normal, 1 defective), defect names, paths and masks.
    """
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    if size < 8:
        raise DataError(f"size={size} is too small: use an image size of at least 8 pixels")
    folder = _category_folder(root, category)
    files = _split_files(folder, split)
    with_masks = masks and split == "test" and (folder / "ground_truth").is_dir()
    unmasked = set(_unmasked_files(folder, files, keep_unmasked) if with_masks else [])
    if not keep_unmasked:
        files = [p for p in files if p not in unmasked]
    images, mask_list = [], []
    for path in files:
        pixels = _read_pixels(path, "image")
        images.append(_resized(pixels, size))
        if with_masks:
            mask_list.append(_read_mask(folder, path, pixels.shape[:2], size, path not in unmasked))
    defects = [path.parent.name for path in files]
    return Split(
        images=torch.stack(images),
        labels=torch.tensor([int(d != "good") for d in defects]),
        defects=defects,
        masks=torch.stack(mask_list) if with_masks else None,
        paths=files,
        annotated=torch.tensor([p not in unmasked for p in files]) if unmasked else None,
    )


_CONTENT_HASHES: dict[tuple[str, int, int], str] = {}  # (path, size, mtime): each file is read once per process


def files_fingerprint(root: str | Path, category: str, splits: Sequence[str] = ("train",)) -> str:
    """A short hash of what a category's image files hold: the path (within the category) and the bytes of each image
    of `splits`, and with "test" its ground-truth masks. It changes when a file is added, removed or edited, and, being
    made of content, not dates, the same files give the same hash on any machine.

    Parameters
    ----------
    root : str or Path
        An MVTec-layout dataset folder.
    category : str
        A category folder under `root`.
    splits : sequence of {"train", "test"}, default ("train",)
        The splits whose files count: the training images make a model, the test images and masks its results.

    Returns
    -------
    str
        16 hexadecimal digits.
    """
    folder = _category_folder(root, category)
    files = [path for split in splits for path in _split_files(folder, split)]
    if "test" in splits and (folder / "ground_truth").is_dir():
        files += sorted(path for path in (folder / "ground_truth").rglob("*") if path.is_file())
    listing = [(path.relative_to(folder).as_posix(), _content_hash(path)) for path in files]
    return hashlib.sha256(repr(listing).encode()).hexdigest()[:16]


def _content_hash(path: Path) -> str:
    status = path.stat()
    known = (str(path.resolve()), status.st_size, status.st_mtime_ns)
    if known not in _CONTENT_HASHES:
        _CONTENT_HASHES[known] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _CONTENT_HASHES[known]


def holdout_split(n: int, share: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted positions of n images held out (a share, at least 2 when share > 0, drawn by seed) and of the rest."""
    if share == 0:
        return np.arange(0), np.arange(n)
    n_held = max(2, round(share * n))
    if n - n_held < MIN_DENSITY_IMAGES:
        raise DataError(
            f"{n} training images are too few: {n_held} are held out for the threshold and the density needs "
            f"{MIN_DENSITY_IMAGES} more; add normal images to the category's train/good folder "
            f"({n_held + MIN_DENSITY_IMAGES} or more in all)"
        )
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:n_held]), np.sort(order[n_held:])


def read_image(path: str | Path, size: int) -> torch.Tensor:
    """One image file as a (3, size, size) float tensor in [0, 1]; grayscale becomes three channels."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder, not an image file: pass image files (for example {path / '*.png'})")
    if not path.is_file():
        raise DataError(f"image not found: {path}")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise DataError(f"{path} is not an image cplib reads: use one of {', '.join(IMAGE_SUFFIXES)}")
    return _resized(_read_pixels(path, "image"), size)


def pil_image(image: Image.Image, size: int) -> torch.Tensor:
    """A PIL image as a (3, size, size) float tensor in [0, 1], converted and resized as image files are."""
    return _resized(_rgb_unit(image, "the PIL image"), size)


def _resized(pixels: np.ndarray, size: int) -> torch.Tensor:
    """(H, W, 3) pixels in [0, 1] as a (3, size, size) tensor, antialiased."""
    tensor = torch.from_numpy(pixels).permute(2, 0, 1)
    return TF.resize(tensor, [size, size], antialias=True).clamp(0, 1)


def _read_pixels(path: Path, what: str) -> np.ndarray:
    """An image file as (H, W, 3) float32 in [0, 1], or a DataError naming the file (corrupt, or too large to trust)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return _rgb_unit(image, f"{what} {path}")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise DataError(
            f"{what} {path} is too large to read safely ({error}). Replace it with a smaller file, or raise "
            "PIL.Image.MAX_IMAGE_PIXELS if you trust it."
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise DataError(f"cannot read {what} {path}: {error}. Replace or delete the file.") from None


def _rgb_unit(image: Image.Image, name: str) -> np.ndarray:
    """Pixels as (H, W, 3) float32 in [0, 1]: 16-bit images scaled by their range, float images checked to be in [0, 1];
    a DataError naming the image (`name`) when its pixels have no such reading."""
    if image.mode == "I" and image.format != "PNG":  # Pillow reads 16-bit PNGs as "I" or "I;16", 32-bit TIFFs as "I"
        raise DataError(f"{name} has 32-bit integer pixels, whose range cplib cannot tell: save it as 8- or 16-bit")
    if image.mode.startswith("I") or image.mode == "F":
        grey = np.asarray(image, dtype=np.float32) / (1.0 if image.mode == "F" else 65535.0)
        _check_unit(grey, name)
        return np.repeat(grey[..., None], 3, axis=2)
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255


def _check_unit(pixels: np.ndarray, name: str) -> None:
    """Refuse float pixels that are not finite or lie outside [0, 1], naming the image."""
    if not np.isfinite(pixels).all():
        raise DataError(f"NaN or inf pixels in {name}: replace the file")
    if pixels.min() < 0 or pixels.max() > 1:
        raise DataError(
            f"{name} has float pixels from {pixels.min():g} to {pixels.max():g}; cplib reads float images as [0, 1]: "
            "divide them by their peak (255 for 8-bit data) or save the image as 8- or 16-bit"
        )


def _mask_path(folder: Path, image_path: Path) -> Path:
    """Where MVTec keeps the ground-truth mask of a test image."""
    return folder / "ground_truth" / image_path.parent.name / f"{image_path.stem}_mask.png"


def _unmasked_files(folder: Path, files: list[Path], kept: bool) -> list[Path]:
    """The defective images without a mask, with a warning saying whether they are kept for image metrics."""
    unmasked = [p for p in files if p.parent.name != "good" and not _mask_path(folder, p).is_file()]
    if unmasked:
        names = ", ".join(str(p.relative_to(folder)) for p in unmasked)
        fate = (
            "count in image metrics and are left out of pixel metrics"
            if kept
            else "are left out; load with masks=False or keep_unmasked=True to keep them for image metrics"
        )
        warnings.warn(
            f"{len(unmasked)} defective images have no mask in {folder / 'ground_truth'} and {fate}: {names}. "
            "Add their <stem>_mask.png files for pixel metrics on them.",
            stacklevel=3,
        )
    return unmasked


def _read_mask(folder: Path, image_path: Path, shape: tuple[int, int], size: int, present: bool = True) -> torch.Tensor:
    """The ground-truth mask of a test image at size×size (all zero for a good image, or an absent mask's placeholder);
    it must match the image's size."""
    if image_path.parent.name == "good" or not present:
        return torch.zeros(size, size, dtype=torch.bool)
    mask_path = _mask_path(folder, image_path)
    mask = torch.from_numpy(_read_pixels(mask_path, "mask").mean(axis=2) > 0.5)
    if tuple(mask.shape) != tuple(shape):
        raise DataError(
            f"mask {mask_path} is {mask.shape[1]}×{mask.shape[0]} pixels but its image {image_path} is "
            f"{shape[1]}×{shape[0]}: replace the mask with one of the image's size"
        )
    resized = TF.resize(mask[None].to(torch.uint8), [size, size], interpolation=TF.InterpolationMode.NEAREST_EXACT)
    return resized[0].bool()


def _existing_root(root: str | Path) -> Path:
    """The dataset root, or a DataError saying how to point cplib at data."""
    root = Path(root).expanduser()
    if root.is_file():
        raise DataError(f"{root} is a file, not a dataset folder: pass the folder that holds the category folders")
    if not root.is_dir():
        raise DataError(
            f"dataset folder not found: {root}. Pass the folder that holds the category folders "
            "(for MVTec AD, the extracted mvtec_anomaly_detection folder), or write the default dataset with "
            "`python -m cplib data` or cplib.ensure_dataset()."
        )
    return root


def _category_folder(root: str | Path, category: str) -> Path:
    """The folder of one category, or a DataError listing the categories that exist."""
    root = _existing_root(root)
    folder = root / category
    if not (folder / "train" / "good").is_dir():
        found = list_categories(root)
        known = ", ".join(found) if found else "none (no <category>/train/good folders)"
        raise DataError(f"unknown category {category!r} in {root}: categories found: {known}")
    return folder


def _split_files(folder: Path, split: str) -> list[Path]:
    """Image files of a split, sorted by defect then name; hidden and non-image files are skipped (`skipped_files`)."""
    split_folder = folder / split
    if not split_folder.is_dir():
        needs = "train/good" if split == "train" else "test/<defect> to be evaluated"
        raise DataError(f"missing folder {split_folder}: an MVTec-layout category needs {needs}")
    files = _listing(split_folder)[0]
    if not files:
        where = split_folder / "good" if split == "train" else split_folder
        raise DataError(f"no images in {where}: add .png or .jpg files there")
    return files


def _listing(split_folder: Path) -> tuple[list[Path], list[Path]]:
    """A split folder's image files (in good/ only, for train) and those skipped: hidden, elsewhere, other suffixes."""
    images, skipped = [], []
    for path in sorted(split_folder.glob("*/*")):
        if path.is_file():
            hidden = path.name.startswith(".") or path.parent.name.startswith(".")
            outside = split_folder.name == "train" and path.parent.name != "good"
            wanted = path.suffix.lower() in IMAGE_SUFFIXES and not hidden and not outside
            (images if wanted else skipped).append(path)
    return images, skipped
