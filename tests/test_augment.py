"""Property tests for cplib.augment and its parts (colour, regions, placement): geometry, provenance of pasted
pixels, masks, determinism, errors."""

from __future__ import annotations

import hashlib
import math

import pytest
import torch
import torchvision.transforms.v2.functional as TF
from coded_images import bbox, coded, decode, generator

from cplib import augment as A
from cplib import colour, regions
from cplib.natural_fakes import NATURAL_FAKES

AREA = (0.02, 0.15)
ASPECT = (0.3, 1 / 0.3)
SIZES = [(64, 48), (40, 96), (96, 40)]


def assert_box_in_ranges(height: int, width: int, image_size: tuple[int, int]) -> None:
    """Box size consistent with the default area and aspect ranges, up to rounding to whole pixels."""
    pixels = image_size[0] * image_size[1]
    assert (height + 0.5) * (width + 0.5) >= AREA[0] * pixels
    assert (height - 0.5) * (width - 0.5) <= AREA[1] * pixels
    assert (width + 0.5) / (height - 0.5) >= ASPECT[0]
    assert (width - 0.5) / (height + 0.5) <= ASPECT[1]


def changed(images: torch.Tensor, augmented: torch.Tensor) -> torch.Tensor:
    return (augmented != images).any(dim=1, keepdim=True)


# ---------------------------------------------------------------- box sizes


@pytest.mark.parametrize("size", SIZES + [(64, 64)])
def test_box_sizes_cover_area_and_aspect_ranges(size):
    heights, widths = regions.sample_box_sizes(generator(), 2000, *size)
    assert heights.min() >= 1 and heights.max() <= size[0] and widths.max() <= size[1]
    for h, w in zip(heights.tolist(), widths.tolist()):
        assert_box_in_ranges(h, w, size)
    fraction = (heights * widths).double() / (size[0] * size[1])
    assert fraction.min() < AREA[0] + 0.01 and fraction.max() > AREA[1] - 0.01
    ratio = widths.double() / heights
    assert ratio.min() < 0.45 and ratio.max() > 2.2


def test_box_aspect_is_log_uniform_on_square_images():
    heights, widths = regions.sample_box_sizes(generator(), 4000, 256, 256)
    log_ratio = torch.log(widths.double() / heights)
    assert abs(log_ratio.mean()) < 0.05
    assert abs(log_ratio.std() - 2 * math.log(1 / 0.3) / math.sqrt(12)) < 0.05


def test_box_widths_use_the_long_side_of_wide_images():
    heights, widths = regions.sample_box_sizes(generator(), 2000, 40, 96)
    assert heights.max() <= 40 and widths.max() > 40
    heights, widths = regions.sample_box_sizes(generator(), 2000, 96, 40)
    assert widths.max() <= 40 and heights.max() > 40


# ---------------------------------------------------------------- cutpaste


def reference_jitter(image: torch.Tensor, factors: colour.JitterFactors, b: int) -> torch.Tensor:
    out = TF.adjust_brightness(image, factors.brightness[b].item())
    out = TF.adjust_contrast(out, factors.contrast[b].item())
    out = TF.adjust_saturation(out, factors.saturation[b].item())
    return TF.adjust_hue(out, factors.hue[b].item())


@pytest.mark.parametrize("size", SIZES)
def test_cutpaste_pastes_a_same_image_box_of_the_sampled_size(size):
    batch = 200
    images = coded(batch, *size)
    augmented, mask = A.cutpaste(images, generator(1), jitter=0)
    heights, widths = regions.sample_box_sizes(generator(1), batch, *size)  # cutpaste draws its sizes first
    assert torch.equal(mask, changed(images, augmented))
    empty = 0
    for b in range(batch):
        if not mask[b, 0].any():  # source and destination coincide: nothing changes
            empty += 1
            continue
        top, left, h, w = bbox(mask[b, 0])
        assert (h, w) == (heights[b].item(), widths[b].item())
        assert mask[b, 0].sum() == h * w
        assert_box_in_ranges(h, w, size)
        patch = augmented[b, :, top : top + h, left : left + w]
        found = (images[b] == patch[:, :1, :1]).all(dim=0).nonzero()
        assert len(found) == 1
        source_top, source_left = found[0].tolist()
        assert torch.equal(images[b, :, source_top : source_top + h, source_left : source_left + w], patch)
    assert empty <= 2


