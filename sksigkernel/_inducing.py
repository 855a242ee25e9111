"""Inducing paths, for the estimators that learn them (SigKernelNystroem,
SparseSigGPRegressor): their first choice among the training series, the variables they are
learned in, and their grams with the chain rule back to them."""
import warnings

import numpy as np
import scipy.linalg
from sklearn.cluster import KMeans

from .functional import sig_kernel, sig_kernel_gram, sig_kernel_gram_backprop


def resample(series, length):
    """A series linearly interpolated at ``length`` points equally spaced in its index (its
    own points when ``length`` is its length)."""
    t = np.linspace(0, len(series) - 1, length)
    return np.stack([np.interp(t, np.arange(len(series)), c) for c in series.T], axis=1)


def typical_length(paths):
    """The median length of the series (at least 2)."""
    lengths = np.full(paths.n, paths.data.shape[1]) if paths.lengths is None else paths.lengths
    return max(2, int(np.median(lengths)))


def diagonal(X, kernel_args):
    """k(x, x) of each series of X, for the keyword arguments of sig_kernel_gram."""
    args = dict(kernel_args)
    return np.asarray(sig_kernel(X, X, args.pop("dyadic_order"), **args), dtype=float)


def greedy(paths, kernel, m):
    """Indices of m series by pivoted Cholesky on the gram of ``kernel`` (a SigKernel),
    computing only its diagonal and m columns: each the largest conditional variance given
    those before (Burt et al. 2020)."""
    residual = np.ones(paths.n) if kernel.normalize else \
        diagonal(paths.collection(), kernel._engine_args())
    factor = np.zeros((paths.n, m))
    chosen = []
    for j in range(m):
        i = int(np.argmax(residual))
        chosen.append(i)
        column = kernel._gram(paths, paths.take([i]))[:, 0]
        pivot = np.sqrt(max(residual[i], 1e-300))       # 0 once the rest is spanned
        factor[:, j] = (column - factor[:, :j] @ factor[i, :j]) / pivot
        residual = residual - factor[:, j] ** 2
        residual[chosen] = -np.inf
    return np.array(chosen)


def initial_paths(init, paths, kernel, m, length, rng):
    """m (at most the series) inducing paths of ``length`` points and the training series
    they are (None for "kmeans", whose centres are not series)."""
    if init == "kmeans":
        flat = np.stack([resample(paths.series(i), length).ravel() for i in range(paths.n)])
        centres = KMeans(m, n_init=3, random_state=rng).fit(flat).cluster_centers_
        return centres.reshape(m, length, paths.channels).astype(paths.data.dtype), None
    if init == "random":
        indices = np.sort(rng.choice(paths.n, m, replace=False))
    else:
        indices = greedy(paths, kernel, m)
    Z = np.stack([resample(paths.series(i), length) for i in indices])
    return Z.astype(paths.data.dtype), indices


class Increments:
    """Inducing paths as the variables they are learned in: each path's first point and its
    increments, boxed per channel. The first points stay within the data's range widened by
    that range, the increments within the largest of the data's (or the start's): steps
    beyond increments like the data's would leave the accuracy the kernel setting was chosen
    for, and could exploit the scheme's error instead of lowering the true objective."""

    def __init__(self, Z, paths):
        self.shape = Z.shape
        u = np.concatenate([Z[:, :1], np.diff(Z, axis=1)], axis=1).astype(float)
        self.start = u.ravel()
        lo, hi = np.nanmin(paths.data, axis=(0, 1)), np.nanmax(paths.data, axis=(0, 1))
        steps = np.maximum(np.abs(np.diff(paths.data, axis=1)).max(axis=(0, 1), initial=0),
                           np.abs(u[:, 1:]).max(axis=(0, 1)))
        low, high = np.empty(self.shape), np.empty(self.shape)
        low[:, 0], high[:, 0] = 2 * lo - hi, 2 * hi - lo
        low[:, 1:], high[:, 1:] = -steps, steps
        self.low, self.high = low.ravel(), high.ravel()

    def paths(self, u):
        """The inducing paths of the variables u."""
        return np.cumsum(u.reshape(self.shape), axis=1)

    @staticmethod
    def gradient(grad):
        """The gradient with respect to the variables, from that with respect to the paths."""
        return np.cumsum(grad[:, ::-1], axis=1)[:, ::-1].ravel()


