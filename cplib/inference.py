"""The encoder at inference, one path for every scorer (image features, dense patch features, the Detector).

Where this machine computes bfloat16 natively (`cplib.profiles.native_precision`, or a CUDA GPU that supports it),
inputs run channels-last under bfloat16 autocast, about twice as fast as float32 (`bench/localize_throughput.py`,
`bench/feature_throughput.py`); elsewhere, and under `BF16_MIN_INPUT` px as in training, float32. Features always
leave the encoder as float32. Pass ``precision="fp32"`` to force float32, or set CPLIB_PRECISION.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .errors import ConfigError
from .model import CutPasteNet
from .profiles import BF16_MIN_INPUT, auto_precision, forced_precision
from .train import PRECISIONS


def inference_precision(side: int, requested: str | None = None, device: torch.device | str = "cpu") -> str:
    """The precision to encode `side`-px inputs at on `device`: `requested` if given, else the profiles' automatic
    rule (CPLIB_PRECISION, else bf16 where native, fp32 under BF16_MIN_INPUT px)."""
    if requested is not None:
        if requested not in PRECISIONS:
            raise ConfigError(f"precision={requested!r}: use one of {', '.join(PRECISIONS)}, or None for this machine's")
        return requested
    if torch.device(device).type != "cuda":
        return auto_precision(side)
    native = "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "fp32" if side < BF16_MIN_INPUT else forced_precision() or native


def model_device(model: CutPasteNet) -> torch.device:
    """The device the model's weights are on."""
    return next(model.parameters()).device


@torch.inference_mode()
def encode(model: CutPasteNet, images: Tensor, precision: str, head: bool = False) -> Tensor:
    """Pooled 512-d features (or, with head=True, the projection head's output) of a batch of [0, 1] images, as
    float32 on the CPU, the model in eval mode. Inputs go channels-last (so the convolutions run channels-last even
    for a model whose weights are not, as `cplib.train.build_model`'s are)."""
    model.eval()
    device = model_device(model)
    inputs = images.to(device).contiguous(memory_format=torch.channels_last)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        features = model.features(inputs)
        if head:
            features = model.head(features)
    return features.float().cpu()


def precision_note(side: int, requested: str | None = None, device: torch.device | str = "cpu") -> str:
    """Which precision scores `side`-px inputs here, and why, in a few words (for the notebooks and the CLI)."""
    precision = inference_precision(side, requested, device)
    if requested is not None or forced_precision() is not None:
        return f"{precision} (asked for)"
    if precision == "bf16":
        return "bf16 on this machine (native bfloat16)"
    if side < BF16_MIN_INPUT:
        return f"fp32: inputs under {BF16_MIN_INPUT} px score in fp32, as they train"
    return "fp32: this machine has no native bfloat16"