def test_cutpaste_mask_is_a_box_with_jitter():
    images = torch.rand(200, 3, 64, 48, generator=generator(5))
    augmented, mask = A.cutpaste(images, generator(2))
    assert torch.equal(mask, changed(images, augmented))
    for b in range(len(images)):
        _, _, h, w = bbox(mask[b, 0])
        assert mask[b, 0].sum() >= 0.98 * h * w
        assert_box_in_ranges(h, w, (64, 48))


def test_cutpaste_jitter_changes_the_patch_colours():
    images = torch.rand(50, 3, 32, 32, generator=generator(5))
    plain, plain_mask = A.cutpaste(images, generator(3), jitter=0)
    jittered, jittered_mask = A.cutpaste(images, generator(3), jitter=0.3)
    inside = (plain_mask | jittered_mask).expand_as(images)  # same boxes: jitter is drawn after the geometry
    assert (plain[inside] - jittered[inside]).abs().mean() > 0.01
    assert torch.equal(plain[~inside], jittered[~inside])


def test_cutpaste_patch_is_the_source_box_jittered_as_torchvision_would():
    """Replays cutpaste's draws (sizes, source corner, destination corner, jitter factors, in that order) and
    checks each pasted box against torchvision's ColorJitter kernels applied to the cropped source box."""
    batch, size = 30, (40, 56)
    gradient = torch.linspace(0, 1, size[0]).view(1, 1, -1, 1)
    images = 0.5 * torch.rand(batch, 3, *size, generator=generator(24)) + 0.5 * gradient
    augmented, _ = A.cutpaste(images, generator(25), jitter=0.3)
    replay = generator(25)
    heights, widths = regions.sample_box_sizes(replay, batch, *size)
    source_top, source_left = regions.box_corners(replay, size, heights, widths)
    top, left = regions.box_corners(replay, size, heights, widths)
    factors = colour.sample_jitter(replay, batch, 0.3)
    for b in range(batch):
        h, w = heights[b].item(), widths[b].item()
        source = images[b, :, source_top[b] : source_top[b] + h, source_left[b] : source_left[b] + w]
        pasted = augmented[b, :, top[b] : top[b] + h, left[b] : left[b] + w]
        torch.testing.assert_close(pasted, reference_jitter(source, factors, b), atol=1e-5, rtol=0)


def test_patch_jitter_uses_the_patch_alone_for_contrast():
    images = torch.rand(8, 3, 20, 24, generator=generator(6))
    region = torch.zeros(8, 1, 20, 24, dtype=torch.bool)
    region[:, :, 2:12, 5:20] = True
    factors = colour.sample_jitter(generator(7), 8, 0.3)
    jittered = colour.apply_jitter(images, factors, region)[:, :, 2:12, 5:20]
    cropped = colour.apply_jitter(images[:, :, 2:12, 5:20], factors)
    torch.testing.assert_close(jittered, cropped, atol=1e-5, rtol=0)


# ---------------------------------------------------------------- colour jitter


@pytest.mark.parametrize("channels", [1, 3])
def test_jitter_matches_torchvision_per_sample(channels):
    images = torch.rand(6, channels, 16, 12, generator=generator(8))
    factors = colour.sample_jitter(generator(9), 6, 0.3)
    expected = torch.stack([reference_jitter(images[b], factors, b) for b in range(6)])
    torch.testing.assert_close(colour.apply_jitter(images, factors), expected, atol=1e-5, rtol=0)


def test_jitter_factors_are_in_range_and_per_sample():
    factors = colour.sample_jitter(generator(), 500, 0.2)
    for factor in factors[:3]:
        assert factor.min() >= 0.8 and factor.max() <= 1.2 and factor.std() > 0.05
    assert factors.hue.min() >= -0.2 and factors.hue.max() <= 0.2 and factors.hue.std() > 0.05


def test_jitter_colors_stays_in_unit_range_and_zero_is_identity():
    images = torch.rand(20, 3, 16, 16, generator=generator(10))
    jittered = colour.jitter_colors(images, generator(), 0.5)
    assert jittered.min() >= 0 and jittered.max() <= 1 and not torch.equal(jittered, images)
    assert torch.equal(colour.jitter_colors(images, generator(), 0), images)


