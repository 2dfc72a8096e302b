"""Worked solutions to the exercises at the end of notebooks 00-09 and 11, one small function per exercise.

The notebooks call these when a learner reveals a solution; tests/test_solutions.py and tests/test_solutions_evidence.py
run every one, so none rots. Each returns the numbers the exercise asks the learner to predict. Only method modules are
imported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from sklearn.covariance import LedoitWolf
from sklearn.metrics import roc_auc_score
from torch import Tensor
from torch.nn import functional as F

from .augment import cutout, cutpaste, make_views, num_classes, pre_augment, sample_box_sizes, scar
from .data import load_split
from .density import GaussianDensity, PerLocationGaussian, SingularCovariance
from .embedding import separability
from .evaluate import evaluate_localization, per_defect_subset
from .localize import default_shared, gaussian_kernel, upsample
from .metrics import image_auroc
from .model import CutPasteNet
from .natural_fakes import NATURAL_FAKES
from .profiles import Profile
from .train import build_model

Range = tuple[float, float]


# ---------------------------------------------------------------- 00 data


def resized_block(
    size: int = 64, source: int = 256, rows: tuple[int, int] = (61, 125), exact: bool = True
) -> tuple[int, int]:
    """First and last+1 row of a mask block `rows` of a `source`-px mask after resizing to `size` px, with
    NEAREST_EXACT (pixel centres, what cplib.data uses) or legacy NEAREST (top-left corners, ~half a pixel off)."""
    mask = torch.zeros(1, 1, source, source, dtype=torch.uint8)
    mask[..., rows[0] : rows[1], :] = 1
    mode = "nearest-exact" if exact else "nearest"
    kept = F.interpolate(mask.float(), size=(size, size), mode=mode)[0, 0, :, 0].nonzero().flatten()
    return int(kept.min()), int(kept.max()) + 1


def shuffled_label_auroc(
    scores: np.ndarray, labels: np.ndarray, shuffles: int = 200, seed: int = 0
) -> tuple[float, float]:
    """Mean and spread of the AUROC of `scores` against randomly permuted `labels`: the chance level an AUROC must
    beat."""
    generator = np.random.default_rng(seed)
    values = [image_auroc(generator.permutation(labels), scores) for _ in range(shuffles)]
    return float(np.mean(values)), float(np.std(values))


# ---------------------------------------------------------------- 01 Cutout


def confetti_cutout(
    images: Tensor, generator: torch.Generator, area: Range = (0.02, 0.15), aspect: Range = (0.3, 1 / 0.3)
) -> tuple[Tensor, Tensor]:
    """Cutout filled with confetti noise (an independent random colour per pixel, a variant in the paper's Cutout
    ablation); returns (augmented, mask of changed pixels) like cplib.augment."""
    batch, _, height, width = images.shape
    heights, widths = sample_box_sizes(generator, batch, height, width, area, aspect)
    top = (torch.rand(batch, generator=generator) * (height - heights + 1)).long().view(-1, 1, 1)
    left = (torch.rand(batch, generator=generator) * (width - widths + 1)).long().view(-1, 1, 1)
    rows, cols = torch.arange(height).view(1, -1, 1), torch.arange(width).view(1, 1, -1)
    inside = (
        (rows >= top) & (rows < top + heights.view(-1, 1, 1)) & (cols >= left) & (cols < left + widths.view(-1, 1, 1))
    )
    noise = torch.rand(images.shape, generator=generator).to(images)
    augmented = torch.where(inside.unsqueeze(1).to(images.device), noise, images)
    return augmented, (augmented != images).any(dim=1, keepdim=True)


def mean_fill_on_flat_image(value: float = 0.25, size: int = 32, seed: int = 0) -> tuple[int, int]:
    """Pixels changed by fill="mean" Cutout on a flat image of one grey `value`, and on a random image: filling
    with the mean colour changes nothing where the image is already that colour, so the "augmented" view is normal."""
    flat, noisy = torch.full((1, 3, size, size), value), torch.rand(1, 3, size, size)
    _, flat_mask = cutout(flat, torch.Generator().manual_seed(seed), fill="mean")
    _, noisy_mask = cutout(noisy, torch.Generator().manual_seed(seed), fill="mean")
    return int(flat_mask.sum()), int(noisy_mask.sum())


def erased_share(area: Range = (0.02, 0.15), count: int = 256, size: int = 64, seed: int = 0) -> float:
    """Mean share of the image that grey Cutout erases when the patch area fraction is drawn from U(area)."""
    images = torch.rand(count, 1, size, size)
    _, mask = cutout(images, torch.Generator().manual_seed(seed), area=area)
    return mask.float().mean().item()


# ---------------------------------------------------------------- 02 Scar


def scar_share(size: int, count: int = 64, seed: int = 0) -> float:
    """Mean share of a size x size image that a default Scar changes: sizes are given at 256 px and scale with the
    image, so the share stays about the same at any resolution (up to whole-pixel rounding at small sizes)."""
    images = torch.rand(count, 1, size, size)
    _, mask = scar(images, torch.Generator().manual_seed(seed))
    return mask.float().mean().item()


def scar_box_fill(angle: Range, count: int = 64, size: int = 128, seed: int = 0) -> float:
    """Mean share of each scar's axis-aligned bounding box that the scar covers, for rotations drawn from U(angle):
    1 for upright scars, less the more they are turned, which is why placement needs the rotated bounds."""
    images = torch.rand(count, 1, size, size)
    _, mask = scar(images, torch.Generator().manual_seed(seed), angle=angle)
    shares = []
    for where in mask[:, 0]:
        rows, cols = where.nonzero(as_tuple=True)
        box = (rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)
        shares.append(len(rows) / box.item())
    return sum(shares) / len(shares)


# ---------------------------------------------------------------- 03 CutPaste


def pasted_colours_in_source(jitter: float, count: int = 8, size: int = 48, seed: int = 0) -> float:
    """Share of the pixels CutPaste changes whose exact RGB colour already occurs in the original image: all of
    them without jitter (no new colour appears, only a new arrangement), almost none with it."""
    images = torch.rand(count, 3, size, size)
    augmented, mask = cutpaste(images, torch.Generator().manual_seed(seed), jitter=jitter)
    found, changed = 0, 0
    for image, result, where in zip(images, augmented, mask[:, 0]):
        pasted, palette = result[:, where].T, image.flatten(1).T  # (changed, 3) and (all pixels, 3)
        found += (pasted[:, None, :] == palette[None, :, :]).all(dim=2).any(dim=1).sum().item()
        changed += len(pasted)
    return found / changed


def cutpaste_from_neighbour(images: Tensor, generator: torch.Generator, jitter: float = 0.1) -> tuple[Tensor, Tensor]:
    """CutPaste with the patch cut from the previous image of the batch instead of the same image (a variant the paper
    does not use): CutPaste the neighbour, then show its pasted region on this image. Returns (augmented, mask)."""
    neighbours = images.roll(1, dims=0)
    pasted, where = cutpaste(neighbours, generator, jitter=jitter)
    augmented = torch.where(where, pasted, images)
    return augmented, (augmented != images).any(dim=1, keepdim=True)


# ---------------------------------------------------------------- 04 one training step


def initial_loss(variant: str = "3way", size: int = 32, batch: int = 8, seed: int = 0) -> tuple[float, float]:
    """Cross-entropy of an untrained CutPasteNet on one proxy batch, and ln(number of classes): a classifier that
    knows nothing predicts every class equally, which costs ln k per sample."""
    torch.manual_seed(seed)
    model = CutPasteNet(num_classes(variant)).eval()
    generator = torch.Generator().manual_seed(seed)
    inputs, labels, _ = make_views(torch.rand(batch, 3, size, size, generator=generator), variant, generator)
    with torch.no_grad():
        _, logits = model(inputs)
    return F.cross_entropy(logits, labels).item(), math.log(num_classes(variant))


def cosine_learning_rates(lr: float = 0.03, steps: int = 10) -> tuple[list[float], list[float]]:
    """The learning rate before each of `steps` + 1 steps, by the formula lr * (1 + cos(pi t / steps)) / 2 and by
    torch's CosineAnnealingLR stepped once per step, as cplib.train.train does."""
    by_hand = [lr * (1 + math.cos(math.pi * t / steps)) / 2 for t in range(steps + 1)]
    optimiser = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
    by_torch = []
    for _ in range(steps + 1):
        by_torch.append(schedule.get_last_lr()[0])
        optimiser.step()
        schedule.step()
    return by_hand, by_torch


