"""The signature kernel as a scikit-learn object: ``SigKernel(...)(X, Y)`` is a gram matrix."""
import inspect
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.spatial.distance import pdist
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, Options, StrOptions

from . import _dask, cache, functional
from .collection import to_paths
from ._input import parse_dyadic_order
from .functional import _checked, _normalise
from .static_kernels import (Matern12Kernel, Matern32Kernel, Matern52Kernel, PolynomialKernel,
                             RationalQuadraticKernel, RBFKernel, ScaledLinearKernel,
                             StaticKernel)

__all__ = ["SigKernel", "KERNEL_PARAMS"]

# Static kernels by name: each takes the bandwidth ``sigma`` or the ``scale`` of SigKernel.
_STATIC_KERNELS = {
    "linear": lambda sigma, scale: ScaledLinearKernel(scale),
    "rbf": lambda sigma, scale: RBFKernel(sigma),
    "matern12": lambda sigma, scale: Matern12Kernel(sigma),
    "matern32": lambda sigma, scale: Matern32Kernel(sigma),
    "matern52": lambda sigma, scale: Matern52Kernel(sigma),
    "rational_quadratic": lambda sigma, scale: RationalQuadraticKernel(sigma),
    "polynomial": lambda sigma, scale: PolynomialKernel(scale=scale),
}

class _DyadicPairs(Options):
    """A tuple of two integers in [0, 16]: an ``Options`` (one of the constraint types
    scikit-learn accepts) over all such pairs, printed in words."""

    def __init__(self):
        super().__init__(tuple, {(a, b) for a in range(17) for b in range(17)})

    def is_satisfied_by(self, val):
        # integers only: (1.0, 2) equals (1, 2)
        return super().is_satisfied_by(val) and \
            all(isinstance(v, Integral) and not isinstance(v, bool) for v in val)

    def __str__(self):
        return "a tuple of two integers in the range [0, 16]"


_CONSTRAINTS = {
    "dyadic_order": [Interval(Integral, 0, 16, closed="both"), _DyadicPairs(),
                     StrOptions({"auto"})],
    "method": [StrOptions({"finite_difference", "polynomial"})],
    "order": [Interval(Integral, 1, 64, closed="both"), None],
    "tolerance": [Interval(Real, 0, 1, closed="neither"), None],
    "static_kernel": [StrOptions(set(_STATIC_KERNELS)), StaticKernel],
    "sigma": [Interval(Real, 0, None, closed="neither"), StrOptions({"median"})],
    "scale": [Interval(Real, 0, None, closed="left")],
    "time_aug": ["boolean"],
    "lead_lag": ["boolean"],
    "end_time": [Interval(Real, None, None, closed="neither")],
    "normalize": ["boolean"],
    "n_channels": [Interval(Integral, 1, None, closed="left")],
    "n_jobs": [Interval(Integral, None, -1, closed="right"),
               Interval(Integral, 1, None, closed="left"), None],
    "cache": ["boolean"],
    "verbose": ["verbose"],
}


class KernelParams:
    """The kernel's hyperparameters, assigned in one place (as scikit-learn's ``BaseSVC``
    assigns SVC's): SigKernel and the estimators, which take them as their own flat
    parameters, keep explicit signatures and pass them here. SigKernel documents them."""

    def __init__(self, *, dyadic_order, method, order, tolerance, static_kernel, sigma, scale,
                 time_aug, lead_lag, end_time, normalize, n_channels, n_jobs, cache, verbose):
        self.dyadic_order = dyadic_order
        self.method = method
        self.order = order
        self.tolerance = tolerance
        self.static_kernel = static_kernel
        self.sigma = sigma
        self.scale = scale
        self.time_aug = time_aug
        self.lead_lag = lead_lag
        self.end_time = end_time
        self.normalize = normalize
        self.n_channels = n_channels
        self.n_jobs = n_jobs
        self.cache = cache
        self.verbose = verbose


# The names of the kernel's hyperparameters, in KernelParams' order.
KERNEL_PARAMS = tuple(inspect.signature(KernelParams).parameters)

# Points drawn for sigma="median": enough for a stable median, a quick distance matrix.
_MEDIAN_POINTS = 1000


def median_sigma(paths):
    """sigma="median": the median squared distance between points of the paths (``Paths``),
    over up to 1000 of their points drawn with a fixed seed, rounded to a power of 2^(1/4);
    1.0 when it is 0 (constant series). With the RBF kernel ``exp(-|x - y|**2 / sigma)``
    this keeps kappa's values spread over (0, 1) whatever the scale of the data (the
    median heuristic). The rounding (at most 9%) lets the folds of a cross-validation,
    whose medians differ by a few percent on large sets, mostly share one kernel, and so
    the cache."""
    points = np.concatenate([paths.series(i) for i in range(paths.n)]).astype(np.float64)
    if len(points) > _MEDIAN_POINTS:
        points = points[np.random.default_rng(0).choice(len(points), _MEDIAN_POINTS,
                                                        replace=False)]
    if len(points) < 2:
        return 1.0
    median = float(np.median(pdist(points, "sqeuclidean")))
    if not (median > 0 and np.isfinite(median)):
        return 1.0
    return float(2.0 ** (np.round(4 * np.log2(median)) / 4))


