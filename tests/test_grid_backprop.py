"""Backprops with return_grid=True: dF/dK given at every node of the fine PDE grids, for
both methods."""
import numpy as np
import pytest

import sksigkernel as sk
from helpers import STATIC, finite_difference, paths


def grid_loss(D, dyadic_order, **opts):
    return lambda X, Y: np.sum(D * sk.sig_kernel_gram(X, Y, dyadic_order, return_grid=True,
                                                      **opts))


METHODS = [{}, dict(method="polynomial", order=5), dict(method="polynomial", order=19)]


@pytest.mark.parametrize("kernel", STATIC, ids=repr)
@pytest.mark.parametrize("order", [0, (1, 2)])
@pytest.mark.parametrize("method", METHODS, ids=repr)
def test_gram_grid_backprop_against_finite_differences(rng, kernel, order, method):
    X, Y = paths(rng, 2, 4), paths(rng, 2, 3)
    shape = sk.sig_kernel_gram(X, Y, order, return_grid=True, **method).shape
    D = rng.normal(size=shape)
    f = grid_loss(D, order, static_kernel=kernel, **method)
    dX, dY = sk.sig_kernel_gram_backprop(D, X, Y, order, left_deriv=True, right_deriv=True,
                                         static_kernel=kernel, return_grid=True, **method)
    np.testing.assert_allclose(dX, finite_difference(lambda Z: f(Z, Y), X), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(dY, finite_difference(lambda Z: f(X, Z), Y), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("method", METHODS[:2], ids=repr)
def test_paired_grid_backprop_with_transforms_and_ragged_paths(rng, method):
    X = [paths(rng, 1, L)[0] for L in (3, 5)]
    Y = [paths(rng, 1, L)[0] for L in (4, 2)]
    opts = dict(time_aug=True, lead_lag=True, end_time=1.5, static_kernel=sk.RBFKernel(1.2),
                **method)
    D = rng.normal(size=sk.sig_kernel(X, Y, (1, 0), return_grid=True, **opts).shape)
    dX, dY = sk.sig_kernel_backprop(D, X, Y, (1, 0), left_deriv=True, right_deriv=True,
                                    return_grid=True, **opts)

    def f(A, B):
        return np.sum(D * sk.sig_kernel(A, B, (1, 0), return_grid=True, **opts))
    for i, x in enumerate(X):
        fd = finite_difference(lambda z: f(X[:i] + [z] + X[i + 1:], Y), x)
        np.testing.assert_allclose(dX[i], fd, rtol=1e-5, atol=1e-7)
    for j, y in enumerate(Y):
        fd = finite_difference(lambda z: f(X, Y[:j] + [z] + Y[j + 1:]), y)
        np.testing.assert_allclose(dY[j], fd, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kernel", [None, sk.Matern52Kernel(0.8)], ids=repr)
@pytest.mark.parametrize("method", METHODS[:2], ids=repr)
def test_seeds_at_the_corners_alone_equal_the_ordinary_backprop(rng, kernel, method):
    X, Y = paths(rng, 3, 6), paths(rng, 2, 5)
    opts = dict(static_kernel=kernel, left_deriv=True, right_deriv=True, time_aug=True,
                **method)
    grid = sk.sig_kernel_gram(X, Y, (2, 1), return_grid=True, static_kernel=kernel,
                              time_aug=True, **method)
    D = np.zeros(grid.shape)
    D[..., -1, -1] = rng.normal(size=(3, 2))
    for k_grid in (None, grid):
        a = sk.sig_kernel_gram_backprop(D, X, Y, (2, 1), return_grid=True, k_grid=k_grid, **opts)
        b = sk.sig_kernel_gram_backprop(D[..., -1, -1], X, Y, (2, 1), **opts)
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12 * np.abs(v).max())


@pytest.mark.parametrize("method", METHODS[:2], ids=repr)
def test_grid_backprop_threads_and_batches_agree(rng, method):
    X, Y = paths(rng, 5, 7), paths(rng, 4, 6)
    D = rng.normal(size=sk.sig_kernel_gram(X, Y, 1, return_grid=True, **method).shape)
    ref = sk.sig_kernel_gram_backprop(D, X, Y, 1, left_deriv=True, right_deriv=True,
                                      return_grid=True, n_jobs=1, **method)
    for n_jobs, max_batch in ((-1, -1), (2, 2), (3, 1)):
        got = sk.sig_kernel_gram_backprop(D, X, Y, 1, left_deriv=True, right_deriv=True,
                                          return_grid=True, n_jobs=n_jobs, max_batch=max_batch,
                                          **method)
        for u, v in zip(got, ref):
            np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12 * np.abs(v).max())


def test_grid_derivs_of_the_wrong_shape(rng):
    X = paths(rng, 2, 4)
    with pytest.raises(ValueError, match=r"derivs must have shape \(2, 2, 7, 7\)"):
        sk.sig_kernel_gram_backprop(np.ones((2, 2)), X, X, 1, return_grid=True)


def test_torch_api_grid_gradcheck(rng):
    torch = pytest.importorskip("torch")
    from sksigkernel import torch_api
    X = torch.tensor(paths(rng, 2, 4), requires_grad=True)
    Y = torch.tensor(paths(rng, 2, 3), requires_grad=True)
    for method in METHODS[:2]:
        assert torch.autograd.gradcheck(
            lambda A, B: torch_api.sig_kernel_gram(A, B, (1, 0), return_grid=True, **method),
            (X, Y))
    x, y = X[0].detach().requires_grad_(), Y[1].detach().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: torch_api.sig_kernel(a, b, 1, return_grid=True,
                                          static_kernel=sk.RBFKernel(0.9)), (x, y))
    with pytest.raises(ValueError, match="normalize"):
        torch_api.sig_kernel_gram(X, Y, 1, return_grid=True, normalize=True)
