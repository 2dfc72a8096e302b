"""The CutPaste network: a ResNet-18 encoder, an MLP projection head and a linear proxy classifier."""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models import ResNet18_Weights, resnet18

from .errors import ConfigError

FEATURE_DIM = 512
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
WEIGHTS = ("none", "imagenet")


def projection_head(depth: int = 2, width: int = 512, out_dim: int = 128) -> nn.Sequential:
    """MLP head on the pooled features; the paper gives no size, so we follow the authors' earlier one-class
    code: `depth` blocks of Linear(no bias)+BatchNorm+ReLU at `width`, then a linear `out_dim` embedding."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [
            nn.Linear(FEATURE_DIM if i == 0 else width, width, bias=False),
            nn.BatchNorm1d(width),
            nn.ReLU(inplace=True),
        ]
    layers.append(nn.Linear(width if depth else FEATURE_DIM, out_dim))
    return nn.Sequential(*layers)


class CutPasteNet(nn.Module):
    """ResNet-18 (from scratch by default) + projection head + classifier; forward returns (features, logits).

    The 512-d average-pooled features are what the density is fitted on (not the head output, a public-port
    bug); the logits are for the proxy task. Inputs are images in [0, 1]; ImageNet normalisation is inside.

    Parameters
    ----------
    num_classes : {2, 3}, default 3
        Proxy-task classes: 2 for the binary variants, 3 for "3way".
    head_depth : int, default 2
        Linear layers in the projection head.
    embed_dim : int, default 128
        Width of the head's output.
    weights : {"none", "imagenet"}, default "none"
        The encoder's initialisation: random, or torchvision's ImageNet weights.
    """

    def __init__(self, num_classes: int = 3, head_depth: int = 2, embed_dim: int = 128, weights: str = "none") -> None:
        super().__init__()
        if num_classes not in (2, 3):
            raise ConfigError(f"num_classes={num_classes}: the proxy task has 2 (binary) or 3 (3-way) classes")
        self.encoder = _resnet18(weights)
        self.encoder.fc = nn.Identity()
        self.head = projection_head(head_depth, FEATURE_DIM, embed_dim)
        self.classifier = nn.Linear(embed_dim, num_classes)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The 512-d pooled encoder features of a batch of [0, 1] images."""
        return self.encoder((images - self.mean) / self.std)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled features and proxy-task logits."""
        features = self.features(images)
        return features, self.classifier(self.head(features))


def _resnet18(weights: str) -> nn.Module:
    """A torchvision ResNet-18, random or with ImageNet weights (one clear error when they cannot be fetched)."""
    if weights not in WEIGHTS:
        raise ConfigError(f"weights={weights!r}: use one of {', '.join(WEIGHTS)}")
    if weights == "none":
        return resnet18(weights=None)
    try:
        return resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)
    except (OSError, RuntimeError) as error:
        raise ConfigError(
            f"could not load the ImageNet ResNet-18 weights ({error.__class__.__name__}). They download once into "
            "the torch hub cache (TORCH_HOME); offline, copy resnet18-f37072fd.pth into $TORCH_HOME/hub/checkpoints "
            "or use weights='none'."
        ) from None
