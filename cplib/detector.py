"""A Detector for new images: a trained encoder, a density fitted on normal features, and a threshold."""

from __future__ import annotations

import errno
import json
import math
import os
import pickle
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .checkpoint import Trained, load, save
from .data import holdout_split
from .density import FeatureDensity, GaussianDensity
from .errors import ConfigError, DataError
from .evaluate import extract_features
from .inference import model_device
from .metrics import best_f1_threshold
from .model import CutPasteNet
from .precision import IMAGE_PRECISION, inference_precision
from .staging import remove, remove_stale, replace, temporary
from .train import PRECISIONS, History, TrainConfig
from .validation import image_batch

MODEL_FILES = ("model.pt", "density.pkl", "detector.json")
Images = torch.Tensor | np.ndarray | str | Path | Image.Image | Sequence[str | Path | Image.Image]
DEFAULT_HOLDOUT = 0.2


@dataclass(frozen=True)
class Calibration:
    """How a threshold was set: held-out normal score number `rank` (ascending) of `n_held_out`, at `percentile`."""

    percentile: float
    n_held_out: int
    rank: int
    encoder_saw_held_out: bool

    @property
    def false_alarm_rate(self) -> float:
        """Expected share of new normal images scoring above the threshold: (n + 1 - rank) / (n + 1), for exchangeable
        scores."""
        return (self.n_held_out + 1 - self.rank) / (self.n_held_out + 1)

    def describe(self) -> str:
        """The threshold's meaning in one sentence, claiming no more than n_held_out images support."""
        n, rank = self.n_held_out, self.rank
        which = "their maximum" if rank == n else f"score {rank} of {n} from the lowest"
        text = (
            f"threshold = the {self.percentile:g}th percentile of {n} held-out normal scores ({which}): "
            f"about {self.false_alarm_rate:.1%} of new normal images will score above it"
        )
        if rank == n:
            text += f"; {n} held-out images cannot support a false-alarm rate below 1/{n + 1}"
        if self.encoder_saw_held_out:
            text += "; the encoder trained on these images, so new normal images may exceed it more often"
        return text


def percentile_rank(n: int, percentile: float) -> int:
    """The ascending rank (1 = lowest) of numpy's percentile(method="higher") among n values: one of the values.

    Examples
    --------
    >>> percentile_rank(30, 99), percentile_rank(5, 50), percentile_rank(5, 0)
    (30, 3, 1)
    """
    return math.ceil(percentile / 100 * (n - 1)) + 1


