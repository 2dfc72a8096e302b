"""What the representation learned: t-SNE maps of normal, synthetic and real anomalies, and measures behind them.

The paper's Figure 3 shows 3-way embeddings in which CutPaste and scar views barely overlap the real defects, yet
all groups separate from the normal images. A picture can mislead (t-SNE distorts distances), so the measures
here work in the ORIGINAL 512-d feature space: leave-one-out k-nearest-neighbour (kNN) classification for how
well two groups separate, and the share of a group's nearest neighbours that fall in another group for how
much they overlap. The t-SNE figures are drawn by `cplib.plots.embedding_figure`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.manifold import TSNE
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from .augment import cutpaste, cutpaste_scar
from .data import Split
from .evaluate import extract_features
from .model import CutPasteNet

GROUPS = ("train normal", "test normal", "CutPaste", "CutPaste-Scar", "real defect")
NORMAL, SYNTHETIC, DEFECT = ("train normal", "test normal"), ("CutPaste", "CutPaste-Scar"), ("real defect",)


def _check_k(k: int, n_points: int) -> int:
    """Return k, or raise a ValueError naming it and the range the number of points allows."""
    if not (isinstance(k, int) and 1 <= k <= n_points - 1):
        raise ValueError(f"k={k!r}: must be a whole number in [1, {n_points - 1}] (points - 1)")
    return k


# ---------------------------------------------------------------- the groups and their features


def group_images(train: Split, test: Split, count: int = 50, seed: int = 0) -> tuple[torch.Tensor, np.ndarray]:
    """Images (N, C, H, W) and group index per image (N,): `count` training normals, CutPaste views of `count`
    other training normals and CutPaste-Scar views (the 3-way model's third class, not the Scar baseline) of
    `count` more (three disjoint seeded subsets), the test normals and every real test defect.

    Disjoint sources matter: a CutPaste view is its source image plus a patch, so with shared sources every
    synthetic point would have its own source as nearest neighbour, and kNN would call the groups mixed.
    """
    if not 1 <= 3 * count <= len(train):
        raise ValueError(
            f"count={count}: must lie in [1, {len(train) // 3}] (three disjoint thirds of the training images)"
        )
    generator = torch.Generator().manual_seed(seed)
    normals, cut_sources, scar_sources = train.images[
        torch.randperm(len(train), generator=generator)[: 3 * count]
    ].split(count)
    members = [
        normals,
        test.images[test.labels == 0],
        cutpaste(cut_sources, generator)[0],
        cutpaste_scar(scar_sources, generator)[0],
        test.images[test.labels == 1],
    ]
    groups = np.concatenate([np.full(len(images), index) for index, images in enumerate(members)])
    return torch.cat(members), groups


@dataclass
class Embedding:
    """One model's 512-d features of one category's groups, the group of each point, and their 2-d t-SNE map."""

    features: np.ndarray
    groups: np.ndarray
    points: np.ndarray


def embed(model: CutPasteNet, train: Split, test: Split, count: int = 50, seed: int = 0) -> Embedding:
    """Features of `group_images` from a model's encoder (the 512-d pooled features the density uses), and t-SNE."""
    images, groups = group_images(train, test, count, seed)
    features = extract_features(model, images)
    return Embedding(features, groups, tsne(features, seed))


def tsne(features: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """2-d t-SNE of features (N, D): PCA initialisation and a fixed seed make it repeatable; perplexity is capped
    at (N - 1) / 3 so that small sets work (scikit-learn needs perplexity < N).

    Runs on one thread: for a few hundred points the OpenMP threads only add overhead, and on a busy CPU they
    made it ten times slower (23 s against 2 s for 270 points on 2 shared cores).
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 4:
        raise ValueError(f"features: expected (N, D) with N >= 4, got shape {features.shape}")
    perplexity = min(perplexity, (len(features) - 1) / 3)
    model = TSNE(n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=seed)
    with threadpool_limits(1):
        return model.fit_transform(features)


def closest_pair(embedding: Embedding, first: str = "CutPaste", second: str = "real defect") -> tuple[int, int]:
    """Indices (into the embedding's points) of the member of group `first` and the member of group `second` that lie
    nearest each other in the original feature space: the synthetic view that most resembles a real defect."""
    chosen = [np.flatnonzero(embedding.groups == GROUPS.index(name)) for name in (first, second)]
    if not all(len(members) for members in chosen):
        raise ValueError(f"closest_pair: groups {first!r} and {second!r} both need points in this embedding")
    model = NearestNeighbors(n_neighbors=1).fit(embedding.features[chosen[1]])
    distances, nearest = model.kneighbors(embedding.features[chosen[0]])
    best = int(np.argmin(distances[:, 0]))
    return int(chosen[0][best]), int(chosen[1][nearest[best, 0]])


# ---------------------------------------------------------------- measures in feature space


def _neighbours(features: np.ndarray, k: int) -> np.ndarray:
    """Indices (N, k) of each point's k nearest other points (Euclidean), nearest first, the point itself left out."""
    features = np.asarray(features, dtype=np.float64)
    _check_k(k, len(features))
    return NearestNeighbors(n_neighbors=k).fit(features).kneighbors(return_distance=False)


def loo_knn_predict(features: np.ndarray, labels: np.ndarray, k: int = 5) -> np.ndarray:
    """Leave-one-out kNN label of every point: the majority label among its k nearest other points; a tie goes to
    the tied label that occurs nearest."""
    labels = np.asarray(labels)
    neighbour_labels = labels[_neighbours(features, k)]
    classes = np.unique(labels)
    hits = neighbour_labels[:, :, None] == classes  # (N, k, classes)
    votes = hits.sum(axis=1)
    first = np.where(hits.any(axis=1), hits.argmax(axis=1), k)  # rank of the nearest neighbour of each class
    return classes[np.argmax(votes * (k + 1) + (k - first), axis=1)]


def neighbour_shares(features: np.ndarray, labels: np.ndarray, k: int = 5) -> np.ndarray:
    """shares[a, b]: mean over the points of label a of the share of their k nearest other points with label b
    (labels 0..G-1; each row sums to 1). shares[a, b] well above b's share of the data means a and b overlap."""
    labels = np.asarray(labels)
    count = labels.max() + 1
    if labels.min() < 0 or len(np.unique(labels)) != count:
        raise ValueError(f"labels: expected every label 0..G-1 to occur, got {np.unique(labels).tolist()}")
    neighbour_labels = labels[_neighbours(features, k)]
    per_point = np.stack([(neighbour_labels == b).mean(axis=1) for b in range(count)], axis=1)
    return np.stack([per_point[labels == a].mean(axis=0) for a in range(count)])


def separability(features: np.ndarray, labels: np.ndarray, first: list[int], second: list[int], k: int = 5) -> float:
    """Balanced leave-one-out kNN accuracy of telling the points with a label in `first` from those in `second`,
    using only those points: 0.5 means inseparable, 1.0 fully separate."""
    labels = np.asarray(labels)
    chosen = np.isin(labels, first) | np.isin(labels, second)
    side = np.isin(labels[chosen], second).astype(int)
    if not (side.any() and not side.all()):
        raise ValueError(f"first={first}, second={second}: both need points among labels {np.unique(labels)}")
    predicted = loo_knn_predict(np.asarray(features)[chosen], side, k)
    return float(np.mean([np.mean(predicted[side == s] == s) for s in (0, 1)]))


def _indices(names: tuple[str, ...]) -> list[int]:
    return [GROUPS.index(name) for name in names]


@dataclass(frozen=True)
class Measures:
    """The paper's Figure 3 claims as numbers (512-d space, k nearest neighbours).

    defect_to_synthetic: share of real defects' neighbours that are CutPaste or CutPaste-Scar views; chance: that share
    if neighbours were drawn at random. The *_vs_* fields are balanced leave-one-out kNN accuracies (0.5 = mixed).
    """

    defect_to_synthetic: float
    chance: float
    normal_vs_synthetic: float
    normal_vs_defect: float
    synthetic_vs_defect: float
    train_vs_test_normal: float


def measures(embedding: Embedding, k: int = 5) -> Measures:
    """Overlap and separability of the groups of an embedding, in its original feature space."""
    features, groups = embedding.features, embedding.groups
    shares = neighbour_shares(features, groups, k)
    defect, synthetic, normal = _indices(DEFECT), _indices(SYNTHETIC), _indices(NORMAL)
    return Measures(
        defect_to_synthetic=float(shares[defect[0], synthetic].sum()),
        chance=float(np.isin(groups, synthetic).sum() / (len(groups) - 1)),
        normal_vs_synthetic=separability(features, groups, normal, synthetic, k),
        normal_vs_defect=separability(features, groups, normal, defect, k),
        synthetic_vs_defect=separability(features, groups, synthetic, defect, k),
        train_vs_test_normal=separability(features, groups, normal[:1], normal[1:], k),
    )


def measures_table(rows: Mapping[str, Measures]) -> str:
    """A markdown table of Measures, one row per name (e.g. "capsule · 3-way")."""
    header = (
        "| | defect→synthetic neighbours (chance) | normal vs synthetic | normal vs defect | synthetic vs defect "
        "| train vs test normal |\n|---|---|---|---|---|---|"
    )
    lines = [header]
    for name, m in rows.items():
        lines.append(
            f"| {name} | {m.defect_to_synthetic:.2f} ({m.chance:.2f}) | {m.normal_vs_synthetic:.2f} | "
            f"{m.normal_vs_defect:.2f} | {m.synthetic_vs_defect:.2f} | {m.train_vs_test_normal:.2f} |"
        )
    return "\n".join(lines)
