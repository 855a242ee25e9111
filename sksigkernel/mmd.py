"""Maximum mean discrepancy with the signature kernel: a two-sample test, and a loss.

``MMD²(P, Q) = E k(x, x') + E k(y, y') - 2 E k(x, y)`` is zero exactly when the laws of the
paths agree (for a characteristic kernel, such as the signature kernel with a normalising or
RBF static kernel). :func:`sig_mmd_test` tests ``P = Q`` from two samples by permutation;
:func:`sig_mmd` estimates ``MMD²`` differentiably, to train generative models of paths.
"""
from dataclasses import dataclass
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from ._estimator import SigKernelParamsMixin
from ._input import Paths
from .kernel import SigKernel

__all__ = ["MMDTestResult", "SigMMDTest", "sig_mmd_test", "sig_mmd"]


@dataclass(frozen=True)
class MMDTestResult:
    """Result of a signature-kernel MMD two-sample test (like ``scipy.stats`` results).

    Unpacks as ``statistic, pvalue = result``.

    Parameters
    ----------
    statistic : float
        The MMD² estimate of the two samples as given.
    pvalue : float
        ``(1 + #{T_b >= statistic}) / (1 + n_permutations)``.
    null_distribution : ndarray of shape (n_permutations,)
        The statistic ``T_b`` of each random relabelling of the pooled sample.

    Examples
    --------
    >>> import numpy as np
    >>> statistic, pvalue = MMDTestResult(0.25, 0.01, np.zeros(99))
    >>> MMDTestResult(0.25, 0.01, np.zeros(99))
    MMDTestResult(statistic=0.25, pvalue=0.01, n_permutations=99)
    """

    statistic: float
    pvalue: float
    null_distribution: np.ndarray

    def __iter__(self):
        return iter((self.statistic, self.pvalue))

    def __repr__(self):
        return (f"MMDTestResult(statistic={self.statistic:.6g}, pvalue={self.pvalue:.6g}, "
                f"n_permutations={len(self.null_distribution)})")


def mmd_from_gram(K, labels, biased=False):
    """MMD² of the splits ``labels`` (rows: 1 for the first sample) of a pooled gram ``K``.

    All splits at once, from one matrix product: ``S_xx = a' K a`` for the indicator ``a``
    of each split, so no loop over splits.

    Parameters
    ----------
    K : ndarray of shape (N, N)
        Gram of the pooled sample.
    labels : ndarray of shape (n_splits, N), 0 or 1
        Each row has ``n`` ones (the first sample) and ``m = N - n`` zeros.
    biased : bool
        The V-statistic (with the diagonal) instead of the unbiased U-statistic.

    Returns
    -------
    ndarray of shape (n_splits,)
    """
    a = labels.astype(K.dtype)
    n = a[0].sum()
    m = K.shape[0] - n
    Ka = a @ K                                   # (n_splits, N): one product for all splits
    s_xx = np.einsum("bi,bi->b", Ka, a)
    s_xy = Ka.sum(axis=1) - s_xx
    s_yy = K.sum() - s_xx - 2 * s_xy
    diag = np.diag(K)
    t_xx = a @ diag
    return _mmd2(s_xx, s_yy, s_xy, t_xx, diag.sum() - t_xx, n, m, biased)


def _mmd2(s_xx, s_yy, s_xy, t_xx, t_yy, n, m, biased):
    """MMD² from the sums of the blocks K_xx, K_yy, K_xy and the traces of K_xx, K_yy
    (numpy or torch values alike)."""
    if biased:
        return s_xx / n ** 2 + s_yy / m ** 2 - 2 * s_xy / (n * m)
    return (s_xx - t_xx) / (n * (n - 1)) + (s_yy - t_yy) / (m * (m - 1)) - 2 * s_xy / (n * m)