def proxy_batch_sizes(batch: int = 4, size: int = 32) -> dict[str, int]:
    """Inputs per step that make_views gives for `batch` source images: 2 views each for binary variants (union
    too), 3 for 3-way."""
    images = torch.rand(batch, 3, size, size)
    return {
        variant: len(make_views(images, variant, torch.Generator().manual_seed(0))[0])
        for variant in ("cutpaste", "union", "3way")
    }


# ---------------------------------------------------------------- 05 GDE


def ridge_mahalanobis(
    samples: int = 40, dims: int = 8, ridge: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Mahalanobis distances of random test features to a Gaussian fitted on random training features, by hand
    (empirical covariance + ridge * I, then sqrt((x - mu)^T Sigma^-1 (x - mu))) and by
    cplib.density.GaussianDensity(covariance="ridge", ridge=ridge): the two agree to rounding."""
    rng = np.random.default_rng(seed)
    train, test = rng.normal(size=(samples, dims)), rng.normal(size=(10, dims)) * 2
    mean = train.mean(axis=0)
    centred = train - mean
    covariance = centred.T @ centred / len(train) + ridge * np.eye(dims)  # the maximum-likelihood (1/N) estimate
    diff = test - mean
    by_hand = np.sqrt(np.einsum("nd,de,ne->n", diff, np.linalg.inv(covariance), diff))
    by_cplib = GaussianDensity(covariance="ridge", ridge=ridge).fit(train).score_samples(test)
    return by_hand, by_cplib


def empirical_covariance_rank(samples: int, dims: int = 16, seed: int = 0) -> tuple[int, bool]:
    """Rank of the empirical covariance of `samples` random points in `dims` dimensions, and whether fitting
    GaussianDensity(covariance="empirical") on them raises SingularCovariance. Centring removes one degree of
    freedom, so the rank is min(N - 1, D): singular whenever N <= D."""
    features = np.random.default_rng(seed).normal(size=(samples, dims))
    centred = features - features.mean(axis=0)
    rank = int(np.linalg.matrix_rank(centred.T @ centred / samples))
    try:
        GaussianDensity(covariance="empirical").fit(features)
    except SingularCovariance:
        return rank, True
    return rank, False


def _uniform(generator: torch.Generator, count: int, low: float, high: float) -> Tensor:
    """`count` draws of U[low, high) in float64, as cplib draws them."""
    return low + (high - low) * torch.rand(count, generator=generator, dtype=torch.float64)


def _mean_grey(patch: Tensor, padded: tuple[int, int]) -> Tensor:
    """Mean grey of a (3, h, w) patch, summed inside zeros the size of the batch's largest box: float addition depends
    on its order, and cplib sums each patch so, in one padded tensor for the whole batch."""
    grey = torch.zeros(padded)
    grey[: patch.shape[1], : patch.shape[2]] = TF.rgb_to_grayscale(patch)[0]
    return grey.sum() / (patch.shape[1] * patch.shape[2])


def _jitter(patch: Tensor, factors: list[Tensor], padded: tuple[int, int]) -> Tensor:
    """ColorJitter of one (3, h, w) patch in cplib's fixed order: brightness, contrast (towards the mean grey),
    saturation (towards each pixel's grey), hue."""
    brightness, contrast, saturation, hue = factors
    patch = (patch * brightness).clamp(0, 1)
    patch = (patch * contrast + _mean_grey(patch, padded) * (1 - contrast)).clamp(0, 1)
    patch = (patch * saturation + TF.rgb_to_grayscale(patch) * (1 - saturation)).clamp(0, 1)
    return TF.adjust_hue(patch, hue.item()).clamp(0, 1)


def _cutpaste_views(images: Tensor, generator: torch.Generator) -> Tensor:
    """CutPaste of every image: a box of 2-15 % of the image, width/height log-uniform in [0.3, 1/0.3], cut, jittered by
    0.1 and pasted at an independent place; each quantity drawn for the whole batch in turn, as in cplib's."""
    count, _, height, width = images.shape
    jitter = 0.1
    pixels = _uniform(generator, count, 0.02 * height * width, 0.15 * height * width)
    ratios = torch.exp(_uniform(generator, count, math.log(0.3), math.log(1 / 0.3)))
    heights, widths = torch.sqrt(pixels / ratios).round().long(), torch.sqrt(pixels * ratios).round().long()
    corner = lambda side, box: (torch.rand(count, generator=generator, dtype=torch.float64) * (side - box + 1)).long()
    cut = corner(height, heights), corner(width, widths)
    paste = corner(height, heights), corner(width, widths)
    factors = [_uniform(generator, count, 1 - jitter, 1 + jitter) for _ in range(3)]
    factors.append(_uniform(generator, count, -jitter, jitter))
    views, padded = images.clone(), (int(heights.max()), int(widths.max()))
    for i, (h, w) in enumerate(zip(heights.tolist(), widths.tolist())):
        patch = images[i, :, cut[0][i] : cut[0][i] + h, cut[1][i] : cut[1][i] + w]
        jittered = _jitter(patch, [factor[i].float() for factor in factors], padded)
        views[i, :, paste[0][i] : paste[0][i] + h, paste[1][i] : paste[1][i] + w] = jittered
    return views


@torch.no_grad()
def _pooled_features(model: CutPasteNet, images: Tensor) -> np.ndarray:
    """512-d pooled features (float64) of images, the network in eval mode (batch-norm's running statistics) and the
    inputs channels-last, as cplib encodes them (the memory layout changes the order of a convolution's additions)."""
    return model.eval().features(images.contiguous(memory_format=torch.channels_last)).double().numpy()


def binary_cutpaste_by_hand(
    root: str, category: str, size: int = 32, steps: int = 4, batch: int = 4, seed: int = 0
) -> tuple[CutPasteNet, float]:
    """The whole image-level method for binary CutPaste (one augmentation, two classes: the simplest to write), in plain
    torch and scikit-learn: train the network to tell normal images from their CutPaste views (the paper's SGD, one
    cosine cycle), fit a Gaussian (Ledoit-Wolf) to the clean training images' 512-d features, score the test images by
    Mahalanobis distance. Returns the network and the image AUROC: those of cplib.train.train and
    cplib.evaluate.evaluate_model for the same config, since every random number is drawn in cplib's order."""
    images = load_split(root, category, "train", size).images
    torch.manual_seed(seed)
    model = CutPasteNet(num_classes=2).to(memory_format=torch.channels_last).train()
    optimiser = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9, weight_decay=3e-5)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=steps)
    generator, order = torch.Generator().manual_seed(seed), torch.empty(0, dtype=torch.long)
    for _ in range(steps):
        while len(order) < batch:  # epoch after epoch, each one shuffle of every training image
            order = torch.cat([order, torch.randperm(len(images), generator=generator)])
        sources, order = order[:batch], order[batch:]
        normal = pre_augment(images[sources], generator)  # cplib's shift and jitter: long to repeat, not the method
        inputs = torch.cat([normal, _cutpaste_views(normal, generator)]).contiguous(memory_format=torch.channels_last)
        loss = F.cross_entropy(model(inputs)[1], torch.arange(2).repeat_interleave(batch))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    test = load_split(root, category, "test", size, masks=False)
    gaussian = LedoitWolf().fit(_pooled_features(model, images))  # the clean images, not their views
    scores = gaussian.mahalanobis(_pooled_features(model, test.images))  # squared distances: the same ranking
    return model, float(roc_auc_score(test.labels.numpy(), scores))