# ---------------------------------------------------------------- scars


def noise(batch: int, size: tuple[int, int]) -> torch.Tensor:
    """Uniform noise: a jittered or recoloured pixel practically never keeps its old value."""
    return torch.rand(batch, 3, *size, generator=generator(99))


@pytest.mark.parametrize("augmentation", [A.scar, A.cutpaste_scar])
@pytest.mark.parametrize("size", [(40, 40), (36, 56)])
@pytest.mark.parametrize("angle", [(45, 45), (-45, -45), (-45, 45)])
def test_rotated_scars_are_whole_and_inside(augmentation, size, angle):
    """A 24 x 4 scar at 45 degrees needs a 19.8 px square: bounds from the unrotated 24 x 4 box would let it
    overhang sideways and be clipped, losing area and bounding box."""
    length, width = 24, 4
    images = noise(200, size)
    params = dict(width=(width, width), length=(length, length), angle=angle, reference_size=min(size))
    augmented, mask = augmentation(images, generator(11), **params)
    assert torch.equal(mask, changed(images, augmented))
    counts = mask.sum(dim=(1, 2, 3))
    assert counts.min() >= 0.8 * length * width and counts.max() <= 1.1 * length * width
    if angle[0] == angle[1]:
        theta = math.radians(angle[0])
        extent = length * abs(math.cos(theta)) + width * abs(math.sin(theta))
        for b in range(len(images)):
            _, _, h, w = bbox(mask[b, 0])
            assert extent - 2.5 <= h <= extent + 1.5 and extent - 2.5 <= w <= extent + 1.5


@pytest.mark.parametrize("augmentation", [A.scar, A.cutpaste_scar])
@pytest.mark.parametrize("size", [(128, 128), (64, 128), (128, 64)])
def test_scar_sizes_scale_with_the_short_side(augmentation, size):
    """At angle 0 a scar is an exact upright length x width box, scaled by min(H, W) / reference_size."""
    images = noise(50, size)
    reference = 2 * min(size)
    augmented, mask = augmentation(
        images, generator(12), width=(8, 8), length=(20, 20), angle=(0, 0), reference_size=reference
    )
    for b in range(len(images)):
        assert bbox(mask[b, 0])[2:] == (10, 4)
        assert mask[b, 0].sum() == 40


def test_cutpaste_scar_pastes_an_upright_box_of_the_same_image():
    """Decode where each pasted pixel came from: the same image, inside one length x width upright box."""
    batch, size, length, width = 200, (48, 48), 24, 6
    images = coded(batch, *size)
    augmented, mask = A.cutpaste_scar(
        images, generator(13), width=(width, width), length=(length, length), jitter=0, reference_size=48
    )
    for b in range(batch):
        rows, cols, samples = decode(augmented[b][:, mask[b, 0]], batch, *size)
        assert (samples == b).all()
        assert rows.max() - rows.min() + 1 <= length and cols.max() - cols.min() + 1 <= width
        assert rows.max() - rows.min() + 1 >= length - 2


def test_random_scars_are_thin_and_sized_as_the_paper():
    """Default ranges at scale 1: each scar mask's principal axes lie within the width and length ranges."""
    images = torch.rand(200, 3, 64, 64, generator=generator(14))
    _, mask = A.scar(images, generator(15), reference_size=64)
    for b in range(len(images)):
        coordinates = mask[b, 0].nonzero().double()
        spread = torch.linalg.eigvalsh(torch.cov(coordinates.T))
        short, long = torch.sqrt(12 * spread + 1).tolist()
        assert 2 - 1.5 <= short <= 16 + 1.5 and 10 - 1.5 <= long <= 25 + 1.5
        assert 0.7 * short * long <= len(coordinates) <= 1.3 * short * long


