"""The encoder at inference, one path for every scorer (image features, dense patch features, the Detector).

Inputs run channels-last, under bfloat16 autocast when asked (`bench/localize_throughput.py`,
`bench/feature_throughput.py` measure the speed-up, `bench/precision_table.py` the AUROCs). Dense patch scoring picks
bf16 where this machine computes it natively (`cplib.precision.inference_precision`); image features stay float32 unless
asked (`cplib.precision.IMAGE_PRECISION`). Features always leave the encoder as float32.
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
