"""The encoder at inference, one path for every scorer (image features, dense patch features, the Detector).

Where this machine computes bfloat16 natively (`cplib.precision`: AVX512-BF16 or AMX CPUs, CUDA GPUs that support it),
inputs run channels-last under bfloat16 autocast, about twice as fast as float32 (`bench/localize_throughput.py`,
`bench/feature_throughput.py`); elsewhere, and under `BF16_MIN_INPUT` px as in training, float32. Features always
leave the encoder as float32. Pass ``precision="fp32"`` to force float32, or set CPLIB_PRECISION.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .model import CutPasteNet


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
