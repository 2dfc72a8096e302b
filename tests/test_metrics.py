"""Tests for cplib.metrics against brute-force references written here."""

import numpy as np
import pytest
import torch
from scipy import ndimage
from scipy.integrate import trapezoid
from sklearn.metrics import roc_auc_score

from cplib.metrics import (
    MasksMissing,
    aupro,
    best_f1_threshold,
    image_auroc,
    per_defect_auroc,
    percentile_threshold,
    pixel_auroc,
    roc_points,
)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, fresh for every test."""
    return np.random.default_rng(0)


def pairwise_auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Fraction of (anomalous, normal) pairs ranked correctly, ties counting half."""
    positives, negatives = scores[labels == 1], scores[labels == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def labelled_scores(rng: np.random.Generator, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Binary labels with integer (hence tied) scores that lean higher for anomalies."""
    labels = rng.integers(0, 2, size=n)
    return labels, rng.integers(0, 6, size=n) + 2 * labels


def test_image_auroc_matches_pairwise_count(rng):
    labels, scores = labelled_scores(rng)
    assert image_auroc(labels, scores) == pytest.approx(pairwise_auroc(labels, scores))
    assert image_auroc(torch.tensor(labels), torch.tensor(scores, dtype=torch.float32)) == pytest.approx(
        pairwise_auroc(labels, scores)
    )


def test_image_auroc_errors():
    with pytest.raises(ValueError, match="only normal"):
        image_auroc([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="only anomalous"):
        image_auroc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="binary"):
        image_auroc([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="equal length"):
        image_auroc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        image_auroc([0, 1], [0.1, np.nan])


def test_per_defect_auroc_compares_each_type_with_all_good(rng):
    types = np.array(["good"] * 20 + ["crack"] * 10 + ["scratch"] * 8 + ["hole"] * 5)
    labels = (types != "good").astype(int)
    scores = rng.normal(size=len(types)) + (types == "crack") * 3.0 - (types == "hole") * 3.0
    result = per_defect_auroc(list(types), labels, scores)
    assert list(result) == ["crack", "hole", "scratch"] and all(type(key) is str for key in result)
    for defect, value in result.items():
        subset = (types == "good") | (types == defect)
        assert value == pytest.approx(pairwise_auroc(labels[subset], scores[subset]))
    assert result["crack"] > 0.9 and result["hole"] < 0.1


def test_per_defect_auroc_errors():
    types = ["ok", "ok", "crack"]
    with pytest.raises(ValueError, match="check good="):
        per_defect_auroc(types, [0, 0, 1], [0.1, 0.2, 0.9])
    with pytest.raises(ValueError, match="no images of type 'ok'"):
        per_defect_auroc(["crack", "hole"], [1, 1], [0.1, 0.2], good="ok")
    assert per_defect_auroc(types, [0, 0, 1], [0.1, 0.2, 0.9], good="ok") == {"crack": 1.0}


def test_roc_points_trace_the_auroc(rng):
    labels, scores = labelled_scores(rng)
    fpr, tpr, thresholds = roc_points(labels, scores)
    assert (fpr[0], tpr[0], fpr[-1], tpr[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0) and np.all(np.diff(thresholds) < 0)
    assert trapezoid(tpr, fpr) == pytest.approx(pairwise_auroc(labels, scores))
    k = len(thresholds) // 2
    flagged = scores >= thresholds[k]
    assert (flagged[labels == 0].mean(), flagged[labels == 1].mean()) == pytest.approx((fpr[k], tpr[k]))


def random_masks(rng: np.random.Generator, n: int, size: int, rectangles: int) -> np.ndarray:
    """Masks with several random rectangles per image (some overlapping, some touching only diagonally)."""
    masks = np.zeros((n, size, size), dtype=bool)
    for image in range(n):
        for _ in range(rng.integers(0, rectangles + 1)):
            top, left = rng.integers(0, size - 2, size=2)
            height, width = rng.integers(1, 5, size=2)
            masks[image, top : top + height, left : left + width] = True
    masks[0, 0, 0] = masks[0, 1, 1] = True  # a diagonal pair: one region with 8-connectivity
    return masks


def region_values(masks: np.ndarray, maps: np.ndarray) -> list[np.ndarray]:
    """Map values of every 8-connected ground-truth region, image by image."""
    values = []
    for mask, anomaly_map in zip(masks, maps):
        labelled, count = ndimage.label(mask, structure=np.ones((3, 3)))
        values += [anomaly_map[labelled == r] for r in range(1, count + 1)]
    return values


def brute_force_aupro(masks: np.ndarray, maps: np.ndarray, max_fpr: float, thresholds: np.ndarray) -> float:
    """PRO and FPR threshold by threshold and region by region, then a clipped trapezoid sum."""
    regions, normal = region_values(masks, maps), maps[~masks]
    points = [(0.0, 0.0)]
    for t in sorted(thresholds, reverse=True):
        points.append((np.mean(normal >= t), np.mean([np.mean(values >= t) for values in regions])))
    area = 0.0
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if x0 >= max_fpr:
            break
        if x1 > max_fpr:
            y1, x1 = y0 + (y1 - y0) * (max_fpr - x0) / (x1 - x0), max_fpr
        area += (x1 - x0) * (y0 + y1) / 2
    return area / max_fpr


def smooth_maps(rng: np.random.Generator, masks: np.ndarray, decimals: int | None) -> np.ndarray:
    """Noisy maps that are higher on defects; rounding makes many tied values."""
    maps = rng.uniform(size=masks.shape) + 0.6 * masks
    return maps if decimals is None else np.round(maps, decimals)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("max_fpr", [0.3, 0.05, 1.0])
@pytest.mark.parametrize("decimals", [None, 1])
def test_aupro_matches_brute_force(seed, max_fpr, decimals):
    rng = np.random.default_rng(seed)
    masks = random_masks(rng, 4, 12, 4)
    maps = smooth_maps(rng, masks, decimals)
    expected = brute_force_aupro(masks, maps, max_fpr, np.unique(maps))
    assert aupro(masks, maps, max_fpr=max_fpr) == pytest.approx(expected, rel=1e-9)


def test_aupro_with_fixed_thresholds_matches_brute_force(rng):
    masks = random_masks(rng, 3, 10, 3)
    maps = smooth_maps(rng, masks, None)
    thresholds = np.linspace(maps.max(), maps.min(), 15)
    expected = brute_force_aupro(masks, maps, 0.3, thresholds)
    assert aupro(masks, maps, num_thresholds=15) == pytest.approx(expected, rel=1e-9)
    assert aupro(masks, maps, num_thresholds=5000) == pytest.approx(aupro(masks, maps), abs=1e-2)


def test_aupro_reference_values():
    masks = np.zeros((2, 8, 8), dtype=bool)
    masks[0, 1:3, 1:3] = True
    masks[1, 2:8, 2:8] = True
    perfect = masks.astype(float)
    assert aupro(masks, perfect) == pytest.approx(1.0)
    assert aupro(masks, -perfect) == pytest.approx(0.0)
    assert aupro(masks, np.ones_like(perfect)) == pytest.approx(0.15)  # PRO = FPR: area 0.3²/2, over 0.3
    small_region_only = np.zeros_like(perfect)
    small_region_only[0, 1:3, 1:3] = 1.0  # PRO 0.5 however large the missed region is
    assert aupro(masks, small_region_only) == pytest.approx((0.5 + 0.5 + 0.5 * 0.3) / 2)


def test_aupro_counts_diagonal_neighbours_as_one_region():
    masks = np.zeros((1, 6, 6), dtype=bool)
    masks[0, 0, 0] = masks[0, 1, 1] = True
    masks[0, 4:6, 4:6] = True
    maps = np.zeros((1, 6, 6))
    maps[0, 0, 0] = 1.0  # half of the diagonal region: PRO 0.25 with 8-connectivity, 1/3 with 4
    assert aupro(masks, maps) == pytest.approx((0.25 + 0.25 + 0.75 * 0.3) / 2)


def test_aupro_errors(rng):
    masks = random_masks(rng, 2, 8, 2)
    with pytest.raises(MasksMissing, match="ground_truth"):
        aupro(None, rng.uniform(size=(2, 8, 8)))
    with pytest.raises(ValueError, match="defective region"):
        aupro(np.zeros((2, 8, 8), dtype=bool), rng.uniform(size=(2, 8, 8)))
    with pytest.raises(ValueError, match="max_fpr"):
        aupro(masks, rng.uniform(size=(2, 8, 8)), max_fpr=0.0)
    with pytest.raises(ValueError, match="resize"):
        aupro(masks, rng.uniform(size=(2, 8, 9)))


def test_pixel_auroc_matches_sklearn_on_flattened_pixels(rng):
    masks = random_masks(rng, 3, 10, 3)
    maps = smooth_maps(rng, masks, 1)
    assert pixel_auroc(masks, maps) == pytest.approx(roc_auc_score(masks.ravel(), maps.ravel()))
    from_torch = pixel_auroc(torch.tensor(masks), torch.tensor(maps))
    assert from_torch == pytest.approx(pairwise_auroc(masks.ravel(), maps.ravel()))


def test_pixel_auroc_errors(rng):
    maps = rng.uniform(size=(2, 4, 4))
    with pytest.raises(MasksMissing, match="ground_truth masks"):
        pixel_auroc(None, maps)
    assert issubclass(MasksMissing, ValueError)
    with pytest.raises(ValueError, match="masks > 0"):
        pixel_auroc(np.full((2, 4, 4), 255), maps)
    with pytest.raises(ValueError, match="resize"):
        pixel_auroc(np.zeros((2, 4, 5), dtype=bool), maps)
    with pytest.raises(ValueError, match="only normal"):
        pixel_auroc(np.zeros((2, 4, 4), dtype=bool), maps)


def test_best_f1_threshold_matches_brute_force(rng):
    labels, scores = labelled_scores(rng, 80)
    threshold, f1 = best_f1_threshold(labels, scores)

    def f1_at(t: float) -> float:
        flagged = scores >= t
        true_positives = np.sum(flagged & (labels == 1))
        return 2 * true_positives / (flagged.sum() + labels.sum())

    assert f1 == pytest.approx(max(f1_at(t) for t in np.unique(scores)))
    assert f1_at(threshold) == pytest.approx(f1)


def test_percentile_threshold_flags_the_expected_share_of_normals(rng):
    normal = rng.normal(size=20_000)
    for percentile in (99.0, 90.0):
        share_above = np.mean(normal > percentile_threshold(normal, percentile))
        assert share_above == pytest.approx(1 - percentile / 100, abs=1e-3)
    with pytest.raises(ValueError, match="percentile"):
        percentile_threshold(normal, 150)
    with pytest.raises(ValueError, match="empty"):
        percentile_threshold([], 99)
