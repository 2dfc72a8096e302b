"""Tests for cplib.density: each scorer against a direct NumPy/SciPy/sklearn computation or a brute-force loop."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist, mahalanobis
from scipy.special import logsumexp
from sklearn.covariance import LedoitWolf, ledoit_wolf_shrinkage

from cplib.density import (
    GaussianDensity,
    KDEDensity,
    KNNDensity,
    PerLocationGaussian,
    SingularCovariance,
    make_density,
)


def correlated(rng: np.random.Generator, n: int, d: int, shift: float = 0.0) -> np.ndarray:
    """Samples of a fixed correlated Gaussian (the mixing matrix depends only on d)."""
    mixing = np.random.default_rng(d).normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    return rng.normal(size=(n, d)) @ mixing + 3.0 + shift


def direct_mahalanobis(queries: np.ndarray, mean: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """Reference distances through SciPy with an explicit inverse (fine on well-conditioned cases)."""
    inverse = np.linalg.inv(covariance)
    return np.array([mahalanobis(q, mean, inverse) for q in queries])


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, fresh for every test."""
    return np.random.default_rng(0)


def test_gaussian_ledoit_wolf_matches_direct_computation(rng):
    train, test = correlated(rng, 300, 6), correlated(rng, 40, 6, shift=0.5)
    model = GaussianDensity().fit(train)
    expected_cov = LedoitWolf().fit(train).covariance_
    np.testing.assert_allclose(model.mean_, train.mean(axis=0))
    np.testing.assert_allclose(model.covariance_, expected_cov)
    scores = model.score_samples(test)
    assert scores.dtype == np.float64 and scores.shape == (40,)
    np.testing.assert_allclose(scores, direct_mahalanobis(test, train.mean(axis=0), expected_cov), rtol=1e-10)


@pytest.mark.parametrize("ridge", [0.0, 0.5])
def test_gaussian_ridge_is_empirical_plus_ridge_identity(rng, ridge):
    train, test = correlated(rng, 200, 5), correlated(rng, 30, 5)
    model = GaussianDensity(covariance="ridge", ridge=ridge).fit(train)
    expected_cov = np.cov(train, rowvar=False, bias=True) + ridge * np.eye(5)
    np.testing.assert_allclose(model.covariance_, expected_cov)
    expected = direct_mahalanobis(test, train.mean(0), expected_cov)
    np.testing.assert_allclose(model.score_samples(test), expected, rtol=1e-10)


def test_gaussian_empirical_computes_when_n_exceeds_d(rng):
    train, test = correlated(rng, 100, 4), correlated(rng, 10, 4)
    model = GaussianDensity(covariance="empirical").fit(train)
    expected_cov = np.cov(train, rowvar=False, bias=True)
    expected = direct_mahalanobis(test, train.mean(0), expected_cov)
    np.testing.assert_allclose(model.score_samples(test), expected, rtol=1e-10)


@pytest.mark.parametrize("n", [20, 64])
def test_gaussian_empirical_fails_clearly_when_n_at_most_d(rng, n):
    with pytest.raises(SingularCovariance, match="ledoit-wolf"):
        GaussianDensity(covariance="empirical").fit(correlated(rng, n, 64))


@pytest.mark.parametrize("seed", range(5))
def test_gaussian_empirical_fails_at_n_equal_to_d_even_when_rounding_hides_it(seed):
    """N = D = 16 random features: rank 15, yet rounding can leave Cholesky a tiny positive pivot."""
    features = np.random.default_rng(seed).normal(size=(16, 16))
    with pytest.raises(SingularCovariance, match="N <= D"):
        GaussianDensity(covariance="empirical").fit(features)


def test_gaussian_empirical_fails_on_constant_feature(rng):
    train = correlated(rng, 100, 4)
    train[:, 2] = 1.0
    with pytest.raises(SingularCovariance):
        GaussianDensity(covariance="empirical").fit(train)


