"""One model's measurement, the row every seeded study is made of: image AUROC and final proxy accuracy, with what made
them; and the same for the untrained network, the bar a trained model must clear."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..checkpoint import get_or_train
from ..evaluate import evaluate_model, random_init_baseline
from ..inference import model_device
from ..train import TrainConfig, final_accuracy
from .machines import signature
from .results import stamp

RANDOM_INIT = "random init"
MEASURED = "image AUROC and final proxy accuracy of the trained model"
MEASURED_RANDOM = "image AUROC of the untrained network"


@dataclass(frozen=True, kw_only=True)
class MadeBy:
    """What made a result row: the signature of the machine that measured it (cpu, isa, threads, torch:
    `machines.Signature`, whose precision the row holds among its own fields), the cplib version and the row's key
    (`results.row_key`). Keyword-only, so that they follow the row's own fields in its constructor and in its CSV
    (`results.columns`); rows written before they existed read them as empty."""

    cpu: str = ""
    isa: str = ""
    threads: int = 0
    torch: str = ""
    cplib: str = ""
    key: str = ""


@dataclass(frozen=True)
class Measurement(MadeBy):
    """One model's image AUROC and final proxy accuracy (NaN for the untrained network), with what made it
    (`MadeBy`)."""

    variant: str
    category: str
    seed: int
    steps: int
    size: int
    auroc: float
    proxy_accuracy: float
    precision: str

    def cell(self) -> tuple[str, str, int, int, int, str]:
        """What the row measured, whatever its values: a table holds one row of each (`results.study_rows`)."""
        return self.variant, self.category, self.seed, self.steps, self.size, self.precision


def made_on(precision: str, device: str | torch.device) -> dict[str, object]:
    """The fields of a row (`MadeBy`) that say which machine made it: this machine's signature at `precision` on
    `device`."""
    made = signature(precision, device)
    return {"cpu": made.cpu, "isa": made.isa, "threads": made.threads, "torch": made.torch}


def made_by(config: TrainConfig, measured: str, device: str | torch.device) -> dict[str, object]:
    """The fields of a row (`MadeBy`) that say what made it: this machine's signature on `device` (`made_on`), the
    cplib version and the row's key (`results.stamp` of the config and `measured`)."""
    return {**made_on(config.precision, device), **stamp(config, measured)}


def measure(config: TrainConfig, root: str, device: str | None = None) -> Measurement:
    """Image AUROC and proxy accuracy (mean of the last 20 steps) of a config's model, from the cache or trained."""
    trained = get_or_train(config, device, progress=False)
    auroc = evaluate_model(trained.model, config, root).auroc
    accuracy = final_accuracy(trained.history.accuracy)
    made = made_by(config, MEASURED, model_device(trained.model))
    return Measurement(
        config.variant,
        config.category,
        config.seed,
        config.steps,
        config.size,
        auroc,
        accuracy,
        config.precision,
        **made,
    )


def measure_random_init(config: TrainConfig, root: str, device: str = "cpu") -> Measurement:
    """Image AUROC of the config's network untrained (same seed): the bar a trained model must clear."""
    auroc = random_init_baseline(config, root, device).auroc
    made = made_by(config, MEASURED_RANDOM, device)
    return Measurement(
        RANDOM_INIT, config.category, config.seed, 0, config.size, auroc, math.nan, config.precision, **made
    )