@pytest.mark.parametrize("augmentation", [A.scar, A.cutpaste_scar])
@pytest.mark.parametrize(("length", "width", "angle"), [(4, 4, 0), (6, 3, 0), (5, 2, 30), (4, 2, -45)])
def test_scars_reach_every_edge_of_the_image_equally_often(augmentation, length, width, angle):
    """Each scar's centre is uniform over the positions where its pixels fit, so the first and the last row (and
    column) are covered equally often, even and odd sizes alike; centres bounded by the continuous box instead reach
    the first row of an even scar and never the last."""
    size, draws = 16, 6000
    images = noise(draws, (size, size))
    params = dict(width=(width, width), length=(length, length), angle=(angle, angle), reference_size=size)
    _, mask = augmentation(images, generator(31), **params)
    footprint = bbox(mask[0, 0])[2:]
    for axis, extent in zip((2, 1), footprint):
        covered = mask[:, 0].any(dim=axis).double()
        first, last, positions = covered[:, 0].sum(), covered[:, -1].sum(), draws / (size - extent + 1)
        assert abs(first - last) < 5 * math.sqrt(first + last)
        assert 0.8 * positions < first < 1.2 * positions


def test_scar_sizes_are_whole_pixels_drawn_uniformly_then_scaled():
    """Widths U{2..16} and lengths U{10..25} as integers at the reference size, the end values as often as any (a
    rounded continuous draw gives them half), then scaled and rounded half up: compared with that distribution
    computed by hand, at 256 px and at 64 px."""
    draws = 30_000
    for image_size, scale in ((256, 1.0), (64, 0.25)):
        scars = regions.sample_scars(
            generator(32), draws, (image_size, image_size), (2, 16), (10, 25), (-45, 45), 256, None, keep_source=False
        )
        for drawn, (low, high) in ((scars.widths, (2, 16)), (scars.lengths, (10, 25))):
            expected: dict[int, float] = {}
            for pixels in range(low, high + 1):
                scaled = max(1, math.floor(pixels * scale + 0.5))
                expected[scaled] = expected.get(scaled, 0) + 1 / (high - low + 1)
            assert set(drawn.unique().tolist()) == set(expected)
            for value, share in expected.items():
                observed = int((drawn == value).sum())
                assert abs(observed - share * draws) < 5 * math.sqrt(share * draws), (image_size, value)


def test_scar_ranges_without_a_whole_pixel_are_refused():
    with pytest.raises(ValueError, match="width=.*whole pixels"):
        A.scar(noise(2, (64, 64)), generator(0), width=(2.2, 2.8))


# ---------------------------------------------------------------- cutout


@pytest.mark.parametrize("fill", A.FILLS)
def test_cutout_fills_a_box_of_the_sampled_size(fill):
    batch, size = 100, (64, 48)
    images = coded(batch, *size)
    augmented, mask = A.cutout(images, generator(16), fill=fill)
    heights, widths = regions.sample_box_sizes(generator(16), batch, *size)  # cutout draws its sizes first
    assert torch.equal(mask, changed(images, augmented))
    colours = []
    for b in range(batch):
        _, _, h, w = bbox(mask[b, 0])
        assert (h, w) == (heights[b].item(), widths[b].item()) and mask[b, 0].sum() == h * w
        filled = augmented[b][:, mask[b, 0]]
        assert (filled == filled[:, :1]).all()
        colours.append(filled[:, 0])
    colours = torch.stack(colours)
    expected = {"grey": torch.full_like(colours, 0.5), "mean": images.mean(dim=(2, 3))}
    if fill in expected:
        torch.testing.assert_close(colours, expected[fill])
    else:
        assert colours.std(dim=0).min() > 0.2


# ---------------------------------------------------------------- shared contract


def run(name: str, images: torch.Tensor, seed: int):
    g = generator(seed)
    if name == "pre_augment":
        return A.pre_augment(images, g), None
    if name == "jitter_colors":
        return colour.jitter_colors(images, g, 0.1), None
    return A.AUGMENTATIONS[name](images, g)


