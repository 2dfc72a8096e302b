"""Property tests for cplib.natural_fakes (NSA's seamless paste, DRAEM's Perlin region) and their parts: the Poisson
solve against a sparse solve, the Perlin noise's range, lattice and frequency, where each fake's pixels come from,
masks, determinism, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sparse
import scipy.sparse.linalg
import torch
from coded_images import bbox, coded, decode, generator

from cplib import natural_fakes as N
from cplib.draws import randint, uniform


def changed(images: torch.Tensor, augmented: torch.Tensor) -> torch.Tensor:
    return (augmented != images).any(dim=1, keepdim=True)


def laplacian(image: torch.Tensor) -> torch.Tensor:
    """4 x - (sum of the 4 neighbours) at the inner pixels of (C, h, w), by hand."""
    centre = image[:, 1:-1, 1:-1]
    return 4 * centre - image[:, :-2, 1:-1] - image[:, 2:, 1:-1] - image[:, 1:-1, :-2] - image[:, 1:-1, 2:]


def sparse_poisson(destination: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """The same Poisson problem as one sparse linear system per channel, solved by scipy.sparse.linalg.spsolve."""
    channels, height, width = destination.shape
    rows, cols = height - 2, width - 2

    def second_difference(n: int) -> sparse.spmatrix:
        return sparse.diags([-np.ones(n - 1), 2 * np.ones(n), -np.ones(n - 1)], [-1, 0, 1])

    matrix = (
        sparse.kron(second_difference(rows), sparse.eye(cols)) + sparse.kron(sparse.eye(rows), second_difference(cols))
    ).tocsc()
    ring = destination.clone()
    ring[:, 1:-1, 1:-1] = 0
    right = laplacian(source) - laplacian(ring)  # the ring's neighbours move to the right-hand side
    blended = destination.clone()
    for c in range(channels):
        solved = scipy.sparse.linalg.spsolve(matrix, right[c].reshape(-1).numpy())
        blended[c, 1:-1, 1:-1] = torch.from_numpy(solved).view(rows, cols)
    return blended


def mid_grey(batch: int, size: tuple[int, int], channels: int = 3, seed: int = 40) -> torch.Tensor:
    """Noise of low contrast around 0.5: Poisson blending of these never leaves [0, 1], so nothing is clipped."""
    return 0.5 + 0.1 * (torch.rand(batch, channels, *size, generator=generator(seed)) - 0.5)


# ---------------------------------------------------------------- Poisson blending


@pytest.mark.parametrize("channels", [1, 3])
def test_poisson_blend_matches_a_sparse_solve(channels):
    draws = np.random.default_rng(0)
    for _ in range(12):
        height, width = (int(side) for side in draws.integers(3, 14, size=2))
        destination = torch.from_numpy(draws.uniform(size=(channels, height, width)))
        source = torch.from_numpy(draws.uniform(size=(channels, height, width)))
        torch.testing.assert_close(N.poisson_blend(destination, source), sparse_poisson(destination, source))


def test_poisson_blend_keeps_the_ring_and_takes_the_source_s_laplacian_inside():
    """The ring (every pixel of the outer rows and columns) is the destination's, to the bit; inside, the discrete
    Laplacian, computed with that ring, is the source's: the inside follows the source's gradients up to the ring."""
    destination = torch.rand(3, 23, 31, generator=generator(1), dtype=torch.float64)
    source = torch.rand(3, 23, 31, generator=generator(2), dtype=torch.float64)
    blended = N.poisson_blend(destination, source)
    inner = torch.zeros(23, 31, dtype=torch.bool)
    inner[1:-1, 1:-1] = True
    assert torch.equal(blended[:, ~inner], destination[:, ~inner])
    torch.testing.assert_close(laplacian(blended), laplacian(source), atol=1e-10, rtol=0)
    assert (blended[:, inner] - destination[:, inner]).abs().min() > 0  # the whole inside moves


def test_a_source_with_the_destination_s_gradients_changes_nothing():
    """No seam: a source that differs from the destination by a constant (or any harmonic offset, here a ramp) has the
    same Laplacian, so the blend is the destination itself."""
    destination = torch.rand(1, 12, 17, generator=generator(3), dtype=torch.float64)
    ramp = (
        torch.arange(12, dtype=torch.float64).view(1, -1, 1) * 0.01
        + torch.arange(17, dtype=torch.float64).view(1, 1, -1) * 0.02
    )
    for source in (destination + 0.3, destination - 0.2 + ramp):
        torch.testing.assert_close(N.poisson_blend(destination, source), destination, atol=1e-12, rtol=0)


def test_poisson_blend_of_a_box_without_an_inside_is_the_destination():
    for shape in ((3, 2, 9), (3, 9, 2), (1, 1, 1)):
        destination, source = torch.rand(*shape, dtype=torch.float64), torch.rand(*shape, dtype=torch.float64)
        assert torch.equal(N.poisson_blend(destination, source), destination)


# ---------------------------------------------------------------- sources


def test_other_sources_are_uniform_among_the_other_images_and_same_is_itself():
    batch, draws = 5, 4000
    g = generator(4)
    offsets = torch.stack([(N.source_indices(g, batch) - torch.arange(batch)) % batch for _ in range(draws // batch)])
    counts = torch.bincount(offsets.flatten(), minlength=batch)
    assert counts[0] == 0  # never itself
    expected = offsets.numel() / (batch - 1)
    assert all(abs(int(count) - expected) < 5 * math.sqrt(expected) for count in counts[1:])
    assert torch.equal(N.source_indices(generator(5), batch, "same"), torch.arange(batch))
    assert torch.equal(N.source_indices(generator(5), 1, "other"), torch.tensor([0]))  # a batch of one: itself


def test_same_and_other_make_the_same_draws():
    """One seed gives both sources the same geometry: the control changes only where the patch comes from."""
    other = N.seamless_geometry(generator(6), 50, (64, 48), "other")
    same = N.seamless_geometry(generator(6), 50, (64, 48), "same")
    assert all(torch.equal(a, b) for a, b in zip(other[1:], same[1:]))
    assert torch.equal(same.sources, torch.arange(50)) and (other.sources != torch.arange(50)).all()


# ---------------------------------------------------------------- seamless paste


@pytest.mark.parametrize("source", N.SOURCES)
@pytest.mark.parametrize("size", [(64, 64), (48, 72)])
def test_seamless_paste_changes_exactly_the_inside_of_the_pasted_box(source, size):
    batch = 60
    images = torch.rand(batch, 3, *size, generator=generator(7))
    augmented, mask = N.seamless_paste(images, generator(8), source=source)
    pastes = N.seamless_geometry(generator(8), batch, size, source)  # its draws, replayed
    assert torch.equal(mask, changed(images, augmented))
    for b in range(batch):
        t, left, h, w = (int(v[b]) for v in (pastes.top, pastes.left, pastes.pasted_heights, pastes.pasted_widths))
        assert 0 <= t and t + h <= size[0] and 0 <= left and left + w <= size[1]
        inside = torch.zeros(size, dtype=torch.bool)
        inside[t + 1 : t + h - 1, left + 1 : left + w - 1] = True
        assert torch.equal(mask[b, 0], inside)  # noise: every inner pixel moves, the ring and the outside never


@pytest.mark.parametrize("source", N.SOURCES)
def test_seamless_paste_follows_the_gradients_of_the_drawn_source_image(source):
    """Decode where each pasted box came from: the inside's Laplacian (with its ring) is that of the rescaled cut from
    image sources[b], and of no other image's cut at the same place; another image for "other", the same for "same"."""
    batch, size = 24, (64, 64)
    images = mid_grey(batch, size)
    augmented, _ = N.seamless_paste(images, generator(9), source=source)
    pastes = N.seamless_geometry(generator(9), batch, size, source)
    for b in range(batch):
        t, left, h, w = (int(v[b]) for v in (pastes.top, pastes.left, pastes.pasted_heights, pastes.pasted_widths))
        st, sl, sh, sw = (int(v[b]) for v in pastes[1:5])
        pasted = augmented[b, :, t : t + h, left : left + w].double()
        misfit = [
            float(
                (laplacian(pasted) - laplacian(N._rescale(images[k, :, st : st + sh, sl : sl + sw], (h, w))))
                .abs()
                .max()
            )
            for k in range(batch)
        ]
        found = [k for k, value in enumerate(misfit) if value < 1e-5]
        assert found == [int(pastes.sources[b])], (b, sorted(misfit)[:2])
        assert (found == [b]) == (source == "same")


