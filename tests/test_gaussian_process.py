"""SparseSigGPRegressor and the collapsed bound: the exact GP when the inducing paths are the
training series, exact gradients, learning that raises the bound, and predictions."""
import math

import numpy as np
import pytest

import sksigkernel as sk
from sksigkernel.gaussian_process import collapsed_bound
from helpers import brownian, finite_difference

pytestmark = pytest.mark.usefixtures("empty_cache")

ARGS = dict(dyadic_order=1, method="finite_difference", order=None, tolerance=None,
            static_kernel=None, time_aug=False, lead_lag=False, end_time=1.0, n_jobs=1)


def exact_gp(X, y, X_test, noise, scale, normalize, **kernel):
    """The exact GP's log marginal likelihood, predictive mean and std of f, plainly."""
    k = sk.SigKernel(normalize=normalize, **kernel)
    K = scale * k(X)
    Ks = scale * k(X_test, X)
    prior = scale * np.diag(k(X_test))
    A = K + noise * np.eye(len(y))
    L = np.linalg.cholesky(A)
    logml = -0.5 * y @ np.linalg.solve(A, y) - np.sum(np.log(np.diag(L))) \
        - 0.5 * len(y) * math.log(2 * math.pi)
    mean = Ks @ np.linalg.solve(A, y)
    var = prior - np.sum(Ks * np.linalg.solve(A, Ks.T).T, axis=1)
    return logml, mean, np.sqrt(var)


@pytest.mark.parametrize("normalize", [True, False])
def test_the_bound_is_the_exact_marginal_likelihood_when_z_is_x(rng, normalize):
    X = brownian(rng, 15, 8, 2)
    y = rng.normal(size=15)
    noise, scale = 0.2, 1.5
    bound = collapsed_bound(X, X, y, math.log(noise), math.log(scale), ARGS, normalize)[0]
    assert bound == pytest.approx(exact_gp(X, y, X, noise, scale, normalize)[0], rel=1e-6)


@pytest.mark.parametrize("normalize", [True, False])
def test_predictions_are_the_exact_gp_when_every_series_is_inducing(rng, normalize):
    X, X_test = brownian(rng, 20, 9, 2), brownian(rng, 6, 7, 2)
    y = X[:, -1, 0] + 0.1 * rng.normal(size=20)
    gp = sk.SparseSigGPRegressor(n_inducing=20, init="random", max_iter=0, noise=0.05,
                                 normalize=normalize, random_state=0).fit(X, y)
    mean, std = gp.predict(X_test, return_std=True)
    _, expected_mean, expected_std = exact_gp(X, y - y.mean(), X_test, 0.05,
                                              gp.kernel_scale_, normalize)
    np.testing.assert_allclose(mean, expected_mean + y.mean(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(std, expected_std, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("kernel", [None, sk.RBFKernel(1.5)], ids=repr)
def test_bound_gradients_against_central_differences(rng, normalize, kernel):
    X = [brownian(rng, 1, n, 2)[0] for n in (7, 4, 9, 6, 5, 8, 6)]       # ragged
    y = rng.normal(size=7)
    Z = brownian(rng, 3, 5, 2, from_origin=False)
    args = {**ARGS, "static_kernel": kernel}
    log_noise, log_scale = math.log(0.3), math.log(1.7)
    _, (gZ, g_noise, g_scale) = collapsed_bound(Z, X, y, log_noise, log_scale, args, normalize)

    def bound(z=Z, a=log_noise, b=log_scale):
        return collapsed_bound(z, X, y, a, b, args, normalize)[0]
    expected = finite_difference(lambda z: bound(z=z), Z)
    np.testing.assert_allclose(gZ, expected, rtol=1e-5, atol=1e-7 * np.abs(expected).max())
    h = 1e-6
    assert g_noise == pytest.approx((bound(a=log_noise + h) - bound(a=log_noise - h)) / (2 * h),
                                    rel=1e-6)
    assert g_scale == pytest.approx((bound(b=log_scale + h) - bound(b=log_scale - h)) / (2 * h),
                                    rel=1e-6)


def test_learning_raises_the_bound_and_predicts(rng):
    X, X_test = brownian(rng, 80, 12, 2), brownian(rng, 30, 12, 2)

    def target(X):
        return X[:, -1, 0] - X[:, 0, 0] + 0.5 * (X[:, -1, 1] - X[:, 0, 1]) ** 2
    y = target(X) + 0.05 * rng.normal(size=80)
    opts = dict(n_inducing=6, init="random", dyadic_order=2, normalize=False, random_state=0)
    start = sk.SparseSigGPRegressor(max_iter=0, **opts).fit(X, y)
    gp = sk.SparseSigGPRegressor(max_iter=60, **opts).fit(X, y)
    assert gp.bound_history_[-1] > gp.bound_history_[0] + 1
    assert gp.bound_history_[0] == start.bound_history_[0]
    assert np.all(np.diff(gp.bound_history_) >= -1e-12)        # accepted steps only
    assert gp.n_iter_ == len(gp.bound_history_) - 1 >= 1
    # 6 learned inducing paths, noise and scale: 0.61 -> 0.99 here
    assert start.score(X_test, target(X_test)) < 0.8 < 0.95 < gp.score(X_test, target(X_test))
    mean, std = gp.predict(X_test, return_std=True)
    np.testing.assert_array_equal(mean, gp.predict(X_test))
    assert np.all(std >= 0) and np.all(std < np.std(y))


def test_ragged_and_nan_padded_series(rng):
    X = [brownian(rng, 1, n, 2)[0] for n in (5, 9, 7, 12, 6, 8, 10, 4, 7, 9)]
    y = np.array([x[-1, 0] for x in X])
    gp = sk.SparseSigGPRegressor(n_inducing=4, max_iter=3, random_state=0).fit(X, y)
    padded = np.full((10, 12, 2), np.nan)
    for i, x in enumerate(X):
        padded[i, :len(x)] = x
    np.testing.assert_allclose(gp.predict(padded), gp.predict(X), rtol=1e-13)
    assert gp.inducing_paths_.shape == (4, 7, 2)


def test_progress_and_bad_settings(rng, capsys):
    X = brownian(rng, 8, 6, 2)
    y = X[:, -1, 0]
    sk.SparseSigGPRegressor(n_inducing=2, max_iter=2, verbose=1).fit(X, y)
    assert "bound per series" in capsys.readouterr().err
    with pytest.raises(ValueError, match="n_inducing=9 is more than the 8 training series"):
        sk.SparseSigGPRegressor(n_inducing=9).fit(X, y)
    with pytest.raises(ValueError, match="requires y"):
        sk.SparseSigGPRegressor(n_inducing=2).fit(X, None)