class SigMMDTest(SigKernelParamsMixin, BaseEstimator):
    """Two-sample test of ``P = Q`` with the signature-kernel MMD, by permutation.

    ``fit(X, Y)`` computes the gram of the pooled sample once, the statistic, and its null
    distribution over ``n_permutations`` random relabellings (all from one matrix product,
    see :func:`mmd_from_gram`). The p-value is ``(1 + #{T_b >= T}) / (1 + n_permutations)``.

    Parameters
    ----------
    n_permutations : int, default=1000
        Random relabellings of the pooled sample.
    biased : bool, default=False
        Use the biased V-statistic (with the diagonal) instead of the unbiased one.
    random_state : int, RandomState instance or None, default=None
        Seed of the relabellings.
    dyadic_order, method, order, tolerance, static_kernel, sigma, scale, time_aug, lead_lag, \
end_time, normalize, n_channels, n_jobs, cache, verbose : see SigKernel
        The signature kernel, as in :class:`~sksigkernel.SigKernel`. ``normalize`` defaults
        to True here: each path weighs the same, so a few large paths cannot dominate the
        statistic.

    Attributes
    ----------
    sigma_ : float
        The bandwidth that ``sigma="median"`` took from the pooled samples (only then).
    result_ : MMDTestResult
    statistic_, pvalue_, null_distribution_ : the fields of ``result_``

    Examples
    --------
    >>> import numpy as np
    >>> from sksigkernel import SigMMDTest
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(30, 20, 2)).cumsum(axis=1) * 0.2      # Brownian, volatility 1
    >>> Y = rng.normal(size=(30, 20, 2)).cumsum(axis=1) * 0.4      # volatility 2
    >>> test = SigMMDTest(time_aug=True, random_state=0).fit(X, Y)
    >>> test.pvalue_ < 0.05
    True
    """

    _parameter_constraints = {
        **SigKernel._parameter_constraints,
        "n_permutations": [Interval(Integral, 1, None, closed="left")],
        "biased": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(self, n_permutations=1000, *, biased=False, random_state=None, dyadic_order=1,
                 method="finite_difference", order=None, tolerance=None, static_kernel="linear",
                 sigma=1.0, scale=1.0, time_aug=False, lead_lag=False, end_time=1.0,
                 normalize=True, n_channels=1, n_jobs=-1, cache=True, verbose=0):
        self.n_permutations = n_permutations
        self.biased = biased
        self.random_state = random_state
        super().__init__(
            dyadic_order=dyadic_order, method=method, order=order, tolerance=tolerance,
            static_kernel=static_kernel, sigma=sigma, scale=scale,
            time_aug=time_aug, lead_lag=lead_lag, end_time=end_time, normalize=normalize,
            n_channels=n_channels, n_jobs=n_jobs, cache=cache, verbose=verbose)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, Y):
        """Test whether the series ``X`` and ``Y`` come from the same law.

        Unlike scikit-learn's ``fit(X, y)``, the second argument is a second sample of
        series, not targets: SigMMDTest borrows scikit-learn's parameter handling
        (``get_params``, ``set_params``, ``clone``) but predicts nothing, so it does not
        belong in a ``Pipeline``. :func:`sig_mmd_test` is the same test as a function.

        Parameters
        ----------
        X : collection of series
            The first sample, in any form SigKernel takes, at least 2 series.
        Y : collection of series
            The second sample, as ``X``.

        Returns
        -------
        SigMMDTest
            ``self``, with ``result_`` and its fields set.
        """
        A = self._paths(X, reset=True, name="X")
        B = self._paths(Y, reset=False, name="Y")
        n, m = len(A), len(B)
        if min(n, m) < 2:
            raise ValueError(f"X and Y need at least 2 series each, got {n} and {m}")
        pooled = Paths.concatenate([A, B])
        K = np.asarray(self._kernel(pooled)._gram(pooled), dtype=np.float64)
        rng = check_random_state(self.random_state)
        observed = np.r_[np.ones(n), np.zeros(m)]
        null = np.empty(self.n_permutations)
        step = max(1, (32 << 20) // (8 * (n + m)))       # relabellings per product: 32 MiB
        for s in range(0, self.n_permutations, step):
            k = min(step, self.n_permutations - s)
            labels = rng.random_sample((k, n + m)).argsort(axis=1) < n   # uniform random splits
            null[s:s + k] = mmd_from_gram(K, labels, self.biased)
        statistic = float(mmd_from_gram(K, observed[None], self.biased)[0])
        pvalue = (1 + np.count_nonzero(null >= statistic)) / (1 + self.n_permutations)
        self.result_ = MMDTestResult(statistic, float(pvalue), null)
        self.statistic_, self.pvalue_, self.null_distribution_ = statistic, float(pvalue), null
        return self


def sig_mmd_test(X, Y, **params):
    """Signature-kernel MMD two-sample test: ``SigMMDTest(**params).fit(X, Y).result_``.

    Parameters
    ----------
    X, Y : collections of series
        The two samples, in any form SigKernel takes, at least 2 series each.
    **params : dict
        The parameters of :class:`SigMMDTest` (``n_permutations``, ``biased``,
        ``random_state`` and the kernel's: ``dyadic_order``, ``static_kernel``, ...).

    Returns
    -------
    MMDTestResult
        ``statistic``, ``pvalue``, ``null_distribution``; unpacks as ``stat, p = result``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksigkernel import sig_mmd_test
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(25, 20, 2)).cumsum(axis=1) * 0.2
    >>> Y = rng.normal(size=(25, 20, 2)).cumsum(axis=1) * 0.2      # the same law
    >>> result = sig_mmd_test(X, Y, time_aug=True, random_state=0)
    >>> stat, p = result
    >>> len(result.null_distribution), bool(p == result.pvalue)
    (1000, True)
    """
    return SigMMDTest(**params).fit(X, Y).result_


def sig_mmd(X, Y, dyadic_order=1, *, static_kernel=None, time_aug=False, lead_lag=False,
            end_time=1.0, normalize=False, biased=False, n_jobs=-1):
    """MMD² between two samples of paths, differentiable through torch.

    With torch tensors the result is a 0-d tensor with gradients for both ``X`` and ``Y``
    (``sksigkernel.torch_api``): a loss to train a generator of paths against data. With
    numpy arrays it is a float.

    Parameters
    ----------
    X, Y : arrays or tensors of shape (n, length, channels), or lists of paths
        At least 2 paths each for the unbiased estimate.
    dyadic_order, static_kernel, time_aug, lead_lag, end_time, normalize : see sig_kernel_gram
        As in :func:`sksigkernel.sig_kernel_gram`.
    biased : bool, default=False
        The V-statistic (with the diagonal terms) instead of the unbiased U-statistic.
    n_jobs : int or None, default=-1
        Threads, as in :func:`sksigkernel.sig_kernel_gram`.

    Returns
    -------
    float or tensor
        The MMD² estimate: a float for numpy input, a 0-d tensor (differentiable) for torch.

    Examples
    --------
    >>> import torch
    >>> from sksigkernel import sig_mmd
    >>> g = torch.Generator().manual_seed(0)
    >>> X = (torch.randn(16, 20, 2, generator=g, dtype=torch.float64) * 0.1).cumsum(1)
    >>> Z = (torch.randn(16, 20, 2, generator=g, dtype=torch.float64) * 0.3).cumsum(1)
    >>> Z.requires_grad_()
    ... # doctest: +ELLIPSIS
    tensor(...)
    >>> loss = sig_mmd(Z, X, time_aug=True)
    >>> loss.backward()
    >>> Z.grad.shape
    torch.Size([16, 20, 2])
    """
    from ._input import _is_tensor
    opts = dict(static_kernel=static_kernel, time_aug=time_aug, lead_lag=lead_lag,
                end_time=end_time, normalize=normalize, n_jobs=n_jobs)
    if _is_tensor(X) or _is_tensor(Y) or (isinstance(X, list) and _is_tensor(X[0])):
        from .torch_api import sig_kernel_gram
    else:
        from .functional import sig_kernel_gram
    Kxx = sig_kernel_gram(X, X, dyadic_order, **opts)
    Kyy = sig_kernel_gram(Y, Y, dyadic_order, **opts)
    Kxy = sig_kernel_gram(X, Y, dyadic_order, **opts)
    n, m = Kxx.shape[0], Kyy.shape[0]
    if not biased and min(n, m) < 2:
        raise ValueError(f"the unbiased MMD needs at least 2 paths in X and in Y, got {n} "
                         f"and {m} (or pass biased=True)")

    def trace(K):      # numpy, torch, or dask (a lazy sum of the diagonal blocks)
        return K.diagonal().sum() if hasattr(K, "diagonal") else np.diagonal(K).sum()
    value = _mmd2(Kxx.sum(), Kyy.sum(), Kxy.sum(), trace(Kxx), trace(Kyy), n, m, biased)
    return value if hasattr(value, "backward") or hasattr(value, "dask") else float(value)