# ---------------------------------------------------------------- 06 localisation


def shared_vs_per_location(samples: int = 32, dims: int = 2, grid: int = 4, seed: int = 0) -> dict[str, float]:
    """Perfectly aligned synthetic feature maps where every location has its own constant appearance (plus a
    little noise). The test map is normal except that location (0, 0) shows the appearance of the last location.
    Returns, for shared=True and shared=False, the anomalous location's score divided by the highest score on a
    normal test map: one Gaussian per location flags the misplaced appearance, one shared Gaussian cannot (the
    appearance is normal *somewhere*)."""
    rng = np.random.default_rng(seed)
    appearance = rng.normal(scale=5.0, size=(dims, grid, grid))  # each location's own constant look
    train = appearance + 0.1 * rng.normal(size=(samples, dims, grid, grid))
    normal = appearance + 0.1 * rng.normal(size=(1, dims, grid, grid))
    anomalous = normal.copy()
    anomalous[0, :, 0, 0] = appearance[:, -1, -1] + 0.1 * rng.normal(size=dims)
    ratios = {}
    for shared in (True, False):
        density = PerLocationGaussian(shared=shared).fit(train)
        ratios["shared" if shared else "per location"] = float(
            density.score_samples(anomalous)[0, 0, 0] / density.score_samples(normal).max()
        )
    return ratios


