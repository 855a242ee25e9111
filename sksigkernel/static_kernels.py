"""Static kernels: the kernel ``kappa`` on points that the signature kernel lifts to paths.

Each class is a small value object, parametrised as in pysiglib. It tells the solver which
kernel to evaluate (``_code``, ``_params``; the solver computes the kernel and its gradient
inside its loops, without Python) and can itself evaluate ``kappa`` on two sets of points
(``__call__``), a plain-numpy reference used by the tests. Two kernels with the same class
and parameters compare equal and hash alike, so they can key caches.
"""
import math

import numpy as np

from ._solver import STATIC_CODES as _CODES     # the solver's codes for the kernels

__all__ = ["StaticKernel", "LinearKernel", "ScaledLinearKernel", "RBFKernel", "Matern12Kernel",
           "Matern32Kernel", "Matern52Kernel", "PolynomialKernel", "RationalQuadraticKernel"]


def _positive(value, name, owner):
    if not isinstance(value, (int, float, np.number)) or isinstance(value, bool) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive number, got {value!r}")
    return float(value)


def _sq_dist(x, y):
    return np.sum((np.asarray(x)[:, None, :] - np.asarray(y)[None, :, :]) ** 2, axis=-1)


class StaticKernel:
    """Base class of the static kernels (kernels on points), which the solver knows by code.

    Subclasses set ``_code`` (one of the solver's ``STATIC_CODES``) and implement
    ``_params`` (the three numbers the solver reads) and ``_value`` (the kernel in numpy).
    A static kernel is a value: two with the same parameters are equal and hash alike.

    Examples
    --------
    >>> RBFKernel(0.5) == RBFKernel(0.5), RBFKernel(0.5) == RBFKernel(1.0)
    (True, False)
    """

    _code = None

    def _params(self):
        """The three numbers the solver reads for this kernel."""
        raise NotImplementedError

    def _value(self, x, y):
        raise NotImplementedError

    def __call__(self, x, y):
        """The kernel between every point of ``x`` and every point of ``y``.

        Parameters
        ----------
        x : array-like of shape (n, d) or (d,)
            Points.
        y : array-like of shape (m, d) or (d,)
            Points.

        Returns
        -------
        ndarray of shape (n, m)
            ``kappa(x_i, y_j)``.
        """
        return self._value(np.atleast_2d(x), np.atleast_2d(y))

    def _key(self):
        return (type(self).__name__,) + tuple(self._params())

    def __eq__(self, other):
        return isinstance(other, StaticKernel) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class LinearKernel(StaticKernel):
    """``kappa(x, y) = <x, y>``: the plain signature kernel.

    Examples
    --------
    >>> LinearKernel()([[1., 2.]], [[3., 4.]])
    array([[11.]])
    """

    _code = _CODES["linear"]

    def _params(self):
        return (1.0, 0.0, 0.0)

    def _value(self, x, y):
        return x @ y.T


class ScaledLinearKernel(StaticKernel):
    """``kappa(x, y) = <scale x, scale y> = scale**2 <x, y>``.

    Parameters
    ----------
    scale : float, default=1.0
        The factor on every point (>= 0).

    Examples
    --------
    >>> ScaledLinearKernel(2.0)([[1., 0.]], [[1., 0.]])
    array([[4.]])
    """

    _code = _CODES["linear"]

    def __init__(self, scale=1.0):
        if not isinstance(scale, (int, float, np.number)) or not math.isfinite(scale) or scale < 0:
            raise ValueError(f"ScaledLinearKernel: scale must be a number >= 0, got {scale!r}")
        self.scale = float(scale)

    def _params(self):
        return (self.scale ** 2, 0.0, 0.0)

    def _value(self, x, y):
        return self.scale ** 2 * (x @ y.T)


class RBFKernel(StaticKernel):
    """``kappa(x, y) = exp(-|x - y|**2 / sigma)`` (pysiglib's parametrisation).

    Parameters
    ----------
    sigma : float, default=1.0
        The bandwidth (> 0), on the squared distance.

    Examples
    --------
    >>> float(RBFKernel(sigma=2.0)([[0.]], [[1.]])[0, 0])  # exp(-1/2)
    0.6065306597126334
    """

    _code = _CODES["rbf"]

    def __init__(self, sigma=1.0):
        self.sigma = _positive(sigma, "sigma", "RBFKernel")

    def _params(self):
        return (1.0 / self.sigma, 0.0, 0.0)

    def _value(self, x, y):
        return np.exp(-_sq_dist(x, y) / self.sigma)


class Matern12Kernel(StaticKernel):
    """``kappa(x, y) = exp(-|x - y| / sigma)``, the exponential kernel.

    It is not differentiable where ``x = y``; there the gradient takes the value 0.

    Parameters
    ----------
    sigma : float, default=1.0
        The length scale (> 0).

    Examples
    --------
    >>> float(Matern12Kernel(sigma=1.0)([[0.]], [[2.]])[0, 0])  # exp(-2)
    0.1353352832366127
    """

    _code = _CODES["matern12"]

    def __init__(self, sigma=1.0):
        self.sigma = _positive(sigma, "sigma", "Matern12Kernel")

    def _params(self):
        return (1.0 / self.sigma, 0.0, 0.0)

    def _value(self, x, y):
        return np.exp(-np.sqrt(_sq_dist(x, y)) / self.sigma)


