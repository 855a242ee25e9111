"""Nyström features of the signature kernel from inducing paths, learned through the gram
backprop."""
import sys
from numbers import Integral, Real

import numpy as np
import scipy.linalg
import scipy.optimize
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin, \
    _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from . import _dask
from ._estimator import SigKernelParamsMixin
from ._inducing import Grams, Increments, guarded, initial_paths, typical_length
from ._input import Paths
from .kernel import SigKernel

__all__ = ["SigKernelNystroem", "trace_error"]


def trace_error(Z, X, kernel_args, normalize, diag_X=None):
    """The relative Nyström trace error of inducing paths Z on series X, and its gradient.

    ``tr(K - Q) / tr(K)``, ``K = K(X, X)``, ``Q = K(X, Z) K(Z, Z)^-1 K(Z, X)``, with the
    normalised kernel when ``normalize``; ``K(Z, Z)`` gets a jitter of 1e-8 of its mean
    diagonal. The gradient with respect to Z is exact: ``dL/dK(Z, X)`` and ``dL/dK(Z, Z)``
    handed to :func:`sksigkernel.sig_kernel_gram_backprop` (both sides where Z is both).

    Parameters
    ----------
    Z : ndarray of shape (m, length, channels)
        The inducing paths.
    X : ndarray of shape (n, length_x, channels) or list of (length_i, channels) arrays
        The series.
    kernel_args : dict
        Keyword arguments of :func:`sksigkernel.sig_kernel_gram` (``dyadic_order``,
        ``static_kernel``, ...), without ``normalize``.
    normalize : bool
        Use ``k(x, y) / sqrt(k(x, x) k(y, y))``.
    diag_X : ndarray of shape (n,) or None, default=None
        ``k(x, x)`` of the series when known (computed when None).

    Returns
    -------
    value : float
        The relative trace error, in [0, 1].
    grad : ndarray of shape (m, length, channels)
        Its gradient with respect to Z.
    """
    grams = Grams(Z, X, kernel_args, normalize, diag_X)
    total = float(np.sum(grams.diag))
    A = scipy.linalg.cho_solve(grams.factor, grams.C)          # S^-1 C
    value = 1.0 - float(np.sum(grams.C * A)) / total
    if value < -1e-9:          # tr(K - Q) >= 0 for any positive definite kernel
        raise ValueError(f"the trace error came out negative ({value:.3g}): these kernels are "
                         f"not those of a positive definite kernel, the PDE scheme is "
                         f"inaccurate for these paths; raise dyadic_order or use "
                         f"method='polynomial' with dyadic_order='auto'")
    return value, grams.backward(-2.0 * A / total, A @ A.T / total)