def test_seamless_sizes_follow_nsa_s_ranges():
    """Cut sides: twice a half-width of 0.03 + Gamma(2, 0.05) of the side, clipped to (0.03, 0.4); pasted sides: the
    cut rescaled by clip(N(1, 0.5), 0.7, 1.3), lowered (aspect kept) only to stay within 0.4 of the side."""
    draws, side = 20_000, 256
    pastes = N.seamless_geometry(generator(10), draws, (side, side))
    for cut, pasted in ((pastes.source_heights, pastes.pasted_heights), (pastes.source_widths, pastes.pasted_widths)):
        half = cut.double() / (2 * side)
        assert half.min() >= 0.03 - 1 / side and half.max() <= 0.4 + 1 / side
        assert abs(float(half.mean()) - (0.03 + 2 * 0.05)) < 0.003  # the clip at 0.4 removes almost nothing
        assert abs(float(half.std()) - math.sqrt(2) * 0.05) < 0.003
        assert pasted.max() <= round(0.4 * side) and pasted.min() >= 3
    factor = pastes.pasted_heights.double() / pastes.source_heights
    lowered = (pastes.pasted_heights == round(0.4 * side)) | (pastes.pasted_widths == round(0.4 * side))
    free = ~lowered & (pastes.source_heights >= 30)  # large enough that rounding moves the ratio by < 2 %
    assert factor[free].min() >= 0.7 - 0.02 and factor[free].max() <= 1.3 + 0.02
    assert ((factor[free] - 0.7).abs() < 0.02).double().mean() > 0.2  # N(1, 0.5) below 0.7 a quarter of the time
    aspect = pastes.pasted_heights.double() / pastes.pasted_widths
    torch.testing.assert_close(
        aspect[lowered], (pastes.source_heights.double() / pastes.source_widths)[lowered], rtol=0.1, atol=0
    )
    for corner, extent, length in (
        (pastes.top, pastes.pasted_heights, side),
        (pastes.source_left, pastes.source_widths, side),
    ):
        assert corner.min() >= 0 and (corner + extent).max() <= length


