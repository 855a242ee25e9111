"""Sparse Gaussian-process regression on time series with the signature kernel: Titsias'
collapsed bound, with learned inducing paths, noise and kernel scale."""
import math
import sys
from numbers import Integral, Real

import numpy as np
import scipy.linalg
import scipy.optimize
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_y, check_is_fitted

from ._estimator import SigKernelParamsMixin
from ._inducing import Grams, Increments, diagonal, guarded, initial_paths, typical_length
from ._input import Paths
from .kernel import SigKernel

__all__ = ["SparseSigGPRegressor", "collapsed_bound"]


def collapsed_bound(Z, X, y, log_noise, log_scale, kernel_args, normalize, diag_X=None):
    """Titsias' collapsed lower bound on the log marginal likelihood, and its gradients.

    The model: ``y = f(X) + noise``, ``f ~ GP(0, scale * k)``, noise variance ``noise``;
    with ``Kuu = scale K(Z, Z)`` (jittered), ``Kuf = scale K(Z, X)``,
    ``Q = Kuf' Kuu^-1 Kuf``, the bound is
    ``log N(y | 0, Q + noise I) - tr(scale K(X, X) - Q) / (2 noise)`` (Titsias 2009), equal
    to the exact log marginal likelihood when Z = X. Its gradient with respect to Z goes
    through :func:`sksigkernel.sig_kernel_gram_backprop`.

    Parameters
    ----------
    Z : ndarray of shape (m, length, channels)
        The inducing paths.
    X : ndarray of shape (n, length_x, channels) or list of (length_i, channels) arrays
        The series.
    y : ndarray of shape (n,)
        The targets (of mean zero under the model).
    log_noise : float
        The log of the noise variance.
    log_scale : float
        The log of the kernel's scale.
    kernel_args : dict
        Keyword arguments of :func:`sksigkernel.sig_kernel_gram`, without ``normalize``.
    normalize : bool
        Use ``k(x, y) / sqrt(k(x, x) k(y, y))``.
    diag_X : ndarray of shape (n,) or None, default=None
        ``k(x, x)`` of the series when known (computed when None).

    Returns
    -------
    bound : float
        The bound.
    grads : tuple of (ndarray of shape (m, length, channels), float, float)
        Its gradients with respect to Z, ``log_noise`` and ``log_scale``.
    """
    g = Grams(Z, X, kernel_args, normalize, diag_X)
    y = np.asarray(y, dtype=float)
    n, m = len(y), len(g.S)
    noise, scale = math.exp(log_noise), math.exp(log_scale)
    C, S, t = scale * g.C, scale * g.S, scale * float(np.sum(g.diag))
    P = S + C @ C.T / noise
    P_factor = scipy.linalg.cho_factor(P)
    b = C @ y
    alpha = scipy.linalg.cho_solve(P_factor, b)                  # P^-1 K_uf y
    W = scipy.linalg.cho_solve(g.factor, g.C)                    # Kuu^-1 K_uf (scale cancels)
    S_inv = scipy.linalg.cho_solve(g.factor, np.eye(m)) / scale
    P_inv = scipy.linalg.cho_solve(P_factor, np.eye(m))
    logdet = 2 * np.sum(np.log(np.diag(P_factor[0]))) \
        - 2 * np.sum(np.log(np.diag(g.factor[0]))) - m * log_scale      # log|P| - log|Kuu|
    fit = float(y @ y) / noise - float(b @ alpha) / noise ** 2
    traced = float(np.sum(W * C))                                # tr(Q)
    if t - traced < -1e-9 * t:      # tr(K - Q) >= 0 for any positive definite kernel
        raise ValueError(f"tr(K - Q) came out negative ({t - traced:.3g}): these kernels are "
                         f"not those of a positive definite kernel, the PDE scheme is "
                         f"inaccurate for these paths; raise dyadic_order or use "
                         f"method='polynomial' with dyadic_order='auto'")
    bound = -0.5 * (n * math.log(2 * math.pi) + n * log_noise + logdet + fit) \
        - (t - traced) / (2 * noise)
    # dF/dKuu, dF/dKuf: matrix calculus on the bound above (P = Kuu + Kuf Kuf' / noise)
    CtA = C.T @ alpha
    gS = -0.5 * P_inv + 0.5 * S_inv - np.outer(alpha, alpha) / (2 * noise ** 2) \
        - W @ W.T / (2 * noise)
    gC = -P_inv @ C / noise + np.outer(alpha, y) / noise ** 2 \
        - np.outer(alpha, CtA) / noise ** 3 + W / noise
    d_noise = -n / (2 * noise) + float(np.sum(P_inv * (C @ C.T))) / (2 * noise ** 2) \
        + float(y @ y) / (2 * noise ** 2) - float(b @ alpha) / noise ** 3 \
        + float(CtA @ CtA) / (2 * noise ** 4) + (t - traced) / (2 * noise ** 2)
    d_log_scale = float(np.sum(gC * C) + np.sum(gS * S)) - t / (2 * noise)
    return bound, (g.backward(scale * gC, scale * gS), noise * d_noise, d_log_scale)