class Detector:
    """Score images with CutPaste: encoder features → density (Ledoit-Wolf Gaussian by default) → threshold.

    ``fit`` learns the density from normal images only and sets a threshold at a percentile of the scores of held-out
    normal images under that same density (no defects needed); with holdout 0 (the paper's protocol) the density takes
    every normal image and there is no threshold, only scores. ``calibrate_f1`` sets the F1-optimal threshold when
    labelled images exist. The encoder runs at `precision` ("fp32" by default, "bf16"; None: bf16 where this machine
    computes it natively, `cplib.inference`), the same for the threshold's scores and every later score.

    Parameters
    ----------
    model : CutPasteNet
        The trained encoder (put in eval mode).
    config : TrainConfig
        The config that trained it: the image size, holdout and seed come from it.
    history : History or None, default None
        The training history, kept with a saved detector; None: empty.
    density : FeatureDensity or None, default None
        The density on encoder features; None: a Ledoit-Wolf `GaussianDensity`.
    precision : {"fp32", "bf16"} or None, default "fp32"
        The encoder's precision for the threshold's scores and every later score (`cplib.inference`); None: bf16
        where this machine computes it natively, else fp32. fp32 by default: `cplib.precision.IMAGE_PRECISION`.

    Examples
    --------
    >>> import tempfile
    >>> from cplib.data import load_split
    >>> from cplib.profiles import get_profile
    >>> from cplib.synthetic import Counts, write_dataset
    >>> from cplib.train import train
    >>> folder = tempfile.TemporaryDirectory()
    >>> root = write_dataset(f"{folder.name}/data", counts=Counts(train=8, test_good=2, test_per_defect=1))
    >>> config = get_profile("tiny").config("3way", "capsule", data_root=str(root), steps=1, holdout=0.25)
    >>> model, history = train(config, progress=False)  # on the 6 images not held out
    >>> normal, test = (load_split(root, "capsule", split, config.size) for split in ("train", "test"))
    >>> detector = Detector(model, config, history).fit(normal.images)  # threshold from the 2 held out
    >>> detector.predict(test.images).shape == test.labels.shape  # one decision per test image
    True
    >>> folder.cleanup()
    """

    def __init__(
        self,
        model: CutPasteNet,
        config: TrainConfig,
        history: History | None = None,
        density: FeatureDensity | None = None,
        precision: str | None = IMAGE_PRECISION,
    ) -> None:
        self.model = model.eval()
        self.config = config
        self.precision = inference_precision(config.size, precision, model_device(model))
        self.history = history if history is not None else History()
        self.density = density if density is not None else GaussianDensity()
        self.threshold: float | None = None
        self.calibration: Calibration | None = None
        self.held_out = np.arange(0)
        self.density_images: int | None = None

    @classmethod
    def from_trained(
        cls, trained: Trained, density: FeatureDensity | None = None, precision: str | None = IMAGE_PRECISION
    ) -> Detector:
        """A detector around a model from get_or_train or load.

        Parameters
        ----------
        trained : Trained
            What `cplib.get_or_train` or `cplib.checkpoint.load` returns.
        density : FeatureDensity or None, default None
            The density on encoder features; None: a Ledoit-Wolf `GaussianDensity`.
        precision : {"fp32", "bf16"} or None, default "fp32"
            The encoder's precision when scoring; None: bf16 where this machine computes it natively, else fp32.
        """
        return cls(trained.model, trained.config, trained.history, density, precision)

    def fit(
        self, normal_images: Images, holdout: float | None = None, percentile: float = 99.0, seed: int | None = None
    ) -> Detector:
        """Fit the density on normal images minus a held-out share; threshold at a percentile of their scores under it.

        normal_images are the config's training images in load_split order (any form `score` takes). holdout and
        seed default to the config's (images its encoder never saw, `TrainConfig.holdout`), else 0.2 and the
        config's seed; the density is not refitted afterwards, so the threshold belongs to the density that scores.
        holdout=0 fits the density on every image and sets no threshold (the paper's protocol).

        Parameters
        ----------
        normal_images : Tensor, array, image paths or PIL images
            The config's normal training images, in load_split order.
        holdout : float or None, default None
            Share of them kept out of the density to set the threshold, in [0, 1); None: the config's, else 0.2.
        percentile : float, default 99.0
            Percentile (0 to 100) of the held-out scores the threshold is set at.
        seed : int or None, default None
            Seed of the held-out draw; None: the config's.

        Returns
        -------
        Detector
            This detector, fitted.
        """
        normal_images = image_batch(normal_images, self.config.size)
        share = holdout if holdout is not None else self.config.holdout or DEFAULT_HOLDOUT
        seed = self.config.seed if seed is None else seed
        if not 0 <= share < 1:
            raise ConfigError(f"holdout={share}: must lie in [0, 1)")
        if not 0 <= percentile <= 100:
            raise ConfigError(f"percentile={percentile}: must lie in [0, 100]")
        held, kept = holdout_split(len(normal_images), share, seed)
        features = extract_features(self.model, normal_images, precision=self.precision)
        self.density.fit(features[kept])
        self.density_images, self.held_out = len(kept), held
        if share == 0:
            self.threshold, self.calibration = None, None
            return self
        held_scores = np.sort(self.density.score_samples(features[held]))
        rank = percentile_rank(len(held), percentile)
        self.threshold = float(held_scores[rank - 1])
        self.calibration = Calibration(
            percentile, len(held), rank, (share, seed) != (self.config.holdout, self.config.seed)
        )
        return self

    @property
    def protocol(self) -> str:
        """What the density and the threshold rest on, in one line: "density fitted on N images, threshold on M"."""
        fitted = "an unrecorded number of" if self.density_images is None else self.density_images
        if self.calibration is not None:
            return f"density fitted on {fitted} images, threshold on {self.calibration.n_held_out} held-out images"
        if self.threshold is None:
            return f"density fitted on {fitted} images, no threshold (the paper's protocol: scores only)"
        return f"density fitted on {fitted} images, threshold set by hand or by calibrate_f1 on labelled images"

    def score(self, images: Images) -> np.ndarray:
        """Anomaly scores of images, higher = more anomalous: a batch (N, 3, size, size) or one image (3, size, size),
        float in [0, 1] or uint8; numpy arrays channels last; paths and PIL images, read and resized like the
        training images (`cplib.validation.image_batch` says what is refused and why).

        Parameters
        ----------
        images : Tensor, array, image paths or PIL images
            The images to score.

        Returns
        -------
        numpy.ndarray
            One float score per image.
        """
        features = extract_features(self.model, image_batch(images, self.config.size), precision=self.precision)
        return self.density.score_samples(features)

    def score_files(self, paths: str | Path | Sequence[str | Path]) -> np.ndarray:
        """Anomaly scores of image files, read and resized like the training images.

        Parameters
        ----------
        paths : str, Path or a sequence of them
            One image file or several.

        Returns
        -------
        numpy.ndarray
            One float score per file.
        """
        return self.score([paths] if isinstance(paths, (str, Path)) else list(paths))

    def predict(self, images: Images, threshold: float | None = None) -> np.ndarray:
        """True where an image scores at or above the threshold.

        Parameters
        ----------
        images : Tensor, array, image paths or PIL images
            The images to judge (any form `score` takes).
        threshold : float or None, default None
            The score from which an image is anomalous; None: the fitted or calibrated one.

        Returns
        -------
        numpy.ndarray
            One bool per image.
        """
        threshold = self.threshold if threshold is None else threshold
        if threshold is None:
            raise ConfigError(f"{self.protocol}: pass threshold=, call calibrate_f1, or fit with holdout > 0")
        return self.score(images) >= threshold

    def calibrate_f1(self, images: Images, labels: Sequence[int]) -> float:
        """Set the threshold that maximises F1 on labelled images; returns that F1 (optimistic on the same images).

        Parameters
        ----------
        images : Tensor, array, image paths or PIL images
            Labelled images (any form `score` takes).
        labels : sequence of int
            1 for an anomalous image, 0 for a normal one.

        Returns
        -------
        float
            The F1 at the chosen threshold, on these images.
        """
        self.threshold, f1 = best_f1_threshold(np.asarray(labels), self.score(images))
        self.calibration = None
        return f1

    def save(self, folder: str | Path) -> Path:
        """Write model.pt, density.pkl and detector.json into a folder; an older detector there is replaced whole.

        Parameters
        ----------
        folder : str or Path
            A new or empty folder, or one that holds an older detector.

        Returns
        -------
        Path
            The folder, absolute.
        """
        folder = check_destination(folder)
        staging = temporary(folder)
        try:
            staging.mkdir(parents=True)
            save(Trained(self.model, self.config, self.history), staging / "model.pt")
            (staging / "density.pkl").write_bytes(pickle.dumps(self.density))
            (staging / "detector.json").write_text(json.dumps(self._metadata(), indent=2))
            replace(staging, folder)
        except OSError as error:
            fix = "free some space there" if error.errno == errno.ENOSPC else "fix its permissions"
            raise DataError(
                f"cannot save the model in {folder}: {error.strerror or error}; nothing there was changed. "
                f"Pass another folder or {fix}"
            ) from None
        finally:
            remove(staging)
        return folder

    def _metadata(self) -> dict[str, Any]:
        """detector.json: the threshold (null: none), the density's image count, the encoder's precision (the
        density's and the threshold's) and, when held-out normals set the threshold, how many and what they support."""
        saved = {
            "threshold": self.threshold,
            "density_images": self.density_images,
            "precision": self.precision,
            "protocol": self.protocol,
        }
        if self.calibration is None:
            return saved
        calibration = {**asdict(self.calibration), "expected_false_alarm_rate": self.calibration.false_alarm_rate}
        return {**saved, "calibration": calibration, "note": self.calibration.describe()}

    @classmethod
    def load(cls, folder: str | Path, precision: str | None = None) -> Detector:
        """Read a detector written by save (a folder you trust: the density is a pickle).

        Parameters
        ----------
        folder : str or Path
            A folder written by `save` or ``python -m cplib train --out``.
        precision : {"fp32", "bf16"} or None, default None
            The encoder's precision when scoring; None: the one saved with the detector, which its density and
            threshold were fitted at (fp32 where detector.json records none). Another is used as asked, with a
            warning that scores may shift.

        Returns
        -------
        Detector
            The model, density, threshold and calibration as saved.
        """
        folder = Path(folder)
        if not (folder / "detector.json").is_file():
            raise DataError(f"no saved detector in {folder}: pass a folder written by `python -m cplib train --out`")
        trained = load(folder / "model.pt")
        metadata = _read_saved(folder / "detector.json", _parse_metadata)
        saved = metadata.get("precision", IMAGE_PRECISION)
        detector = cls.from_trained(trained, _read_saved(folder / "density.pkl", _parse_density), precision or saved)
        if detector.precision != saved:
            warnings.warn(
                f"{folder}: scoring in {detector.precision}, but its density and threshold were fitted on {saved} "
                f"features: scores may shift and the threshold may not hold; omit precision to score in {saved}",
                stacklevel=2,
            )
        detector.threshold = metadata["threshold"]
        detector.density_images = metadata.get("density_images")
        detector.calibration = Calibration(**metadata["calibration"]) if "calibration" in metadata else None
        return detector


