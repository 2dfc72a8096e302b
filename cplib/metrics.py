"""Evaluation metrics for anomaly detection: image/pixel AUROC, per-defect AUROC, AUPRO, thresholds.

Conventions: label 1 / mask True = anomalous; higher score = more anomalous; a sample is flagged
when its score is >= the threshold. Inputs may be NumPy arrays, lists or torch tensors.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage
from scipy.integrate import trapezoid
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

from cplib.density import to_numpy

# 8-connectivity inside each image, none across the image axis; MVTec AD's reference PRO code also uses 8.
_REGION_STRUCTURE = np.zeros((3, 3, 3), dtype=bool)
_REGION_STRUCTURE[1] = True


class MasksMissing(ValueError):
    """Raised by pixel metrics when a dataset has no ground-truth masks."""


def _binary(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a bool array, refusing anything but bool or 0/1 so 0/255 masks are caught."""
    array = to_numpy(values, dtype=None)
    if not np.isin(array, (0, 1)).all():
        raise ValueError(
            f"{name} must be binary (bool or 0/1, 1 = anomalous); got values {np.unique(array)[:5]}...: "
            f"convert with {name} > 0"
        )
    return array.astype(bool)


def _finite_scores(values: Any, name: str) -> np.ndarray:
    """Return ``values`` as a finite float64 array, or raise naming the NaN/inf problem."""
    scores = to_numpy(values)
    if not np.isfinite(scores).all():
        raise ValueError(f"{name} contain NaN or inf values")
    return scores