class SparseSigGPRegressor(SigKernelParamsMixin, RegressorMixin, BaseEstimator):
    """Sparse Gaussian-process regression on time series with the signature kernel.

    The model is ``y = mean + f(x) + noise``, ``f ~ GP(0, kernel_scale * k)``, with ``k`` the
    signature kernel. Fitting maximises Titsias' collapsed bound on the log marginal
    likelihood (:func:`collapsed_bound`) over ``n_inducing`` inducing paths, the noise
    variance and the kernel scale, with L-BFGS-B and exact gradients (the inducing paths'
    through :func:`sksigkernel.sig_kernel_gram_backprop`). Each step costs ``n m + m**2``
    kernels and their backprop, and prediction ``m`` kernels a series: never the
    ``n**2`` of the exact GP, which it equals when the inducing paths are the training
    series.

    Parameters
    ----------
    n_inducing : int, default=32
        The number of inducing paths; at most the number of training series.
    init : {"random", "greedy", "kmeans"}, default="greedy"
        The inducing paths' start, as in :class:`~sksigkernel.SigKernelNystroem`.
    inducing_length : int or None, default=None
        Points of each inducing path (None: the median length of the training series).
    max_iter : int, default=50
        L-BFGS-B iterations; 0 keeps the start and the initial noise and scale.
    noise : float or None, default=None
        The initial noise variance (None: a tenth of the targets' variance).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation.
    dyadic_order, method, order, tolerance, static_kernel, sigma, scale, time_aug, lead_lag, \
end_time, normalize, n_channels, n_jobs, cache, verbose : see SigKernel
        The signature kernel, as in :class:`~sksigkernel.SigKernel`; ``normalize`` defaults
        to True here. Learn with an accurate kernel (``dyadic_order`` 2 and up, or
        ``method="polynomial"`` with ``dyadic_order="auto"``). ``verbose > 0`` prints the
        bound at each step.

    Attributes
    ----------
    sigma_ : float
        The bandwidth that ``sigma="median"`` took from the training series (only then).
    inducing_paths_ : ndarray of shape (n_inducing, inducing_length, n_channels)
    noise_variance_ : float
    kernel_scale_ : float
    y_mean_ : float
        The targets' mean, the model's constant.
    bound_history_ : ndarray
        The collapsed bound per training series at the start and after each of the
        ``n_iter_`` steps.
    n_iter_ : int
        L-BFGS-B iterations run.
    n_channels_ : int
    n_features_in_ : int
        Only when fitted on a 2-D table.

    Examples
    --------
    >>> import numpy as np
    >>> from sksigkernel import SparseSigGPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(80, 15, 2)).cumsum(axis=1) / 5
    >>> y = X[:, -1, 0] - X[:, 0, 0] + 0.05 * rng.normal(size=80)
    >>> gp = SparseSigGPRegressor(n_inducing=10, max_iter=20, dyadic_order=2,
    ...                           random_state=0).fit(X[:60], y[:60])
    >>> mean, std = gp.predict(X[60:], return_std=True)
    >>> gp.score(X[60:], y[60:]) > 0.8, std.shape
    (True, (20,))
    """

    _parameter_constraints = {
        **SigKernel._parameter_constraints,
        "n_inducing": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"random", "greedy", "kmeans"})],
        "inducing_length": [Interval(Integral, 2, None, closed="left"), None],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "noise": [Interval(Real, 0, None, closed="neither"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, n_inducing=32, *, init="greedy", inducing_length=None, max_iter=50,
                 noise=None, random_state=None, dyadic_order=1, method="finite_difference",
                 order=None, tolerance=None, static_kernel="linear", sigma=1.0, scale=1.0,
                 time_aug=False, lead_lag=False, end_time=1.0, normalize=True, n_channels=1,
                 n_jobs=-1, cache=True, verbose=0):
        self.n_inducing = n_inducing
        self.init = init
        self.inducing_length = inducing_length
        self.max_iter = max_iter
        self.noise = noise
        self.random_state = random_state
        super().__init__(
            dyadic_order=dyadic_order, method=method, order=order, tolerance=tolerance,
            static_kernel=static_kernel, sigma=sigma, scale=scale,
            time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, normalize=normalize,
            n_channels=n_channels, n_jobs=n_jobs, cache=cache, verbose=verbose)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the inducing paths, the noise variance and the kernel scale.

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``.
        y : array-like of shape (n_samples,)
            The targets.

        Returns
        -------
        SparseSigGPRegressor
            The fitted regressor (``self``).
        """
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             f"is None")
        paths = self._paths(X, reset=True)
        y = _check_y(y, y_numeric=True, estimator=self).astype(float)
        self._check_targets(paths, y, None, classifier=False)
        kernel = self._kernel(paths)
        rng = check_random_state(self.random_state)
        m = self.n_inducing
        if m > paths.n:
            raise ValueError(f"n_inducing={m} is more than the {paths.n} training series "
                             f"(n_samples = {paths.n})")
        length = self.inducing_length or typical_length(paths)
        Z, _ = initial_paths(self.init, paths, kernel, m, length, rng)
        self.y_mean_ = float(np.mean(y))
        yc = y - self.y_mean_
        var = float(np.var(yc)) or 1.0
        args = kernel._engine_args()
        X_fit = paths.collection()
        diag = None if self.normalize else diagonal(X_fit, args)
        variables = Increments(Z, paths)
        history = []

        def objective(theta):
            bound, (gZ, g_noise, g_scale) = collapsed_bound(
                variables.paths(theta[:-2]), X_fit, yc, theta[-2], theta[-1], args,
                self.normalize, diag)
            return -bound / len(yc), -np.concatenate(
                [variables.gradient(gZ), [g_noise, g_scale]]) / len(yc)

        def record(value):
            history.append(-value)
            if self.verbose:
                print(f"SparseSigGPRegressor: step {len(history) - 1}, bound per series "
                      f"{-value:.6g}", file=sys.stderr)

        noise = self.noise if self.noise is not None else 0.1 * var
        theta = np.concatenate([variables.start, [math.log(noise), math.log(var)]])
        low = np.concatenate([variables.low, [math.log(var * 1e-6), math.log(var * 1e-3)]])
        high = np.concatenate([variables.high, [math.log(var * 10), math.log(var * 1e3)]])
        theta = np.clip(theta, low, high)
        record(objective(theta)[0])
        self.n_iter_ = 0
        if self.max_iter:
            trial = guarded(objective, lambda: 10 * abs(history[0]) + 10)   # above the start's
            result = scipy.optimize.minimize(
                trial, theta, jac=True, method="L-BFGS-B",
                bounds=scipy.optimize.Bounds(low, high), options={"maxiter": self.max_iter},
                callback=lambda intermediate_result: record(intermediate_result.fun))
            theta, self.n_iter_ = result.x, result.nit
        self.bound_history_ = np.array(history)
        self.inducing_paths_ = variables.paths(theta[:-2]).astype(paths.data.dtype)
        self.noise_variance_ = math.exp(theta[-2])
        self.kernel_scale_ = math.exp(theta[-1])
        self._predictor(X_fit, yc, args, diag)
        return self

    def _predictor(self, X, y, args, diag):
        """The weights of the predictive mean and the matrix of its variance."""
        g = Grams(self.inducing_paths_, X, args, self.normalize, diag)
        noise, scale = self.noise_variance_, self.kernel_scale_
        C, S = scale * g.C, scale * g.S
        P = S + C @ C.T / noise
        m = len(S)
        self._weights = scipy.linalg.solve(P, C @ y, assume_a="pos") / noise
        self._variance = scipy.linalg.solve(S, np.eye(m), assume_a="pos") - \
            scipy.linalg.solve(P, np.eye(m), assume_a="pos")
        self._inducing = Paths(np.ascontiguousarray(self.inducing_paths_), None, False)

    def predict(self, X, return_std=False):
        """The predictive mean (and standard deviation of f) at the series.

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``.
        return_std : bool, default=False
            Also return the standard deviation of the latent function (without the noise).

        Returns
        -------
        mean : ndarray of shape (n_samples,)
            The predictive mean.
        std : ndarray of shape (n_samples,)
            The predictive standard deviation of f; only when ``return_std``.
        """
        check_is_fitted(self)
        paths = self._paths(X, reset=False)
        kernel = self._kernel()
        K = self.kernel_scale_ * kernel._gram(paths, self._inducing)
        mean = K @ self._weights + self.y_mean_
        if not return_std:
            return mean
        prior = np.full(paths.n, self.kernel_scale_) if self.normalize else \
            self.kernel_scale_ * diagonal(paths.collection(), kernel._engine_args())
        variance = prior - np.sum((K @ self._variance) * K, axis=1)
        return mean, np.sqrt(np.maximum(variance, 0))
