"""Tests for cplib.patches, cplib.localize, their evaluation and cplib.gradcam: patch placement, upsampling,
densities, a planted defect, GradCAM, pixel metrics."""

from __future__ import annotations

import warnings
from dataclasses import replace

import pytest
import torch
from torch import nn

from cplib.data import Split, load_split
from cplib.errors import ConfigError
from cplib.evaluate import evaluate_maps, localize_densities, summary_table
from cplib.gradcam import GradCAM, anomaly_logit
from cplib.localize import PER_LOCATION_BUDGET, PatchLocalizer, default_shared, image_scores, upsample
from cplib.metrics import image_auroc
from cplib.model import CutPasteNet
from cplib.patches import Geometry, dense_features, extract_patches, grid_shape, grid_stride, patch_size
from cplib.profiles import get_profile
from cplib.synthetic import Counts, write_dataset
from cplib.train import train


def random_images(count: int, size: int, seed: int = 0) -> torch.Tensor:
    """Smooth random colour fields: clean 'normal' images with some variation."""
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.rand(count, 3, 4, 4, generator=generator)
    noise = 0.05 * torch.rand(count, 3, size, size, generator=generator)
    return (torch.nn.functional.interpolate(coarse, size=size, mode="bilinear") * 0.5 + 0.25 + noise).clamp(0, 1)


@pytest.fixture(scope="module")
def network() -> CutPasteNet:
    """A random-init CutPaste network: its features already tell a pasted square from smooth colour."""
    torch.manual_seed(0)
    return CutPasteNet().eval()


# ---------------------------------------------------------------- scale rules and patch extraction


def test_scale_rules_give_the_papers_57_by_57_grid_at_256_and_scale_with_size() -> None:
    assert (patch_size(256), grid_stride(256), grid_shape(256, 32, 4)) == (32, 4, (57, 57))
    assert (patch_size(256, at_256=64), patch_size(128), grid_stride(128), grid_stride(64)) == (64, 16, 2, 1)
    assert patch_size(32) == 8  # never below TrainConfig's smallest patch
    with pytest.raises(ConfigError, match="at_256"):
        patch_size(256, at_256=0)


def test_extracted_patches_are_the_slices_they_came_from() -> None:
    images = torch.rand(2, 3, 23, 23)
    patch, stride = 7, 4
    rows, cols = grid_shape(23, patch, stride)
    patches = extract_patches(images, patch, stride)
    assert patches.shape == (2 * rows * cols, 3, patch, patch)
    expected = [
        images[b, :, r * stride : r * stride + patch, c * stride : c * stride + patch]
        for b in range(2)
        for r in range(rows)
        for c in range(cols)
    ]
    assert torch.equal(patches, torch.stack(expected))


def test_reshaping_unfold_without_transposing_would_scramble_patches() -> None:
    images = torch.rand(1, 3, 12, 12)
    scrambled = torch.nn.functional.unfold(images, 4, stride=4).reshape(-1, 3, 4, 4)  # the public-port bug
    assert not torch.equal(scrambled, extract_patches(images, 4, 4))


@pytest.mark.parametrize("shape", [(2, 3, 32, 40), (2, 3, 40, 32), (3, 32, 32)])
def test_dense_features_refuse_images_that_are_not_a_batch_of_squares(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"expected square images \(B, 3, S, S\)"):
        dense_features(CutPasteNet(3).eval(), torch.rand(shape), 8, 4)


def test_localize_densities_checks_the_image_size_against_the_geometry(holes: Split) -> None:
    geometry = Geometry(size=32, patch=16, stride=8)
    with pytest.raises(ValueError, match=r"\(B, 3, 32, 32\), got \(4, 3, 16, 16\)"):
        localize_densities(CutPasteNet(3).eval(), holes, holes, geometry)