def test_seamless_paste_lands_on_the_foreground():
    batch, size = 80, (64, 64)
    images = torch.rand(batch, 3, *size, generator=generator(11))
    foreground = torch.zeros(size, dtype=torch.bool)
    foreground[20:60, 10:50] = True  # every pasted box (at most 26 px a side) fits on it
    _, mask = N.seamless_paste(images, generator(12), foreground=foreground, min_overlap=0.7)
    for b in range(batch):
        top, left, h, w = bbox(mask[b, 0])
        box = torch.zeros(size, dtype=torch.bool)
        box[top - 1 : top + h + 1, left - 1 : left + w + 1] = True  # the inside, with its ring
        assert (box & foreground).sum() >= 0.7 * box.sum()


# ---------------------------------------------------------------- Perlin noise and regions


@pytest.mark.parametrize("size", [(64, 64), (48, 40)])
def test_perlin_noise_is_zero_on_its_lattice_and_within_minus_one_to_one(size):
    batch = 300
    g = generator(13)
    cells = (2 ** torch.randint(0, 4, (batch,), generator=g), 2 ** torch.randint(0, 4, (batch,), generator=g))
    noise = N.perlin_noise(g, size, cells, torch.zeros(batch, dtype=torch.float64))
    assert noise.shape == (batch, *size) and noise.abs().max() <= 1
    assert noise.min() < -0.85 and noise.max() > 0.85 and 0.25 < noise.std() < 0.35
    for b in range(batch):
        rows = [i for i in range(size[0]) if i * int(cells[0][b]) % size[0] == 0]
        cols = [j for j in range(size[1]) if j * int(cells[1][b]) % size[1] == 0]
        assert noise[b][rows][:, cols].abs().max() == 0  # every lattice node
        assert noise[b].abs().max() > 0.1


