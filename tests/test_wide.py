"""Wide paths: G from matrix products (sksigkernel._wide) equals the solver's own loops.

The solver computes the static kernel's second differences lane by lane for few channels
and by BLAS products a pair for many. Here both ways run on the same random problems
(the loops forced by raising the crossover) and must agree to rounding: kernels, grids and
gradients of both methods, both sides, ragged batches, transforms, float32. The gradients
are also checked against central differences. test_equivalence covers the bitwise
equality of every batching and number of threads with the pair computed alone.
"""
import numpy as np
import pytest

import sksigkernel as sk
from sksigkernel import _solver, _wide

D = _wide.CHANNELS + 3


def brownian(rng, lengths, channels=D, dtype=np.float64, scale=1.0):
    return [(scale * np.cumsum(rng.normal(size=(L, channels)), axis=0)
             / np.sqrt(L * channels)).astype(dtype) for L in lengths]


@pytest.fixture
def loops(monkeypatch):
    """A context in which the solver's own loops compute every G."""
    def off():
        monkeypatch.setattr(_wide, "CHANNELS", 10 ** 9)
    return off


CASES = [dict(dyadic_order=0), dict(dyadic_order=1), dict(dyadic_order=(2, 1)),
         dict(dyadic_order=3),
         dict(dyadic_order=1, static_kernel=sk.ScaledLinearKernel(0.7), time_aug=True),
         dict(dyadic_order=0, lead_lag=True),
         dict(dyadic_order=1, static_kernel=sk.RBFKernel(0.8)),
         dict(dyadic_order=(1, 2), static_kernel=sk.Matern12Kernel(1.3), time_aug=True),
         dict(dyadic_order=1, static_kernel=sk.Matern32Kernel(0.9)),
         dict(dyadic_order=0, static_kernel=sk.Matern52Kernel(1.1), lead_lag=True),
         dict(dyadic_order=1, static_kernel=sk.PolynomialKernel(2, 0.5, 0.8)),
         dict(dyadic_order=1, static_kernel=sk.RationalQuadraticKernel(1.3, 1.5)),
         dict(dyadic_order=1, method="polynomial", static_kernel=sk.RBFKernel(0.8)),
         dict(dyadic_order=1, method="polynomial", static_kernel=sk.Matern32Kernel(0.9)),
         dict(dyadic_order=1, method="polynomial"),
         dict(dyadic_order=(0, 1), method="polynomial", order=5),
         dict(dyadic_order="auto", method="polynomial")]


def wide_and_loops(loops, fn):
    """fn() with the matrix products, then with the solver's loops."""
    got = fn()
    loops()
    return got, fn()


def flat(grads):
    return np.concatenate([np.ravel(g) for g in (grads if isinstance(grads, list) else
                                                 [grads])])


@pytest.mark.parametrize("kw", CASES, ids=str)
@pytest.mark.parametrize("ragged", [False, True])
def test_kernels_and_gradients_equal_the_loops(loops, kw, ragged):
    rng = np.random.default_rng(len(str(kw)) + ragged)
    if ragged:
        X, Y = brownian(rng, [9, 30, 1, 17, 64]), brownian(rng, [40, 2, 23])
    else:
        X, Y = np.stack(brownian(rng, [25] * 5)), np.stack(brownian(rng, [31] * 3))
    derivs = rng.normal(size=(5, 3))
    paired = rng.normal(size=3)

    def run():
        return (sk.sig_kernel_gram(X, Y, **kw), sk.sig_kernel_gram(X, None, **kw),
                sk.sig_kernel(X[:3], Y, **kw),
                sk.sig_kernel_gram_backprop(derivs, X, Y, left_deriv=True, right_deriv=True,
                                            **kw),
                sk.sig_kernel_backprop(paired, X[:3], Y, left_deriv=True, right_deriv=True,
                                       **kw),
                sk.sig_kernel_gram_backprop(derivs, X, Y, left_deriv=False, right_deriv=True,
                                            **kw)[1:])
    wide, plain = wide_and_loops(loops, run)
    for got, want in zip(wide[:3], plain[:3]):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    for got, want in zip(wide[3:], plain[3:]):
        got, want = (flat(g) for g in got), (flat(w) for w in want)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-12 * np.abs(w).max())


def test_float32_and_grids_equal_the_loops(loops):
    rng = np.random.default_rng(5)
    X = np.stack(brownian(rng, [30] * 4, dtype=np.float32))
    Y = np.stack(brownian(rng, [20] * 3, dtype=np.float32))
    derivs = rng.normal(size=(4, 3)).astype(np.float32)

    def run():
        return (sk.sig_kernel_gram(X, Y, 2), sk.sig_kernel_gram(X, Y, 1, return_grid=True),
                sk.sig_kernel_gram_backprop(derivs, X, Y, 2, left_deriv=True,
                                            right_deriv=True))
    wide, plain = wide_and_loops(loops, run)
    assert wide[0].dtype == np.float32
    np.testing.assert_allclose(wide[0], plain[0], rtol=1e-5)
    np.testing.assert_allclose(wide[1], plain[1], rtol=1e-5)
    for got, want in zip(wide[2], plain[2]):
        np.testing.assert_allclose(got, want, atol=1e-5 * np.abs(want).max())


