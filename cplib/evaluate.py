"""Image-level evaluation: encoder features of clean training images, a density on them, AUROC on the test set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .data import Split, load_split
from .density import GaussianDensity
from .metrics import image_auroc, per_defect_auroc
from .model import CutPasteNet
from .train import TrainConfig, build_model, data_root


@torch.no_grad()
def extract_features(model: CutPasteNet, images: torch.Tensor, batch_size: int = 128, progress: bool = False, head: bool = False) -> np.ndarray:
    """512-d pooled features of images (the paper's choice), or with head=True the projection head's output; float64."""
    model.eval()
    device = next(model.parameters()).device
    embed = (lambda x: model.head(model.features(x))) if head else model.features
    chunks = torch.split(images, batch_size)
    out = [embed(chunk.to(device)).cpu() for chunk in tqdm(chunks, desc="features", disable=not progress)]
    return torch.cat(out).double().numpy()


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
    return ImageEvaluation(image_auroc(labels, scores), per_defect_auroc(test.defects, labels, scores), scores, labels, test.defects)


def evaluate_category(model: CutPasteNet, root: str, category: str, size: int, density: GaussianDensity | None = None) -> ImageEvaluation:
    """evaluate() on a category read from an MVTec-layout folder at the given size."""
    return evaluate(model, load_split(root, category, "train", size), load_split(root, category, "test", size), density)


def auroc_row(evaluation: ImageEvaluation) -> dict[str, float]:
    """'all' and per-defect AUROCs of an evaluation, for tables and bar charts."""
    return {"all": evaluation.auroc, **evaluation.per_defect}


def evaluate_model(model: CutPasteNet, config: TrainConfig, root: str | None = None) -> ImageEvaluation:
    """Evaluate a model on its config's category (the config's dataset unless root is given), at its size."""
    return evaluate_category(model, root or data_root(config), config.category, config.size)


def random_init_baseline(config: TrainConfig, root: str | None = None) -> ImageEvaluation:
    """The same network and seed as `config`, untrained: the bar a trained model must clear."""
    return evaluate_model(build_model(config).eval(), config, root)
