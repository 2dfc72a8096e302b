"""GradCAM (Selvaraju et al., ICCV 2017) on the whole-image 3-way model: the paper's cheaper localisation baseline.

Hand-written with hooks: no well-kept, maintained GradCAM library is in the dependency set, and it is 30 lines.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from .model import CutPasteNet

Target = Callable[[Tensor], Tensor]


def anomaly_logit(logits: Tensor) -> Tensor:
    """Log-odds of 'augmented' (any class but 0) against 'normal' (class 0): what GradCAM explains per image."""
    return torch.logsumexp(logits[:, 1:], dim=1) - logits[:, 0]


class GradCAM:
    """Class-activation maps of `layer` (default encoder.layer4) weighted by the target's mean gradients.

    A map is ReLU(sum_k w_k A_k) with A_k the layer's k-th channel and w_k the spatial mean of d target / d A_k,
    upsampled bilinearly to the image size: where the channels that raise the target fire.
    """

    def __init__(self, model: CutPasteNet, layer: nn.Module | None = None, target: Target = anomaly_logit) -> None:
        self.model = model.eval()
        self.layer = layer if layer is not None else model.encoder.layer4
        self.target = target

    def __call__(self, images: Tensor, size: int | None = None) -> Tensor:
        """Maps (B, H, W) of images (B, C, H, W), float32, non-negative, on the images' device (computed on the
        model's); `size` x `size` instead of H x W if given."""
        activations, gradients = self._activations_and_gradients(images.to(next(self.model.parameters()).device))
        weights = gradients.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * activations).sum(dim=1, keepdim=True))
        shape = images.shape[-2:] if size is None else (size, size)
        return F.interpolate(cam, size=shape, mode="bilinear", align_corners=False)[:, 0].float().to(images.device)

    def _activations_and_gradients(self, images: Tensor) -> tuple[Tensor, Tensor]:
        """The layer's output on images and the target's gradient with respect to it (per image: eval-mode BN)."""
        kept: list[Tensor] = []
        handle = self.layer.register_forward_hook(lambda module, inputs, output: kept.append(output))
        try:
            with torch.enable_grad():
                _, logits = self.model(images)
                (gradients,) = torch.autograd.grad(self.target(logits).sum(), kept[0])
        finally:
            handle.remove()
        return kept[0].detach(), gradients

    def maps(self, images: Tensor, batch: int = 32, size: int | None = None) -> Tensor:
        """Maps of many images, `batch` at a time (`size`: as in __call__, e.g. to compare with masks at another
        size)."""
        return torch.cat([self(part, size) for part in torch.split(images, batch)])