def test_perlin_noise_frequency_follows_the_cells_along_each_axis():
    """A smooth field with r cells over the side changes by about r / side per pixel: doubling the cells along one
    axis doubles the mean step along that axis only."""
    batch, side = 400, 128
    steps = {}
    for rows, cols in ((2, 2), (2, 8), (8, 2)):
        cells = (torch.full((batch,), rows), torch.full((batch,), cols))
        noise = N.perlin_noise(generator(14), (side, side), cells, torch.zeros(batch, dtype=torch.float64))
        steps[rows, cols] = (noise.diff(dim=1).abs().mean().item(), noise.diff(dim=2).abs().mean().item())
    assert steps[2, 8][1] / steps[2, 2][1] == pytest.approx(4, rel=0.1)
    assert steps[8, 2][0] / steps[2, 2][0] == pytest.approx(4, rel=0.1)
    assert steps[2, 8][0] / steps[2, 2][0] == pytest.approx(1, rel=0.1)


def test_perlin_noise_rotates_about_the_image_centre():
    """A quarter turn of a square field is the unrotated field with its pixels turned (the same gradients: one seed);
    at 45 degrees the corners come from outside the field and are 0."""
    batch, side = 6, 32
    cells = (torch.full((batch,), 4), torch.full((batch,), 2))
    plain = N.perlin_noise(generator(15), (side, side), cells, torch.zeros(batch, dtype=torch.float64))
    turned = N.perlin_noise(generator(15), (side, side), cells, torch.full((batch,), math.pi / 2, dtype=torch.float64))
    index = torch.arange(side)
    expected = plain[:, index.view(1, -1), (side - 1 - index).view(-1, 1)]  # turned[r, c] = plain[c, side - 1 - r]
    torch.testing.assert_close(turned, expected, atol=1e-5, rtol=0)
    tilted = N.perlin_noise(generator(15), (side, side), cells, torch.full((batch,), math.pi / 4, dtype=torch.float64))
    assert tilted[:, :3, :3].abs().max() == 0 and tilted[:, -3:, -3:].abs().max() == 0


def test_perlin_lattices_are_draem_s_scales_without_cells_under_min_cell():
    """2^k cells, k uniform over DRAEM's 0 ... 5, leaving out cells under 4 px: all six at 256 px, 0 ... 4 at 64 px."""
    draws = 6000
    for side, top in ((256, 5), (64, 4), (16, 2)):
        cells = N._lattice(generator(16), draws, side, 0, 6, 4)
        counts = torch.bincount(torch.log2(cells.double()).long(), minlength=top + 1)
        assert len(counts) == top + 1 and side / cells.max() >= 4
        expected = draws / (top + 1)
        assert all(abs(int(count) - expected) < 5 * math.sqrt(expected) for count in counts)


