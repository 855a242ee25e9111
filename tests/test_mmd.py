"""The MMD two-sample test and the differentiable MMD."""
from functools import partial

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone

from helpers import brownian
from sksigkernel import SigKernel, SigMMDTest, cache, sig_kernel_gram, sig_mmd, sig_mmd_test
from sksigkernel.mmd import mmd_from_gram


pytestmark = pytest.mark.usefixtures("empty_cache")


# random walks of 12 points by default, started at their first step
walks = partial(brownian, length=12, scale=1.0, from_origin=False)


def mmd_by_definition(Kxx, Kyy, Kxy, biased):
    n, m = len(Kxx), len(Kyy)
    if biased:
        return Kxx.mean() + Kyy.mean() - 2 * Kxy.mean()
    off = lambda K: K.sum() - np.trace(K)   # noqa: E731
    return off(Kxx) / (n * (n - 1)) + off(Kyy) / (m * (m - 1)) - 2 * Kxy.mean()


@pytest.mark.parametrize("biased", [False, True])
def test_mmd_from_gram_is_the_definition_for_every_split(rng, biased):
    N, n = 17, 7
    Z = rng.normal(size=(N, 4))
    K = np.exp(-((Z[:, None] - Z[None]) ** 2).sum(-1))
    labels = np.array([rng.permutation(np.r_[np.ones(n), np.zeros(N - n)]) for _ in range(9)])
    got = mmd_from_gram(K, labels.astype(bool), biased)
    for value, lab in zip(got, labels.astype(bool)):
        x, y = np.flatnonzero(lab), np.flatnonzero(~lab)
        expected = mmd_by_definition(K[np.ix_(x, x)], K[np.ix_(y, y)], K[np.ix_(x, y)], biased)
        np.testing.assert_allclose(value, expected, rtol=1e-12)


def test_statistic_pvalue_and_null(rng):
    X, Y = walks(rng, 12), walks(rng, 9, length=15)
    result = sig_mmd_test(X, Y, n_permutations=300, time_aug=True, random_state=3)
    K = SigKernel(time_aug=True, normalize=True)
    expected = mmd_by_definition(K(X), K(Y), K(X, Y), biased=False)
    np.testing.assert_allclose(result.statistic, expected, rtol=1e-12)
    assert result.null_distribution.shape == (300,)
    count = np.count_nonzero(result.null_distribution >= result.statistic)
    assert result.pvalue == (1 + count) / 301
    stat, p = result
    assert (stat, p) == (result.statistic, result.pvalue)
    assert "pvalue=" in repr(result)
    # the same seed gives the same null distribution; the estimator holds the same result
    test = SigMMDTest(n_permutations=300, time_aug=True, random_state=3).fit(X, Y)
    np.testing.assert_array_equal(test.null_distribution_, result.null_distribution)
    assert test.pvalue_ == result.pvalue and test.statistic_ == result.statistic
    biased = sig_mmd_test(X, Y, n_permutations=10, biased=True, normalize=False, random_state=0)
    np.testing.assert_allclose(
        biased.statistic, mmd_by_definition(sig_kernel_gram(X, None, 1), sig_kernel_gram(Y, None, 1),
                                            sig_kernel_gram(X, Y, 1), biased=True), rtol=1e-12)


def test_ragged_samples(rng):
    X = [x[:6 + i % 4] for i, x in enumerate(walks(rng, 10))]
    Y = walks(rng, 8, length=9)
    result = sig_mmd_test(X, Y, n_permutations=50, random_state=0)
    K = SigKernel(normalize=True)
    np.testing.assert_allclose(result.statistic,
                               mmd_by_definition(K(X), K(Y), K(X, Y), biased=False), rtol=1e-12)


def test_pvalues_are_uniform_under_the_null():
    """Two samples of the same Brownian motion, 200 times: p-values close to uniform."""
    pvalues = []
    for seed in range(200):
        rng = np.random.default_rng(seed)
        X, Y = walks(rng, 15, length=10), walks(rng, 15, length=10)
        pvalues.append(sig_mmd_test(X, Y, n_permutations=199, time_aug=True,
                                    random_state=seed).pvalue)
        cache.clear()
    pvalues = np.array(pvalues)
    assert stats.kstest(pvalues, "uniform").pvalue > 0.01
    # rejections at 5%: binomial(200, 0.05) has mean 10; [2, 20] holds 99.9% of it
    assert 2 <= np.count_nonzero(pvalues <= 0.05) <= 20


def test_rejects_a_change_of_volatility():
    rejections = 0
    for seed in range(20):
        rng = np.random.default_rng(1000 + seed)
        X, Y = walks(rng, 30, scale=1.0), walks(rng, 30, scale=2.0)
        rejections += sig_mmd_test(X, Y, n_permutations=199, time_aug=True,
                                   random_state=seed).pvalue <= 0.05
    assert rejections >= 18          # power >= 0.9 at 30 paths a side


def test_estimator_conventions(rng):
    test = SigMMDTest(n_permutations=20, static_kernel="rbf", sigma=2.0, random_state=0)
    assert clone(test).get_params() == test.get_params()
    assert not hasattr(clone(test.fit(walks(rng, 5), walks(rng, 5))), "pvalue_")
    with pytest.raises(ValueError, match="at least 2 series each"):
        SigMMDTest().fit(walks(rng, 1), walks(rng, 5))
    with pytest.raises(ValueError, match="n_permutations"):
        SigMMDTest(n_permutations=0).fit(walks(rng, 5), walks(rng, 5))
    with pytest.raises(ValueError, match="channels"):
        SigMMDTest().fit(walks(rng, 5), walks(rng, 5, channels=3))


def test_sig_mmd_numpy_matches_the_test_statistic(rng):
    X, Y = walks(rng, 8), walks(rng, 6)
    for biased in (False, True):
        expected = sig_mmd_test(X, Y, n_permutations=1, biased=biased, normalize=False).statistic
        np.testing.assert_allclose(sig_mmd(X, Y, biased=biased), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="at least 2 paths"):
        sig_mmd(X[:1], Y)


def test_sig_mmd_gradients():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    X = (torch.randn(4, 6, 2, generator=g, dtype=torch.float64) * 0.3).cumsum(1)
    Y = (torch.randn(3, 5, 2, generator=g, dtype=torch.float64) * 0.5).cumsum(1)
    X.requires_grad_()
    Y.requires_grad_()
    for biased, normalize in [(False, False), (True, True)]:
        assert torch.autograd.gradcheck(
            lambda a, b: sig_mmd(a, b, time_aug=True, biased=biased, normalize=normalize),
            (X, Y))