def plain_transposed_upsampling(rows: int = 8, patch: int = 16, stride: int = 4) -> tuple[float, float]:
    """A uniform rows x rows score grid upsampled by the paper's plain transposed convolution with a Gaussian
    kernel, and by cplib.localize.upsample (which divides by the coverage): the centre pixel's value divided by the
    corner pixel's. Plain: far above 1 (the centre is seen by many patches, the corner by one kernel tail);
    normalised: exactly 1."""
    scores = torch.ones(1, rows, rows, dtype=torch.float64)
    kernel = gaussian_kernel(patch)[None, None]
    plain = F.conv_transpose2d(scores[:, None], kernel, stride=stride)[0, 0]
    size = plain.shape[-1]
    normalised = upsample(scores, patch, stride, size)[0]
    centre = size // 2
    return (plain[centre, centre] / plain[0, 0]).item(), (normalised[centre, centre] / normalised[0, 0]).item()


def untrained_patch_auroc(root: str, profile: Profile, category: str, at_256: int = 32) -> float:
    """Pixel AUROC of the category's patch network *untrained* (its seed's random init) with patches of `at_256` px at
    256 and the category's default density, on notebook 06's images: the patch size's effect without any training."""
    settings = profile.localization
    train = load_split(root, category, "train", settings.size)
    test = per_defect_subset(load_split(root, category, "test", settings.size), settings.test_per_defect)
    network = build_model(settings.patch_config(profile, category, patch_at_256=at_256, data_root=root))
    return evaluate_localization(
        network, train, test, settings.geometry(at_256), default_shared(category), settings.fit_images
    ).pixel_auroc