class SigKernel(KernelParams, BaseEstimator):
    """The signature kernel as a callable: ``SigKernel(...)(X, Y)`` is the gram matrix.

    Use it where scikit-learn calls a kernel on whole sets of samples: the estimators of
    :mod:`sklearn.svm` (``SVC(kernel=SigKernel())``, ``NuSVC``, ``SVR``, ``OneClassSVM``).
    Estimators that call a callable kernel one pair of rows at a time (``KernelPCA``,
    ``SpectralClustering``, ``pairwise_kernels``) take its gram instead, with
    ``kernel="precomputed"`` (or ``affinity="precomputed"``). Its hyperparameters are plain
    values, so ``GridSearchCV`` tunes them as nested parameters (``kernel__dyadic_order``,
    ``kernel__sigma``, ...). Entries already computed for the same paths and settings are
    taken from :mod:`sksigkernel.cache`.

    Parameters
    ----------
    dyadic_order : int, (int, int) or "auto", default=1
        Refinement of the PDE grid: each cell split into ``2**d x 2**d``; the error falls
        about 4x per level. "auto" (polynomial method): each pair gets the split, and the
        degree unless ``order`` is given, that bounds its error by ``tolerance``.
    method : {"finite_difference", "polynomial"}, default="finite_difference"
        The PDE solver, as in :func:`sksigkernel.sig_kernel_gram`: "polynomial" solves each
        cell exactly up to polynomials of degree ``order``, its error falling geometrically.
    order : int or None, default=None
        The polynomial method's degree, 1 to 64 (None: 8, or chosen by "auto"); not for
        finite differences.
    tolerance : float or None, default=None
        For ``dyadic_order="auto"``: the error allowed, relative to
        ``sqrt(k(x, x) k(y, y))`` (None: 1e-8).
    static_kernel : {"linear", "rbf", "matern12", "matern32", "matern52", \
"rational_quadratic", "polynomial"} or StaticKernel, default="linear"
        The kernel on points. A name uses ``sigma`` or ``scale`` below; an object (e.g.
        ``RBFKernel(0.5)``) is used as it is.
    sigma : float or "median", default=1.0
        Bandwidth of "rbf" (``exp(-|x-y|**2 / sigma)``), "matern*" and "rational_quadratic".
        "median": the median squared distance between points of the data (rounded to a
        power of 2^(1/4)), computed from ``Y`` (``X`` when ``Y`` is None), the side where
        scikit-learn's estimators pass their training series, so that fit and predict
        agree; the estimators compute it once from their training series (``sigma_``).
    scale : float, default=1.0
        "linear": ``<scale x, scale y>``; "polynomial": ``scale * (<x, y> + 1) ** 3``.
    time_aug : bool, default=False
        Append time ``t_i = end_time * i / (L - 1)`` as a channel.
    lead_lag : bool, default=False
        Apply the lead-lag transform (before time augmentation).
    end_time : float, default=1.0
        Final time of the time channel: its weight against the other channels.
    normalize : bool, default=False
        Return ``k(x, y) / sqrt(k(x, x) k(y, y))``: values in [-1, 1], 1 on the diagonal.
    n_channels : int, default=1
        Channels per point when ``X`` is 2-D ``(n_samples, length * channels)``.
    n_jobs : int or None, default=-1
        Threads of the engine, as for :func:`sksigkernel.sig_kernel_gram`: -1 all that
        OpenMP may use (``OMP_NUM_THREADS`` and threadpoolctl limits apply), -2 all but
        one, 1 or None serial.
    cache : bool, default=True
        Keep computed entries in :mod:`sksigkernel.cache` and reuse them.
    verbose : int, default=0
        Print progress to stderr while a gram is computed when > 0.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.svm import SVC
    >>> from sksigkernel import SigKernel
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 30, 2)).cumsum(axis=1) / 10     # (n_samples, length, channels)
    >>> y = (X[:, -1, 0] > 0).astype(int)
    >>> K = SigKernel(static_kernel="rbf", sigma=0.5, normalize=True)(X)
    >>> K.shape, bool(np.allclose(np.diag(K), 1))
    ((20, 20), True)
    >>> SVC(kernel=SigKernel(dyadic_order=0)).fit(X, y).score(X, y) > 0.8
    True
    >>> from sklearn.decomposition import KernelPCA
    >>> KernelPCA(2, kernel="precomputed").fit_transform(K).shape
    (20, 2)
    """

    _parameter_constraints = _CONSTRAINTS

    def __init__(self, dyadic_order=1, method="finite_difference", order=None, tolerance=None,
                 static_kernel="linear", sigma=1.0, scale=1.0, time_aug=False, lead_lag=False,
                 end_time=1.0, normalize=False, n_channels=1, n_jobs=-1, cache=True, verbose=0):
        super().__init__(
            dyadic_order=dyadic_order, method=method, order=order, tolerance=tolerance,
            static_kernel=static_kernel, sigma=sigma, scale=scale,
            time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, normalize=normalize,
            n_channels=n_channels, n_jobs=n_jobs, cache=cache, verbose=verbose)

    def __call__(self, X, Y=None):
        """The gram ``K[i, j] = k(X[i], Y[j])`` (``Y=None``: ``X`` against itself).

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``;
            or a 3-D dask array chunked along the samples.
        Y : collection of series or None, default=None
            As ``X``; None for ``X`` against itself.

        Returns
        -------
        ndarray or dask array of shape (n_samples_X, n_samples_Y)
            The kernels (normalised when ``normalize`` is True); a lazy dask array, a block
            per pair of chunks, when ``X`` or ``Y`` is one (not cached).
        """
        if _dask.is_dask(X) or _dask.is_dask(Y):
            self._validate_params()
            if isinstance(self.sigma, str):
                raise ValueError("sigma='median' is not for dask arrays (it would read all "
                                 "the series first): pass a number, e.g. the median squared "
                                 "distance between points of a sample")
            return _dask.gram(X, Y, _checked({"path1": X, "path2": Y, "return_grid": False,
                                              **self._engine_args()}), self.normalize)
        A = to_paths(X, self.n_channels, "X")
        B = None if Y is None or Y is X else to_paths(Y, self.n_channels, "Y")
        return self._gram(A, B)

    def _gram(self, A, B=None):
        """``__call__`` for collections already validated by ``collection.to_paths``."""
        self._validate_params()
        if isinstance(self.sigma, str):      # "median", of the reference side
            sigma = median_sigma(A if B is None else B)
            return type(self)(**{**self.get_params(), "sigma": sigma})._gram(A, B)
        args = self._engine_args()
        channels = {P.channels for P in (A, B) if P is not None}
        if len(channels) > 1:
            raise ValueError(f"X and Y must have the same number of channels, got "
                             f"{sorted(channels)}")
        d1, d2 = parse_dyadic_order(args["dyadic_order"])
        with warnings.catch_warnings():
            if self.normalize:      # kernels that overflow are normalised afresh below
                warnings.filterwarnings("ignore", "[0-9]+ of [0-9]+ kernels overflowed",
                                        RuntimeWarning)
                # k(x, x) at order (d1, d1), k(y, y) at (d2, d2), as sig_kernel_gram takes
                # them; |k(x, y)| <= sqrt(k(x, x) k(y, y)), so only where a diagonal
                # overflows can the gram: then it is normalised at once, not computed twice
                # (their paths checked for precision as they are computed)
                dA = cache.diagonal(A, {**args, "dyadic_order": d1}, self.cache, "X")
                dB = dA if B is None and d1 == d2 else cache.diagonal(
                    A if B is None else B, {**args, "dyadic_order": d2}, self.cache,
                    "X" if B is None else "Y")
                overflows = not (np.isfinite(dA).all() and np.isfinite(dB).all())
            elif args["method"] == "polynomial" and (d1 == "auto" or B is None):
                # checked here, as the engine checks them, for errors that name X and Y
                functional.check_precision(A, "X", **args)
                if B is not None:
                    functional.check_precision(B, "Y", **args)
            K = None if self.normalize and overflows else \
                cache.gram(A, B, args, self.verbose, self.cache)
        if K is None or not np.isfinite(K).all():
            if self.normalize:
                # kernels beyond the double range; normalised, they are finite (a scale
                # exponent): computed afresh, not cached
                return functional.sig_kernel_gram(
                    A.collection(), None if B is None else B.collection(), normalize=True,
                    **args)
            raise ValueError("the signature kernel overflowed (infinite values): the series are "
                             "too large for it; scale them down (ChannelScaler, or the "
                             "'scale' / 'sigma' parameters)")
        if not self.normalize:
            return K
        return _normalise(K, dA[:, None], dB[None, :], ("X", "X" if B is None else "Y"))

    def static(self):
        """The static kernel object these parameters describe.

        Returns
        -------
        StaticKernel
            ``static_kernel`` itself when it is an object, else the named kernel with
            ``sigma`` or ``scale``.
        """
        if isinstance(self.static_kernel, StaticKernel):
            return self.static_kernel
        return _STATIC_KERNELS[self.static_kernel](self.sigma, self.scale)

    def _engine_args(self):
        """Keyword arguments of :func:`sksigkernel.sig_kernel_gram` for these parameters."""
        dyadic = self.dyadic_order
        return dict(dyadic_order=tuple(dyadic) if isinstance(dyadic, (tuple, list)) else dyadic,
                    method=self.method, order=self.order, tolerance=self.tolerance,
                    static_kernel=self.static(),
                    time_aug=self.time_aug, lead_lag=self.lead_lag,
                    end_time=float(self.end_time), n_jobs=self.n_jobs)
