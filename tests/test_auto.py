"""dyadic_order="auto": the polynomial method refined, pair by pair, to a tolerance. Values
against the converged method and closed forms on every input scale, each pair's kernel and
gradient the one it gets alone with the refinement chosen for it, and the planner's rule."""
import functools
from functools import partial

import numpy as np
import pytest
from scipy.special import gammaln, i0, j0

import sksigkernel as sk
from sksigkernel import _solver
from helpers import brownian, finite_difference

auto = partial(sk.sig_kernel, dyadic_order="auto", method="polynomial")
auto_gram = partial(sk.sig_kernel_gram, dyadic_order="auto", method="polynomial")


def converged(x, y, kernel=None):
    """k(x, y) by the method converged: degree 24 on cells split once more than "auto"
    splits them (for degree 16 at most)."""
    return _converged(x.tobytes(), y.tobytes(), x.shape, y.shape, kernel)


@functools.lru_cache(maxsize=None)
def _converged(xb, yb, xshape, yshape, kernel):
    x, y = (np.frombuffer(b).reshape(shape) for b, shape in ((xb, xshape), (yb, yshape)))
    d = plans(x, y, kernel)[0] + 1
    return float(sk.sig_kernel(x, y, d, method="polynomial", order=24, static_kernel=kernel))


def plans(x, y, kernel=None, tolerance=1e-8, order=0):
    """The engine's refinement of the pair under "auto": dyadic order, degree and the sums
    its bounds read (a: the largest |sum| of G along a row or a column from the grid's
    edge; the largest |G|; the sum of |G|)."""
    kernel = sk.LinearKernel() if kernel is None else kernel
    d, N = np.empty(1, dtype=np.int64), np.empty(1, dtype=np.int64)
    sums = np.empty((1, 3))
    zero = np.zeros(1, dtype=np.intp)
    _solver.poly_plans(np.ascontiguousarray(x[None]), np.ascontiguousarray(y[None]), zero,
                       zero, kernel._code, *kernel._params(), np.full(1, tolerance), order, d, N,
                       sums)
    return int(d[0]), int(N[0]), tuple(sums[0])


def log10_bounds(sums, points, d, N):
    """The planner's two bounds on the error at split d and degree N (polynomial.pxi),
    log10, each inf where it does not hold (a / 2^d > 16, largest / 4^d > 1)."""
    a, largest, total = sums
    ad, r = a / 2.0 ** d, largest / 4.0 ** d
    with np.errstate(divide="ignore"):
        by_sums = np.where(N <= 4, 1.2, 0.8 + 0.15 * (N - 5)) + np.log10(points * 2.0 ** d) \
            + (N + 1) * np.log10(ad) - (np.sqrt(ad) + 2 * gammaln(N + 2)) / np.log(10)
        by_cells = np.log10(total) + np.where(N <= 4, 2.2, 1.4 - 1.5 * (N - 5)) \
            + N * np.log10(r)
    return (by_sums if ad <= 16 else np.inf), (by_cells if r <= 1 else np.inf)


@pytest.mark.parametrize("kernel", [None, sk.RBFKernel(0.5)], ids=repr)
@pytest.mark.parametrize("lengths", [(9, 6), (8, 11), (3, 5), (6, 2)])
def test_the_engine_sums_the_static_increments(rng, kernel, lengths):
    # rows go four at a time: lengths with and without rows left over
    x, y = brownian(rng, 2, max(lengths), 3, scale=2.0)
    x, y = x[:lengths[0]], y[:lengths[1]]
    kappa = (kernel or sk.LinearKernel())(x, y)
    G = np.diff(np.diff(kappa, axis=0), axis=1)
    a = max(np.abs(np.cumsum(G, axis=0)).max(), np.abs(np.cumsum(G, axis=1)).max())
    assert plans(x, y, kernel)[2] == pytest.approx((a, np.abs(G).max(), np.abs(G).sum()),
                                                   rel=1e-13)


@pytest.mark.parametrize("increment", [0.5, 6.0, 20.0])
def test_straight_line_is_bessel_to_the_tolerance(increment):
    # a 1-channel segment against itself: k = I0(2 |increment|); 18948.9 at 6, from a cell
    # whose rho = 36 (400 at 20) must be split
    x = np.array([[0.0], [increment]])
    assert float(auto(x, x)) == pytest.approx(i0(2 * increment), rel=1e-8)
    assert float(auto(x, x, tolerance=1e-4)) == pytest.approx(i0(2 * increment), rel=1e-4)