def test_perlin_regions_are_never_empty_and_stay_on_the_foreground(monkeypatch):
    batch, size = 400, (64, 64)
    regions = N.perlin_regions(generator(17), batch, size)
    assert regions.shape == (batch, 1, *size) and regions.dtype == torch.bool
    assert regions.flatten(1).any(1).all()
    share = regions.flatten(1).double().mean(1)
    assert 0.03 < share.mean() < 0.15 and share.max() > 0.2  # DRAEM's regions: a few blobs to a large patch
    foreground = torch.zeros(1, 1, *size, dtype=torch.bool)
    foreground[..., 40:56, 8:20] = True
    on = N.perlin_regions(generator(17), batch, size, foreground=foreground)
    assert on.flatten(1).any(1).all() and not (on & ~foreground).any()
    monkeypatch.setattr(N, "REGION_ROUNDS", 1)  # the fallback: the pixels where the noise is highest
    rare = N.perlin_regions(generator(18), batch, size, threshold=0.95)
    assert rare.flatten(1).any(1).all() and rare.flatten(1).sum(1).min() >= 1


# ---------------------------------------------------------------- Perlin paste


@pytest.mark.parametrize("source", N.SOURCES)
def test_perlin_paste_fills_the_region_from_the_drawn_image_rolled(source):
    """With beta (0, 0) the region shows the source image alone: decode each changed pixel's (row, col, sample):
    the drawn image (another one for "other"), shifted by one non-zero offset per sample, exactly on the region."""
    batch, size = 40, (48, 40)
    images = coded(batch, *size)
    augmented, mask = N.perlin_paste(images, generator(19), source=source, beta=(0, 0))
    replay = generator(19)
    sources = N.source_indices(replay, batch, source)
    replay_shifts = randint(replay, torch.full((batch,), size[0] * size[1] - 1))
    uniform(replay, batch, 0.0, 0.0)
    regions = N.perlin_regions(replay, batch, size)
    assert torch.equal(mask, regions) and torch.equal(mask, changed(images, augmented))
    rows, cols = torch.meshgrid(torch.arange(size[0]), torch.arange(size[1]), indexing="ij")
    for b in range(batch):
        where = mask[b, 0]
        from_rows, from_cols, samples = decode(augmented[b][:, where], batch, *size)
        assert (samples == sources[b]).all() and (samples == b).all() == (source == "same")
        down, across = (rows[where] - from_rows) % size[0], (cols[where] - from_cols) % size[1]
        assert (down == down[0]).all() and (across == across[0]).all() and (down[0], across[0]) != (0, 0)
        shift = 1 + int(replay_shifts[b])
        assert (int(down[0]), int(across[0])) == (shift // size[1], shift % size[1])


def test_perlin_paste_blends_with_draem_s_beta():
    """The same seed with beta (0, 0) and DRAEM's (0, 0.8) draws the same regions and sources, so each pixel's change
    is (1 - β) times the unblended one: β uniform over [0, 0.8) per sample, one per image."""
    batch = 300
    images = torch.rand(batch, 3, 32, 32, generator=generator(20))
    full, full_mask = N.perlin_paste(images, generator(21), beta=(0, 0))
    blended, mask = N.perlin_paste(images, generator(21))
    assert torch.equal(mask, full_mask)
    clear = (full - images).abs() > 0.05  # where the ratio is not float32 rounding
    per_image = [(blended - images)[b][clear[b]] / (full - images)[b][clear[b]] for b in range(batch)]
    assert all((ratio - ratio.mean()).abs().max() < 1e-4 for ratio in per_image)
    beta = 1 - torch.stack([ratio.mean() for ratio in per_image])
    assert beta.min() >= -1e-4 and beta.max() < 0.8
    assert beta.min() < 0.05 and beta.max() > 0.75 and abs(float(beta.mean()) - 0.4) < 0.05


# ---------------------------------------------------------------- shared contract

FAKES = list(N.NATURAL_FAKES)


def run(name: str, images: torch.Tensor, seed: int, **options) -> tuple[torch.Tensor, torch.Tensor]:
    return N.NATURAL_FAKES[name](images, generator(seed), **options)


@pytest.mark.parametrize("name", FAKES)
@pytest.mark.parametrize("shape", [(5, 1, 40, 96), (5, 3, 96, 40), (5, 1, 64, 48), (3, 3, 16, 16)])
def test_shapes_channels_and_input_untouched(name, shape):
    images = torch.rand(*shape, generator=generator(22))
    before = images.clone()
    augmented, mask = run(name, images, 6)
    assert torch.equal(images, before)
    assert augmented.shape == images.shape and augmented.dtype == images.dtype
    assert augmented.min() >= 0 and augmented.max() <= 1
    assert mask.shape == (shape[0], 1, *shape[2:]) and mask.dtype == torch.bool
    assert torch.equal(mask, changed(images, augmented)) and mask.any(dim=(1, 2, 3)).all()


@pytest.mark.parametrize("name", FAKES)
def test_same_seed_same_output_different_seed_different(name):
    images = torch.rand(16, 3, 32, 40, generator=generator(23))
    first, second, other = run(name, images, 1), run(name, images, 1), run(name, images, 2)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize("name", FAKES)
@pytest.mark.parametrize("source", N.SOURCES)
def test_a_sample_depends_on_another_image_only_through_its_drawn_source(name, source):
    """Editing image 3 changes sample 3 and the samples whose source is image 3 (the first draw), and no other."""
    images = torch.rand(16, 3, 32, 40, generator=generator(24))
    edited = images.clone()
    edited[3] = torch.rand(3, 32, 40, generator=generator(25))
    original, _ = run(name, images, 4, source=source)
    after_edit, _ = run(name, edited, 4, source=source)
    sources = N.source_indices(generator(4), 16, source)
    touched = (torch.arange(16) == 3) | (sources == 3)
    differs = (original != after_edit).flatten(1).any(1)
    assert torch.equal(differs, touched) and (touched.sum() > 1) == (source == "other")


@pytest.mark.parametrize("name", FAKES)
def test_a_batch_of_one_takes_its_source_from_itself(name):
    """No other image to take a source from: the documented fallback is the image itself, as source="same"."""
    image = torch.rand(1, 3, 48, 48, generator=generator(26))
    alone, mask = run(name, image, 7)
    assert torch.equal(alone, run(name, image, 7, source="same")[0]) and mask.any()


@pytest.mark.parametrize("name", FAKES)
def test_an_all_true_foreground_changes_nothing(name):
    images = torch.rand(6, 3, 40, 40, generator=generator(27))
    everywhere = torch.ones(40, 40, dtype=torch.bool)
    assert torch.equal(run(name, images, 8)[0], run(name, images, 8, foreground=everywhere)[0])


BAD_CALLS = [
    (N.seamless_paste, dict(source="next"), "source"),
    (N.perlin_paste, dict(source=1), "source"),
    (N.seamless_paste, dict(half_width=(0, 0.2)), "half_width"),
    (N.seamless_paste, dict(half_width=(0.2, 0.6)), "half_width"),
    (N.seamless_paste, dict(scale=(1.3, 0.7)), "scale"),
    (N.seamless_paste, dict(min_overlap=0), "min_overlap"),
    (N.perlin_paste, dict(beta=(0, 1)), "beta"),
    (N.perlin_paste, dict(beta=(-0.1, 0.5)), "beta"),
    (N.perlin_paste, dict(threshold=1), "threshold"),
    (N.perlin_paste, dict(min_overlap=1.5), "min_overlap"),
]


@pytest.mark.parametrize("fake, params, name", BAD_CALLS)
def test_bad_parameters_raise_naming_them(fake, params, name):
    with pytest.raises(ValueError, match=f"{name}="):
        fake(torch.rand(2, 3, 32, 32), generator(), **params)


def test_bad_images_and_scales_raise():
    with pytest.raises(ValueError, match="images"):
        N.seamless_paste(torch.rand(2, 3, 2, 8), generator())
    with pytest.raises(ValueError, match="images"):
        N.perlin_paste(torch.rand(2, 2, 16, 16), generator())
    with pytest.raises(ValueError, match="scales="):
        N.perlin_regions(generator(), 2, (16, 16), scales=(3, 3))