@pytest.mark.parametrize("chunk", [1, 5, 9, 10_000])
def test_dense_features_are_the_same_for_any_chunk_size(chunk: int) -> None:
    model = _TinyEncoderNet()
    images = torch.rand(3, 3, 20, 20)
    reference = model.features(extract_patches(images, 8, 4)).view(3, 4, 4, -1).permute(0, 3, 1, 2)
    assert torch.allclose(dense_features(model, images, 8, 4, chunk=chunk), reference, atol=1e-6)


# ---------------------------------------------------------------- receptive-field upsampling


@pytest.mark.parametrize(("size", "patch", "stride"), [(64, 16, 4), (61, 16, 4), (256, 32, 4)])
def test_upsampling_keeps_a_uniform_map_uniform_at_the_image_size(size: int, patch: int, stride: int) -> None:
    maps = upsample(torch.full((2, *grid_shape(size, patch, stride)), 3.5), patch, stride, size)
    assert maps.shape == (2, size, size)
    assert torch.allclose(maps, torch.full_like(maps, 3.5))


def test_a_single_hot_cell_peaks_at_the_centre_of_its_patch() -> None:
    size, patch, stride = 64, 16, 4
    scores = torch.zeros(1, *grid_shape(size, patch, stride))
    scores[0, 5, 8] = 1.0
    maps = upsample(scores, patch, stride, size)[0]
    window = maps[5 * stride : 5 * stride + patch, 8 * stride : 8 * stride + patch]
    assert torch.allclose(window, window.flip(0, 1))  # symmetric about the patch centre
    assert torch.all(window[7:9, 7:9] == maps.max())  # the four centre pixels of an even patch hold the peak
    assert maps.sum() == window.sum()  # nothing outside the patch's pixels


# ---------------------------------------------------------------- densities and a planted defect


def test_shared_and_per_location_gaussians_give_maps_of_the_grid(network: CutPasteNet) -> None:
    geometry = Geometry(size=32, patch=16, stride=8)
    train = random_images(12, 32)
    shared = PatchLocalizer(network, geometry, shared=True).fit(train)
    local = PatchLocalizer(network, geometry, shared=False, components=4).fit(train)
    assert shared.density.mean_.shape == (512,)
    assert local.density.mean_.shape == (4, 3, 3) and local.density.covariance_.shape == (3, 3, 4, 4)
    for localizer in (shared, local):
        assert localizer.grid_scores(train[:2]).shape == (2, 3, 3)
        assert localizer.anomaly_maps(train[:2]).shape == (2, 32, 32)


def test_per_location_memory_rule_refuses_a_too_large_model(network: CutPasteNet) -> None:
    with pytest.raises(ConfigError, match="components"):
        PatchLocalizer(network, Geometry(256, 32, 4), shared=False, components=512)


def test_per_location_keeps_all_512_dimensions_when_they_fit(network: CutPasteNet) -> None:
    """The CPU's 13 x 13 grid at d = 512 (354 MB) fits the budget: no reduction, no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        local = PatchLocalizer(network, Geometry(128, 32, 8), shared=False)
    assert local.components is None
    fitted = PatchLocalizer(network, Geometry(32, 16, 8), shared=False).fit(random_images(12, 32))
    assert fitted.pca is None and fitted.density.mean_.shape == (512, 3, 3)


def test_per_location_reduces_with_a_warning_only_when_the_budget_forces_it(network: CutPasteNet) -> None:
    """The paper's 57 x 57 grid at d = 512 needs 6.8 GB: the most dimensions that fit the budget, said once."""
    with pytest.warns(UserWarning, match="57x57 grid would keep 6.8 GB.*within-location"):
        local = PatchLocalizer(network, Geometry(256, 32, 4), shared=False)
    assert local.components == int((PER_LOCATION_BUDGET / (57 * 57 * 8)) ** 0.5)