@pytest.mark.parametrize("tolerance", [1e-5, 1e-8, 1e-11])
@pytest.mark.parametrize("kernel", [None, sk.RBFKernel(0.5), sk.Matern32Kernel(2.0),
                                    sk.PolynomialKernel(2, 0.5, 0.8)], ids=repr)
def test_every_scale_reaches_the_tolerance(rng, tolerance, kernel):
    # errors relative to sqrt(k(x, x) k(y, y)), on paths from far below to far above the
    # scale the estimators' defaults were made for
    for scale in (0.05, 0.5, 2.0, 5.0, 12.0):
        for length in (2, 7, 25):
            x, y = brownian(rng, 2, length, 3, scale=scale)
            if kernel is not None and kernel._code == sk.PolynomialKernel(2)._code:
                x, y = x / scale, y / scale          # its values grow as |x|^2 |y|^2
            norm = np.sqrt(converged(x, x, kernel) * converged(y, y, kernel))
            error = abs(float(auto(x, y, tolerance=tolerance, static_kernel=kernel))
                        - converged(x, y, kernel))
            assert error <= tolerance * norm, (scale, length, error / norm)


def alone(x, y):
    """k(x, y) by the polynomial method at the refinement "auto" chooses for the pair."""
    d, N, _ = plans(x, y)
    return float(sk.sig_kernel(x, y, d, method="polynomial", order=N))


def planning(monkeypatch, mode, cells):
    """The planning's ways: G kept for all pairs at once ("one chunk"), three pairs at a
    time ("chunks", of ``cells`` cells a pair) or not kept ("planned first")."""
    if mode == "chunks":
        monkeypatch.setattr(sk.functional, "PLANNED_G_BYTES", 3 * 8 * cells)
        monkeypatch.setattr(sk.functional, "PLANNED_PAIRS", 0)
    elif mode == "planned first":
        monkeypatch.setattr(sk.functional, "PLANNED_G_BYTES", 1)


PLANNINGS = ["one chunk", "chunks", "planned first"]


@pytest.mark.parametrize("mode", PLANNINGS)
def test_each_entry_is_the_pair_alone_at_any_n_jobs(rng, monkeypatch, mode):
    # pairs of very different scales in one gram get different refinements
    planning(monkeypatch, mode, 11 * 8)
    X = brownian(rng, 5, 12, 2) * np.array([0.1, 1.0, 3.0, 8.0, 0.5])[:, None, None]
    Y = brownian(rng, 4, 9, 2) * np.array([2.0, 0.3, 6.0, 1.0])[:, None, None]
    expected = np.array([[alone(x, y) for y in Y] for x in X])
    for n_jobs in (1, 2, -1):
        np.testing.assert_array_equal(auto_gram(X, Y, n_jobs=n_jobs), expected)
        np.testing.assert_array_equal(auto(X, Y[[0, 1, 2, 3, 0]], n_jobs=n_jobs),
                                      expected[np.arange(5), [0, 1, 2, 3, 0]])
    # ragged lists too
    ragged = [X[0, :5], X[3], X[4, :2]]
    np.testing.assert_array_equal(auto_gram(ragged, Y, n_jobs=2),
                                  [[alone(x, y) for y in Y] for x in ragged])


@pytest.mark.parametrize("mode", PLANNINGS)
def test_gradients_are_those_of_the_refinement_chosen(rng, monkeypatch, mode):
    planning(monkeypatch, mode, 7 * 5)
    X = brownian(rng, 3, 8, 2) * np.array([0.2, 2.0, 7.0])[:, None, None]
    Y = brownian(rng, 2, 6, 2) * np.array([1.0, 4.0])[:, None, None]
    derivs = rng.normal(size=(3, 2))
    dX, dY = sk.sig_kernel_gram_backprop(derivs, X, Y, "auto", method="polynomial",
                                         left_deriv=True, right_deriv=True)
    eX, eY = np.zeros_like(X), np.zeros_like(Y)
    for a in range(3):
        for b in range(2):
            d, N, _ = plans(X[a], Y[b])
            gx, gy = sk.sig_kernel_backprop(derivs[a, b], X[a], Y[b], d,
                                            method="polynomial", order=N,
                                            left_deriv=True, right_deriv=True)
            eX[a] += gx
            eY[b] += gy
    np.testing.assert_allclose(dX, eX, rtol=1e-12, atol=1e-12 * np.abs(eX).max())
    np.testing.assert_allclose(dY, eY, rtol=1e-12, atol=1e-12 * np.abs(eY).max())


