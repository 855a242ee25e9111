"""Kernel ridge regression with the signature kernel."""
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, _fit_context
from sklearn.kernel_ridge import KernelRidge
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._estimator import SigKernelParamsMixin
from .kernel import SigKernel

__all__ = ["SigKernelRidge"]


class SigKernelRidge(SigKernelParamsMixin, RegressorMixin, BaseEstimator):
    """Kernel ridge regression on time series with the signature kernel.

    :class:`sklearn.kernel_ridge.KernelRidge` on the precomputed signature-kernel gram
    (cached, see :mod:`sksigkernel.cache`): it minimises
    ``||y - K w||² + alpha w' K w`` and predicts ``k(x, X_train) w``.

    Parameters
    ----------
    alpha : float or array of shape (n_targets,), default=1.0
        Regularisation strength (as in KernelRidge).
    dyadic_order, method, order, tolerance, static_kernel, sigma, scale, time_aug, lead_lag, \
end_time, normalize, n_channels, n_jobs, cache, verbose : see SigKernel
        The signature kernel, as in :class:`~sksigkernel.SigKernel`, with SigKernelSVC's
        static kernel and time augmentation by default: the RBF static kernel with
        ``sigma="median"`` (from the training series: ``sigma_``) and ``time_aug=True``,
        which neither overflow nor depend on the units of the series (on Covid3Month,
        test R^2 -0.01 behind ChannelScaler and -0.05 raw, where the linear static kernel
        gave -0.80 and overflowed); and its solver, the polynomial method with
        ``dyadic_order="auto"`` (each kernel within ``tolerance``, 1e-8 relative).

    Attributes
    ----------
    dual_coef_ : ndarray of shape (n_samples,) or (n_samples, n_targets)
    sigma_ : float
        The bandwidth that ``sigma="median"`` took from the training series (only then).
    X_fit_ : ndarray or list
        The training series (channels last).
    n_channels_ : int
    n_features_in_ : int
        Only when fitted on a 2-D table.

    Examples
    --------
    >>> import numpy as np
    >>> from sksigkernel import SigKernelRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 20, 2)).cumsum(axis=1) / 10
    >>> y = X[:, -1, 0] - X[:, 0, 0]                # the total increment of channel 0
    >>> # a level-1 signature term: the linear static kernel sees it exactly
    >>> reg = SigKernelRidge(alpha=1e-3, dyadic_order=0, static_kernel="linear",
    ...                      time_aug=False).fit(X[:40], y[:40])
    >>> reg.score(X[40:], y[40:]) > 0.9
    True
    """

    _parameter_constraints = {
        **SigKernel._parameter_constraints,
        "alpha": [Interval(Real, 0, None, closed="left"), "array-like"],
    }

    def __init__(self, alpha=1.0, *, dyadic_order="auto", method="polynomial", order=None,
                 tolerance=None, static_kernel="rbf", sigma="median", scale=1.0, time_aug=True,
                 lead_lag=False, end_time=1.0, normalize=False, n_channels=1, n_jobs=-1,
                 cache=True, verbose=0):
        self.alpha = alpha
        super().__init__(
            dyadic_order=dyadic_order, method=method, order=order, tolerance=tolerance,
            static_kernel=static_kernel, sigma=sigma, scale=scale,
            time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, normalize=normalize,
            n_channels=n_channels, n_jobs=n_jobs, cache=cache, verbose=verbose)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit on series ``X`` with targets ``y``.

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-series weights, as in KernelRidge.

        Returns
        -------
        SigKernelRidge
            The fitted regressor (``self``).
        """
        paths = self._paths(X, reset=True)
        self._check_targets(paths, y, sample_weight, classifier=False)
        kernel = self._kernel(paths)
        self.ridge_ = KernelRidge(alpha=self.alpha, kernel="precomputed")
        self.ridge_.fit(kernel._gram(paths), y, sample_weight=sample_weight)
        self.kernel_ = kernel
        self._fit_paths = paths
        self.dual_coef_ = self.ridge_.dual_coef_
        return self

    @property
    def X_fit_(self):
        """The training series (channels last): a 3-D array, or a list when lengths differ."""
        return self._fit_paths.collection()

    def predict(self, X):
        """Predicted targets of the series ``X``.

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            ``k(X, X_fit_) @ dual_coef_``.
        """
        check_is_fitted(self)
        K = self.kernel_._gram(self._paths(X, reset=False), self._fit_paths)
        return np.asarray(K, dtype=np.float64) @ self.dual_coef_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