# ---------------------------------------------------------------- 07 t-SNE and kNN separability


def _two_clouds(gap: float, count: int, dims: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` standard-normal points per cloud in `dims` dimensions, the second moved by `gap` along every axis."""
    rng = np.random.default_rng(seed)
    features = np.concatenate([rng.normal(size=(count, dims)), rng.normal(size=(count, dims)) + gap])
    return features, np.repeat([0, 1], count)


def cloud_separability(gap: float, count: int = 40, dims: int = 8, k: int = 5, seed: int = 0) -> float:
    """Balanced leave-one-out kNN accuracy (cplib.embedding.separability) of two Gaussian clouds `gap` apart on
    every axis: 1.0 when far apart, about 0.5 (by chance a little above or below) when identical."""
    features, labels = _two_clouds(gap, count, dims, seed)
    return separability(features, labels, [0], [1], k=k)


def separability_by_k(
    gap: float = 10.0, count: int = 20, ks: tuple[int, ...] = (1, 5, 19, 39), seed: int = 0
) -> dict[int, float]:
    """cloud_separability for several k. With k = all other points (2 * count - 1), every point's neighbours are
    count - 1 of its own cloud and count of the other, so the vote always goes wrong: 0.0 however far apart the
    clouds are. k must stay well below the group size."""
    return {k: cloud_separability(gap, count=count, k=k, seed=seed) for k in ks}


# ---------------------------------------------------------------- 08 foreground-aware CutPaste


def centred_disc(size: int = 64, share: float = 0.2) -> Tensor:
    """A bool (size, size) mask of a centred disc covering about `share` of the image (a small aligned object)."""
    radius = math.sqrt(share * size * size / math.pi)
    offsets = torch.arange(size) - (size - 1) / 2
    return offsets.view(-1, 1) ** 2 + offsets.view(1, -1) ** 2 <= radius**2


def missed_object_share(foreground: bool, count: int = 200, size: int = 64, share: float = 0.2, seed: int = 0) -> float:
    """Share of CutPaste draws on random images whose pasted pixels lie less than half on a centred disc covering
    `share` of the image, plain (foreground=False) or with cutpaste(..., foreground=disc): most plain draws miss a
    small object; the foreground-aware draws never do (they keep at least min_overlap=0.5 on the mask)."""
    disc = centred_disc(size, share)
    images = torch.rand(count, 3, size, size, generator=torch.Generator().manual_seed(seed))
    _, mask = cutpaste(images, torch.Generator().manual_seed(seed), foreground=disc if foreground else None)
    on_disc = (mask[:, 0] & disc).flatten(1).sum(1) / mask[:, 0].flatten(1).sum(1)
    return (on_disc < 0.5).float().mean().item()


def foreground_on_texture_is_plain(count: int = 8, size: int = 32, seed: int = 0) -> bool:
    """On a texture the foreground is the whole image: is cutpaste(..., foreground=all True) the very same
    result as plain cutpaste from the same generator seed, pixel for pixel?"""
    images = torch.rand(count, 3, size, size, generator=torch.Generator().manual_seed(seed))
    plain, plain_mask = cutpaste(images, torch.Generator().manual_seed(seed))
    everywhere = torch.ones(size, size, dtype=torch.bool)
    aware, aware_mask = cutpaste(images, torch.Generator().manual_seed(seed), foreground=everywhere)
    return torch.equal(plain, aware) and torch.equal(plain_mask, aware_mask)


# ---------------------------------------------------------------- 09 the evidence

Gaps = Mapping[tuple[str, str], Sequence[float]]


def _mean_sd(gaps: Sequence[float]) -> tuple[float, float]:
    return float(np.mean(gaps)), float(np.std(gaps, ddof=1))


def trusted_gaps(gaps: Gaps, cross_machine: float) -> list[tuple[str, str]]:
    """The (variant, category) cells whose per-seed gaps to the random network pass the course's rule (mean beyond two
    sample sds of the gaps) and whose mean also exceeds `cross_machine`, how far another machine moves one model."""
    trusted = []
    for key, values in gaps.items():
        mean, sd = _mean_sd(values)
        if abs(mean) > 2 * sd and abs(mean) > cross_machine:
            trusted.append(key)
    return trusted


def verdicts_by_rule(gaps: Gaps) -> dict[tuple[str, str], tuple[bool, bool]]:
    """Per cell: (an effect by two sds of the per-seed gaps, an effect by two standard errors of their mean,
    sd / √n)."""
    found = {}
    for key, values in gaps.items():
        mean, sd = _mean_sd(values)
        found[key] = (abs(mean) > 2 * sd, abs(mean) > 2 * sd / math.sqrt(len(values)))
    return found


def accuracy_gap_correlation(accuracy: Mapping[tuple[str, str], float], gaps: Gaps, variants: Sequence[str]) -> float:
    """Spearman rank correlation between the final proxy accuracy and the mean gap to the random network over the
    (variant, category) cells of `variants`: ranks by argsort, ties broken by order (none in the committed table)."""
    keys = [key for key in gaps if key[0] in variants]
    ranks = [
        np.argsort(np.argsort(values)) for values in ([accuracy[k] for k in keys], [np.mean(gaps[k]) for k in keys])
    ]
    return float(np.corrcoef(*ranks)[0, 1])


# ---------------------------------------------------------------- 11 natural fakes


def largest_change_on_flat_images(count: int = 8, size: int = 32, seed: int = 0) -> dict[str, float]:
    """On a batch of flat images, each its own grey: the largest pixel change of the seamless paste and of the Perlin
    region, each from another image of the batch. Poisson blending keeps the destination's border and adds the source's
    gradients, which a flat patch has none of, so the seamless fake vanishes (0); the Perlin region blends in the other
    image's grey, so it shows."""
    greys = torch.linspace(0.1, 0.9, count).view(-1, 1, 1, 1).expand(count, 3, size, size).contiguous()
    return {
        name: (make(greys, torch.Generator().manual_seed(seed))[0] - greys).abs().max().item()
        for name, make in NATURAL_FAKES.items()
    }