def test_gradient_against_central_differences(rng):
    # the refinement is constant near these paths, so the kernel is smooth there
    x, y = brownian(rng, 2, 5, 2, scale=3.0)
    dx, dy = sk.sig_kernel_backprop(1.0, x, y, "auto", method="polynomial",
                                    left_deriv=True, right_deriv=True)
    k = float(auto(x, y))
    np.testing.assert_allclose(dx, finite_difference(lambda z: float(auto(z, y)), x),
                               rtol=1e-6, atol=1e-7 * abs(k))
    np.testing.assert_allclose(dy, finite_difference(lambda z: float(auto(x, z)), y),
                               rtol=1e-6, atol=1e-7 * abs(k))


def test_torch_gradcheck():
    torch = pytest.importorskip("torch")
    from sksigkernel import torch_api
    gen = torch.Generator().manual_seed(0)
    X = (torch.randn(2, 5, 2, generator=gen, dtype=torch.float64) * 1.5).requires_grad_()
    Y = (torch.randn(3, 4, 2, generator=gen, dtype=torch.float64) * 0.5).requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, b: torch_api.sig_kernel_gram(a, b, "auto", method="polynomial"), (X, Y))


@pytest.mark.parametrize("order", [0, 3, 8])
def test_the_planner_picks_the_cheapest_refinement_within_its_bound(rng, order):
    tol = 1e-8
    degrees = np.arange(2, 17) if not order else np.array([order])
    for _ in range(40):
        length1, length2 = rng.integers(2, 30, size=2)
        x = brownian(rng, 1, length1, 2, scale=10 ** rng.uniform(-2, 2))[0]
        y = brownian(rng, 1, length2, 2, scale=10 ** rng.uniform(-2, 2))[0]
        d, N, sums = plans(x, y, tolerance=tol, order=order)
        points = length1 + length2
        ok = [(4.0 ** dd * (NN + 1) ** 2, dd, NN) for dd in range(17) for NN in degrees
              if min(log10_bounds(sums, points, dd, NN)) <= np.log10(tol)]
        if ok:
            assert 4.0 ** d * (N + 1) ** 2 == min(ok)[0]
            assert min(log10_bounds(sums, points, d, N)) <= np.log10(tol)
        else:                   # beyond the planner's reach: the least split with r <= 1
            assert (d, N) == (next(dd for dd in range(17) if sums[1] / 4.0 ** dd <= 1),
                              order or 16)


def test_constant_paths_need_no_refinement():
    assert plans(np.zeros((4, 2)), np.ones((3, 2))) == (0, 2, (0.0, 0.0, 0.0))
    assert float(auto(np.zeros((4, 2)), np.ones((3, 2)))) == 1.0


def test_estimators_take_it_on_raw_scale_data(rng):
    # a table of raw values (k(x, x) <= 0 under finite differences at the default order)
    X = rng.normal(size=(30, 8)) * 20
    y = (X[:, 0] > 0).astype(int)
    K = sk.SigKernel(dyadic_order="auto", method="polynomial", normalize=True, n_channels=2)(X)
    assert np.all(np.isfinite(K)) and np.allclose(np.diag(K), 1)
    clf = sk.SigKernelSVC(dyadic_order="auto", method="polynomial", n_channels=2).fit(X, y)
    assert clf.score(X, y) > 0.8


@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3, 1e6])
@pytest.mark.parametrize("estimator", [sk.SigKernelSVC, sk.SigKernelRidge])
def test_the_estimators_default_kernel_is_accurate_on_any_scale(rng, scale, estimator):
    X = brownian(rng, 6, 30, 3) * scale
    fitted = estimator().fit(X, np.arange(6) % 2)
    K = fitted._kernel()(X)
    kernel = sk.RBFKernel(fitted.sigma_)
    timed = [np.column_stack([x, np.linspace(0, 1, len(x))]) for x in X]
    exact = np.array([[converged(x, z, kernel) for z in timed] for x in timed])
    norms = np.sqrt(np.outer(np.diag(exact), np.diag(exact)))
    if fitted.normalize:
        exact = exact / norms
        norms = 1.0
    assert np.max(np.abs(K - exact) / norms) <= 1e-8