def test_per_location_pca_keeps_within_location_variation(network: CutPasteNet) -> None:
    """Features that differ a lot between locations but vary within each along one direction: the per-location
    PCA keeps that direction, where a global PCA would keep the between-location one."""
    generator = torch.Generator().manual_seed(0)
    between = torch.zeros(512, 3, 3)
    between[0] = 100 * torch.arange(9.0).view(3, 3)  # location means far apart along axis 0
    within = torch.zeros(20, 512, 1, 1)
    within[:, 1] = torch.randn(20, 1, 1, generator=generator)  # each location varies along axis 1
    maps = between + within + 0.01 * torch.randn(20, 512, 3, 3, generator=generator)
    local = PatchLocalizer(network, Geometry(32, 16, 8), shared=False, components=1, pca_images=20).fit_features(maps)
    assert abs(local.pca.components_[0, 1]) > 0.99


def test_a_pasted_square_peaks_where_it_was_pasted(network: CutPasteNet) -> None:
    geometry = Geometry(size=64, patch=16, stride=4)
    localizer = PatchLocalizer(network, geometry, shared=True).fit(random_images(12, 64))
    test = random_images(2, 64, seed=1)
    test[1, :, 36:48, 8:20] = torch.tensor([0.0, 0.9, 0.1]).view(3, 1, 1)
    maps = localizer.anomaly_maps(test)
    row, col = divmod(int(maps[1].argmax()), 64)
    assert 30 <= row <= 54 and 2 <= col <= 26
    assert image_scores(maps)[1] > 1.5 * image_scores(maps)[0]


@pytest.fixture(scope="module")
def trained_patch_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[CutPasteNet, torch.Tensor]:
    """A 3-way patch model trained for a few seconds on a small default-style weave set, and its training images."""
    root = write_dataset(
        tmp_path_factory.mktemp("data") / "default", counts=Counts(train=24, test_good=1, test_per_defect=1)
    )
    config = get_profile("tiny").config("3way", "weave", data_root=str(root), size=64, patch=16, steps=30, batch=8)
    model, _ = train(config, progress=False)
    return model, load_split(root, "weave", "train", 64).images


def test_a_tiny_trained_patch_model_peaks_on_a_planted_defect(
    trained_patch_model: tuple[CutPasteNet, torch.Tensor],
) -> None:
    model, images = trained_patch_model
    localizer = PatchLocalizer(model, Geometry(size=64, patch=16, stride=4), shared=True).fit(images[:20])
    test = images[20:21].repeat(2, 1, 1, 1)  # the same unseen normal image, clean and with a planted defect
    test[1, :, 8:18, 40:50] = torch.tensor([0.1, 0.9, 0.1]).view(3, 1, 1)
    maps = localizer.anomaly_maps(test)
    row, col = divmod(int(maps[1].argmax()), 64)
    assert 2 <= row <= 24 and 34 <= col <= 56, f"peak at ({row}, {col}), the defect is at rows 8-17, columns 40-49"
    assert maps[1, 8:18, 40:50].mean() > 1.5 * maps[0, 8:18, 40:50].mean()


def test_default_density_per_category() -> None:
    assert not default_shared("capsule")
    assert default_shared("weave") and default_shared("granite") and default_shared("my_own_parts")


# ---------------------------------------------------------------- GradCAM