def test_gaussian_empirical_fails_on_near_duplicate_feature(rng):
    train = rng.normal(size=(100, 4))
    train = np.c_[train, train[:, :1] + 1e-7 * rng.normal(size=(100, 1))]  # Cholesky succeeds, cond ~1e14
    with pytest.raises(SingularCovariance):
        GaussianDensity(covariance="empirical").fit(train)
    assert np.isfinite(GaussianDensity().fit(train).score_samples(train)).all()


def test_gaussian_ledoit_wolf_handles_n_below_d_and_ranks_far_points_higher(rng):
    train, normal = correlated(rng, 20, 64), correlated(rng, 50, 64)
    direction = rng.normal(size=(50, 64))
    far = normal + 50 * train.std() * direction / np.linalg.norm(direction, axis=1, keepdims=True)
    model = GaussianDensity().fit(train)
    normal_scores, far_scores = model.score_samples(normal), model.score_samples(far)
    assert np.isfinite(normal_scores).all()
    assert far_scores.min() > normal_scores.max()


def test_gaussian_normalize_equals_fitting_on_unit_vectors(rng):
    train, test = correlated(rng, 80, 6), correlated(rng, 10, 6)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    normalized = GaussianDensity(normalize=True).fit(3.0 * train).score_samples(5.0 * test)
    reference = GaussianDensity().fit(unit(train)).score_samples(unit(test))
    np.testing.assert_allclose(normalized, reference, rtol=1e-10)
    assert not np.allclose(GaussianDensity().fit(train).score_samples(test), reference)


def test_gaussian_accepts_torch_tensors(rng):
    train, test = correlated(rng, 50, 4), correlated(rng, 5, 4)
    from_torch = GaussianDensity().fit(torch.tensor(train)).score_samples(torch.tensor(test, dtype=torch.float32))
    from_numpy = GaussianDensity().fit(train).score_samples(test.astype(np.float32))
    assert from_torch.dtype == np.float64
    np.testing.assert_allclose(from_torch, from_numpy)
    half = torch.tensor(test, dtype=torch.bfloat16)
    model = GaussianDensity().fit(train)
    np.testing.assert_allclose(model.score_samples(half), model.score_samples(half.double().numpy()))


