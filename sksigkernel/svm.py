"""Support vector classification with the signature kernel."""
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.svm import SVC
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from ._estimator import SigKernelParamsMixin
from .kernel import SigKernel

__all__ = ["SigKernelSVC"]


def _has_probability(est):
    if not est.probability:
        raise AttributeError("predict_proba is available only when probability=True")
    return True


class SigKernelSVC(SigKernelParamsMixin, ClassifierMixin, BaseEstimator):
    """C-support vector classifier on time series with the signature kernel.

    The gram of the training series is computed once (and cached, see
    :mod:`sksigkernel.cache`) and handed to :class:`sklearn.svm.SVC` with
    ``kernel="precomputed"``; only the support series are kept for prediction. The kernel's
    hyperparameters are parameters of this estimator, so ``GridSearchCV`` tunes them beside
    ``C``.

    Parameters
    ----------
    C : float, default=1.0
        Regularisation: the penalty of a margin violation (as in SVC).
    dyadic_order, method, order, tolerance, static_kernel, sigma, scale, time_aug, lead_lag, \
end_time, normalize, n_channels, n_jobs, cache, verbose : see SigKernel
        The signature kernel, as in :class:`~sksigkernel.SigKernel`, with other defaults
        here, chosen on the classification datasets aeon ships
        (``benchmarks/bench_defaults.py``): the RBF static kernel with ``sigma="median"``
        (its bandwidth from the training series: ``sigma_``), ``time_aug=True`` and
        ``normalize=True``. kappa's values stay in (0, 1] whatever the units of the data,
        so the scheme's increments stay bounded on raw series, and time keeps the order of
        a 1-channel series, which its path alone does not. The solver: the polynomial
        method with ``dyadic_order="auto"``, each kernel within ``tolerance`` (1e-8)
        relative to ``sqrt(k(x, x) k(y, y))`` on any scale, at about 3x the cost of
        finite differences at dyadic order 1 (off by about 1e-4 to 1e-2) on series of 100
        points, more on longer ones (15x at 1460); ``method="finite_difference",
        dyadic_order=1`` is the fast choice.
    class_weight, probability, tol, max_iter, decision_function_shape, break_ties, \
random_state : see sklearn.svm.SVC
        As in :class:`sklearn.svm.SVC`. SVC's ``probability`` is deprecated since
        scikit-learn 1.9; ``CalibratedClassifierCV(SigKernelSVC(), ensemble=False)`` gives
        calibrated probabilities without it.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    support_ : ndarray of shape (n_SV,)
        Indices of the support series in the training set.
    support_paths_ : ndarray or list
        The support series (channels last), all that prediction needs.
    n_support_, dual_coef_, intercept_, n_iter_ : as in SVC
    svc_ : SVC
        The fitted classifier on the precomputed gram.
    sigma_ : float
        The bandwidth that ``sigma="median"`` took from the training series (only then).
    n_channels_ : int
        Channels of the training series.
    n_features_in_ : int
        Only when fitted on a 2-D table.

    Examples
    --------
    >>> import numpy as np
    >>> from sksigkernel import SigKernelSVC
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 25, 2)).cumsum(axis=1) / 10
    >>> y = np.where(X[:, -1, 0] > X[:, 0, 0], "up", "down")
    >>> clf = SigKernelSVC(C=10, dyadic_order=0).fit(X[:30], y[:30])
    >>> clf.score(X[30:], y[30:]) >= 0.8
    True
    """

    _parameter_constraints = {
        **SigKernel._parameter_constraints,
        "C": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "probability": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, -1, None, closed="left")],
        "decision_function_shape": [StrOptions({"ovr", "ovo"})],
        "break_ties": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, C=1.0, *, dyadic_order="auto", method="polynomial", order=None,
                 tolerance=None, static_kernel="rbf", sigma="median", scale=1.0, time_aug=True,
                 lead_lag=False, end_time=1.0, normalize=True, n_channels=1, n_jobs=-1,
                 cache=True, verbose=0,
                 class_weight=None, probability=False, tol=1e-3, max_iter=-1,
                 decision_function_shape="ovr", break_ties=False, random_state=None):
        self.C = C
        super().__init__(
            dyadic_order=dyadic_order, method=method, order=order, tolerance=tolerance,
            static_kernel=static_kernel, sigma=sigma, scale=scale,
            time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, normalize=normalize,
            n_channels=n_channels, n_jobs=n_jobs, cache=cache, verbose=verbose)
        self.class_weight = class_weight
        self.probability = probability
        self.tol = tol
        self.max_iter = max_iter
        self.decision_function_shape = decision_function_shape
        self.break_ties = break_ties
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Fit on series ``X`` with labels ``y``.

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-series weights (they rescale ``C``), as in SVC.

        Returns
        -------
        SigKernelSVC
            The fitted classifier (``self``).
        """
        paths = self._paths(X, reset=True)
        self._check_targets(paths, y, sample_weight, classifier=True)
        kernel = self._kernel(paths)
        # SVC's probability is deprecated in scikit-learn 1.9: passed on only when asked for
        extra = {"probability": True} if self.probability else {}
        self.svc_ = SVC(C=self.C, kernel="precomputed", class_weight=self.class_weight,
                        tol=self.tol, max_iter=self.max_iter,
                        decision_function_shape=self.decision_function_shape,
                        break_ties=self.break_ties, random_state=self.random_state, **extra)
        self.svc_.fit(kernel._gram(paths), y, sample_weight=sample_weight)
        self.kernel_ = kernel
        self._support_paths = paths.take(self.svc_.support_)
        self._n_train = len(paths)
        for name in ("classes_", "support_", "n_support_", "dual_coef_", "intercept_", "n_iter_"):
            setattr(self, name, getattr(self.svc_, name))
        return self

    @property
    def support_paths_(self):
        """The support series (channels last): a 3-D array, or a list when lengths differ."""
        return self._support_paths.collection()

    def _test_gram(self, X):
        """Kernels of X against the training series: support columns filled, the rest 0
        (the SVC reads only the support columns of a precomputed kernel)."""
        check_is_fitted(self)
        paths = self._paths(X, reset=False)
        K = np.zeros((len(paths), self._n_train))
        K[:, self.support_] = self.kernel_._gram(paths, self._support_paths)
        return K

    def decision_function(self, X):
        """Compute the distances of the series to the separating hyperplanes.

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_classes * (n_classes - 1) / 2 or n_classes)
            As :meth:`sklearn.svm.SVC.decision_function` returns them.
        """
        K = self._test_gram(X)
        return self.svc_.decision_function(K)

    def predict(self, X):
        """Predicted class of each series.

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``.

        Returns
        -------
        ndarray of shape (n_samples,)
            Class labels.
        """
        K = self._test_gram(X)
        return self.svc_.predict(K)

    @available_if(_has_probability)
    def predict_proba(self, X):
        """Class probabilities (Platt scaling; needs ``probability=True``).

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        K = self._test_gram(X)
        return self.svc_.predict_proba(K)

    @available_if(_has_probability)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : collection of series
            3-D ``(n_samples, length, channels)``, NaN-padded 3-D, a list of
            ``(length_i, channels)`` arrays, or 2-D ``(n_samples, length * n_channels)``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Log-probabilities, columns in the order of ``classes_``.
        """
        K = self._test_gram(X)
        return self.svc_.predict_log_proba(K)