def _labels_and_scores(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate 1-D binary labels and finite scores of equal length with both classes present."""
    y, s = _binary(labels, "labels"), _finite_scores(scores, "scores")
    if y.ndim != 1 or s.shape != y.shape:
        raise ValueError(f"labels and scores must be 1-D of equal length; got shapes {y.shape} and {s.shape}")
    _check_both_classes(y, "labels")
    return y, s


def _check_both_classes(y: np.ndarray, name: str) -> None:
    """Refuse ranking metrics that are undefined without both normal and anomalous samples."""
    if y.all() or not y.any():
        present = "anomalous (1)" if y.any() else "normal (0)"
        raise ValueError(f"{name} contain only {present} samples; the metric needs both normal and anomalous ones")


def image_auroc(labels: Any, scores: Any) -> float:
    """Image-level AUROC: probability that an anomalous image scores above a normal one (ties count half).

    Parameters
    ----------
    labels : array-like of int
        1 for an anomalous image, 0 for a normal one; both must occur.
    scores : array-like of float
        Anomaly scores, higher = more anomalous, one per image.

    Returns
    -------
    float
        The AUROC in [0, 1].
    """
    y, s = _labels_and_scores(labels, scores)
    return float(roc_auc_score(y, s))


def per_defect_auroc(defect_types: Any, labels: Any, scores: Any, good: str = "good") -> dict[str, float]:
    """AUROC of each defect type's images against all good images, keyed by defect type (sorted)."""
    types = np.asarray(defect_types, dtype=str)
    y, s = _binary(labels, "labels"), _finite_scores(scores, "scores")
    if not types.shape == y.shape == s.shape or types.ndim != 1:
        raise ValueError(
            f"defect_types, labels and scores must be 1-D of equal length; got {types.shape}, {y.shape}, {s.shape}"
        )
    if not np.array_equal(y, types != good):
        raise ValueError(
            f"labels disagree with defect_types: images of type {good!r} must have label 0 and all others 1; "
            f"check good= (types present: {sorted(set(types.tolist()))})"
        )
    is_good = types == good
    if not is_good.any():
        raise ValueError(f"no images of type {good!r}; per-defect AUROC compares each defect type with them")
    compared = {t: is_good | (types == t) for t in sorted(set(types[~is_good].tolist()))}
    return {defect: image_auroc(y[rows], s[rows]) for defect, rows in compared.items()}


def roc_points(labels: Any, scores: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC curve (fpr, tpr, thresholds) for plotting; the first threshold is +inf (nothing flagged)."""
    fpr, tpr, thresholds = roc_curve(*_labels_and_scores(labels, scores))
    return fpr.astype(np.float64), tpr.astype(np.float64), thresholds.astype(np.float64)


def _masks_and_maps(masks: Any, maps: Any, metric: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate ground-truth masks (N, H, W) and anomaly maps of the same shape."""
    if masks is None:
        raise MasksMissing(
            f"{metric} needs ground_truth masks, but masks is None (this dataset has no ground_truth folder); "
            f"report image-level metrics only"
        )
    m, a = _binary(masks, "masks"), _finite_scores(maps, "maps")
    if m.ndim != 3 or m.shape != a.shape:
        raise ValueError(
            f"masks and maps must both have shape (N, H, W); got {m.shape} and {a.shape}: "
            f"resize the anomaly maps to the mask resolution first"
        )
    return m, a


def pixel_auroc(masks: Any, maps: Any) -> float:
    """Pixel-level AUROC over all pixels of all images (masks (N, H, W) bool, maps (N, H, W)).

    Parameters
    ----------
    masks : array-like of bool
        Ground-truth masks (N, H, W), True on defective pixels; both classes must occur.
    maps : array-like of float
        Anomaly maps (N, H, W), higher = more anomalous.

    Returns
    -------
    float
        The AUROC in [0, 1].
    """
    m, a = _masks_and_maps(masks, maps, "pixel_auroc")
    _check_both_classes(m, "masks")
    return float(roc_auc_score(m.ravel(), a.ravel()))


def aupro(masks: Any, maps: Any, max_fpr: float = 0.3, num_thresholds: int | None = None) -> float:
    """Normalised area under the per-region-overlap (PRO) curve for FPR in [0, max_fpr]; 1.0 = perfect.

    Regions are the 8-connected components of each ground-truth mask. At threshold t, PRO is the mean
    over all regions of the fraction of the region's pixels with map >= t, and FPR the fraction of all
    normal pixels with map >= t. The curve is integrated by trapezoids up to max_fpr (interpolated there)
    and divided by max_fpr. ``num_thresholds=None`` uses every distinct map value (exact); an integer
    uses that many evenly spaced thresholds between the map's max and min, as some toolkits do.

    Parameters
    ----------
    masks : array-like of bool
        Ground-truth masks (N, H, W), True on defective pixels.
    maps : array-like of float
        Anomaly maps (N, H, W), higher = more anomalous.
    max_fpr : float, default 0.3
        The false-positive rate up to which the curve is integrated, in (0, 1].
    num_thresholds : int or None, default None
        Evenly spaced thresholds to use (2 or more); None: every distinct map value.

    Returns
    -------
    float
        The normalised area in [0, 1].
    """
    m, a = _masks_and_maps(masks, maps, "aupro")
    if not 0 < max_fpr <= 1:
        raise ValueError(f"max_fpr must be in (0, 1]; got {max_fpr}")
    if num_thresholds is not None and num_thresholds < 2:
        raise ValueError(f"num_thresholds must be >= 2 or None (exact); got {num_thresholds}")
    fpr, pro = pro_curve(m, a, num_thresholds)
    return _partial_area(fpr, pro, max_fpr) / max_fpr


def pro_curve(masks: np.ndarray, maps: np.ndarray, num_thresholds: int | None) -> tuple[np.ndarray, np.ndarray]:
    """FPR and PRO at descending thresholds, from one sort and cumulative per-pixel weights."""
    regions, n_regions = ndimage.label(masks, structure=_REGION_STRUCTURE)
    if n_regions == 0:
        raise ValueError("aupro needs at least one defective region, but every mask is empty")
    regions, scores = regions.ravel(), maps.ravel()
    sizes = np.bincount(regions)
    if sizes[0] == 0:
        raise ValueError("aupro needs normal (mask == 0) pixels to measure the false-positive rate; none found")
    order = np.argsort(-scores, kind="stable")
    sorted_regions = regions[order]
    is_normal = sorted_regions == 0
    fpr_steps = is_normal / sizes[0]
    pro_steps = np.where(is_normal, 0.0, 1.0 / (n_regions * sizes[sorted_regions]))
    descending = scores[order]
    if num_thresholds is None:
        thresholds = np.unique(scores)[::-1]
    else:
        thresholds = np.linspace(descending[0], descending[-1], num_thresholds)
    n_flagged = np.concatenate([[0], np.searchsorted(-descending, -thresholds, side="right")])  # +inf flags none
    return _cumulative_at(fpr_steps, n_flagged), _cumulative_at(pro_steps, n_flagged)


def _cumulative_at(steps: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sums of the first ``counts`` steps, for each count."""
    return np.concatenate([[0.0], np.cumsum(steps)])[counts]


def _partial_area(x: np.ndarray, y: np.ndarray, x_max: float) -> float:
    """Trapezoid area under y(x) (x non-decreasing, from 0) up to x_max, interpolating the point at x_max."""
    end = np.searchsorted(x, x_max, side="right")
    y_end = np.interp(x_max, x[end - 1 : end + 1], y[end - 1 : end + 1])
    return float(trapezoid(np.append(y[:end], y_end), np.append(x[:end], x_max)))


def best_f1_threshold(labels: Any, scores: Any) -> tuple[float, float]:
    """Threshold maximising F1 on labelled data (score >= threshold = anomalous), and that F1."""
    precision, recall, thresholds = precision_recall_curve(*_labels_and_scores(labels, scores))
    denominator = precision + recall
    f1 = np.divide(2 * precision * recall, denominator, out=np.zeros_like(denominator), where=denominator > 0)
    best = int(np.argmax(f1[:-1]))  # the last (precision 1, recall 0) point has no threshold
    return float(thresholds[best]), float(f1[best])


def percentile_threshold(normal_scores: Any, percentile: float = 99.0) -> float:
    """Threshold from normal scores only: about (100 - percentile)% of normal images score above it."""
    scores = _finite_scores(normal_scores, "normal_scores").ravel()
    if scores.size == 0:
        raise ValueError("normal_scores is empty; pass the anomaly scores of held-out normal images")
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must be in [0, 100]; got {percentile}")
    return float(np.percentile(scores, percentile))
