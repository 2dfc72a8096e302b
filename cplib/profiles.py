"""Run profiles in one place: the CPU default that the notebooks and CI run, the paper's scale for GPUs, a tiny one for tests.

Pick one with the environment variable ``CPLIB_PROFILE`` (``cpu``, ``paper`` or ``tiny``) before starting
JupyterLab or ``make run``; notebooks read it through :func:`get_profile` and never edit their own text.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import torch

from .augment import VARIANTS
from .errors import ConfigError

DEFAULT_CATEGORY = "capsule"
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model; its hash (with the cplib version) keys the model cache.

    steps counts optimiser updates (the paper's 256 "epochs" of 256 steps are 65,536 steps); batch counts
    source images per step, each contributing one view per class (the paper's 64 / 96 = 32 × 2 / 3).
    data_root None means the embedded default dataset. patch, when set, trains on random patch×patch crops
    (in pixels at `size`) with the augmentation applied inside each crop: the localisation model.
    foreground, when True, places every augmentation on the category's foreground, estimated once from its normal
    training images (`cplib.foreground`); a texture's foreground is the whole image, so nothing changes there.
    precision "bf16" runs the forward pass under bfloat16 autocast (weights and optimiser stay float32): faster
    on CPUs and GPUs with native bfloat16, slower where it is emulated (`bf16_supported`).
    holdout, when above 0, keeps that share of the training images (drawn by seed, `cplib.data.holdout_split`)
    away from the encoder, for a Detector's threshold.
    """

    variant: str = "3way"
    category: str = DEFAULT_CATEGORY
    data_root: str | None = None
    size: int = 64
    steps: int = 200
    batch: int = 32
    seed: int = 0
    lr: float = 0.03
    momentum: float = 0.9
    weight_decay: float = 3e-5
    jitter: float = 0.1
    pre_shift: float = 0.05
    pre_jitter: float = 0.1
    head_depth: int = 2
    embed_dim: int = 128
    weights: str = "none"
    channels_last: bool = True
    patch: int | None = None
    foreground: bool = False
    precision: str = "fp32"
    holdout: float = 0.0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"unknown variant {self.variant!r}: use one of {', '.join(VARIANTS)}")
        for name in ("size", "steps", "batch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be a positive whole number")
        if self.size < 32:
            raise ConfigError(f"size={self.size} is too small for ResNet-18: use 32 or more")
        if self.patch is not None and not 8 <= self.patch <= self.size:
            raise ConfigError(f"patch={self.patch}: a patch must lie in [8, size={self.size}] pixels")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision={self.precision!r}: use one of {', '.join(PRECISIONS)}")
        if not 0 <= self.holdout < 1:
            raise ConfigError(f"holdout={self.holdout}: a share of the training images must lie in [0, 1)")
        if self.foreground and self.patch is not None:
            raise ConfigError("foreground=True with patch: the foreground mask does not follow random crops; use one")

    def with_(self, **changes: object) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


def native_precision() -> str:
    """"bf16" where this CPU computes bfloat16 natively (AVX512-BF16, AMX), else "fp32": emulated bfloat16 is slower."""
    try:
        return "bf16" if torch.ops.mkldnn._is_mkldnn_bf16_supported() else "fp32"  # torch's own check; no public one yet
    except (AttributeError, RuntimeError):
        return "fp32"


@dataclass(frozen=True)
class Profile:
    """A named scale: image size, training length, source images per step and precision ("auto": native_precision)."""

    name: str
    size: int
    steps: int
    batch: int
    about: str
    precision: str = "fp32"

    def config(self, variant: str = "3way", category: str = DEFAULT_CATEGORY, **changes: object) -> TrainConfig:
        """The training configuration of a variant and category at this profile's scale."""
        precision = native_precision() if self.precision == "auto" else self.precision
        base = TrainConfig(variant=variant, category=category, size=self.size, steps=self.steps, batch=self.batch, precision=precision)
        return base.with_(**changes)


PROFILES: dict[str, Profile] = {
    "cpu": Profile("cpu", 64, 300, 32, "laptop CPU: 64 px, 300 steps, about a minute per model on 2 cores", "auto"),
    "paper": Profile("paper", 256, 65_536, 32, "the paper: 256 px, 65,536 steps (256 × 256-step 'epochs'), a GPU"),
    "tiny": Profile("tiny", 32, 4, 4, "tests: seconds, learns nothing"),
}


def dataset_root() -> str:
    """The series' dataset: the folder in CPLIB_DATASET (MVTec AD or your own, MVTec layout), else the default one."""
    from .synthetic import ensure_default_data

    return os.environ.get("CPLIB_DATASET") or str(ensure_default_data())


def series_category() -> str:
    """The category the notebooks train on: CPLIB_CATEGORY, else the default dataset's aligned object."""
    return os.environ.get("CPLIB_CATEGORY", DEFAULT_CATEGORY)


def get_profile(name: str | None = None) -> Profile:
    """The named profile, else the one in CPLIB_PROFILE, else the CPU default."""
    name = name or os.environ.get("CPLIB_PROFILE", "cpu")
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}: use one of {', '.join(PROFILES)} (environment variable CPLIB_PROFILE)")
    return PROFILES[name]
