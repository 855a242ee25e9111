"""SigKernelNystroem and the trace error: features that reproduce the gram, the objective's
exact gradient, learning that lowers it, and every input form."""
import numpy as np
import pytest
from sklearn.linear_model import RidgeClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

import sksigkernel as sk
from sksigkernel._inducing import resample
from sksigkernel.nystroem import trace_error
from helpers import brownian, finite_difference

pytestmark = pytest.mark.usefixtures("empty_cache")

ARGS = dict(dyadic_order=1, method="finite_difference", order=None, tolerance=None,
            static_kernel=None, time_aug=False, lead_lag=False, end_time=1.0, n_jobs=1)


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("static_kernel", ["linear", "rbf"])
def test_every_series_as_inducing_path_reproduces_the_gram(rng, normalize, static_kernel):
    X = brownian(rng, 12, 9, 2)
    nys = sk.SigKernelNystroem(n_components=12, init="random", random_state=0,
                               normalize=normalize, static_kernel=static_kernel, sigma=2.0)
    features = nys.fit_transform(X)
    K = sk.SigKernel(normalize=normalize, static_kernel=static_kernel, sigma=2.0)(X)
    assert np.abs(features @ features.T - K).max() <= 1e-8 * np.abs(K).max()
    np.testing.assert_array_equal(np.sort(nys.component_indices_), np.arange(12))
    # the inducing paths are the series themselves (resampled at their own points)
    np.testing.assert_array_equal(nys.components_, X[nys.component_indices_])


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("kernel", [None, sk.RBFKernel(1.5)], ids=repr)
def test_trace_error_gradient_against_central_differences(rng, normalize, kernel):
    X = [brownian(rng, 1, n, 2)[0] for n in (7, 4, 9, 6, 5, 8)]       # ragged
    Z = brownian(rng, 3, 5, 2, from_origin=False)
    args = {**ARGS, "static_kernel": kernel}
    value, grad = trace_error(Z, X, args, normalize)
    assert 0 < value < 1
    expected = finite_difference(lambda z: trace_error(z, X, args, normalize)[0], Z)
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7 * np.abs(expected).max())


def test_trace_error_is_that_of_the_nystroem_features(rng):
    X = brownian(rng, 20, 8, 2)
    for normalize in (True, False):
        nys = sk.SigKernelNystroem(n_components=4, random_state=1, normalize=normalize).fit(X)
        features = nys.transform(X)
        K = sk.SigKernel(normalize=normalize)(X)
        value, _ = trace_error(nys.components_, X, ARGS, normalize)
        assert value == pytest.approx(1 - np.trace(features @ features.T) / np.trace(K),
                                      abs=1e-6)


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_learned_paths_lower_the_trace_error(rng, optimizer):
    # dyadic order 2: at order 0 these paths' kernels are inaccurate enough that learning
    # exploits the scheme's error (k(z, z) shrinking as the paths zigzag)
    X = brownian(rng, 40, 12, 3)
    nys = sk.SigKernelNystroem(n_components=3, init="random", n_iter=12, optimizer=optimizer,
                               learning_rate=0.1, random_state=0, dyadic_order=2).fit(X)
    args = {**ARGS, "dyadic_order": 2}
    start = np.stack([resample(X[i], 12) for i in nys.component_indices_])
    before = trace_error(start, X, args, True)[0]
    after = trace_error(nys.components_, X, args, True)[0]
    assert nys.trace_error_[0] == pytest.approx(before, rel=1e-12)
    assert nys.trace_error_[-1] == pytest.approx(after, rel=1e-9)
    assert after < 0.85 * before, (before, after)


def test_greedy_picks_the_largest_conditional_variance(rng):
    X = brownian(rng, 15, 8, 2)
    nys = sk.SigKernelNystroem(n_components=4, init="greedy", normalize=False).fit(X)
    K = sk.SigKernel()(X)
    chosen = []
    for _ in range(4):               # the residual variance K_ii - K_iS K_SS^-1 K_Si, plainly
        if chosen:
            S = np.ix_(chosen, chosen)
            residual = np.diag(K) - np.einsum("is,st,it->i", K[:, chosen],
                                              np.linalg.inv(K[S]), K[:, chosen])
        else:
            residual = np.diag(K).copy()
        residual[chosen] = -np.inf
        chosen.append(int(np.argmax(residual)))
    np.testing.assert_array_equal(nys.component_indices_, chosen)


def test_kmeans_and_shorter_inducing_paths(rng):
    X = brownian(rng, 30, 20, 2)
    nys = sk.SigKernelNystroem(n_components=5, init="kmeans", inducing_length=6,
                               random_state=0).fit(X)
    assert nys.components_.shape == (5, 6, 2) and nys.component_indices_ is None
    assert nys.transform(X).shape == (30, 5)


def test_ragged_and_nan_padded_series_give_the_features_of_each_series(rng):
    X = [brownian(rng, 1, n, 2)[0] for n in (5, 9, 7, 12, 6, 8, 10, 4)]
    nys = sk.SigKernelNystroem(n_components=3, random_state=0).fit(X)
    assert nys.components_.shape == (3, 7, 2)                  # the median length
    padded = np.full((8, 12, 2), np.nan)
    for i, x in enumerate(X):
        padded[i, :len(x)] = x
    features = nys.transform(X)
    np.testing.assert_allclose(nys.transform(padded), features, rtol=1e-13, atol=1e-15)
    for i, x in enumerate(X):
        np.testing.assert_allclose(nys.transform(x[None]), features[i:i + 1], rtol=1e-12,
                                   atol=1e-15)


def test_in_a_pipeline_before_linear_models(rng):
    X = brownian(rng, 120, 15, 2)
    y = (X[:, -1, 0] > 0).astype(int)
    for model in (LinearSVC(), RidgeClassifierCV()):
        clf = make_pipeline(sk.SigKernelNystroem(n_components=30, random_state=0), model)
        assert clf.fit(X[:80], y[:80]).score(X[80:], y[80:]) > 0.85
    names = sk.SigKernelNystroem(n_components=3).fit(X).get_feature_names_out()
    assert list(names) == ["sigkernelnystroem0", "sigkernelnystroem1", "sigkernelnystroem2"]


def test_progress_is_printed(rng, capsys):
    sk.SigKernelNystroem(n_components=2, n_iter=2, verbose=1, random_state=0).fit(
        brownian(rng, 10, 6, 2))
    assert "trace error" in capsys.readouterr().err


def test_bad_settings_are_named(rng):
    X = brownian(rng, 5, 6, 2)
    with pytest.raises(ValueError, match="n_components=6 is more than the 5 training series"):
        sk.SigKernelNystroem(n_components=6).fit(X)
    with pytest.raises(ValueError, match="'init' parameter"):
        sk.SigKernelNystroem(init="best").fit(X)
    nys = sk.SigKernelNystroem(n_components=2).fit(X)
    with pytest.raises(ValueError, match="3 channels"):
        nys.transform(brownian(rng, 2, 6, 3))
