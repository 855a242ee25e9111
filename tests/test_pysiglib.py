"""Agreement with pysiglib: the same scheme, so the same numbers up to rounding."""
import numpy as np
import pytest

import sksigkernel as sk
from helpers import brownian

pysiglib = pytest.importorskip("pysiglib")

PAIRS = [(None, None), (sk.ScaledLinearKernel(0.8), pysiglib.ScaledLinearKernel(0.8)),
         (sk.RBFKernel(0.7), pysiglib.RBFKernel(0.7)),
         (sk.Matern12Kernel(1.1), pysiglib.Matern12Kernel(1.1)),
         (sk.Matern32Kernel(0.9), pysiglib.Matern32Kernel(0.9)),
         (sk.Matern52Kernel(1.2), pysiglib.Matern52Kernel(1.2)),
         (sk.PolynomialKernel(2, 1.0, 0.5), pysiglib.PolynomialKernel(2.0, 1.0, 0.5)),
         (sk.RationalQuadraticKernel(0.8, 1.5), pysiglib.RationalQuadraticKernel(0.8, 1.5))]
OPTIONS = [dict(), dict(time_aug=True), dict(lead_lag=True), dict(time_aug=True, lead_lag=True,
                                                                    end_time=2.0)]


def close(a, b):
    scale = max(1.0, float(np.abs(b).max()))
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12 * scale)


@pytest.mark.parametrize("ours,theirs", PAIRS, ids=lambda k: type(k).__name__)
@pytest.mark.parametrize("opts", OPTIONS, ids=str)
def test_gram_and_backprop_agree(rng, ours, theirs, opts):
    X = brownian(rng, 5, 9, 3) + rng.normal(size=(5, 1, 3)) * 0.2
    Y = brownian(rng, 4, 7, 3) + rng.normal(size=(4, 1, 3)) * 0.2
    K = sk.sig_kernel_gram(X, Y, (1, 2), static_kernel=ours, **opts)
    close(K, pysiglib.sig_kernel_gram(X, Y, dyadic_order=(1, 2), static_kernel=theirs, **opts))
    D = rng.normal(size=K.shape)
    mine = sk.sig_kernel_gram_backprop(D, X, Y, (1, 2), left_deriv=True, right_deriv=True,
                                       static_kernel=ours, **opts)
    ref = pysiglib.sig_kernel_gram_backprop(D, X, Y, dyadic_order=(1, 2), left_deriv=True,
                                            right_deriv=True, static_kernel=theirs, **opts)
    close(mine[0], ref[0])
    close(mine[1], ref[1])


@pytest.mark.parametrize("opts", OPTIONS, ids=str)
def test_paired_kernel_grid_and_backprop_agree(rng, opts):
    X, Y = brownian(rng, 6, 8, 2), brownian(rng, 6, 5, 2)
    close(sk.sig_kernel(X, Y, 2, **opts), pysiglib.sig_kernel(X, Y, dyadic_order=2, **opts))
    grid = sk.sig_kernel(X, Y, (2, 1), return_grid=True, **opts)
    close(grid, pysiglib.sig_kernel(X, Y, dyadic_order=(2, 1), return_grid=True, **opts))
    k = rng.normal(size=6)
    mine = sk.sig_kernel_backprop(k, X, Y, (2, 1), left_deriv=True, right_deriv=True,
                                  k_grid=grid, **opts)
    ref = pysiglib.sig_kernel_backprop(k, X, Y, dyadic_order=(2, 1), left_deriv=True,
                                       right_deriv=True, **opts)
    close(mine[0], ref[0])
    close(mine[1], ref[1])


def test_symmetric_gram_and_normalize_agree(rng):
    X = brownian(rng, 7, 10, 2)
    close(sk.sig_kernel_gram(X, X, 1), pysiglib.sig_kernel_gram(X, X, dyadic_order=1))
    close(sk.sig_kernel_gram(X, X, 1, normalize=True),
          pysiglib.sig_kernel_gram(X, X, dyadic_order=1, normalize=True))


def test_float32_is_as_accurate_as_pysiglib(rng):
    # Both round differently in float32, so compare each with the float64 result.
    X64, Y64 = brownian(rng, 4, 9, 2), brownian(rng, 3, 6, 2)
    X, Y = X64.astype(np.float32), Y64.astype(np.float32)
    exact = sk.sig_kernel_gram(X.astype(np.float64), Y.astype(np.float64), 1)
    K = sk.sig_kernel_gram(X, Y, 1)
    assert K.dtype == np.float32
    ours = np.abs(K - exact).max()
    theirs = np.abs(pysiglib.sig_kernel_gram(X, Y, dyadic_order=1) - exact).max()
    assert ours < 1e-5 * np.abs(exact).max()
    assert ours <= 2 * theirs + 1e-7


def test_torch_agrees(rng):
    torch = pytest.importorskip("torch")
    X, Y = torch.from_numpy(brownian(rng, 4, 9, 2)), torch.from_numpy(brownian(rng, 3, 6, 2))
    D = torch.randn(4, 3, dtype=torch.float64)
    mine = sk.sig_kernel_gram_backprop(D, X, Y, 1, left_deriv=True, right_deriv=True)
    ref = pysiglib.sig_kernel_gram_backprop(D, X, Y, dyadic_order=1, left_deriv=True,
                                            right_deriv=True)
    assert isinstance(mine[0], torch.Tensor)
    close(mine[0].numpy(), ref[0].numpy())
    close(mine[1].numpy(), ref[1].numpy())
