"""Proxy-task training: what a run is (`TrainConfig`), and the loop: normal vs. augmented views, cross-entropy, SGD
with one cosine cycle."""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import torch
from torch.nn import functional as F
from tqdm.auto import tqdm

from .augment import VARIANTS, make_views, num_classes, pre_augment_with_foreground, random_crops
from .data import holdout_split, load_split
from .errors import ConfigError, TrainingDiverged
from .foreground import estimate_foreground
from .model import CutPasteNet
from .paths import default_data_root

DEFAULT_CATEGORY = "capsule"
PRECISIONS = ("fp32", "bf16")
OPTIMISERS = ("sgd", "adamw")
SCHEDULES = ("cosine", "onecycle")
MAX_SEED = 2**32 - 1  # numpy's and torch's generators both take 0 ... 2**32 - 1; numpy refuses negative seeds


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained model; its hash, with the training data and the cplib version, keys the
    model cache. Every field is checked when the config is made; `with_` makes a changed copy.

    Parameters
    ----------
    variant : str, default "3way"
        The proxy task, one of `cplib.augment.VARIANTS`.
    category : str, default "capsule"
        The category folder to train on.
    data_root : str or None, default None
        The MVTec-layout dataset folder; None: the embedded default dataset (`resolved_root`).
    size : int, default 64
        Image side in pixels (32 or more).
    steps : int, default 200
        Optimiser updates (the paper's 256 "epochs" of 256 steps are 65,536 steps).
    batch : int, default 32
        Source images per step, each contributing one view per class (the paper's 64 / 96 = 32 × 2 / 3).
    seed : int, default 0
        Seed of the initialisation, the batches, the views and the held-out share (0 to 2**32 - 1).
    lr : float, default 0.03
        Learning rate (the peak of "onecycle").
    momentum : float, default 0.9
        SGD momentum.
    weight_decay : float, default 3e-5
        Weight decay of the optimiser.
    jitter : float, default 0.1
        Colour-jitter strength of the pasted pixels.
    pre_shift : float, default 0.05
        Pre-augmentation's largest shift, as a fraction of the side.
    pre_jitter : float, default 0.1
        Pre-augmentation's colour-jitter strength.
    head_depth : int, default 2
        Linear layers in the projection head.
    embed_dim : int, default 128
        Width of the head's output.
    weights : {"none", "imagenet"}, default "none"
        The encoder's initialisation.
    channels_last : bool, default True
        Run the network in channels-last memory format.
    patch : int or None, default None
        Train on random patch × patch crops (pixels at `size`), the augmentation inside each: the localisation model.
    foreground : bool, default False
        Place every augmentation on the category's foreground, estimated once from its normal training images
        (`cplib.foreground`); a texture's foreground is the whole image.
    precision : {"fp32", "bf16"}, default "fp32"
        "bf16" runs the forward pass under bfloat16 autocast (weights and optimiser stay float32): faster where
        bfloat16 is native, slower where it is emulated (`cplib.precision.native_precision`).
    holdout : float, default 0.0
        Share of the training images (drawn by seed, `cplib.data.holdout_split`) kept from the encoder, for a
        Detector's threshold, in [0, 1).
    optimiser : {"sgd", "adamw"}, default "sgd"
        The optimiser; the paper's is SGD.
    schedule : {"cosine", "onecycle"}, default "cosine"
        One cosine cycle from lr (the paper's), or `torch.optim.lr_scheduler.OneCycleLR` peaking at lr.
    warmup : int, default 0
        Steps of linear warm-up before the cosine.
    bn_momentum : float, default 0.1
        Batch-norm momentum (PyTorch's default), in (0, 1].
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
    optimiser: str = "sgd"
    schedule: str = "cosine"
    warmup: int = 0
    bn_momentum: float = 0.1

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"unknown variant {self.variant!r}: use one of {', '.join(VARIANTS)}")
        for name in ("size", "steps", "batch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be a positive whole number")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral) or not 0 <= self.seed <= MAX_SEED:
            raise ConfigError(f"seed={self.seed!r}: use a whole number from 0 to {MAX_SEED}")
        if self.size < 32:
            raise ConfigError(f"size={self.size} is too small for ResNet-18: use 32 or more")
        if self.patch is not None and not 8 <= self.patch <= self.size:
            raise ConfigError(f"patch={self.patch}: a patch must lie in [8, size={self.size}] pixels")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision={self.precision!r}: use one of {', '.join(PRECISIONS)}")
        if not 0 <= self.holdout < 1:
            raise ConfigError(f"holdout={self.holdout}: a share of the training images must lie in [0, 1)")
        for name, allowed in (("optimiser", OPTIMISERS), ("schedule", SCHEDULES)):
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name}={getattr(self, name)!r}: use one of {', '.join(allowed)}")
        if not 0 <= self.warmup < self.steps or (self.warmup and self.schedule != "cosine"):
            raise ConfigError(
                f"warmup={self.warmup}: warm-up steps lie in [0, steps={self.steps}) and precede the cosine only"
            )
        if not 0 < self.bn_momentum <= 1:
            raise ConfigError(f"bn_momentum={self.bn_momentum}: batch-norm momentum lies in (0, 1]")
        if self.foreground and self.patch is not None:
            raise ConfigError("foreground=True with patch: the foreground mask does not follow random crops; use one")

    def with_(self, **changes: object) -> TrainConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    def resolved_root(self) -> str:
        """The dataset folder this config reads: data_root, else the default dataset's folder (which
        `cplib.profiles.ensure_dataset` writes; nothing here writes it)."""
        return self.data_root if self.data_root is not None else str(default_data_root())


@dataclass
class History:
    """Per-step loss and proxy-task accuracy, for plots."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[float]]:
        """Plain lists, for saving with a checkpoint."""
        return {"loss": self.loss, "accuracy": self.accuracy}


def final_accuracy(accuracy: list[float], window: int = 20) -> float:
    """Mean proxy-task accuracy over the last `window` training steps (per-step accuracy is noisy)."""
    if not accuracy:
        raise ValueError("accuracy: the training history is empty")
    return float(sum(accuracy[-window:]) / len(accuracy[-window:]))


def build_model(config: TrainConfig) -> CutPasteNet:
    """A fresh network for a config, initialised from its seed."""
    torch.manual_seed(config.seed)
    model = CutPasteNet(num_classes(config.variant), config.head_depth, config.embed_dim, config.weights)
    for layer in model.modules():
        if isinstance(layer, torch.nn.modules.batchnorm._BatchNorm):
            layer.momentum = config.bn_momentum
    return model.to(memory_format=torch.channels_last) if config.channels_last else model


def build_optimiser(
    model: CutPasteNet, config: TrainConfig
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """The config's optimiser and its learning-rate schedule, stepped once per update (the paper's: SGD, one cosine
    cycle)."""
    if config.optimiser == "adamw":
        optimiser = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    else:
        optimiser = torch.optim.SGD(
            model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    if config.schedule == "onecycle":
        return optimiser, torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=config.steps)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.steps - config.warmup)
    if not config.warmup:
        return optimiser, cosine
    ramp = torch.optim.lr_scheduler.LinearLR(optimiser, start_factor=1 / (config.warmup + 1), total_iters=config.warmup)
    return optimiser, torch.optim.lr_scheduler.SequentialLR(optimiser, [ramp, cosine], milestones=[config.warmup])


def train(config: TrainConfig, device: str = "cpu", progress: bool = True) -> tuple[CutPasteNet, History]:
    """Train a model on a category's normal training images; returns the model (in eval mode) and its history.

    Examples
    --------
    >>> import tempfile
    >>> from cplib.profiles import get_profile
    >>> from cplib.synthetic import Counts, write_dataset
    >>> folder = tempfile.TemporaryDirectory()
    >>> root = str(write_dataset(f"{folder.name}/data", counts=Counts(train=4, test_good=1, test_per_defect=1)))
    >>> config = get_profile("tiny").config("3way", "weave", data_root=root, steps=2)
    >>> model, history = train(config, progress=False)
    >>> len(history.loss), model.training  # one loss per step; the model comes back in eval mode
    (2, False)
    >>> folder.cleanup()
    """
    images = load_split(config.resolved_root(), config.category, "train", config.size).images
    images = images[holdout_split(len(images), config.holdout, config.seed)[1]]
    foreground = training_foreground(config, images)
    foreground = foreground.to(device) if foreground is not None else None
    model = build_model(config).to(device)
    optimiser, schedule = build_optimiser(model, config)
    generator = torch.Generator().manual_seed(config.seed)
    history = History()
    model.train()
    # at most one update a second, so a long run in a notebook cell sends few output messages
    bar = tqdm(
        range(config.steps), desc=f"train {config.variant} on {config.category}", disable=not progress, mininterval=1.0
    )
    for _, sources in zip(bar, source_batches(len(images), config.batch, generator)):
        batch = images[sources].to(device)
        loss, accuracy = train_step(model, optimiser, batch, config, generator, foreground)
        if not math.isfinite(loss):
            raise TrainingDiverged(
                f"training {config.variant} on {config.category} diverged at step {len(history.loss) + 1} "
                f"(loss {loss}); "
                "try precision='fp32' or a lower lr"
            )
        schedule.step()
        history.loss.append(loss)
        history.accuracy.append(accuracy)
        bar.set_postfix(loss=f"{loss:.3f}", acc=f"{accuracy:.2f}", refresh=False)
    return model.eval(), history


def source_batches(count: int, batch: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless batches of `batch` indices into `count` training images, epoch after epoch: each epoch is one shuffle
    of all of them (every image once, as the paper's input pipeline reads them), and a batch runs on into the next
    epoch where one ends."""
    order = torch.empty(0, dtype=torch.long)
    while True:
        while len(order) < batch:
            order = torch.cat([order, torch.randperm(count, generator=generator)])
        yield order[:batch]
        order = order[batch:]


