"""One-class densities for CutPaste's second stage: fit on clean normal features, score anomalies.

Every ``score_samples`` here returns an *anomaly score*: higher means more anomalous. This is the
opposite of scikit-learn, whose ``score_samples`` returns a log-likelihood (higher = more normal).

The paper (Li et al., CVPR 2021) fits a single Gaussian ("GDE", :class:`GaussianDensity`) on the
512-d pooled features of clean normal training images and scores by the Mahalanobis distance;
:class:`PerLocationGaussian` is its localisation variant on dense feature maps. :class:`KDEDensity`
and :class:`KNNDensity` are comparison scorers. Fit only on features of clean normal images, never
on CutPaste-augmented ones.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch
from numpy.typing import ArrayLike
from sklearn.covariance import LedoitWolf, empirical_covariance
from sklearn.neighbors import KernelDensity, NearestNeighbors

if TYPE_CHECKING:
    from typing import Self

Covariance = Literal["ledoit-wolf", "ridge", "empirical"]
COVARIANCES: tuple[str, ...] = ("ledoit-wolf", "ridge", "empirical")
BANDWIDTH_RULES: tuple[str, ...] = ("scott", "silverman")
_MAX_CONDITION = 1e12
_BLOCK_BYTES = 2**27
# Batched linear algebra runs in torch (float64, CPU): NumPy's stacked Cholesky is ~20x slower and
# SciPy's linalg batches only from SciPy 1.15, while the project supports SciPy >= 1.10.


class SingularCovariance(ValueError):
    """Raised when a covariance cannot be Cholesky-factorised safely; regularise it instead."""


def to_numpy(array: Any, dtype: Any = np.float64) -> np.ndarray:
    """Return a NumPy array (``dtype=None`` keeps the dtype) from an array, list or torch tensor on any device."""
    if torch.is_tensor(array):
        tensor = array.detach().cpu()
        array = (tensor.double() if tensor.is_floating_point() else tensor).numpy()
    return np.asarray(array, dtype=dtype)


def _as_finite(array: Any, name: str, ndim: int, layout: str) -> np.ndarray:
    """Return ``array`` as a finite float64 array with ``ndim`` axes, or raise saying what is wrong."""
    x = to_numpy(array)
    if x.ndim != ndim:
        raise ValueError(f"{name} must have shape {layout}; got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contain NaN or inf values; check the feature extractor's output")
    return x


def _l2_normalize(x: np.ndarray, axis: int) -> np.ndarray:
    """Scale feature vectors along ``axis`` to unit length (hand-written: sklearn's normalize is 2-D only)."""
    norms = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def _check_enough_samples(n_samples: int, owner: str) -> None:
    """Refuse to fit a density on fewer than two samples: no spread can be estimated."""
    if n_samples < 2:
        raise ValueError(f"{owner} needs at least 2 training samples to fit; got {n_samples}")


def _check_covariance_options(covariance: str, ridge: float) -> None:
    """Validate the covariance name and ridge amount at construction, before any data is seen."""
    if covariance not in COVARIANCES:
        raise ValueError(f"unknown covariance {covariance!r}; choose one of {COVARIANCES}")
    if ridge < 0:
        raise ValueError(f"ridge must be >= 0; got {ridge}")


def _check_fitted(model: object, attribute: str) -> None:
    """Raise a RuntimeError naming the fix when ``model`` is scored before it was fitted."""
    if getattr(model, attribute, None) is None:
        raise RuntimeError(f"{type(model).__name__} is not fitted: call .fit(train_features) before scoring")


def _cholesky(cov: np.ndarray, covariance: str, n_samples: int) -> np.ndarray:
    """Lower Cholesky factor(s) of ``cov`` (D, D) or (G, D, D); SingularCovariance if not safely definite."""
    chol, failed = torch.linalg.cholesky_ex(torch.from_numpy(cov))
    rank_deficient = covariance == "empirical" and n_samples <= cov.shape[-1]  # rounding can hide it from Cholesky
    if rank_deficient or failed.any() or _ill_conditioned(chol.numpy()):
        d = cov.shape[-1]
        raise SingularCovariance(
            f"the {covariance!r} covariance is singular: {n_samples} training samples in {d} dimensions "
            f"(rank <= N - 1, so singular whenever N <= D) or constant/duplicated features. "
            f"Regularise with covariance='ledoit-wolf' (the default) or covariance='ridge' with ridge > 0, "
            f"or fit on more samples"
        )
    return chol.numpy()


def _ill_conditioned(chol: np.ndarray) -> bool:
    """True when cond(L Lᵀ) >= (max/min diag L)² exceeds _MAX_CONDITION: distances would be rounding noise."""
    diag = np.diagonal(chol, axis1=-2, axis2=-1)
    return bool(np.any(diag.max(axis=-1) ** 2 > _MAX_CONDITION * diag.min(axis=-1) ** 2))


def _mahalanobis(chol: np.ndarray, mean: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Distances of rows of ``x`` (..., M, D) to ``mean`` (..., D): ||L⁻¹(x − μ)|| by a triangular solve."""
    diff = np.ascontiguousarray(np.swapaxes(x - mean[..., None, :], -1, -2))
    whitened = torch.linalg.solve_triangular(torch.from_numpy(chol), torch.from_numpy(diff), upper=False)
    return np.linalg.norm(whitened.numpy(), axis=-2)


class FeatureDensity(ABC):
    """Base of the (N, D) scorers: input checks, optional L2 normalisation, fitted state."""

    def __init__(self, normalize: bool) -> None:
        self.normalize = normalize
        self.n_features_in_: int | None = None

    def fit(self, features: ArrayLike) -> Self:
        """Fit on features (N, D) of clean normal training images; returns self for chaining."""
        self.n_features_in_ = None
        x = self._prepare(features)
        _check_enough_samples(len(x), type(self).__name__)
        self._fit(x)
        self.n_features_in_ = x.shape[1]
        return self

    def score_samples(self, features: ArrayLike) -> np.ndarray:
        """Anomaly score (M,) of features (M, D): higher = more anomalous (not a log-likelihood)."""
        _check_fitted(self, "n_features_in_")
        x = self._prepare(features)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(
                f"features have dimension {x.shape[1]} but {type(self).__name__} was fitted on dimension "
                f"{self.n_features_in_}; score features from the same model and layer used for fitting"
            )
        return self._score(x)

    def _prepare(self, features: ArrayLike) -> np.ndarray:
        """Validate (N, D) features and L2-normalise them when asked."""
        x = _as_finite(features, "features", 2, "(n_samples, n_features)")
        return _l2_normalize(x, axis=1) if self.normalize else x

    @abstractmethod
    def _fit(self, x: np.ndarray) -> None:
        """Estimate the density from validated training features (N, D)."""

    @abstractmethod
    def _score(self, x: np.ndarray) -> np.ndarray:
        """Anomaly scores (M,) of validated features (M, D)."""


class GaussianDensity(FeatureDensity):
    """One multivariate Gaussian, the paper's GDE; anomaly score = Mahalanobis distance to the mean.

    ``covariance``:
      * ``"ledoit-wolf"`` (default): empirical covariance shrunk towards a scaled identity by the
        data-driven Ledoit-Wolf amount (sklearn.covariance.LedoitWolf); well defined when N < D.
      * ``"ridge"``: empirical covariance + ``ridge`` * I. ``ridge`` is absolute, in units of feature
        variance; the default 1e-2 is a mild regulariser for raw ResNet pooled features (per-dimension
        variance ~0.1-1). L2-normalised D-dim features have variance ~1/D, so use a smaller value there:
        the authors' earlier code used ``normalize=True, ridge=1e-6``.
      * ``"empirical"``: no regularisation. Its rank is at most N - 1, so with N <= D (e.g. ~200 training
        images, 512-d features) or constant features ``fit`` raises SingularCovariance; kept to show why
        regularisation is needed.

    ``normalize=True`` L2-normalises every feature vector before fitting and scoring.
    After ``fit``: ``mean_`` (D,), ``covariance_`` (D, D).

    Parameters
    ----------
    covariance : {"ledoit-wolf", "ridge", "empirical"}, default "ledoit-wolf"
        How the covariance is estimated (above).
    ridge : float, default 1e-2
        With "ridge": the amount added to the diagonal, in units of feature variance.
    normalize : bool, default False
        L2-normalise every feature vector before fitting and scoring.

    Examples
    --------
    >>> normal = np.random.default_rng(0).normal(size=(200, 8))
    >>> density = GaussianDensity().fit(normal)
    >>> near, far = density.score_samples(np.stack([np.zeros(8), np.full(8, 3.0)]))
    >>> bool(far > near)  # far from the normal features = more anomalous
    True
    """

    def __init__(self, covariance: Covariance = "ledoit-wolf", ridge: float = 1e-2, normalize: bool = False) -> None:
        super().__init__(normalize)
        _check_covariance_options(covariance, ridge)
        self.covariance = covariance
        self.ridge = ridge

    def _fit(self, x: np.ndarray) -> None:
        self.mean_ = x.mean(axis=0)
        self.covariance_ = self._estimate_covariance(x)
        self._chol = _cholesky(self.covariance_, self.covariance, len(x))

    def _estimate_covariance(self, x: np.ndarray) -> np.ndarray:
        """Covariance (D, D) of ``x`` under the chosen regularisation."""
        if self.covariance == "ledoit-wolf":
            return LedoitWolf().fit(x).covariance_
        empirical = empirical_covariance(x)
        return empirical + self.ridge * np.eye(x.shape[1]) if self.covariance == "ridge" else empirical

    def _score(self, x: np.ndarray) -> np.ndarray:
        return _mahalanobis(self._chol, self.mean_, x)


class KDEDensity(FeatureDensity):
    """Gaussian kernel density estimate (sklearn KernelDensity); anomaly score = −log density.

    A comparison scorer, not the paper's method: several public CutPaste ports call a KDE with
    bandwidth 1 "GDE", but the paper fits a single Gaussian (use GaussianDensity for that).
    ``bandwidth``: a positive float, or sklearn's rule "scott" (N^(-1/(D+4))) or "silverman", which
    here apply to the raw, unstandardised features. The fitted value is ``bandwidth_``.
    """

    def __init__(self, bandwidth: str | float = "scott", normalize: bool = False) -> None:
        super().__init__(normalize)
        if isinstance(bandwidth, str) and bandwidth not in BANDWIDTH_RULES:
            raise ValueError(f"unknown bandwidth rule {bandwidth!r}; use one of {BANDWIDTH_RULES} or a positive float")
        if not isinstance(bandwidth, str) and not bandwidth > 0:
            raise ValueError(f"bandwidth must be positive; got {bandwidth}")
        self.bandwidth = bandwidth

    def _fit(self, x: np.ndarray) -> None:
        self._kde = KernelDensity(kernel="gaussian", bandwidth=self.bandwidth).fit(x)
        self.bandwidth_ = float(self._kde.bandwidth_)

    def _score(self, x: np.ndarray) -> np.ndarray:
        return -self._kde.score_samples(x)


class KNNDensity(FeatureDensity):
    """Mean Euclidean distance to the ``k`` nearest training features (sklearn NearestNeighbors).

    A training feature scored against its own training set counts itself as a neighbour at
    distance 0, so its score is lower than that of an unseen feature at the same place.
    """

    def __init__(self, k: int = 5, normalize: bool = False) -> None:
        super().__init__(normalize)
        if int(k) != k or k < 1:
            raise ValueError(f"k must be a positive integer; got {k}")
        self.k = int(k)

    def _fit(self, x: np.ndarray) -> None:
        if len(x) < self.k:
            raise ValueError(f"KNNDensity(k={self.k}) needs at least {self.k} training features; got {len(x)}: lower k")
        self._neighbors = NearestNeighbors(n_neighbors=self.k).fit(x)

    def _score(self, x: np.ndarray) -> np.ndarray:
        distances, _ = self._neighbors.kneighbors(x)
        return distances.mean(axis=1)


DENSITIES: dict[str, type[FeatureDensity]] = {"gaussian": GaussianDensity, "kde": KDEDensity, "knn": KNNDensity}


def make_density(name: str, **kwargs: Any) -> FeatureDensity:
    """Build a scorer by name ("gaussian", "kde", "knn"), so notebooks can switch it from a config string."""
    if name not in DENSITIES:
        raise ValueError(f"unknown density {name!r}; choose one of {sorted(DENSITIES)}")
    return DENSITIES[name](**kwargs)


def _ledoit_wolf(centred: np.ndarray, empirical: np.ndarray) -> np.ndarray:
    """Ledoit-Wolf shrunk covariances (G, D, D) of G centred groups (G, S, D).

    sklearn's ledoit_wolf formula, hand-vectorised over groups because sklearn fits one group per call.
    """
    n_samples, d = centred.shape[1:]
    mu = np.trace(empirical, axis1=1, axis2=2) / d
    delta_ = np.sum(empirical**2, axis=(1, 2))
    beta_ = np.mean(np.sum(centred**2, axis=2) ** 2, axis=1)
    delta = (delta_ - d * mu**2) / d
    beta = np.minimum((beta_ - delta_) / (d * n_samples), delta)
    shrinkage = np.divide(beta, delta, out=np.zeros_like(beta), where=delta > 0)
    return (1 - shrinkage)[:, None, None] * empirical + (shrinkage * mu)[:, None, None] * np.eye(d)


def _group_covariances(groups: np.ndarray, covariance: str, ridge: float) -> np.ndarray:
    """Covariances (G, D, D) of G sample groups (G, S, D) under the chosen regularisation, in one batch."""
    centred = groups - groups.mean(axis=1, keepdims=True)
    as_torch = torch.from_numpy(centred)
    empirical = (as_torch.mT @ as_torch).numpy() / groups.shape[1]
    if covariance == "ledoit-wolf":
        return _ledoit_wolf(centred, empirical)
    return empirical + ridge * np.eye(groups.shape[2]) if covariance == "ridge" else empirical


class PerLocationGaussian:
    """Gaussians on dense feature maps (N, D, H, W) for localisation; scores maps (M, D, H, W) -> (M, H, W).

    ``shared=False``: one Gaussian per grid location, for aligned objects (the paper's choice for bottle,
    cable, capsule, metal_nut, pill, toothbrush, transistor, zipper). ``shared=True``: one Gaussian over the
    features of all locations, for textures, hazelnut and screw. ``covariance``, ``ridge`` and ``normalize``
    (L2 along D at each location) act as in GaussianDensity; the per-location Ledoit-Wolf shrinkage is
    computed per location. Scores are Mahalanobis distances, higher = more anomalous.

    Memory: the per-location model keeps H*W Cholesky factors of D x D float64, H*W*D*D*8 bytes
    (a 57 x 57 grid at D=512 is 6.8 GB); reduce D or the grid if that is too much.
    After ``fit``: ``mean_`` ((D, H, W) per location, (D,) shared) and ``covariance_``
    ((H, W, D, D) per location, (D, D) shared, rebuilt from the Cholesky factors on access).
    """

    def __init__(
        self, shared: bool = False, covariance: Covariance = "ledoit-wolf", ridge: float = 1e-2, normalize: bool = False
    ) -> None:
        _check_covariance_options(covariance, ridge)
        self.shared = shared
        self.covariance = covariance
        self.ridge = ridge
        self.normalize = normalize
        self.map_shape_: tuple[int, int, int] | None = None

    def fit(self, maps: ArrayLike) -> Self:
        """Fit on feature maps (N, D, H, W) of clean normal training images; returns self."""
        self.map_shape_ = None
        x = self._prepare(maps)
        groups = self._groups(x)
        _check_enough_samples(groups.shape[1], type(self).__name__)
        self._mean = groups.mean(axis=1)
        self._chol = np.empty(groups.shape[:1] + groups.shape[2:] * 2)
        for block in self._blocks(*groups.shape):
            covariances = _group_covariances(groups[block], self.covariance, self.ridge)
            self._chol[block] = _cholesky(covariances, self.covariance, groups.shape[1])
        self.map_shape_ = x.shape[1:]
        return self

    def score_samples(self, maps: ArrayLike) -> np.ndarray:
        """Anomaly maps (M, H, W) of feature maps (M, D, H, W): Mahalanobis distance at every location."""
        _check_fitted(self, "map_shape_")
        x = self._prepare(maps)
        if x.shape[1:] != self.map_shape_:
            raise ValueError(
                f"maps have (D, H, W) = {x.shape[1:]} but {type(self).__name__} was fitted on {self.map_shape_}; "
                f"use the same model, layer and input size as for fitting"
            )
        distances = _mahalanobis(self._chol, self._mean, self._groups(x))
        m, _, h, w = x.shape
        return distances.reshape(m, h, w) if self.shared else distances.T.reshape(m, h, w)

    @property
    def mean_(self) -> np.ndarray:
        """Fitted mean: (D, H, W) per location, (D,) shared."""
        _check_fitted(self, "map_shape_")
        return self._mean[0] if self.shared else self._mean.T.reshape(self.map_shape_)

    @property
    def covariance_(self) -> np.ndarray:
        """Fitted covariance: (H, W, D, D) per location, (D, D) shared."""
        _check_fitted(self, "map_shape_")
        covariances = self._chol @ np.swapaxes(self._chol, 1, 2)
        d, h, w = self.map_shape_
        return covariances[0] if self.shared else covariances.reshape(h, w, d, d)

    def _prepare(self, maps: ArrayLike) -> np.ndarray:
        """Validate (N, D, H, W) maps and L2-normalise each location's feature vector when asked."""
        x = _as_finite(maps, "maps", 4, "(n_images, n_features, height, width)")
        return _l2_normalize(x, axis=1) if self.normalize else x

    def _groups(self, x: np.ndarray) -> np.ndarray:
        """Regroup maps (N, D, H, W) as contiguous sample groups: (H*W, N, D) per location, (1, N*H*W, D) shared."""
        n, d = x.shape[:2]
        if self.shared:
            grouped = x.transpose(0, 2, 3, 1).reshape(1, -1, d)
        else:
            grouped = x.transpose(2, 3, 0, 1).reshape(-1, n, d)
        return np.ascontiguousarray(grouped)  # strided views make the batched products ~20x slower

    @staticmethod
    def _blocks(n_groups: int, n_samples: int, d: int) -> list[slice]:
        """Slices of groups sized so one block's temporaries stay near _BLOCK_BYTES."""
        size = max(1, _BLOCK_BYTES // (8 * d * max(d, n_samples)))
        return [slice(start, start + size) for start in range(0, n_groups, size)]