def test_bad_settings_are_named():
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="'auto' is for method='polynomial'"):
        sk.sig_kernel(x, x, "auto")
    with pytest.raises(ValueError, match="tolerance is for dyadic_order='auto'"):
        sk.sig_kernel(x, x, 2, method="polynomial", tolerance=1e-6)
    for bad in (0, 1.5, -1e-3, "small", True):
        with pytest.raises(ValueError, match="tolerance must be a number between 0 and 1"):
            auto(x, x, tolerance=bad)
    with pytest.raises(TypeError, match="or 'auto'"):
        sk.sig_kernel(x, x, "fine", method="polynomial")
    with pytest.raises(ValueError, match="tolerance"):
        sk.SigKernel(dyadic_order="auto", method="polynomial", tolerance=2.0)(x[None])


def test_normalised_kernels_beyond_the_double_range():
    # straight 1-channel segments of increments a and b: k = I0(2 sqrt(ab)), past 1e308
    # here; normalised, I0e(z) / sqrt(I0e(2a) I0e(2b)) exp(z - a - b) = 0.0038
    from scipy.special import i0e
    a, b = 400.0, 500.0
    x, y = np.array([[0.0], [a]]), np.array([[0.0], [b]])
    z = 2 * np.sqrt(a * b)
    expected = i0e(z) / np.sqrt(i0e(2 * a) * i0e(2 * b)) * np.exp(z - a - b)
    with pytest.warns(RuntimeWarning, match="overflowed"):
        assert np.isinf(auto(x, y))
    assert float(auto(x[None], y[None], normalize=True)[0]) == pytest.approx(expected, rel=1e-8)
    K = auto_gram([x, y], None, normalize=True)
    np.testing.assert_allclose(K, [[1, expected], [expected, 1]], rtol=1e-8)


def test_scaling_changes_nothing_within_the_double_range(rng):
    X, Y = brownian(rng, 4, 9, 2, scale=3.0), brownian(rng, 3, 7, 2, scale=3.0)
    K = auto_gram(X, Y)
    dx = np.array([float(auto(x, x)) for x in X])
    dy = np.array([float(auto(y, y)) for y in Y])
    np.testing.assert_allclose(auto_gram(X, Y, normalize=True), K / np.sqrt(np.outer(dx, dy)),
                               rtol=1e-15)


def test_estimators_normalise_kernels_beyond_the_double_range(rng):
    # 1-channel paths: k(x, y) = I0(2 sqrt(DxDy)), Dx and Dy their total increments (here
    # 300 to 700: kernels past 1e308); normalised, the closed form through i0e
    from scipy.special import i0e
    X = np.cumsum(rng.uniform(150, 350, size=(5, 3, 1)), axis=1) - 150.0
    D = X[:, -1, 0] - X[:, 0, 0]
    z = 2 * np.sqrt(np.outer(D, D))
    expected = i0e(z) / np.sqrt(np.outer(i0e(2 * D), i0e(2 * D))) * \
        np.exp(z - (D[:, None] + D[None, :]))
    with pytest.warns(RuntimeWarning, match="overflowed"):
        assert not np.isfinite(auto_gram(X, None)).all()
    K = sk.SigKernel(dyadic_order="auto", method="polynomial", normalize=True)(X)
    np.testing.assert_allclose(K, expected, rtol=1e-8)
    y = np.arange(5) % 2
    assert sk.SigKernelSVC(dyadic_order="auto", method="polynomial").fit(X, y).score(X, y) > 0.5


def test_normalised_kernels_beyond_the_double_range_are_computed_once(monkeypatch):
    # the diagonal overflows, so the gram goes straight to scale exponents: its 5 diagonal
    # kernels and one triangle of 15, not the triangle twice
    from counting import count_evaluations
    X = np.cumsum(np.full((5, 3, 1), 250.0), axis=1)
    with count_evaluations(monkeypatch) as counter:
        K = sk.SigKernel(dyadic_order="auto", method="polynomial", normalize=True,
                         cache=False)(X)
    assert counter["pairs"] == 5 + 15
    np.testing.assert_allclose(K, 1.0, rtol=1e-12)      # one path, five times


