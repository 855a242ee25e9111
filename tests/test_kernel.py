"""SigKernel (the callable kernel) and the kernel cache."""
from functools import partial

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.svm import SVC, SVR
from sklearn.utils._param_validation import InvalidParameterError

from counting import count_evaluations
from helpers import brownian
from sksigkernel import (Matern12Kernel, Matern32Kernel, Matern52Kernel, PolynomialKernel,
                         RationalQuadraticKernel, RBFKernel, ScaledLinearKernel, SigKernel,
                         SigKernelRidge, SigKernelSVC, SigMMDTest, cache, sig_kernel_gram)
from sksigkernel.kernel import _CONSTRAINTS, KERNEL_PARAMS


pytestmark = pytest.mark.usefixtures("empty_cache")


# random walks of 12 points by default, started at their first step
walks = partial(brownian, length=12, scale=0.3, from_origin=False)


@pytest.mark.parametrize("name, static", [
    ("linear", ScaledLinearKernel(0.7)), ("rbf", RBFKernel(0.5)), ("matern12", Matern12Kernel(0.5)),
    ("matern32", Matern32Kernel(0.5)), ("matern52", Matern52Kernel(0.5)),
    ("rational_quadratic", RationalQuadraticKernel(0.5)), ("polynomial", PolynomialKernel(scale=0.7)),
])
def test_named_static_kernels_are_the_engine_kernels(rng, name, static):
    X, Y = walks(rng, 5), walks(rng, 4, length=9)
    kernel = SigKernel(static_kernel=name, sigma=0.5, scale=0.7, time_aug=True, dyadic_order=2)
    expected = sig_kernel_gram(X, Y, 2, static_kernel=static, time_aug=True)
    np.testing.assert_allclose(kernel(X, Y), expected, rtol=1e-13)
    assert kernel.static() == static


def test_options_reach_the_engine(rng):
    X, Y = walks(rng, 6), walks(rng, 3, length=15)
    kernel = SigKernel(dyadic_order=(1, 2), static_kernel=RBFKernel(2.0), lead_lag=True,
                       time_aug=True, end_time=3.0, normalize=True)
    expected = sig_kernel_gram(X, Y, (1, 2), static_kernel=RBFKernel(2.0), lead_lag=True,
                               time_aug=True, end_time=3.0, normalize=True)
    np.testing.assert_allclose(kernel(X, Y), expected, rtol=1e-12)
    Kxx = SigKernel(normalize=True)(X)
    np.testing.assert_allclose(Kxx, sig_kernel_gram(X, None, 1, normalize=True), rtol=1e-12)
    np.testing.assert_allclose(np.diag(Kxx), 1.0, rtol=1e-14)
    # (d1, d2) with d1 != d2 is not symmetric: K(X, X) is not mirrored from one triangle
    asym = SigKernel(dyadic_order=(0, 2), normalize=True)
    np.testing.assert_allclose(asym(X), sig_kernel_gram(X, X, (0, 2), normalize=True),
                               rtol=1e-12)
    np.testing.assert_allclose(asym(Y, X), sig_kernel_gram(Y, X, (0, 2), normalize=True),
                               rtol=1e-12)


def test_cached_entries_equal_fresh_ones(rng):
    """Random overlapping requests, with repeats and both dtypes: the cache answers exactly
    what an uncached computation gives."""
    pool = walks(rng, 30)
    cached, fresh = SigKernel(static_kernel="rbf"), SigKernel(static_kernel="rbf", cache=False)
    for _ in range(8):
        a = rng.choice(30, size=rng.integers(1, 20))
        b = rng.choice(30, size=rng.integers(1, 20))
        np.testing.assert_allclose(cached(pool[a], pool[b]), fresh(pool[a], pool[b]), rtol=1e-14)
        np.testing.assert_allclose(cached(pool[a]), fresh(pool[a]), rtol=1e-14)
    X32 = pool[:7].astype(np.float32)
    K32 = cached(X32)
    assert K32.dtype == np.float32
    np.testing.assert_allclose(K32, fresh(X32), rtol=1e-6)
    assert cache.info().settings == 2          # float32 entries kept apart from float64


def test_each_entry_is_computed_once(rng, monkeypatch):
    X = walks(rng, 20)
    kernel = SigKernel()
    with count_evaluations(monkeypatch) as counter:
        kernel(X[:12])                          # one triangle: 78
        assert counter["pairs"] == 78
        kernel(X[8:], X[:12])                   # new rows 12..19 against 0..11: 96
        assert counter["pairs"] == 78 + 96
        kernel(X)                               # only the new triangle 12..19: 36
        assert counter["pairs"] == 78 + 96 + 36 == 20 * 21 // 2
        kernel(X[::-1], X[3:9])
        clone(kernel)(X)
        SigKernel(normalize=True)(X)            # normalize is applied on the way out
        assert counter["pairs"] == 210
    assert cache.info().evaluations == 210