@pytest.mark.parametrize("density", [GaussianDensity(), KDEDensity(bandwidth=2.0), KNNDensity(k=3)])
def test_errors_for_people(rng, density):
    with pytest.raises(RuntimeError, match="not fitted"):
        density.score_samples(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        density.fit(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="shape"):
        density.fit(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        density.fit(np.full((4, 3), np.nan))
    density.fit(rng.normal(size=(10, 3)))
    with pytest.raises(ValueError, match="dimension 4 .* dimension 3"):
        density.score_samples(np.zeros((2, 4)))


def test_bad_options_raise():
    with pytest.raises(ValueError, match="covariance"):
        GaussianDensity(covariance="shrunk")
    with pytest.raises(ValueError, match="ridge"):
        GaussianDensity(covariance="ridge", ridge=-1.0)
    with pytest.raises(ValueError, match="bandwidth"):
        KDEDensity(bandwidth="wide")
    with pytest.raises(ValueError, match="k must"):
        KNNDensity(k=0)
    with pytest.raises(ValueError, match="k=5"):
        KNNDensity(k=5).fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="covariance"):
        PerLocationGaussian(covariance="diagonal")


def test_kde_matches_brute_force(rng):
    train, test = rng.normal(size=(60, 3)), rng.normal(size=(15, 3)) * 2
    h, d = 0.7, 3
    log_norm = d / 2 * np.log(2 * np.pi * h**2)
    expected = np.array([np.log(60) + log_norm - logsumexp(-np.sum((train - q) ** 2, 1) / (2 * h**2)) for q in test])
    np.testing.assert_allclose(KDEDensity(bandwidth=h).fit(train).score_samples(test), expected, rtol=1e-8)


def test_kde_scott_bandwidth(rng):
    train, test = rng.normal(size=(50, 4)), rng.normal(size=(5, 4))
    scott = KDEDensity().fit(train)
    assert scott.bandwidth_ == pytest.approx(50 ** (-1 / 8))
    explicit = KDEDensity(bandwidth=50 ** (-1 / 8)).fit(train)
    np.testing.assert_allclose(scott.score_samples(test), explicit.score_samples(test))


def test_knn_matches_brute_force_and_counts_itself(rng):
    train, test = rng.normal(size=(40, 3)), rng.normal(size=(12, 3))
    model = KNNDensity(k=4).fit(train)
    expected = np.array([np.sort(np.linalg.norm(train - q, axis=1))[:4].mean() for q in test])
    np.testing.assert_allclose(model.score_samples(test), expected)
    own = np.sort(cdist(train[:1], train)[0])
    assert own[0] == 0.0
    assert model.score_samples(train[:1])[0] == pytest.approx(own[:4].mean())


@pytest.mark.parametrize("name", ["gaussian", "kde", "knn"])
def test_every_scorer_ranks_outliers_higher(rng, name):
    train, normal = rng.normal(size=(200, 4)), rng.normal(size=(20, 4)) * 0.5
    outliers = normal + 8.0
    model = make_density(name).fit(train)
    assert model.score_samples(outliers).min() > model.score_samples(normal).max()


def test_make_density_builds_named_classes_with_kwargs():
    assert isinstance(make_density("gaussian", covariance="ridge"), GaussianDensity)
    assert make_density("knn", k=7).k == 7
    assert make_density("kde", bandwidth=1.0).bandwidth == 1.0
    with pytest.raises(ValueError, match=r"\['gaussian', 'kde', 'knn'\]"):
        make_density("gde")


def random_maps(rng: np.random.Generator, n: int, d: int, h: int, w: int) -> np.ndarray:
    """Feature maps whose per-location distribution differs across the grid."""
    offsets = rng.normal(size=(1, d, h, w)) * 3
    scales = rng.uniform(0.5, 2.0, size=(1, d, h, w))
    return rng.normal(size=(n, d, h, w)) * scales + offsets


@pytest.mark.parametrize("shared", [False, True])
def test_per_location_shapes(rng, shared):
    model = PerLocationGaussian(shared=shared).fit(random_maps(rng, 12, 3, 4, 5))
    assert model.score_samples(random_maps(rng, 7, 3, 4, 5)).shape == (7, 4, 5)
    assert model.mean_.shape == ((3,) if shared else (3, 4, 5))
    assert model.covariance_.shape == ((3, 3) if shared else (4, 5, 3, 3))


@pytest.mark.parametrize(
    ("covariance", "n", "normalize"),
    [
        ("ledoit-wolf", 30, False),
        ("ledoit-wolf", 5, False),
        ("ridge", 30, False),
        ("empirical", 30, False),
        ("ledoit-wolf", 30, True),
    ],
)
def test_per_location_equals_independent_gaussians(rng, covariance, n, normalize):
    train, test = random_maps(rng, n, 8, 3, 4), random_maps(rng, 6, 8, 3, 4)
    scores = PerLocationGaussian(covariance=covariance, ridge=0.3, normalize=normalize).fit(train).score_samples(test)
    for i in range(3):
        for j in range(4):
            single = GaussianDensity(covariance=covariance, ridge=0.3, normalize=normalize).fit(train[:, :, i, j])
            np.testing.assert_allclose(scores[:, i, j], single.score_samples(test[:, :, i, j]), rtol=1e-8)


@pytest.mark.parametrize("n", [40, 5])
def test_vectorised_ledoit_wolf_matches_sklearn(rng, n):
    train = random_maps(rng, n, 8, 2, 3)
    covariances = PerLocationGaussian().fit(train).covariance_
    for i in range(2):
        for j in range(3):
            expected = LedoitWolf().fit(train[:, :, i, j]).covariance_
            np.testing.assert_allclose(covariances[i, j], expected, rtol=1e-9, atol=1e-12)


def test_vectorised_ledoit_wolf_clips_shrinkage_at_one():
    train = np.random.default_rng(0).standard_t(1.5, size=(7, 2, 4, 4))  # heavy tails: beta > delta at some locations
    shrinkages = [ledoit_wolf_shrinkage(train[:, :, i, j]) for i in range(4) for j in range(4)]
    assert min(shrinkages) < 1.0 == max(shrinkages)
    covariances = PerLocationGaussian().fit(train).covariance_
    for i in range(4):
        for j in range(4):
            np.testing.assert_allclose(covariances[i, j], LedoitWolf().fit(train[:, :, i, j]).covariance_, rtol=1e-9)


def test_vectorised_ledoit_wolf_single_feature_has_no_shrinkage(rng):
    train = random_maps(rng, 10, 1, 2, 2)
    expected = train.var(axis=0)[0]
    np.testing.assert_allclose(PerLocationGaussian().fit(train).covariance_[..., 0, 0], expected)


def test_shared_equals_gaussian_on_flattened_positions(rng):
    train, test = random_maps(rng, 6, 5, 3, 4), random_maps(rng, 2, 5, 3, 4)
    flatten = lambda maps: maps.transpose(0, 2, 3, 1).reshape(-1, 5)  # noqa: E731
    shared = PerLocationGaussian(shared=True).fit(train)
    single = GaussianDensity().fit(flatten(train))
    np.testing.assert_allclose(shared.covariance_, single.covariance_, rtol=1e-9)
    expected = single.score_samples(flatten(test)).reshape(2, 3, 4)
    np.testing.assert_allclose(shared.score_samples(test), expected, rtol=1e-8)


def test_per_location_localises_an_anomalous_patch(rng):
    train, test = random_maps(rng, 40, 4, 5, 5), random_maps(rng, 1, 4, 5, 5)
    test[0, :, 2, 3] += 20.0
    scores = PerLocationGaussian().fit(train).score_samples(torch.tensor(test))
    assert np.unravel_index(np.argmax(scores[0]), (5, 5)) == (2, 3)


def test_per_location_errors(rng):
    model = PerLocationGaussian()
    with pytest.raises(RuntimeError, match="not fitted"):
        model.score_samples(random_maps(rng, 2, 3, 4, 4))
    with pytest.raises(ValueError, match="shape"):
        model.fit(rng.normal(size=(5, 3, 4)))
    with pytest.raises(ValueError, match="at least 2"):
        model.fit(random_maps(rng, 1, 3, 4, 4))
    model.fit(random_maps(rng, 5, 3, 4, 4))
    with pytest.raises(ValueError, match=r"fitted on \(3, 4, 4\)"):
        model.score_samples(random_maps(rng, 2, 3, 4, 5))
    with pytest.raises(SingularCovariance):
        PerLocationGaussian(covariance="empirical").fit(random_maps(rng, 5, 8, 2, 2))


def test_recovered_share_measures_what_a_head_keeps_of_the_pooled_features() -> None:
    from cplib.evaluate import recovered_share

    draws = np.random.default_rng(11)
    for _ in range(20):
        dims, n = int(draws.integers(8, 24)), 400
        kept = int(draws.integers(2, dims - 1))
        pooled_train, pooled_test = draws.standard_normal((n, dims)), draws.standard_normal((n, dims))
        mix = draws.standard_normal((dims, dims))
        assert (
            recovered_share(pooled_train @ mix, pooled_train, pooled_test @ mix, pooled_test) > 0.99
        )  # an invertible head keeps all

        def head(x: np.ndarray, kept: int = kept, mix: np.ndarray = mix) -> np.ndarray:
            return x[:, :kept] @ mix[:kept, :kept]

        share = recovered_share(head(pooled_train), pooled_train, head(pooled_test), pooled_test)
        design = np.c_[head(pooled_train), np.ones(n)]
        weights = np.linalg.lstsq(design, pooled_train, rcond=None)[0]
        residual = np.c_[head(pooled_test), np.ones(n)] @ weights - pooled_test
        reference = 1 - (residual**2).sum() / ((pooled_test - pooled_train.mean(axis=0)) ** 2).sum()
        assert (
            abs(share - reference) < 0.01 and abs(share - kept / dims) < 0.1
        )  # least squares; about kept / dims of the variance
        moved = pooled_test.copy()
        moved[:, -1] += 5.0  # a deviation along a coordinate the head discards
        moved_share = recovered_share(head(pooled_train), pooled_train, head(moved), moved)
        assert (
            moved_share < share and abs(moved_share - kept / (dims + 25.0)) < 0.05
        )  # the shift's 25 of variance is lost