def test_rounding_that_swamps_a_kernel_is_an_error_not_a_value():
    # out and back by ~280 on one channel: k(x, x) = I0(2 * 12.8) ~ 1e10, while the PDE
    # grid peaks near 1e490; double precision cannot hold the difference
    x = np.array([[0.0], [277.3], [-12.8]])
    with pytest.raises(ValueError, match=r"path1\[0\] with itself is beyond double"):
        auto_gram(x[None], None, normalize=True)


def one_channel_kernel(x, y):
    """The linear signature kernel of 1-channel paths: their signatures are exp of their
    increments, so k = sum_k p^k / k!^2 for p = (x_end - x_0)(y_end - y_0)."""
    p = (x[-1, 0] - x[0, 0]) * (y[-1, 0] - y[0, 0])
    return i0(2 * np.sqrt(p)) if p >= 0 else j0(2 * np.sqrt(-p))


@pytest.mark.parametrize("kind", ["pairs", "diagonals"])
def test_one_channel_kernels_are_exact(rng, kind):
    # unit steps: nothing cancels beyond double precision, and 'auto' keeps its tolerance,
    # on k(x, x) too (whose cells by the diagonal all grow it)
    for _ in range(40):
        x, y = (np.cumsum(rng.normal(size=(rng.integers(2, 9), 1)), axis=0) for _ in "xy")
        y = x if kind == "diagonals" else y
        norm = np.sqrt(one_channel_kernel(x, x) * one_channel_kernel(y, y))
        k = float(sk.sig_kernel(x, y, "auto", method="polynomial"))
        assert abs(k - one_channel_kernel(x, y)) <= 1e-8 * norm, (x.ravel(), y.ravel())


def cancelling_pairs(rng, count):
    """1-channel pairs of 2-8 points whose steps (1 to 10 a path, random signs) cancel:
    their grids magnify errors by up to 2^25, and many are beyond double precision."""
    for _ in range(count):
        scale = rng.uniform(1, 10)
        yield tuple(np.cumsum(rng.normal(size=(rng.integers(2, 9), 1)) * scale, axis=0)
                    for _ in "xy")


def test_cancelling_paths_keep_the_tolerance(rng):
    # 'auto''s bounds hold for grids that magnify their errors by up to 2^FREE_BITS; the
    # paths' magnification divides the tolerance beyond (without it, 4 of the 384 pairs
    # within double precision here were off, by up to 107x the tolerance). Pairs beyond
    # double precision raise, normalised
    within = 0
    for x, y in cancelling_pairs(rng, 600):
        norm = np.sqrt(one_channel_kernel(x, x) * one_channel_kernel(y, y))
        try:
            k = float(auto(x, y, normalize=True))
        except ValueError as error:
            assert "beyond double precision" in str(error)
            continue
        within += 1
        assert abs(k - one_channel_kernel(x, y) / norm) <= 1e-8, (x.ravel(), y.ravel())
        assert abs(float(auto(x, y)) - one_channel_kernel(x, y)) <= 1e-8 * norm
    assert within > 300


