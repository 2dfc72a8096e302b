"""A Detector for new images: a trained encoder, a density fitted on normal features, and a threshold."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .checkpoint import Trained, load, save
from .data import read_image
from .density import FeatureDensity, GaussianDensity
from .errors import ConfigError, DataError
from .evaluate import extract_features
from .metrics import best_f1_threshold, percentile_threshold
from .model import CutPasteNet
from .profiles import TrainConfig
from .train import History


class Detector:
    """Score images with CutPaste: encoder features → density (Ledoit-Wolf Gaussian by default) → threshold.

    ``fit`` learns the density from normal images only and sets a threshold at a percentile of the scores of
    held-out normal images (no defects needed); ``calibrate_f1`` replaces it with the F1-optimal threshold
    when labelled images exist.
    """

    def __init__(self, model: CutPasteNet, config: TrainConfig, history: History | None = None, density: FeatureDensity | None = None) -> None:
        self.model = model.eval()
        self.config = config
        self.history = history if history is not None else History()
        self.density = density if density is not None else GaussianDensity()
        self.threshold = float("inf")

    @classmethod
    def from_trained(cls, trained: Trained, density: FeatureDensity | None = None) -> Detector:
        """A detector around a model from get_or_train or load."""
        return cls(trained.model, trained.config, trained.history, density)

    def fit(self, normal_images: torch.Tensor, holdout: float = 0.2, percentile: float = 99.0, seed: int = 0) -> Detector:
        """Fit the density on normal images and set the threshold at a percentile of held-out normal scores.

        The held-out images (a `holdout` share, at least 2) set the threshold and are then added back, so the
        final density uses every image; their scores were out-of-sample when the threshold was set.
        """
        if not 0 < holdout < 1:
            raise ConfigError(f"holdout={holdout}: must lie in (0, 1)")
        features = extract_features(self.model, normal_images)
        order = np.random.default_rng(seed).permutation(len(features))
        n_held = max(2, int(round(holdout * len(features))))
        if len(features) - n_held < 2:
            raise DataError(f"{len(features)} normal images are too few: a detector needs at least 4")
        held, kept = order[:n_held], order[n_held:]
        self.density.fit(features[kept])
        self.threshold = percentile_threshold(self.density.score_samples(features[held]), percentile)
        self.density.fit(features)
        return self

    def score(self, images: torch.Tensor) -> np.ndarray:
        """Anomaly scores of a batch of images (N, 3, size, size) in [0, 1]; higher = more anomalous."""
        return self.density.score_samples(extract_features(self.model, images))

    def score_files(self, paths: Sequence[str | Path]) -> np.ndarray:
        """Anomaly scores of image files, read and resized like the training images."""
        return self.score(torch.stack([read_image(path, self.config.size) for path in paths]))

    def predict(self, images: torch.Tensor, threshold: float | None = None) -> np.ndarray:
        """True where an image scores at or above the threshold (the fitted one unless given)."""
        return self.score(images) >= (self.threshold if threshold is None else threshold)

    def calibrate_f1(self, images: torch.Tensor, labels: Sequence[int]) -> float:
        """Set the threshold that maximises F1 on labelled images; returns that F1 (optimistic on the same images)."""
        self.threshold, f1 = best_f1_threshold(np.asarray(labels), self.score(images))
        return f1

    def save(self, folder: str | Path) -> Path:
        """Write model.pt, density.pkl and detector.json into a folder, replaced atomically as a whole."""
        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
        try:
            save(Trained(self.model, self.config, self.history), staging / "model.pt")
            (staging / "density.pkl").write_bytes(pickle.dumps(self.density))
            (staging / "detector.json").write_text(json.dumps({"threshold": self.threshold}))
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> Detector:
        """Read a detector written by save (a folder you trust: the density is a pickle)."""
        folder = Path(folder)
        if not (folder / "detector.json").is_file():
            raise DataError(f"no saved detector in {folder}: pass a folder written by `python -m cplib train --out`")
        trained = load(folder / "model.pt")
        detector = cls.from_trained(trained, pickle.loads((folder / "density.pkl").read_bytes()))
        detector.threshold = json.loads((folder / "detector.json").read_text())["threshold"]
        return detector
