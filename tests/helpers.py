"""What the tests share: random paths, the static kernels to try, finite differences, and
the solver plan that recomputes every grid from checkpoints."""
import numpy as np

import sksigkernel as sk

STATIC = [sk.LinearKernel(), sk.ScaledLinearKernel(0.7), sk.RBFKernel(0.8), sk.Matern12Kernel(1.3),
          sk.Matern32Kernel(0.9), sk.Matern52Kernel(1.1), sk.PolynomialKernel(2, 0.5, 0.8),
          sk.PolynomialKernel(2.5, 1.0, 1.0), sk.RationalQuadraticKernel(0.9, 1.5)]

# sksigkernel._planning.override(**CHECKPOINTS): the backward keeps no grid whole, and
# recomputes every one from checkpoint rows about the square root of the rows apart
CHECKPOINTS = dict(kept_grid_bytes=0, segment_bytes=1)


def brownian(rng, n, length, channels=2, scale=1.0, from_origin=True):
    """n random walks of ``length`` points whose variance grows to about scale**2 a channel;
    from the origin, or from their first (random) step."""
    steps = rng.normal(size=(n, length, channels)) * scale / np.sqrt(length)
    if from_origin:
        steps[:, 0] = 0
    return np.cumsum(steps, axis=1)


def paths(rng, n, length, channels=2):
    """Walks from random starting points: no two paths share a point, where Matern-1/2 has
    a kink."""
    return brownian(rng, n, length, channels) + rng.normal(size=(n, 1, channels)) * 0.3


def finite_difference(f, X, h=1e-6):
    """Central differences of the scalar f at every entry of X."""
    grad = np.zeros_like(X)
    for idx in np.ndindex(X.shape):
        e = np.zeros_like(X)
        e[idx] = h
        grad[idx] = (f(X + e) - f(X - e)) / (2 * h)
    return grad