class SigKernelNystroem(SigKernelParamsMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin,
                        BaseEstimator):
    """Nyström features of the signature kernel, from inducing paths that can be learned.

    ``m = n_components`` inducing paths Z give every series x the features
    ``k(x, Z) K(Z, Z)^(-1/2)``, whose inner products approximate the kernel: a linear model
    on them (``LinearSVC``, ``RidgeClassifierCV``, ``SGDClassifier``) stands in for a kernel
    machine at a cost linear in the number of series. The inducing paths start from
    training series (or k-means centres of them), resampled to ``inducing_length`` points;
    with ``n_iter > 0`` they are then moved to minimise the relative trace error
    ``tr(K - Q) / tr(K)`` (Titsias 2009; ``Q`` the Nyström approximation of the training
    gram ``K``), with its exact gradient through :func:`sksigkernel.sig_kernel_gram_backprop`.
    Each iteration costs ``n m + m**2`` kernels and their backprop (``n`` the series of a
    batch), never the ``n**2`` of the full gram.

    Parameters
    ----------
    n_components : int, default=100
        The number of inducing paths (and features); at most the number of training series.
    init : {"random", "greedy", "kmeans"}, default="greedy"
        "random": a random subset of the training series. "greedy": the series of largest
        conditional variance, one after the other (pivoted Cholesky, Burt et al. 2020; n m
        kernels). "kmeans": k-means centres of the resampled training series.
    inducing_length : int or None, default=None
        Points of each inducing path (None: the median length of the training series).
    n_iter : int, default=0
        Optimisation steps on the inducing paths; 0 keeps the initialisation. Learn with an
        accurate kernel (``dyadic_order`` 2 and up, or ``method="polynomial"`` with
        ``dyadic_order="auto"``): on a coarse grid the steps can exploit the scheme's error.
    optimizer : {"lbfgs", "adam"}, default="lbfgs"
        "lbfgs": scipy's L-BFGS-B on the trace error of all training series (``n_iter``
        iterations at most). "adam": Adam steps on random batches of ``batch_size`` series.
    learning_rate : float, default=0.02
        Adam's step, relative to each variable's half range: the inducing paths' first
        points may move across the data's range widened by that range, their increments up
        to the largest increment of the training series.
    batch_size : int or None, default=None
        Series per Adam step (None: all of them).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation and the batches.
    dyadic_order, method, order, tolerance, static_kernel, sigma, scale, time_aug, lead_lag, \
end_time, normalize, n_channels, n_jobs, cache, verbose : see SigKernel
        The signature kernel, as in :class:`~sksigkernel.SigKernel`; ``normalize`` defaults
        to True here, as for :class:`~sksigkernel.SigKernelSVC`. ``verbose > 0`` also
        prints the trace error at each step.

    Attributes
    ----------
    sigma_ : float
        The bandwidth that ``sigma="median"`` took from the training series (only then).
    components_ : ndarray of shape (n_components, inducing_length, n_channels)
        The inducing paths.
    component_indices_ : ndarray of shape (n_components,) or None
        The training series the inducing paths started from (None for "kmeans").
    normalization_ : ndarray of shape (n_components, n_components)
        ``K(Z, Z)^(-1/2)``.
    trace_error_ : ndarray of shape (n_steps + 1,)
        The relative trace error at the start and after each step (of the step's batch for
        Adam).
    n_channels_ : int
        Channels of the training series.
    n_features_in_ : int
        Only when fitted on a 2-D table.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import RidgeClassifier
    >>> from sksigkernel import SigKernelNystroem
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 20, 2)).cumsum(axis=1) / 5
    >>> y = (X[:, -1, 0] > X[:, 0, 0]).astype(int)
    >>> features = SigKernelNystroem(n_components=10, dyadic_order=0, random_state=0)
    >>> features.fit_transform(X).shape
    (60, 10)
    >>> clf = make_pipeline(SigKernelNystroem(n_components=20, dyadic_order=0),
    ...                     RidgeClassifier()).fit(X[:40], y[:40])
    >>> clf.score(X[40:], y[40:]) > 0.8
    True
    """

    _parameter_constraints = {
        **SigKernel._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"random", "greedy", "kmeans"})],
        "inducing_length": [Interval(Integral, 2, None, closed="left"), None],
        "n_iter": [Interval(Integral, 0, None, closed="left")],
        "optimizer": [StrOptions({"lbfgs", "adam"})],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, n_components=100, *, init="greedy", inducing_length=None, n_iter=0,
                 optimizer="lbfgs", learning_rate=0.02, batch_size=None, random_state=None,
                 dyadic_order=1, method="finite_difference", order=None, tolerance=None,
                 static_kernel="linear", sigma=1.0, scale=1.0, time_aug=False, lead_lag=False,
                 end_time=1.0, normalize=True, n_channels=1, n_jobs=-1, cache=True, verbose=0):
        self.n_components = n_components
        self.init = init
        self.inducing_length = inducing_length
        self.n_iter = n_iter
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.random_state = random_state
        super().__init__(
            dyadic_order=dyadic_order, method=method, order=order, tolerance=tolerance,
            static_kernel=static_kernel, sigma=sigma, scale=scale,
            time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, normalize=normalize,
            n_channels=n_channels, n_jobs=n_jobs, cache=cache, verbose=verbose)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Choose the inducing paths (and learn them when ``n_iter > 0``).

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``.
        y : None
            Ignored.

        Returns
        -------
        SigKernelNystroem
            The fitted transformer (``self``).
        """
        paths = self._paths(X, reset=True)
        rng = check_random_state(self.random_state)
        kernel = self._kernel(paths)
        m = self.n_components
        if m > paths.n:
            raise ValueError(f"n_components={m} is more than the {paths.n} training series")
        length = self.inducing_length or typical_length(paths)
        Z, self.component_indices_ = initial_paths(self.init, paths, kernel, m, length, rng)
        self.trace_error_ = np.empty(0)
        if self.n_iter:
            Z = self._learn(Z, paths, kernel, rng)
        self.components_ = Z
        self._components = Paths(np.ascontiguousarray(Z), None, False)
        U, s, Vt = np.linalg.svd(kernel._gram(self._components))
        self.normalization_ = (U / np.sqrt(np.maximum(s, 1e-12))) @ Vt
        self._n_features_out = m
        return self

    def _learn(self, Z, paths, kernel, rng):
        """Inducing paths moved to minimise the trace error (in the variables of
        ``_inducing.Increments``); records trace_error_."""
        args = kernel._engine_args()
        variables = Increments(Z, paths)
        history = []

        def objective(u, batch=None):
            sub = paths if batch is None else paths.take(batch)
            value, grad = trace_error(variables.paths(u), sub.collection(), args,
                                      self.normalize)
            return value, variables.gradient(grad)

        def record(value):
            history.append(value)
            if self.verbose:
                print(f"SigKernelNystroem: step {len(history) - 1}, trace error {value:.6g}",
                      file=sys.stderr)

        u, low, high = variables.start, variables.low, variables.high
        if self.optimizer == "lbfgs":
            record(objective(u)[0])
            trial = guarded(objective, lambda: 2.0)         # above any trace error (<= 1)
            u = scipy.optimize.minimize(trial, u, jac=True, method="L-BFGS-B",
                                        bounds=scipy.optimize.Bounds(low, high),
                                        options={"maxiter": self.n_iter},
                                        callback=lambda intermediate_result:
                                        record(intermediate_result.fun)).x
        else:
            step = self.learning_rate * (high - low) / 2
            mean, var = np.zeros_like(u), np.zeros_like(u)
            size = paths.n if self.batch_size is None else min(self.batch_size, paths.n)
            for t in range(1, self.n_iter + 1):
                batch = None if size == paths.n else np.sort(rng.choice(paths.n, size, False))
                value, grad = objective(u, batch)
                record(value)
                mean = 0.9 * mean + 0.1 * grad
                var = 0.999 * var + 0.001 * grad ** 2
                u = u - step * (mean / (1 - 0.9 ** t)) / (np.sqrt(var / (1 - 0.999 ** t)) + 1e-12)
                u = np.clip(u, low, high)
            batch = None if size == paths.n else np.sort(rng.choice(paths.n, size, False))
            record(objective(u, batch)[0])
        self.trace_error_ = np.array(history)
        return variables.paths(u).astype(Z.dtype)

    def transform(self, X):
        """The features ``k(x, Z) K(Z, Z)^(-1/2)`` of the series.

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``;
            or a 3-D dask array chunked along the samples.

        Returns
        -------
        ndarray or dask array of shape (n_samples, n_components)
            The features; lazy, a block per chunk, for a dask array (the fitted transformer
            sent to each worker once).
        """
        check_is_fitted(self)
        if _dask.is_dask(X):
            return _dask.transform(self, X)
        paths = self._paths(X, reset=False)
        return self._kernel()._gram(paths, self._components) @ self.normalization_.T