def test_cache_key_is_content_hyperparameters_and_dtype(rng, monkeypatch):
    X = walks(rng, 6)
    SigKernel()(X)
    with count_evaluations(monkeypatch) as counter:
        changed = X.copy()
        changed[2, 5, 1] += 1e-9
        SigKernel()(changed)                     # one changed path: its row, 6 entries
        assert counter["pairs"] == 6
        SigKernel(time_aug=True)(X)
        assert counter["pairs"] == 6 + 21
        SigKernel(static_kernel="rbf", sigma=2.0)(X)
        SigKernel(static_kernel=RBFKernel(2.0))(X)   # the same setting by object
        assert counter["pairs"] == 6 + 21 + 21
        SigKernel()(X.astype(np.float32))
        assert counter["pairs"] == 6 + 21 + 21 + 21
        SigKernel(cache=False)(X)
        assert counter["pairs"] == 6 + 21 + 21 + 21 + 21


def test_memory_bound(rng, monkeypatch):
    X = walks(rng, 40)
    cache.set_max_bytes(20 * 20 * 8)            # room for a 20-path matrix in float64
    fresh = SigKernel(cache=False)
    np.testing.assert_allclose(SigKernel()(X[:10]), fresh(X[:10]), rtol=1e-14)
    assert 0 < cache.info().nbytes <= 20 * 20 * 8
    np.testing.assert_allclose(SigKernel()(X), fresh(X), rtol=1e-14)   # too big: not cached
    assert cache.info().nbytes <= 20 * 20 * 8
    np.testing.assert_allclose(SigKernel(time_aug=True)(X[:15]),
                               SigKernel(time_aug=True, cache=False)(X[:15]), rtol=1e-14)
    assert cache.info().settings == 1           # the older setting was dropped
    cache.set_max_bytes(0)
    assert cache.info().nbytes == 0
    with count_evaluations(monkeypatch) as counter:
        SigKernel()(X[:5])
        SigKernel()(X[:5])
        assert counter["pairs"] == 2 * 15
    with pytest.raises(ValueError, match="max_bytes"):
        cache.set_max_bytes(-1)


def test_grid_search_over_C_computes_about_one_gram(rng, monkeypatch):
    """5 folds x 4 values of C: each kernel entry once, not once per fit (20 fits)."""
    n = 40
    X = walks(rng, n, scale=1.0)
    y = (X[:, -1, 0] > X[:, 0, 0]).astype(int)
    with count_evaluations(monkeypatch) as counter:
        # a fixed sigma: "median" takes each fold's own (the next test)
        search = GridSearchCV(SigKernelSVC(dyadic_order=0, sigma=1.0), {"C": [0.1, 1, 10, 100]},
                              cv=5)
        search.fit(X, y)
        search.predict(X)
    full_gram = n * n
    # every entry of one triangle plus the diagonal for normalize: about half a full gram
    assert counter["pairs"] <= n * (n + 1) // 2 + n
    assert counter["pairs"] <= 2 * full_gram
    without_cache = counter["pairs"]
    cache.clear()
    with count_evaluations(monkeypatch) as counter:
        GridSearchCV(SigKernelSVC(dyadic_order=0, cache=False), {"C": [0.1, 1, 10, 100]},
                     cv=5).fit(X, y)
    assert counter["pairs"] > 10 * without_cache