class Matern32Kernel(StaticKernel):
    """``kappa(x, y) = (1 + u) exp(-u)`` with ``u = sqrt(3) |x - y| / sigma``.

    Parameters
    ----------
    sigma : float, default=1.0
        The length scale (> 0).

    Examples
    --------
    >>> float(Matern32Kernel(sigma=1.0)([[0.]], [[0.]])[0, 0])
    1.0
    """

    _code = _CODES["matern32"]

    def __init__(self, sigma=1.0):
        self.sigma = _positive(sigma, "sigma", "Matern32Kernel")

    def _params(self):
        return (math.sqrt(3.0) / self.sigma, 0.0, 0.0)

    def _value(self, x, y):
        u = math.sqrt(3.0) * np.sqrt(_sq_dist(x, y)) / self.sigma
        return (1 + u) * np.exp(-u)


class Matern52Kernel(StaticKernel):
    """``kappa(x, y) = (1 + u + u**2 / 3) exp(-u)`` with ``u = sqrt(5) |x - y| / sigma``.

    Parameters
    ----------
    sigma : float, default=1.0
        The length scale (> 0).

    Examples
    --------
    >>> float(Matern52Kernel(sigma=1.0)([[0.]], [[0.]])[0, 0])
    1.0
    """

    _code = _CODES["matern52"]

    def __init__(self, sigma=1.0):
        self.sigma = _positive(sigma, "sigma", "Matern52Kernel")

    def _params(self):
        return (math.sqrt(5.0) / self.sigma, 0.0, 0.0)

    def _value(self, x, y):
        u = math.sqrt(5.0) * np.sqrt(_sq_dist(x, y)) / self.sigma
        return (1 + u + u * u / 3) * np.exp(-u)


class PolynomialKernel(StaticKernel):
    """``kappa(x, y) = scale * (<x, y> + gamma) ** degree``.

    For a non-integer degree a negative base ``<x, y> + gamma`` is taken as 0 (as in pysiglib).

    Parameters
    ----------
    degree : float, default=3.0
        The power (>= 0).
    gamma : float, default=1.0
        The constant added to ``<x, y>``.
    scale : float, default=1.0
        The factor in front (>= 0).

    Examples
    --------
    >>> PolynomialKernel(degree=2, gamma=1.0)([[1.]], [[2.]])
    array([[9.]])
    """

    _code = _CODES["polynomial"]

    def __init__(self, degree=3.0, gamma=1.0, scale=1.0):
        if not isinstance(degree, (int, float, np.number)) or not math.isfinite(degree) \
                or degree < 0:
            raise ValueError(f"PolynomialKernel: degree must be a number >= 0, got {degree!r}")
        if not isinstance(gamma, (int, float, np.number)) or not math.isfinite(gamma):
            raise ValueError(f"PolynomialKernel: gamma must be a finite number, got {gamma!r}")
        if not isinstance(scale, (int, float, np.number)) or not math.isfinite(scale) or scale < 0:
            raise ValueError(f"PolynomialKernel: scale must be a number >= 0, got {scale!r}")
        self.degree = float(degree)
        self.gamma = float(gamma)
        self.scale = float(scale)

    def _params(self):
        return (self.degree, self.gamma, self.scale)

    def _value(self, x, y):
        base = x @ y.T + self.gamma
        if self.degree != int(self.degree):
            base = np.maximum(base, 0)
        return self.scale * base ** self.degree


class RationalQuadraticKernel(StaticKernel):
    """``kappa(x, y) = (1 + |x - y|**2 / (2 alpha sigma**2)) ** -alpha``.

    Parameters
    ----------
    sigma : float, default=1.0
        The length scale (> 0).
    alpha : float, default=1.0
        The mixture's shape (> 0): large alpha approaches the RBF kernel.

    Examples
    --------
    >>> RationalQuadraticKernel(sigma=1.0, alpha=1.0)([[0.]], [[2.]])  # 1 / (1 + 2)
    array([[0.33333333]])
    """

    _code = _CODES["rational_quadratic"]

    def __init__(self, sigma=1.0, alpha=1.0):
        self.sigma = _positive(sigma, "sigma", "RationalQuadraticKernel")
        self.alpha = _positive(alpha, "alpha", "RationalQuadraticKernel")

    def _params(self):
        return (self.alpha, 1.0 / (2 * self.alpha * self.sigma ** 2), 0.0)

    def _value(self, x, y):
        return (1 + _sq_dist(x, y) / (2 * self.alpha * self.sigma ** 2)) ** -self.alpha


def check_static_kernel(static_kernel):
    """None -> LinearKernel(); a StaticKernel passes; anything else is a TypeError."""
    if static_kernel is None:
        return LinearKernel()
    if not isinstance(static_kernel, StaticKernel):
        raise TypeError(f"static_kernel must be a sksigkernel StaticKernel (e.g. RBFKernel(1.0)) "
                        f"or None, got {static_kernel!r}")
    return static_kernel
