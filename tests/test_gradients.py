"""Gradients against central finite differences, torch.autograd.gradcheck and each other."""
import numpy as np
import pytest

import sksigkernel as sk
from sksigkernel._planning import override
from helpers import CHECKPOINTS, STATIC, finite_difference, paths


def check_gram_gradients(rng, X, Y, order, **opts):
    D = rng.normal(size=(len(X), len(Y)))
    dX, dY = sk.sig_kernel_gram_backprop(D, X, Y, order, left_deriv=True, right_deriv=True, **opts)
    fx = finite_difference(lambda Z: np.sum(D * sk.sig_kernel_gram(Z, Y, order, **opts)), X)
    fy = finite_difference(lambda Z: np.sum(D * sk.sig_kernel_gram(X, Z, order, **opts)), Y)
    np.testing.assert_allclose(dX, fx, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dY, fy, rtol=1e-5, atol=1e-7)
    return dX, dY


@pytest.mark.parametrize("kernel", STATIC, ids=repr)
def test_static_kernels(rng, kernel):
    check_gram_gradients(rng, paths(rng, 2, 4), paths(rng, 3, 3), 1, static_kernel=kernel)


@pytest.mark.parametrize("time_aug,lead_lag", [(True, False), (False, True), (True, True)])
def test_transforms(rng, time_aug, lead_lag):
    check_gram_gradients(rng, paths(rng, 2, 4), paths(rng, 2, 5), 1, time_aug=time_aug,
                         lead_lag=lead_lag, end_time=2.5)


def test_dyadic_pair_and_unequal_lengths(rng):
    check_gram_gradients(rng, paths(rng, 2, 5, 3), paths(rng, 3, 3, 3), (2, 0))
    check_gram_gradients(rng, paths(rng, 1, 3), paths(rng, 2, 6), (0, 3),
                         static_kernel=sk.RBFKernel(0.6), time_aug=True)


def test_sides_are_independent(rng):
    X, Y = paths(rng, 3, 5), paths(rng, 2, 4)
    D = rng.normal(size=(3, 2))
    both = sk.sig_kernel_gram_backprop(D, X, Y, 1, left_deriv=True, right_deriv=True)
    left = sk.sig_kernel_gram_backprop(D, X, Y, 1)
    right = sk.sig_kernel_gram_backprop(D, X, Y, 1, left_deriv=False, right_deriv=True)
    assert left[1] is None and right[0] is None
    np.testing.assert_array_equal(left[0], both[0])
    np.testing.assert_array_equal(right[1], both[1])


def test_given_grid_equals_recomputed_grid(rng):
    X, Y = paths(rng, 3, 5), paths(rng, 2, 6)
    D = rng.normal(size=(3, 2))
    for opts in ({}, {"static_kernel": sk.Matern52Kernel(0.7), "lead_lag": True}):
        grid = sk.sig_kernel_gram(X, Y, (1, 2), return_grid=True, **opts)
        with_grid = sk.sig_kernel_gram_backprop(D, X, Y, (1, 2), left_deriv=True, right_deriv=True,
                                                k_grid=grid, **opts)
        without = sk.sig_kernel_gram_backprop(D, X, Y, (1, 2), left_deriv=True, right_deriv=True,
                                              **opts)
        for a, b in zip(with_grid, without):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    k = rng.normal(size=3)
    grid = sk.sig_kernel(X, Y[[0, 1, 0]], 1, return_grid=True)
    a = sk.sig_kernel_backprop(k, X, Y[[0, 1, 0]], 1, right_deriv=True, k_grid=grid)
    b = sk.sig_kernel_backprop(k, X, Y[[0, 1, 0]], 1, right_deriv=True)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-15)


def test_checkpointed_adjoint_equals_stored_grid(rng):
    X, Y = paths(rng, 3, 20), paths(rng, 2, 17)
    D = rng.normal(size=(3, 2))
    stored = sk.sig_kernel_gram_backprop(D, X, Y, 2, left_deriv=True, right_deriv=True)
    with override(**CHECKPOINTS):
        recomputed = sk.sig_kernel_gram_backprop(D, X, Y, 2, left_deriv=True, right_deriv=True)
    for a, b in zip(stored, recomputed):
        # the two paths sum in different orders: entries near zero differ by a few ulps of
        # the largest entry (3.9e-15 of 1.1 on an AVX2 build), so the bound is relative to it
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-13 * np.abs(b).max())