def training_foreground(config: TrainConfig, images: torch.Tensor | None = None) -> torch.Tensor | None:
    """The mask a foreground-aware config places every paste on, estimated from the training images its encoder sees
    (`images`, else loaded as `train` loads them); None unless `config.foreground`."""
    if not config.foreground:
        return None
    if images is None:
        images = load_split(config.resolved_root(), config.category, "train", config.size).images
        images = images[holdout_split(len(images), config.holdout, config.seed)[1]]
    return estimate_foreground(images)


def proxy_batch(
    batch: torch.Tensor, config: TrainConfig, generator: torch.Generator, foreground: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The classifier's inputs, labels and masks for one step: pre-augment (moving `foreground` (H, W) with
    each image), crop for a patch model, then the proxy views, scars sized for the whole image."""
    batch, foreground = pre_augment_with_foreground(
        batch, foreground, generator, max_shift=config.pre_shift, jitter=config.pre_jitter
    )
    if config.patch is not None:
        batch = random_crops(batch, generator, config.patch)
    return make_views(
        batch, config.variant, generator, jitter=config.jitter, image_size=config.size, foreground=foreground
    )


def train_step(
    model: CutPasteNet,
    optimiser: torch.optim.Optimizer,
    batch: torch.Tensor,
    config: TrainConfig,
    generator: torch.Generator,
    foreground: torch.Tensor | None = None,
) -> tuple[float, float]:
    """One update: the proxy batch (`proxy_batch`), forward, cross-entropy, backward, optimiser step; returns (loss,
    accuracy)."""
    inputs, labels, _ = proxy_batch(batch, config, generator, foreground)
    if config.channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    with torch.autocast(inputs.device.type, dtype=torch.bfloat16, enabled=config.precision == "bf16"):
        _, logits = model(inputs)
    loss = F.cross_entropy(logits.float(), labels.to(inputs.device))
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    accuracy = (logits.argmax(1) == labels.to(inputs.device)).float().mean()
    return loss.item(), accuracy.item()