def check_destination(folder: str | Path) -> Path:
    """The absolute folder to save a detector in, once sure that saving there can replace only an older detector.

    Creates nothing: missing parents are made by `Detector.save`. A link to a folder is followed (the model goes into
    the folder it points at, and the link stays); a link to nothing is refused.
    """
    folder = Path(os.path.abspath(Path(folder).expanduser()))
    if folder.is_symlink():
        folder = _link_target(folder)
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    if not existing.is_dir():
        raise DataError(f"{existing} is a file: pass a folder to save the model in")
    foreign = sorted(p.name for p in folder.iterdir() if p.name not in MODEL_FILES) if folder.is_dir() else []
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise DataError(
            f"{folder} holds files that are not part of a cplib model ({shown}): pass a new or empty folder, "
            "or move those files away"
        )
    try:
        if folder.parent.is_dir():
            remove_stale(folder)
            temporary(folder).mkdir()
            temporary(folder).rmdir()
        elif not os.access(existing, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied")
    except OSError as error:
        raise DataError(
            f"cannot write a model at {folder}: {error.strerror}. Pass another folder or fix its permissions"
        ) from None
    return folder


def _link_target(link: Path) -> Path:
    """The folder a link points at, or a DataError naming the link."""
    target = link.resolve()
    if not target.is_dir():
        raise DataError(f"{link} is a link to {target}, which is not a folder: pass a folder to save the model in")
    return target


def _read_saved(path: Path, parse: Callable[[bytes], Any]) -> Any:
    """A file of a saved detector, parsed, or a DataError naming it."""
    try:
        return parse(path.read_bytes())
    except Exception as error:  # a missing, truncated or foreign file fails in many ways; all mean the same to the user
        raise DataError(
            f"cannot read {path}: {error.__class__.__name__}. "
            f"Train the model again (`python -m cplib train --out {path.parent}`)."
        ) from None


def _parse_metadata(raw: bytes) -> dict[str, Any]:
    """detector.json's content, checked: a numeric threshold or null, a known precision if any and, if present, a
    complete calibration."""
    metadata = json.loads(raw)
    metadata["threshold"] = None if metadata["threshold"] is None else float(metadata["threshold"])
    if "precision" in metadata and metadata["precision"] not in PRECISIONS:
        raise ValueError(f"precision {metadata['precision']!r}")
    if "calibration" in metadata:
        metadata["calibration"] = {name: metadata["calibration"][name] for name in Calibration.__dataclass_fields__}
    return metadata


def _parse_density(raw: bytes) -> FeatureDensity:
    """density.pkl's fitted density."""
    density = pickle.loads(raw)
    if not isinstance(density, FeatureDensity):
        raise TypeError(f"a {type(density).__name__}, not a fitted density")
    return density