def test_grid_search_with_the_median_bandwidth_shares_the_folds_kernel(rng, monkeypatch):
    """The default sigma="median" takes each fold's training series. Rounded to powers of
    2^(1/4), the 5 folds' medians (which differ by up to 20% on these 40 short walks) fall
    on two bandwidths, and the search computes two grams' triangles, where a bandwidth a
    fold would compute five (2800 entries)."""
    n = 40
    X = walks(rng, n, scale=1.0)
    y = (X[:, -1, 0] > X[:, 0, 0]).astype(int)
    with count_evaluations(monkeypatch) as counter:
        GridSearchCV(SigKernelSVC(dyadic_order=0), {"C": [0.1, 1, 10, 100]}, cv=5).fit(X, y)
    assert counter["pairs"] <= 2 * (n * (n + 1) // 2 + n)


def test_with_sklearn_svc_on_3d_and_ragged(rng):
    X = walks(rng, 30, scale=1.0)
    y = (X[:, -1, 0] > X[:, 0, 0]).astype(int)
    ragged = [x[:8 + i % 5] for i, x in enumerate(X)]
    # SigKernelSVC's defaults; sklearn's SVC calls the kernel with its training series as Y,
    # from which sigma="median" is taken, as SigKernelSVC takes it at fit
    kernel = SigKernel(static_kernel="rbf", sigma="median", time_aug=True, normalize=True,
                       method="polynomial", dyadic_order="auto")
    for data in (X, ragged):
        svc = SVC(kernel=kernel, C=10).fit(data, y)
        ours = SigKernelSVC(C=10).fit(data, y)
        np.testing.assert_array_equal(svc.predict(data), ours.predict(data))
        np.testing.assert_allclose(svc.decision_function(data), ours.decision_function(data),
                                   rtol=1e-8, atol=1e-10)
        target = X[:, -1, 1] - X[:, 0, 1]
        svr = SVR(kernel=kernel, C=10).fit(data, target)
        ref = SVR(kernel="precomputed", C=10).fit(kernel(data), target)
        np.testing.assert_allclose(svr.predict(data), ref.predict(kernel(data)), rtol=1e-10)


def test_verbose_reports_progress(rng, capsys):
    SigKernel(verbose=1)(walks(rng, 25))
    err = capsys.readouterr().err
    assert "kernel entries" in err and "computed 325 kernel entries" in err
    SigKernel()(walks(rng, 25))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("params, match", [
    ({"dyadic_order": -1}, "dyadic_order"),
    ({"dyadic_order": (1, 2, 3)}, "dyadic_order' parameter .* tuple of two integers"),
    ({"dyadic_order": (1, 17)}, "dyadic_order' parameter .* tuple of two integers"),
    ({"dyadic_order": [1, 2]}, "dyadic_order' parameter .* tuple of two integers"),
    ({"dyadic_order": (1.0, 2)}, "dyadic_order' parameter .* tuple of two integers"),
    ({"n_jobs": 0}, "n_jobs"),
    ({"static_kernel": "gaussian"}, "static_kernel"),
    ({"sigma": 0.0}, "sigma"),
    ({"n_channels": 0}, "n_channels"),
    ({"normalize": "yes"}, "normalize"),
])
def test_bad_parameters(rng, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        SigKernel(**params)(walks(rng, 3))


def test_bad_inputs(rng):
    with pytest.raises(ValueError, match="same number of channels"):
        SigKernel()(walks(rng, 3), walks(rng, 3, channels=3))
    with pytest.raises(ValueError, match="overflowed"):
        SigKernel(cache=False)(walks(rng, 3, length=50, scale=200.0))


@pytest.mark.parametrize("estimator", [SigKernelSVC, SigKernelRidge, SigMMDTest])
def test_estimators_take_the_kernels_parameters(estimator):
    # each estimator has SigKernel's fifteen parameters, with SigKernel's defaults (normalize
    # aside, and SigKernelSVC's and SigKernelRidge's static kernel and solver), and hands
    # them on unchanged
    assert set(KERNEL_PARAMS) == set(_CONSTRAINTS)
    ours, theirs = SigKernel().get_params(), estimator().get_params()
    own = {"normalize"} | ({"static_kernel", "sigma", "time_aug", "dyadic_order", "method"}
                           if estimator in (SigKernelSVC, SigKernelRidge) else set())
    assert {k: theirs[k] for k in KERNEL_PARAMS if k not in own} == \
        {k: ours[k] for k in KERNEL_PARAMS if k not in own}
    changed = dict(dyadic_order="auto", method="polynomial", order=5, tolerance=1e-6,
                   static_kernel="rbf", sigma=0.3, scale=2.0, time_aug=True, lead_lag=True, end_time=3.0, normalize=False, n_channels=2,
                   n_jobs=1, cache=False, verbose=1)
    assert set(changed) == set(KERNEL_PARAMS)
    assert estimator(**changed)._kernel().get_params() == changed


def test_the_solver_is_part_of_the_cache_key(rng):
    X = walks(rng, 5)
    fd = SigKernel(dyadic_order=0)(X)
    for order in (None, 8, 3):
        poly = SigKernel(dyadic_order=0, method="polynomial", order=order)(X)
        np.testing.assert_array_equal(
            poly, sig_kernel_gram(X, None, 0, method="polynomial", order=order))
    assert not np.array_equal(fd, poly)
    np.testing.assert_array_equal(SigKernel(dyadic_order=0)(X), fd)
    assert cache.info().settings == 3        # FD; polynomial 8 (None is 8); polynomial 3


def test_median_sigma_comes_from_the_reference_side(rng):
    """sigma="median" takes Y's points (X's for X against itself): the side where
    scikit-learn's estimators pass their training series, in fit and in predict alike."""
    from scipy.spatial.distance import pdist
    from sklearn.utils._param_validation import InvalidParameterError
    X, Y = rng.normal(size=(6, 8, 2)) * 5, rng.normal(size=(4, 9, 2))

    def median(Z):
        return 2.0 ** (np.round(4 * np.log2(np.median(pdist(Z.reshape(-1, 2), "sqeuclidean"))))
                       / 4)
    kernel = SigKernel(static_kernel="rbf", sigma="median", time_aug=True)
    np.testing.assert_array_equal(
        kernel(X, Y), SigKernel(static_kernel="rbf", sigma=median(Y), time_aug=True)(X, Y))
    np.testing.assert_array_equal(
        kernel(X), SigKernel(static_kernel="rbf", sigma=median(X), time_aug=True)(X))
    assert kernel.sigma == "median"                   # the parameter is left as it was
    with pytest.raises(InvalidParameterError, match="sigma"):
        SigKernel(static_kernel="rbf", sigma="mean")(X)