FUNCTIONS = [*A.AUGMENTATIONS, "pre_augment", "jitter_colors"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_same_seed_same_output_different_seed_different(name):
    images = torch.rand(16, 3, 32, 40, generator=generator(17))
    first, second, other = run(name, images, 1), run(name, images, 1), run(name, images, 2)
    assert torch.equal(first[0], second[0]) and not torch.equal(first[0], other[0])


@pytest.mark.parametrize("name", FUNCTIONS)
def test_sample_outputs_do_not_depend_on_other_samples(name):
    images = torch.rand(16, 3, 32, 40, generator=generator(18))
    edited = images.clone()
    edited[3] = torch.rand(3, 32, 40, generator=generator(19))
    original, _ = run(name, images, 4)
    after_edit, _ = run(name, edited, 4)
    keep = torch.arange(16) != 3
    assert torch.equal(original[keep], after_edit[keep]) and not torch.equal(original[3], after_edit[3])


@pytest.mark.parametrize("name", list(A.AUGMENTATIONS))
def test_samples_draw_different_parameters(name):
    images = torch.rand(32, 3, 128, 128, generator=generator(20))
    _, mask = run(name, images, 5)
    sizes = {bbox(mask[b, 0])[2:] for b in range(32)}
    assert len(sizes) >= 12


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shape", [(5, 1, 40, 96), (5, 3, 96, 40), (5, 1, 64, 48)])
def test_shapes_channels_and_input_untouched(name, shape):
    images = torch.rand(*shape, generator=generator(21))
    before = images.clone()
    augmented, mask = run(name, images, 6)
    assert torch.equal(images, before)
    assert augmented.shape == images.shape and augmented.dtype == images.dtype
    assert augmented.min() >= 0 and augmented.max() <= 1
    if mask is not None:
        assert mask.shape == (shape[0], 1, *shape[2:]) and mask.dtype == torch.bool
        assert torch.equal(mask, changed(images, augmented)) and mask.any(dim=(1, 2, 3)).all()


def test_pre_augment_shifts_by_whole_pixels_with_reflection():
    images = torch.rand(40, 3, 40, 60, generator=generator(22))
    shifted = A.pre_augment(images, generator(7), max_shift=0.1, jitter=0)
    moved = 0
    for b in range(len(images)):
        matches = [
            (dy, dx)
            for dy in range(-4, 5)
            for dx in range(-6, 7)
            if torch.equal(shifted[b, :, 4:-4, 6:-6], images[b, :, 4 - dy : 36 - dy, 6 - dx : 54 - dx])
        ]
        assert len(matches) == 1
        moved += matches[0] != (0, 0)
        assert torch.isin(shifted[b], images[b]).all()  # border pixels are reflections, not padding
    assert moved >= 30


# ---------------------------------------------------------------- make_views


@pytest.mark.parametrize("variant", A.VARIANTS)
def test_make_views_labels_shapes_and_masks(variant):
    images = torch.rand(6, 3, 64, 48, generator=generator(23))
    inputs, labels, masks = A.make_views(images, variant, generator())
    classes = A.num_classes(variant)
    assert classes == (3 if variant.startswith("3way") else 2)
    assert inputs.shape == (6 * classes, 3, 64, 48) and masks.shape == (6 * classes, 1, 64, 48)
    assert labels.tolist() == [k for k in range(classes) for _ in range(6)]
    assert torch.equal(inputs[:6], images) and not masks[:6].any() and masks[6:].any(dim=(1, 2, 3)).all()
    assert torch.equal(masks, changed(images.repeat(classes, 1, 1, 1), inputs))
    assert torch.equal(A.make_views(images, variant, generator())[0], inputs)
    assert not torch.equal(A.make_views(images, variant, generator(1))[0], inputs)


# The paper's variants' views for one seed, computed before the natural fakes joined VARIANTS (cplib 0.3.0 at ee5f58b):
# a digest of the masks (whole pixels, exact on any machine) and each anomalous view's pixel sum (float rounding aside).
PINNED_VIEWS = {
    "cutout": ("b32f1bf8282e1316", [1531.312, 1536.053, 1558.499, 1547.039]),
    "scar": ("30c1ce8762e2c98c", [1531.898, 1528.015, 1557.434, 1544.459]),
    "cutpaste": ("714849f7f14d4666", [1531.127, 1513.851, 1551.941, 1555.345]),
    "cutpaste-scar": ("30c1ce8762e2c98c", [1531.653, 1528.172, 1557.608, 1547.653]),
    "union": ("9e813aea952fa1d9", [1531.127, 1513.851, 1551.941, 1547.537]),
    "3way": (
        "5b9d11df19b1fbbe",
        [1531.127, 1513.851, 1551.941, 1555.345, 1529.952, 1526.719, 1558.245, 1547.537],
    ),
}


@pytest.mark.parametrize("variant", list(PINNED_VIEWS))
def test_the_paper_s_variants_draw_as_before_the_natural_fakes(variant):
    images = torch.rand(4, 3, 32, 32, generator=generator(0))
    inputs, _, masks = A.make_views(images, variant, generator(1))
    digest, sums = PINNED_VIEWS[variant]
    assert hashlib.sha256(masks.numpy().tobytes()).hexdigest()[:16] == digest
    assert inputs.double().sum(dim=(1, 2, 3))[4:].tolist() == pytest.approx(sums, abs=2e-3)


@pytest.mark.parametrize(("variant", "fake"), [("3way-seamless", "seamless"), ("3way-perlin", "perlin")])
def test_natural_three_way_views_are_cutpaste_then_the_fake(variant, fake):
    """The same draws as calling the augmentations by hand: CutPaste (label 1), then the natural fake (label 2); the
    binary variant is the fake alone."""
    images = torch.rand(6, 3, 48, 40, generator=generator(2))
    inputs, labels, _ = A.make_views(images, variant, generator(3), jitter=0.2)
    g = generator(3)
    by_hand = [A.cutpaste(images, g, jitter=0.2)[0], NATURAL_FAKES[fake](images, g)[0]]
    assert torch.equal(inputs, torch.cat([images, *by_hand])) and labels.tolist() == [0] * 6 + [1] * 6 + [2] * 6
    alone, _, _ = A.make_views(images, fake, generator(3))
    assert torch.equal(alone[6:], NATURAL_FAKES[fake](images, generator(3))[0])


def test_three_way_views_are_cutpaste_then_scar():
    images = coded(100, 64, 48)
    _, _, masks = A.make_views(images, "3way", generator())
    areas = masks.sum(dim=(1, 2, 3))
    assert (areas[100:200] >= 55).sum() >= 98 and (areas[200:] <= 25).all()


def test_union_draws_both_kinds_about_equally():
    images = coded(200, 64, 48)
    _, _, masks = A.make_views(images, "union", generator())
    scars = (masks[200:].sum(dim=(1, 2, 3)) <= 25).sum().item()
    assert 70 <= scars <= 130


@pytest.mark.parametrize("variant", ["3way", "cutout", "scar"])
def test_make_views_passes_jitter_to_pasting_and_image_size_to_scars(variant):
    """The same draws as calling the augmentations by hand: jitter only where the image's own pixels are pasted,
    image_size only to the scars."""
    images = coded(30, 64, 48)
    inputs, _, _ = A.make_views(images, variant, generator(5), jitter=0, image_size=128)
    g = generator(5)
    by_hand = {
        "3way": lambda: [A.cutpaste(images, g, jitter=0)[0], A.cutpaste_scar(images, g, jitter=0, image_size=128)[0]],
        "cutout": lambda: [A.cutout(images, g)[0]],
        "scar": lambda: [A.scar(images, g, image_size=128)[0]],
    }[variant]()
    assert torch.equal(inputs, torch.cat([images, *by_hand]))


@pytest.mark.parametrize("augmentation", [A.scar, A.cutpaste_scar])
def test_a_crop_gets_the_scar_sizes_of_its_whole_image(augmentation):
    """Scars scale by the whole image's side / 256 whatever is cropped: the sizes drawn for 32-px crops of a 128-px
    image equal those drawn for the 128-px image itself (same seed), and are not the crop's 8x smaller ones."""
    angle = (0, 0)
    _, crop_masks = augmentation(
        torch.rand(300, 3, 32, 32, generator=generator(3)), generator(4), angle=angle, image_size=128
    )
    _, image_masks = augmentation(torch.rand(300, 3, 128, 128, generator=generator(3)), generator(4), angle=angle)
    crop_boxes = [bbox(mask[0])[2:] for mask in crop_masks]
    assert crop_boxes == [bbox(mask[0])[2:] for mask in image_masks]
    assert max(rows for rows, _ in crop_boxes) == math.floor(25 * 128 / 256 + 0.5)  # 12.5 px, rounded half up


@pytest.mark.parametrize("augmentation", [A.scar, A.cutpaste_scar])
@pytest.mark.parametrize("reference_size", [256, 4096])
def test_every_scar_changes_the_image_even_when_tiny(augmentation, reference_size):
    """At 64 px (the CPU profile) scars are 1-4 x 2-6 px, at reference_size 4096 all 1 x 1: a rotated scar centred
    between pixels could cover no pixel centre and leave the image unchanged under an anomalous label; whole-pixel
    centres always cover one."""
    images = noise(2000, (64, 64))
    augmented, mask = augmentation(images, generator(21), reference_size=reference_size)
    assert mask.flatten(1).any(1).all()
    assert torch.equal(mask, changed(images, augmented))


# ---------------------------------------------------------------- pre-augmentation with a foreground


def test_pre_augment_moves_the_foreground_with_each_image():
    """The mask is shifted by each image's own shift, with the same draws as plain pre_augment."""
    images = coded(20, 40, 48)
    foreground = torch.zeros(40, 48, dtype=torch.bool)
    foreground[10:30, 12:36] = True
    plain = A.pre_augment(images, generator(8), max_shift=0.1, jitter=0)
    shifted, masks = A.pre_augment_with_foreground(images, foreground, generator(8), max_shift=0.1, jitter=0)
    assert torch.equal(shifted, plain)
    for b in range(len(images)):
        rows, cols, _ = decode(shifted[b][:, masks[b, 0]], 20, 40, 48)
        assert foreground[rows, cols].all() and masks[b].sum() == foreground.sum()


# ---------------------------------------------------------------- errors


IMAGES = torch.rand(2, 3, 64, 48)

BAD_CALLS = [
    (A.cutpaste, dict(area=(0.0, 0.2)), "area"),
    (A.cutpaste, dict(area=(0.2, 0.1)), "area"),
    (A.cutpaste, dict(area=(0.1, 1.0)), "area"),
    (A.cutpaste, dict(area=0.1), "area"),
    (A.cutout, dict(area=(0.1, 1.5)), "area"),
    (A.cutpaste, dict(aspect=(0, 1)), "aspect"),
    (A.cutpaste, dict(aspect=(2, 1)), "aspect"),
    (A.cutout, dict(aspect=(1, math.nan)), "aspect"),
    (A.cutpaste, dict(jitter=-0.1), "jitter"),
    (A.cutpaste, dict(jitter=0.6), "jitter"),
    (A.cutpaste_scar, dict(jitter=-0.1), "jitter"),
    (A.pre_augment, dict(jitter=-0.1), "jitter"),
    (A.pre_augment, dict(max_shift=0.7), "max_shift"),
    (A.cutout, dict(fill="black"), "fill"),
    (A.scar, dict(width=(0, 3)), "width"),
    (A.scar, dict(length=(5, -1)), "length"),
    (A.cutpaste_scar, dict(angle=(-200, 0)), "angle"),
    (A.cutpaste_scar, dict(reference_size=0), "reference_size"),
    (A.scar, dict(image_size=-64), "image_size"),
    (A.scar, dict(length=(60, 70), reference_size=48), "length"),
    (A.cutpaste_scar, dict(length=(50, 50), angle=(90, 90), reference_size=48), "length"),
]


@pytest.mark.parametrize("augmentation, params, name", BAD_CALLS)
def test_bad_parameters_raise_naming_them(augmentation, params, name):
    with pytest.raises(ValueError, match=f"{name}="):
        augmentation(IMAGES, generator(), **params)


def test_patch_that_cannot_fit_raises_naming_aspect():
    thin = torch.rand(2, 3, 64, 8)
    with pytest.raises(ValueError, match="aspect=") as error:
        A.cutpaste(thin, generator(), aspect=(3.0, 3.3))
    assert "area=" in str(error.value)
    A.cutpaste(thin, generator(), aspect=(0.1, 0.5))  # a tall patch fits


def test_bad_strength_images_and_variant_raise():
    with pytest.raises(ValueError, match="strength="):
        colour.jitter_colors(IMAGES, generator(), -1)
    with pytest.raises(ValueError, match="images"):
        A.cutpaste(IMAGES[0], generator())
    with pytest.raises(ValueError, match="images"):
        A.scar(torch.rand(2, 2, 16, 16), generator())
    with pytest.raises(ValueError, match="cutpaste-scar.*3way"):
        A.make_views(IMAGES, "cut-paste", generator())
    with pytest.raises(ValueError, match="variant="):
        A.num_classes("4way")