class _TinyEncoderNet(nn.Module):
    """A CutPasteNet stand-in: layer4 is a 1x1 conv with a red and a blue detector; the logit reads red only."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.layer4 = nn.Conv2d(3, 2, 1, bias=False)
        with torch.no_grad():
            self.encoder.layer4.weight.copy_(torch.tensor([[1.0, -0.5, -0.5], [-0.5, -0.5, 1.0]]).view(2, 3, 1, 1))

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder.layer4(images).flatten(2).mean(2)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        activations = self.encoder.layer4(images)
        red = activations[:, 0].mean(dim=(1, 2))
        return activations.mean(dim=(2, 3)), torch.stack([torch.zeros_like(red), red, -torch.ones_like(red)], 1)


def test_gradcam_highlights_the_region_that_changes_the_logit() -> None:
    images = torch.full((1, 3, 16, 16), 0.3)
    images[0, :, 2:6, 2:6] = torch.tensor([1.0, 0.0, 0.0]).view(3, 1, 1)  # red: raises the logit
    images[0, :, 10:14, 10:14] = torch.tensor([0.0, 0.0, 1.0]).view(3, 1, 1)  # blue: the logit ignores it
    cam = GradCAM(_TinyEncoderNet())(images)[0]
    assert cam.shape == (16, 16)
    assert cam[2:6, 2:6].min() > 0 and cam[10:14, 10:14].max() == 0
    larger = GradCAM(_TinyEncoderNet()).maps(images, size=32)[0]  # e.g. to meet masks at twice the size
    assert larger.shape == (32, 32) and larger[4:12, 4:12].min() > 0 and larger[20:28, 20:28].max() == 0


def test_gradcam_on_the_cutpaste_network_gives_one_map_per_image(network: CutPasteNet) -> None:
    maps = GradCAM(network).maps(torch.rand(3, 3, 64, 64), batch=2)
    assert maps.shape == (3, 64, 64) and (maps >= 0).all() and torch.isfinite(maps).all()
    assert all(parameter.grad is None for parameter in network.parameters())  # no gradients left on the model


def test_anomaly_logit_is_the_log_odds_of_augmented() -> None:
    logits = torch.tensor([[0.0, 0.0, 0.0], [1.0, -1.0, -3.0]])
    expected = torch.log(
        torch.tensor([2.0, torch.exp(torch.tensor(-1.0)) + torch.exp(torch.tensor(-3.0))])
    ) - torch.tensor([0.0, 1.0])
    assert torch.allclose(anomaly_logit(logits), expected)


# ---------------------------------------------------------------- evaluation


def test_evaluation_reports_missing_masks_instead_of_failing(holes: Split) -> None:
    test = replace(holes, masks=None)
    maps = torch.rand(4, 16, 16)
    maps[2:] += 1
    result = evaluate_maps(maps, test)
    assert result.pixel_auroc is None and result.aupro is None and "ground_truth" in result.note
    assert result.image_auroc == 1.0
    assert "no pixel metrics" in summary_table({"weave": result})


def test_evaluation_scores_a_perfect_map_as_one(holes: Split) -> None:
    result = evaluate_maps(holes.masks.float(), holes)
    assert (result.pixel_auroc, result.aupro, result.image_auroc) == (1.0, 1.0, 1.0)


def test_image_auroc_counts_every_test_image_and_pixel_metrics_only_those_with_masks(holes: Split) -> None:
    blank = torch.zeros(1, 16, 16, dtype=torch.bool)
    unmasked = Split(torch.rand(1, 3, 16, 16), torch.tensor([1]), ["hole"], blank, [])
    test = replace(_joined(holes, unmasked), annotated=torch.tensor([True, True, True, True, False]))
    low = torch.cat([0.3 + 0.7 * holes.masks.float(), torch.full((1, 16, 16), 0.2)])  # the unmasked defect lowest
    result = evaluate_maps(low, test)
    assert result.image_auroc == image_auroc(test.labels.numpy(), image_scores(low).numpy()) == pytest.approx(2 / 3)
    assert result.note == "pixel metrics on the 4 of 5 test images with masks"
    assert result.note in summary_table({"x": result})
    high = torch.cat([holes.masks.float(), torch.ones(1, 16, 16)])  # its empty placeholder mask would lower both
    assert (evaluate_maps(high, test).pixel_auroc, evaluate_maps(high, test).aupro) == (1.0, 1.0)


def _joined(first: Split, second: Split) -> Split:
    """Two splits with masks as one."""
    return Split(
        torch.cat([first.images, second.images]),
        torch.cat([first.labels, second.labels]),
        first.defects + second.defects,
        torch.cat([first.masks, second.masks]),
        first.paths + second.paths,
    )