def test_backprop_from_a_given_grid_equals_the_loops(loops):
    rng = np.random.default_rng(6)
    X, Y = np.stack(brownian(rng, [12] * 3)), np.stack(brownian(rng, [15] * 2))
    derivs = rng.normal(size=(3, 2))

    def run():
        grid = sk.sig_kernel_gram(X, Y, 1, return_grid=True)
        return sk.sig_kernel_gram_backprop(derivs, X, Y, 1, left_deriv=True,
                                           right_deriv=True, k_grid=grid)
    wide, plain = wide_and_loops(loops, run)
    for got, want in zip(wide, plain):
        np.testing.assert_allclose(got, want, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("kw", [dict(dyadic_order=1), dict(dyadic_order=1, method="polynomial"),
                                dict(dyadic_order=1, static_kernel=sk.RBFKernel(0.5)),
                                dict(dyadic_order=1, method="polynomial",
                                     static_kernel=sk.PolynomialKernel(2, 0.5, 0.8))],
                         ids=str)
def test_gradients_equal_central_differences(kw):
    rng = np.random.default_rng(7)
    X, Y = np.stack(brownian(rng, [6] * 2, scale=2.0)), np.stack(brownian(rng, [5] * 2,
                                                                          scale=2.0))
    derivs = rng.normal(size=(2, 2))
    gx, gy = sk.sig_kernel_gram_backprop(derivs, X, Y, left_deriv=True, right_deriv=True,
                                         **kw)

    def F(X, Y):
        return float(np.sum(derivs * sk.sig_kernel_gram(X, Y, **kw)))
    h = 1e-6
    for P, g, which in ((X, gx, 0), (Y, gy, 1)):
        for idx in [(0, 0, 0), (1, 3, D - 1), (0, 2, 5), (1, P.shape[1] - 1, 2)]:
            Pp, Pm = P.copy(), P.copy()
            Pp[idx] += h
            Pm[idx] -= h
            args_p = (Pp, Y) if which == 0 else (X, Pp)
            args_m = (Pm, Y) if which == 0 else (X, Pm)
            fd = (F(*args_p) - F(*args_m)) / (2 * h)
            assert abs(g[idx] - fd) <= 1e-7 * max(1.0, abs(fd)), (which, idx, g[idx], fd)


def test_crossover_depends_on_channels_and_memory_only():
    assert _wide.wanted(_wide.CHANNELS) and not _wide.wanted(_wide.CHANNELS - 1)
    assert not _wide.wanted(_wide.CHANNELS, held=_wide._HELD + 1)


def test_solver_refuses_wide_data_of_the_wrong_shape():
    X = np.zeros((2, 5, D))
    pa = np.zeros(1, dtype=np.intp)
    for kind, wrong in ((0, X), (1, np.zeros((2, 4, D)))):   # linear: increments; rbf: points
        with pytest.raises(ValueError, match="wide1 and wide2 must be"):
            _solver.forward(X, X, pa, pa, kind, 1.0, 0.0, 0.0, 0, 0, np.empty(1), None, 1,
                            None, None, 1, wrong, wrong)


@pytest.mark.parametrize("channels", [_wide.CHANNELS, 64, 300])
def test_a_pairs_product_is_the_matrix_product_whatever_its_batch(rng, channels):
    # G of the linear kernel from the wide data (the engine's own products up to 256
    # channels, BLAS beyond): the increments' products to rounding, for lengths whose
    # products leave partial blocks of rows and of vectors; each pair's G bitwise the same
    # alone and in a batch of other lengths
    X = brownian(rng, [2, 9, 23, 40], channels)
    Y = brownian(rng, [3, 17, 34], channels)
    pad = [np.concatenate([p, np.repeat(p[-1:], 40 - len(p), axis=0)]) for p in X + Y]
    P = np.stack(pad)
    lengths = np.array([len(p) for p in X + Y], dtype=np.intp)
    wide = _wide.data(P, sk.LinearKernel(), np.float64)
    pa = np.repeat(np.arange(4, dtype=np.intp), 3)          # each x against each y
    pb = np.tile(np.arange(4, 7, dtype=np.intp), 4)

    def G(pa, pb):
        out = np.zeros((len(pa), 39, 39))
        _solver.poly_plans(P, P, pa, pb, 0, 1.0, 0.0, 0.0, np.full(len(pa), 1e-8), 0,
                           np.empty(len(pa), np.int64), np.empty(len(pa), np.int64),
                           np.empty((len(pa), 3)), 2, lengths, lengths, wide1=wide,
                           wide2=wide, G=out)
        return out
    batch = G(pa, pb)
    for n, (a, b) in enumerate(zip(pa, pb)):
        m, k = lengths[a] - 1, lengths[b] - 1
        expected = np.diff(P[a, :m + 1], axis=0) @ np.diff(P[b, :k + 1], axis=0).T
        got = batch[n].ravel()[:m * k].reshape(m, k)          # a pair's G: rows of its own
        np.testing.assert_allclose(got, expected, rtol=1e-12,
                                   atol=1e-14 * np.abs(expected).max())
        alone = G(pa[n:n + 1], pb[n:n + 1])[0].ravel()[:m * k].reshape(m, k)
        np.testing.assert_array_equal(alone, got)
