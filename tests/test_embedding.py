"""t-SNE helpers and the kNN separability / overlap measures, checked against brute-force loops on small cases."""

from __future__ import annotations

from collections import Counter

import matplotlib
import numpy as np
import pytest
import torch

from cplib.data import load_split
from cplib.embedding import (
    GROUPS,
    Embedding,
    closest_pair,
    embed,
    group_images,
    loo_knn_predict,
    measures,
    measures_table,
    neighbour_shares,
    separability,
    tsne,
)
from cplib.model import CutPasteNet
from cplib.plots import embedding_figure, view_beside_defect_figure
from cplib.synthetic import Counts, write_dataset

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("data") / "default"
    return str(write_dataset(root, counts=Counts(train=6, test_good=3, test_per_defect=2)))


def clusters(sizes: tuple[int, ...], spread: float = 1.0, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters in 6-d, cluster i centred at 3·i along the first axis; features and labels."""
    rng = np.random.default_rng(seed)
    features = np.concatenate([rng.normal(0, spread, (n, 6)) + [3.0 * i, 0, 0, 0, 0, 0] for i, n in enumerate(sizes)])
    return features, np.repeat(np.arange(len(sizes)), sizes)


def brute_neighbours(features: np.ndarray, i: int, k: int) -> np.ndarray:
    distances = np.linalg.norm(features - features[i], axis=1)
    distances[i] = np.inf
    return np.argsort(distances, kind="stable")[:k]


def brute_predict(features: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    predicted = []
    for i in range(len(features)):
        nearest = labels[brute_neighbours(features, i, k)]
        votes = Counter(nearest.tolist())
        top = max(votes.values())
        tied = {label for label, count in votes.items() if count == top}
        predicted.append(next(label for label in nearest if label in tied))  # the tied label that occurs nearest
    return np.array(predicted)


# ---------------------------------------------------------------- measures against brute force


@pytest.mark.parametrize("k", [1, 2, 4, 5])
def test_loo_knn_matches_brute_force(k: int) -> None:
    features, labels = clusters((12, 9, 7), spread=2.0)
    np.testing.assert_array_equal(loo_knn_predict(features, labels, k), brute_predict(features, labels, k))


def test_a_tie_goes_to_the_nearest_label() -> None:
    features = np.array([[0.0], [1.0], [-2.0], [5.0]])
    labels = np.array([0, 1, 0, 1])
    assert loo_knn_predict(features, labels, 2)[0] == 1  # neighbours 1 (label 1) and -2 (label 0): label 1 is nearer


@pytest.mark.parametrize("k", [1, 3])
def test_neighbour_shares_match_brute_force(k: int) -> None:
    features, labels = clusters((10, 8, 6), spread=2.0, seed=1)
    expected = np.zeros((3, 3))
    for i in range(len(features)):
        for j in brute_neighbours(features, i, k):
            expected[labels[i], labels[j]] += 1 / (k * np.sum(labels == labels[i]))
    np.testing.assert_allclose(neighbour_shares(features, labels, k), expected)
    np.testing.assert_allclose(neighbour_shares(features, labels, k).sum(axis=1), 1.0)


def test_separability_matches_brute_force() -> None:
    features, labels = clusters((10, 8, 6, 9), spread=2.5, seed=2)
    chosen = np.isin(labels, [0, 1, 3])
    side = np.isin(labels[chosen], [3]).astype(int)
    predicted = brute_predict(features[chosen], side, 5)
    expected = np.mean([np.mean(predicted[side == s] == s) for s in (0, 1)])
    assert separability(features, labels, [0, 1], [3], k=5) == pytest.approx(expected)


def test_separate_clusters_score_one_and_mixed_ones_about_half() -> None:
    apart, labels = clusters((30, 30), spread=0.1)
    assert separability(apart, labels, [0], [1]) == 1.0
    mixed = np.random.default_rng(3).normal(size=(400, 6))
    assert abs(separability(mixed, np.repeat([0, 1], 200), [0], [1]) - 0.5) < 0.1


@pytest.mark.parametrize("k", [0, 10, 2.5])
def test_k_outside_its_range_is_a_value_error(k: float) -> None:
    features, labels = clusters((5, 5))
    with pytest.raises(ValueError, match="k="):
        loo_knn_predict(features, labels, k)


def test_separability_needs_both_sides() -> None:
    features, labels = clusters((5, 5))
    with pytest.raises(ValueError, match="second"):
        separability(features, labels, [0], [7])


def test_measures_of_a_known_layout() -> None:
    """Normals in one cluster, synthetic anomalies in another, real defects mixed into the synthetic ones."""
    features, clusters_of = clusters((40, 40), spread=0.3, seed=4)
    groups = np.array([0] * 20 + [1] * 20 + [2] * 15 + [3] * 10 + [4] * 15)
    result = measures(Embedding(features, groups, features[:, :2]), k=5)
    assert result.normal_vs_synthetic == 1.0 and result.normal_vs_defect == 1.0
    assert result.synthetic_vs_defect < 0.75 and result.defect_to_synthetic > result.chance
    assert result.chance == pytest.approx(25 / 79)
    assert "| capsule |" in measures_table({"capsule": result})


# ---------------------------------------------------------------- t-SNE and the groups


def test_tsne_shape_and_determinism() -> None:
    features, _ = clusters((15, 15), seed=5)
    first, second = tsne(features, seed=0), tsne(features, seed=0)
    assert first.shape == (30, 2)
    np.testing.assert_array_equal(first, second)
    assert not np.array_equal(first, tsne(features + np.random.default_rng(6).normal(0, 1e-3, features.shape), seed=0))


def test_tsne_rejects_too_few_points() -> None:
    with pytest.raises(ValueError, match="features"):
        tsne(np.zeros((3, 4)))


def test_groups_and_embedding_of_a_category(tiny_root: str) -> None:
    train, test = (load_split(tiny_root, "capsule", split, 32) for split in ("train", "test"))
    images, groups = group_images(train, test, count=2, seed=0)
    assert np.bincount(groups).tolist() == [2, 3, 2, 2, 6]
    assert images.shape == (15, 3, 32, 32)
    again, _ = group_images(train, test, count=2, seed=0)
    assert (images == again).all()
    sources = {tuple(image.flatten()[:8].tolist()) for image in images[groups == 0]}
    assert not any(tuple(image.flatten()[:8].tolist()) in sources for image in images[np.isin(groups, [2, 3])])
    embedding = embed(CutPasteNet(3).eval(), train, test, count=2, seed=0)
    assert embedding.features.shape == (15, 512) and embedding.points.shape == (15, 2)


def test_count_outside_the_training_set_is_a_value_error(tiny_root: str) -> None:
    train, test = (load_split(tiny_root, "weave", split, 32) for split in ("train", "test"))
    with pytest.raises(ValueError, match="count"):
        group_images(train, test, count=3)


def test_figure_has_one_panel_per_model_and_category() -> None:
    features, groups = clusters((4, 4, 4, 4, 4))
    embedding = Embedding(features, groups, features[:, :2])
    figure = embedding_figure({"3-way": {"weave": embedding, "capsule": embedding}, "random": {"weave": embedding}})
    assert len(figure.axes) == 4 and not figure.axes[3].axison
    assert [text.get_text() for text in figure.legends[0].get_texts()] == list(GROUPS)


def test_closest_pair_matches_a_brute_force_search_over_every_pair() -> None:
    draws = np.random.default_rng(3)
    for _ in range(30):
        sizes = tuple(int(n) for n in draws.integers(1, 7, size=len(GROUPS)))
        features, groups = clusters(sizes, spread=float(draws.uniform(0.5, 4.0)), seed=int(draws.integers(1 << 30)))
        embedding = Embedding(features, groups, features[:, :2])
        first, second = (np.flatnonzero(groups == GROUPS.index(name)) for name in ("CutPaste", "real defect"))
        distance = {(a, b): np.linalg.norm(features[a] - features[b]) for a in first for b in second}
        view, defect = closest_pair(embedding)
        assert (groups[view], groups[defect]) == (GROUPS.index("CutPaste"), GROUPS.index("real defect"))
        assert np.isclose(distance[view, defect], min(distance.values()))
    lacking = Embedding(features, np.where(groups == GROUPS.index("real defect"), 0, groups), features[:, :2])
    with pytest.raises(ValueError, match="real defect"):
        closest_pair(lacking)


def test_the_view_beside_the_defect_shows_both_images_and_rings_both_points() -> None:
    features, groups = clusters((4, 4, 4, 4, 4))
    embedding = Embedding(features, groups, features[:, :2])
    images = np.random.default_rng(0).uniform(size=(len(groups), 3, 8, 8))
    pair = closest_pair(embedding)
    figure = view_beside_defect_figure(torch.as_tensor(images, dtype=torch.float32), embedding, pair)
    assert [axis.get_title() for axis in figure.axes[:2]] == ["CutPaste", "real defect"]
    shown = figure.axes[0].get_images()[0].get_array()
    assert np.allclose(shown, images[pair[0]].transpose(1, 2, 0), atol=1e-6)
    ringed = figure.axes[2].collections[-1].get_offsets()
    assert np.allclose(ringed, features[list(pair), :2])