@pytest.mark.parametrize("order", [(1, 2), (0, 1), (2, 0)])
@pytest.mark.parametrize("strips", [2, 8, 32])
@pytest.mark.parametrize("checkpoints", [False, True])
@pytest.mark.parametrize("kernel", [None, sk.RBFKernel(0.7)], ids=repr)
def test_strips_of_columns_equal_whole_rows(rng, kernel, checkpoints, strips, order):
    """Gradients with each pair's grid cut into strips of columns (the adjoint hands each
    strip's left edge to the strip before it) equal those of one lane a pair, for lists of
    paths, dyadic pairs (the adjoint goes a row or two rows at a time), with the forward grid
    stored or recomputed from checkpoints."""
    X = [paths(rng, 1, L)[0] for L in (9, 4, 13)]
    Y = [paths(rng, 1, L)[0] for L in (11, 6)]
    D = rng.normal(size=(3, 2))
    opts = dict(static_kernel=kernel, left_deriv=True, right_deriv=True)
    plan = CHECKPOINTS if checkpoints else {}
    with override(strips=1, **plan):
        expected = sk.sig_kernel_gram_backprop(D, X, Y, order, **opts)
    with override(strips=strips, **plan):
        got = sk.sig_kernel_gram_backprop(D, X, Y, order, **opts)
    for a, b in zip(got[0] + got[1], expected[0] + expected[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("strips", [1, 2, 4, 8, 16, 32])
@pytest.mark.parametrize("order", [2, (3, 1)])
@pytest.mark.parametrize("kernel", [None, sk.RBFKernel(0.7)], ids=repr)
def test_grid_kept_by_vectors_equals_checkpoints(rng, kernel, order, strips, dtype):
    """At d1 >= 2 a backward that keeps a block's whole grid computes it, and its adjoint, one
    vector of lanes at a time (while the vector holds whole pairs: up to 8 strips of doubles,
    16 of floats); recomputed from checkpoints, it goes by rows of all the lanes. Both agree,
    at every number of strips, for lists of paths of several lengths; (3, 1) makes two
    sweeps of the adjoint a coarse row."""
    X = [paths(rng, 1, L)[0].astype(dtype) for L in (9, 4, 13)]
    Y = [paths(rng, 1, L)[0].astype(dtype) for L in (11, 6, 20)]
    D = rng.normal(size=(3, 3)).astype(dtype)
    opts = dict(static_kernel=kernel, left_deriv=True, right_deriv=True)
    with override(strips=strips):
        kept = sk.sig_kernel_gram_backprop(D, X, Y, order, **opts)
    with override(strips=strips, **CHECKPOINTS):
        recomputed = sk.sig_kernel_gram_backprop(D, X, Y, order, **opts)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    for a, b in zip(kept[0] + kept[1], recomputed[0] + recomputed[1]):
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("strips", [1, 2, 4, 8, 16, 32])
@pytest.mark.parametrize("kernel", [None, sk.RBFKernel(0.7)], ids=repr)
def test_gram_rows_summed_together_equal_pairs_apart(rng, kernel, strips, dtype):
    """A block of a gram's row shares one path of x: the gradient with respect to it sums the
    block's pairs and strips together. It equals the paired backprop of the same pairs, each
    with a path of its own (summed pair by pair), at every number of strips; 35 columns
    also make blocks that straddle two rows."""
    X, Y = paths(rng, 2, 7).astype(dtype), paths(rng, 35, 6).astype(dtype)
    D = rng.normal(size=(2, 35)).astype(dtype)
    opts = dict(static_kernel=kernel, left_deriv=True, right_deriv=True)
    with override(strips=strips):
        dX, dY = sk.sig_kernel_gram_backprop(D, X, Y, (1, 2), **opts)
        pX, pY = sk.sig_kernel_backprop(D.ravel(), np.repeat(X, 35, axis=0),
                                        np.tile(Y, (2, 1, 1)), (1, 2), **opts)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dX, pX.reshape(2, 35, 7, 2).sum(axis=1), **tol)
    np.testing.assert_allclose(dY, pY.reshape(2, 35, 6, 2).sum(axis=0), **tol)


def test_paired_backprop(rng):
    X, Y = paths(rng, 3, 4), paths(rng, 3, 5)
    k = rng.normal(size=3)
    dX, dY = sk.sig_kernel_backprop(k, X, Y, 1, left_deriv=True, right_deriv=True,
                                    static_kernel=sk.RBFKernel(1.0))
    fx = finite_difference(lambda Z: k @ sk.sig_kernel(Z, Y, 1, static_kernel=sk.RBFKernel(1.0)), X)
    fy = finite_difference(lambda Z: k @ sk.sig_kernel(X, Z, 1, static_kernel=sk.RBFKernel(1.0)), Y)
    np.testing.assert_allclose(dX, fx, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(dY, fy, rtol=1e-5, atol=1e-8)


def test_lists_of_paths(rng):
    X = [paths(rng, 1, L)[0] for L in (4, 2, 5)]
    Y = [paths(rng, 1, L)[0] for L in (3, 6)]
    D = rng.normal(size=(3, 2))
    dX, dY = sk.sig_kernel_gram_backprop(D, X, Y, 1, True, True, 2.0, True, True)
    assert [g.shape for g in dX] == [x.shape for x in X] and [g.shape for g in dY] == [y.shape for y in Y]
    for i, x in enumerate(X):
        def f(Z, i=i):
            return np.sum(D * sk.sig_kernel_gram(X[:i] + [Z] + X[i + 1:], Y, 1, time_aug=True,
                                                  lead_lag=True, end_time=2.0))
        np.testing.assert_allclose(dX[i], finite_difference(f, x), rtol=1e-5, atol=1e-8)
    for j, y in enumerate(Y):
        def g(Z, j=j):
            return np.sum(D * sk.sig_kernel_gram(X, Y[:j] + [Z] + Y[j + 1:], 1, time_aug=True,
                                                  lead_lag=True, end_time=2.0))
        np.testing.assert_allclose(dY[j], finite_difference(g, y), rtol=1e-5, atol=1e-8)


def test_length_one_path_has_zero_gradient(rng):
    dX, dY = sk.sig_kernel_backprop(1.0, np.array([[0.5, 1.0]]), paths(rng, 1, 4)[0], 2,
                                    left_deriv=True, right_deriv=True)
    assert np.all(dX == 0) and np.all(dY == 0)


# ---- torch autograd ---------------------------------------------------------------------

torch = pytest.importorskip("torch")
from sksigkernel import torch_api  # noqa: E402


def tensor(array):
    return torch.tensor(array, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("opts", [
    {}, {"static_kernel": sk.RBFKernel(0.5)}, {"time_aug": True, "lead_lag": True, "end_time": 2.0},
    {"normalize": True}, {"static_kernel": sk.PolynomialKernel(2, 1.0, 0.5), "time_aug": True}],
    ids=["linear", "rbf", "transforms", "normalize", "polynomial"])
def test_gradcheck_gram(rng, opts):
    X, Y = tensor(paths(rng, 2, 4)), tensor(paths(rng, 3, 3))
    assert torch.autograd.gradcheck(
        lambda a, b: torch_api.sig_kernel_gram(a, b, (1, 2), **opts), (X, Y))


def test_gradcheck_symmetric_and_paired(rng):
    X, Y = tensor(paths(rng, 3, 4)), tensor(paths(rng, 3, 5))
    assert torch.autograd.gradcheck(lambda a: torch_api.sig_kernel_gram(a, None, 1), (X,))
    assert torch.autograd.gradcheck(lambda a: torch_api.sig_kernel_gram(a, a, 1, normalize=True), (X,))
    assert torch.autograd.gradcheck(
        lambda a, b: torch_api.sig_kernel(a, b, 1, static_kernel=sk.Matern32Kernel(1.0)), (X, Y))
    assert torch.autograd.gradcheck(lambda a, b: torch_api.sig_kernel(a, b, 1, normalize=True), (X, Y))


def test_gradcheck_lists(rng):
    X = [tensor(paths(rng, 1, L)[0]) for L in (3, 5)]
    Y = tensor(paths(rng, 2, 4))
    assert torch.autograd.gradcheck(
        lambda a, b, c: torch_api.sig_kernel_gram([a, b], c, 1, time_aug=True), (*X, Y))


def test_no_grad_keeps_nothing(rng):
    X = tensor(paths(rng, 3, 4))
    with torch.no_grad():
        K = torch_api.sig_kernel_gram(X, X, 1)
    assert K.grad_fn is None
    np.testing.assert_allclose(K.numpy(), sk.sig_kernel_gram(X.detach().numpy(), None, 1))


@pytest.mark.parametrize("checkpoints", [False, True])
@pytest.mark.parametrize("kernel", [None, sk.RBFKernel(0.7)], ids=repr)
def test_ragged_backprop_blocks_stop_at_their_longest_path(rng, kernel, checkpoints):
    """Gram backprop of lists of paths, whose blocks of 32 pairs stop at their longest
    paths, equals the sum of the backprops of each pair alone (no padding at all), with the
    forward grid stored or recomputed from checkpoints."""
    A = [paths(rng, 1, L)[0] for L in rng.integers(1, 16, size=35)]
    B = [paths(rng, 1, L)[0] for L in rng.integers(2, 9, size=6)]
    D = rng.normal(size=(35, 6))
    opts = dict(static_kernel=kernel, time_aug=True)
    with override(**(CHECKPOINTS if checkpoints else {})):
        dA, dB = sk.sig_kernel_gram_backprop(D, A, B, 1, left_deriv=True, right_deriv=True,
                                             **opts)
    eA = [np.zeros_like(a) for a in A]
    eB = [np.zeros_like(b) for b in B]
    for i, a in enumerate(A):
        for j, b in enumerate(B):
            ga, gb = sk.sig_kernel_backprop(D[i, j], a, b, 1, left_deriv=True,
                                            right_deriv=True, **opts)
            eA[i] += ga
            eB[j] += gb
    for got, expected in zip(dA + dB, eA + eB):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)