def guarded(objective, penalty):
    """``objective(theta)`` (value, gradient) for the points L-BFGS tries: where the kernel
    breaks down there (an overflow, a gram no longer positive definite), ``penalty`` with a
    zero gradient, so that the line search steps back."""
    def trial(theta):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)     # overflow: rejected
                return objective(theta)
        except (ValueError, np.linalg.LinAlgError):
            return penalty(), np.zeros_like(theta)
    return trial


# K(Z, Z)'s jitter, relative to its mean diagonal.
JITTER = 1e-8


class Grams:
    """K(Z, X), K(Z, Z) (with a jitter) and k(x, x) of inducing paths Z and series X,
    normalised when asked, and the chain rule from gradients with respect to them back to Z.

    Attributes: ``C`` (m x n), ``S`` (m x m, jittered), ``diag`` (n), ``factor`` (the
    Cholesky factor of S, for scipy.linalg.cho_solve).
    """

    def __init__(self, Z, X, kernel_args, normalize, diag_X=None):
        self.args = dict(kernel_args)
        self.dyadic = self.args.pop("dyadic_order")
        self.Z, self.X, self.normalize = Z, X, normalize
        C = sig_kernel_gram(Z, X, self.dyadic, **self.args)
        S = sig_kernel_gram(Z, Z, self.dyadic, **self.args)
        dz = np.diag(S).copy()
        dx = diagonal(X, kernel_args) if diag_X is None else diag_X
        if not (np.all(dz > 0) and np.all(dx > 0) and np.isfinite(C).all()
                and np.isfinite(S).all()):
            raise ValueError("inducing paths need finite kernels with k(x, x) > 0, but the "
                             "PDE scheme is unstable for some of these paths; scale them down, "
                             "raise dyadic_order, or use method='polynomial' with "
                             "dyadic_order='auto'")
        if normalize:
            self.sz, self.sx = np.sqrt(dz), np.sqrt(dx)
            C, S, dx = C / self.sz[:, None] / self.sx[None, :], S / np.outer(self.sz, self.sz), \
                np.ones_like(dx)
        m = len(S)
        self.plain, self.C, self.diag = S, C, dx
        self.S = S + JITTER * np.trace(S) / m * np.eye(m)
        try:
            self.factor = scipy.linalg.cho_factor(self.S)
        except np.linalg.LinAlgError:
            raise ValueError("K(Z, Z) of the inducing paths is not positive definite (the PDE "
                             "scheme's kernel is only approximately so); raise dyadic_order or "
                             "use method='polynomial'") from None

    def backward(self, gC, gS):
        """dF/dZ, from dF/dC and dF/dS (both sides of K(Z, Z), whose arguments are both Z)."""
        m = len(gS)
        gS = gS + JITTER / m * np.trace(gS) * np.eye(m)        # the jitter's trace term
        if self.normalize:
            Sn = self.plain
            gdz = -0.5 / self.sz ** 2 * (np.sum(gC * self.C, axis=1) + 2 * np.sum(gS * Sn, axis=1))
            gC = gC / self.sz[:, None] / self.sx[None, :]
            gS = gS / np.outer(self.sz, self.sz)
            gS[np.diag_indices(m)] += gdz
        grad = sig_kernel_gram_backprop(gC, self.Z, self.X, self.dyadic, left_deriv=True,
                                        **self.args)[0]
        left, right = sig_kernel_gram_backprop(gS, self.Z, self.Z, self.dyadic, left_deriv=True,
                                               right_deriv=True, **self.args)
        return grad + left + right