def test_a_pair_is_planned_by_its_paths_alone(rng):
    # the tolerance a pair gets from its paths' magnification is the same in any call:
    # grams, paired kernels, ragged lists, any n_jobs, SigKernel, gradients
    def bits(x):
        peak, whole = sk.functional._Problem(x[None], x[None], "auto", None, False, False,
                                             1.0, 1, method="polynomial").magnitudes(1)
        return peak[0] - whole[0]
    free = sk.functional.FREE_BITS
    pairs = [(x, y) for x, y in cancelling_pairs(rng, 100)
             if bits(x) + bits(y) > 2 * free + 4 and max(bits(x), bits(y)) < 20][:6]
    assert len(pairs) == 6
    X, Y = [x for x, _ in pairs], [y for _, y in pairs]
    paired = np.array([float(auto(x, y)) for x, y in pairs])
    for n_jobs in (1, 2):
        np.testing.assert_array_equal(np.diag(auto_gram(X, Y, n_jobs=n_jobs)), paired)
        np.testing.assert_array_equal(auto(X, Y, n_jobs=n_jobs), paired)
    # (SigKernel's cache computes some pairs transposed: their rounding, which these grids
    # magnify by up to 2^20, differs)
    sk.cache.clear()
    np.testing.assert_allclose(
        sk.SigKernel(dyadic_order="auto", method="polynomial", normalize=True)(X + Y),
        auto_gram(X + Y, None, normalize=True), rtol=0, atol=1e-9)
    # the gradients: of the refinement the forward chose, tightened (not the one the
    # tolerance alone gives)
    dX, dY = sk.sig_kernel_gram_backprop(np.eye(len(X)), X, Y, "auto", method="polynomial",
                                         left_deriv=True, right_deriv=True)
    tightened = 0
    for x, y, gx, gy, k in zip(X, Y, dX, dY, paired):
        prob = sk.functional._Problem(x, y, "auto", None, False, False, 1.0, 1,
                                      method="polynomial")
        [(_, [(_, _, d, _, N)], _)] = prob._plans(prob.X1, prob.X2, None, None,
                                                  np.zeros(1, np.intp), np.zeros(1, np.intp),
                                                  {}, (1, 2))
        tightened += (d, N) != plans(x, y)[:2]
        assert float(sk.sig_kernel(x, y, d, method="polynomial", order=N)) == k
        ex, ey = sk.sig_kernel_backprop(1.0, x, y, d, method="polynomial", order=N,
                                        left_deriv=True, right_deriv=True)
        np.testing.assert_allclose(gx, ex, rtol=1e-12, atol=1e-12 * np.abs(ex).max())
        np.testing.assert_allclose(gy, ey, rtol=1e-12, atol=1e-12 * np.abs(ey).max())
    assert tightened


def test_magnitudes_are_those_of_the_heads_and_tails(rng, monkeypatch):
    # log2 max_s k(head_s, head_s) k(tail_s, tail_s) and log2 k(x, x), each head and tail
    # computed alone at the rough sweep's refinement of its whole path; a path is swept
    # once, whatever the problems that take it
    from sksigkernel import functional
    functional.forget_magnitudes()
    X = [rng.normal(size=(L, 2)).cumsum(axis=0) for L in (7, 4, 1, 9)]
    prob = functional._Problem(X, X, "auto", None, False, False, 1.0, 2, method="polynomial")
    peak, whole = prob.magnitudes(1)
    for i, x in enumerate(X):
        def log2k(p, whole):        # tails: heads of the path reversed, swept as a whole
            d, N, _ = plans(whole, whole, tolerance=1e-3)
            return np.log2(float(sk.sig_kernel(p, p, d, method="polynomial", order=N)))
        r = x[::-1]
        alone = [log2k(x[:s + 1], x) + log2k(r[:len(x) - s], r) for s in range(len(x))]
        np.testing.assert_allclose([peak[i], whole[i]], [max(alone), log2k(x, x)],
                                   rtol=1e-13, atol=1e-13)
    swept = []
    original = functional._Problem.forward
    monkeypatch.setattr(functional._Problem, "forward", lambda self, *a, **k: (
        swept.append(len(a[0])) if k.get("prefixes") is not None else None) or
        original(self, *a, **k))
    again = functional._Problem([X[3], X[0]], X[1:3], "auto", None, False, False, 1.0, 2,
                                method="polynomial")
    np.testing.assert_array_equal(again.magnitudes(1)[0], peak[[3, 0]])
    np.testing.assert_array_equal(again.magnitudes(2)[1], whole[1:3])
    assert swept == []


@pytest.mark.parametrize("out, back", [(250.0, -10.0), (100.0, -2.0), (40.0, -1.0)])
def test_rounding_is_never_a_silent_value(out, back):
    # a path whose large steps cancel (out and back) has PDE grid values far beyond its
    # kernel, which double precision cannot then hold: the rounding is found from the grid,
    # whatever sign it gives k(x, x)
    x = np.array([[0.0], [out], [back]])
    y = np.array([[0.0], [1.0], [0.5]])
    expected = one_channel_kernel(x, y) / np.sqrt(one_channel_kernel(x, x)
                                                  * one_channel_kernel(y, y))
    try:
        K = auto_gram(np.stack([x, y]), None, normalize=True)
    except ValueError:
        return                                  # an error is right
    assert K[0, 1] == pytest.approx(expected, abs=1e-8)


