"""One model's measurement, the row every seeded study is made of: image AUROC and final proxy accuracy, with what made
them; and the same for the untrained network, the bar a trained model must clear."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..checkpoint import get_or_train
from ..evaluate import evaluate_model, random_init_baseline
from ..train import TrainConfig, final_accuracy

RANDOM_INIT = "random init"


@dataclass(frozen=True)
class Measurement:
    """One model's image AUROC and final proxy accuracy (NaN for the untrained network), with what made it."""

    variant: str
    category: str
    seed: int
    steps: int
    size: int
    auroc: float
    proxy_accuracy: float
    precision: str


def measure(config: TrainConfig, root: str, device: str | None = None) -> Measurement:
    """Image AUROC and proxy accuracy (mean of the last 20 steps) of a config's model, from the cache or trained."""
    trained = get_or_train(config, device, progress=False)
    auroc = evaluate_model(trained.model, config, root).auroc
    accuracy = final_accuracy(trained.history.accuracy)
    return Measurement(
        config.variant, config.category, config.seed, config.steps, config.size, auroc, accuracy, config.precision
    )


def measure_random_init(config: TrainConfig, root: str, device: str = "cpu") -> Measurement:
    """Image AUROC of the config's network untrained (same seed): the bar a trained model must clear."""
    auroc = random_init_baseline(config, root, device).auroc
    return Measurement(RANDOM_INIT, config.category, config.seed, 0, config.size, auroc, math.nan, config.precision)