def test_prefixes_are_the_kernels_of_the_heads(rng):
    # the engine's log2 |k| at the diagonal nodes: each that of the paths' first s + 1
    # points computed alone, at the same refinement; reversed, those of their tails
    from sksigkernel import functional
    X = [rng.normal(size=(L, 2)).cumsum(axis=0) for L in (7, 4, 1, 9)]
    prob = functional._Problem(X, X, (1, 1), None, False, False, 1.0, 2,
                               method="polynomial", order=7)
    n, L = prob.X1.shape[:2]
    for reverse in (False, True):
        heads = np.full((n, L), np.nan)
        prob.forward(np.arange(n), np.arange(n), side=1, exps=np.empty(n, dtype=np.int64),
                     prefixes=heads, reverse=reverse)
        for i, x in enumerate(X):
            x = x[::-1] if reverse else x
            alone = [np.log2(float(sk.sig_kernel(x[:s + 1], x[:s + 1], 1, method="polynomial",
                                                 order=7))) for s in range(len(x))]
            np.testing.assert_allclose(heads[i, :len(x)], alone, rtol=1e-14, atol=1e-14)


def test_every_entry_point_checks_precision():
    # normalised kernels, symmetric grams and every call under 'auto' (whose plans measure
    # the paths anyway) check their paths, before computing, and name the one beyond
    x = np.array([[0.0], [250.0], [-10.0]])
    y = np.array([[0.0], [1.0], [0.5]])
    z = np.array([[0.0], [40.0], [-1.0]])
    auto = dict(dyadic_order="auto", method="polynomial", normalize=True)
    with pytest.raises(ValueError, match=r"path2\[1\] with itself is beyond double"):
        sk.sig_kernel(np.stack([y, y]), np.stack([y, x]), **auto)
    with pytest.raises(ValueError, match=r"Y\[0\] with itself is beyond double"):
        sk.SigKernel(**auto)(y[None], x[None])
    with pytest.raises(ValueError, match=r"Y\[0\] with itself is beyond double"):
        sk.SigKernel(**auto)(y[None], z[None])
    with pytest.raises(ValueError, match="beyond double"):       # a fixed order too
        sk.sig_kernel_gram(x[None], None, 7, method="polynomial", order=16, normalize=True)
    unnormalised = dict(auto, normalize=False)
    with pytest.raises(ValueError, match=r"path1\[1\] with itself is beyond double"):
        sk.sig_kernel_gram(np.stack([y, z]), None, **unnormalised)
    with pytest.raises(ValueError, match=r"path2\[0\] with itself is beyond double"):
        sk.sig_kernel_gram(y[None], z[None], **unnormalised)
    with pytest.raises(ValueError, match=r"path1\[1\] with itself is beyond double"):
        sk.sig_kernel(np.stack([y, z]), np.stack([y, y]), **unnormalised)
    with pytest.raises(ValueError, match=r"X\[1\] with itself is beyond double"):
        sk.SigKernel(**unnormalised)(np.stack([y, z]), y[None])
    # a fixed order checks only where k(x, x) is at hand: normalised kernels and
    # symmetric grams (elsewhere it would cost two sweeps a path)
    assert np.isfinite(sk.sig_kernel_gram(y[None], z[None], 7, method="polynomial",
                                          order=16)).all()


def test_the_cache_checks_a_path_once(monkeypatch):
    # SigKernel's diagonals come from the cache: a path is checked when its k(x, x) is
    # computed, not at every call; a path that fails is not kept, and fails again
    from sksigkernel import cache, functional
    cache.clear()
    checked = []
    original = functional.check_precision
    monkeypatch.setattr(functional, "check_precision",
                        lambda paths, *a, **k: checked.append(len(paths)) or
                        original(paths, *a, **k))
    kernel = sk.SigKernel(dyadic_order="auto", method="polynomial", normalize=True)
    y = np.array([[0.0], [1.0], [0.5]])
    X = np.stack([y, 2 * y, 3 * y])
    K = kernel(X)
    np.testing.assert_array_equal(kernel(X), K)
    assert checked == [3]
    bad = np.array([[0.0], [40.0], [-1.0]])
    for _ in range(2):
        with pytest.raises(ValueError, match=r"X\[3\] with itself is beyond double"):
            kernel(np.concatenate([X, bad[None]]))
    assert checked == [3, 1, 1]
    cache.clear()
