"""The polynomial method (method="polynomial"): values against closed forms and truncated
signatures, geometric convergence in its order, agreement with finite differences and
pysiglib, its exact gradients, and every fast path against the pair computed alone."""
from functools import partial

import numpy as np
import pytest
from scipy.special import i0

import sksigkernel as sk
from sksigkernel import _solver
from helpers import STATIC, brownian, finite_difference
from reference import truncated_signature

poly = partial(sk.sig_kernel, method="polynomial")
poly_gram = partial(sk.sig_kernel_gram, method="polynomial")
walks = partial(brownian, from_origin=False)


def signature_kernel(x, y, depth=16):
    """The linear signature kernel from truncated signatures (converged for these paths)."""
    a, b = truncated_signature(x, depth), truncated_signature(y, depth)
    return sum(float(np.sum(u * v)) for u, v in zip(a, b))


def test_order_10_matches_truncated_signatures_to_1e_11(rng):
    X, Y = walks(rng, 3, 6, 2, scale=0.8), walks(rng, 3, 5, 2, scale=0.8)
    expected = np.array([[signature_kernel(x, y) for y in Y] for x in X])
    K = poly_gram(X, Y, 0, order=10)
    assert np.abs(K - expected).max() <= 1e-11 * np.abs(expected).max()


@pytest.mark.parametrize("increment", [0.5, 2.0, 6.0])
def test_straight_line_is_bessel(increment):
    # a 1-channel segment against itself: k = I0(2 |increment|), 18948.9 at increment 6
    x = np.array([[0.0], [increment]])
    k = float(poly(x, x, 2, order=20))
    assert k == pytest.approx(i0(2 * increment), rel=1e-13)


def test_error_falls_geometrically_in_the_order(rng):
    X = walks(rng, 6, 16, 3, scale=2.0)
    reference = poly_gram(X, None, 0, order=24)
    errors = [np.abs(poly_gram(X, None, 0, order=N) - reference).max() / reference.max()
              for N in (2, 3, 4, 5, 6, 7)]
    assert all(e1 < e0 / 4 for e0, e1 in zip(errors, errors[1:])), errors


@pytest.mark.parametrize("kernel", STATIC, ids=repr)
def test_agrees_with_extrapolated_finite_differences(rng, kernel):
    # FD's error is a h^2 + b h^3 + ..., h = 2^-d: Richardson's extrapolation twice, from
    # dyadic orders 6, 7 and 8, leaves O(h^4), 1e-11 to 2e-9 of the largest entry here
    X, Y = walks(rng, 3, 6, 2, scale=0.5), walks(rng, 2, 5, 2, scale=0.5)
    fd = [sk.sig_kernel_gram(X, Y, d, static_kernel=kernel) for d in (6, 7, 8)]
    once = [(4 * fine - coarse) / 3 for coarse, fine in zip(fd, fd[1:])]
    twice = (8 * once[1] - once[0]) / 7
    K = poly_gram(X, Y, 0, order=20, static_kernel=kernel)
    assert np.abs(K - twice).max() <= 5e-9 * np.abs(K).max()
    # splitting the cells changes only the rounding
    np.testing.assert_allclose(poly_gram(X, Y, (2, 1), order=20, static_kernel=kernel), K,
                               rtol=1e-12)


def test_agrees_with_pysiglib(rng):
    pysiglib = pytest.importorskip("pysiglib")
    X, Y = walks(rng, 5, 20, 3), walks(rng, 4, 15, 3)
    # both converged (their truncations differ at low orders: 7e-4 apart at order 4 here)
    converged = poly_gram(X, Y, 0, order=20)
    for order in (10, 12):
        theirs = pysiglib.sig_kernel_gram(X, Y, method="polynomial", order=order)
        assert np.abs(theirs - converged).max() <= 1e-11 * np.abs(converged).max()
        assert np.abs(poly_gram(X, Y, 0, order=order) - converged).max() <= \
            1e-11 * np.abs(converged).max()


def test_every_path_equals_the_pair_alone(rng):
    """Grams, ragged lists, threads, options: each entry equals that pair computed alone,
    bit for bit."""
    kernel = sk.RBFKernel(0.7)
    X = [rng.normal(size=(L, 2)).cumsum(axis=0) / 4 for L in (9, 4, 7, 1, 9)]
    Y = walks(rng, 3, 6, 2)
    opts = dict(order=7, static_kernel=kernel, time_aug=True, lead_lag=True, end_time=2.0)
    alone = np.array([[float(poly(x, y, (1, 2), n_jobs=1, **opts)) for y in Y] for x in X])
    for _ in range(3):
        for n_jobs in (1, 2, -1):
            K = poly_gram(X, Y, (1, 2), n_jobs=n_jobs, **opts)
            np.testing.assert_array_equal(K, alone)
            np.testing.assert_array_equal(poly(X[:3], list(Y), (1, 2), n_jobs=n_jobs, **opts),
                                          alone[np.arange(3), np.arange(3)])
    S = poly_gram(X, None, 1, order=7)
    np.testing.assert_array_equal(S, S.T)
    np.testing.assert_array_equal(np.diag(S), [float(poly(x, x, 1, order=7)) for x in X])


def test_float32_is_float64_rounded(rng):
    X = walks(rng, 6, 50, 3, scale=2.0)
    K64 = poly_gram(X, None, 1, order=10)
    K32 = poly_gram(X.astype(np.float32), None, 1, order=10)
    assert K32.dtype == np.float32
    # the scheme runs in double precision: float32 differs by the rounding of its inputs
    assert np.abs(K32 - K64).max() <= 1e-5 * np.abs(K64).max()


@pytest.mark.parametrize("kernel", STATIC, ids=repr)
def test_gradients_are_those_of_the_method(rng, kernel):
    X, Y = walks(rng, 2, 5, 2), walks(rng, 3, 4, 2)
    D = rng.normal(size=(2, 3))
    opts = dict(method="polynomial", order=6, static_kernel=kernel, time_aug=True)
    dX, dY = sk.sig_kernel_gram_backprop(D, X, Y, (1, 2), left_deriv=True, right_deriv=True,
                                         **opts)

    def loss(A, B):
        return float(np.sum(D * sk.sig_kernel_gram(A, B, (1, 2), **opts)))
    scale = max(np.abs(dX).max(), np.abs(dY).max())
    np.testing.assert_allclose(dX, finite_difference(lambda A: loss(A, Y), X), atol=1e-7 * scale)
    np.testing.assert_allclose(dY, finite_difference(lambda B: loss(X, B), Y), atol=1e-7 * scale)


@pytest.mark.parametrize("kernel", [sk.RBFKernel(0.8), sk.Matern32Kernel(0.9)], ids=repr)
def test_gradients_of_paths_far_from_the_origin(rng, kernel):
    # a distance kernel sees differences only: shifted by 2^26 (exactly, on a grid of
    # 2^-20), the gradients are the same, with no cancellation of x_a sum(w) - sum(w y_b)
    X, Y = (np.round(walks(rng, n, 6, 2) * 2 ** 20) / 2 ** 20 for n in (2, 3))
    D = rng.normal(size=(2, 3))
    opts = dict(method="polynomial", order=6, static_kernel=kernel, left_deriv=True,
                right_deriv=True)
    near = sk.sig_kernel_gram_backprop(D, X, Y, 1, **opts)
    far = sk.sig_kernel_gram_backprop(D, X + 2.0 ** 26, Y + 2.0 ** 26, 1, **opts)
    for a, b in zip(near, far):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-12 * np.abs(a).max())


@pytest.mark.parametrize("order", [1, 3, 4, 11, 18])
def test_gradients_of_every_cell_width(rng, order):
    """The cells' vectors hold 4 degrees each: degrees that fill them exactly (3, 11), leave
    a single number in the last (4), one vector (1) and past the unrolled ones (18)."""
    X, Y = walks(rng, 2, 4, 2), walks(rng, 2, 5, 2)
    D = rng.normal(size=(2, 2))
    opts = dict(method="polynomial", order=order)
    dX, dY = sk.sig_kernel_gram_backprop(D, X, Y, 1, left_deriv=True, right_deriv=True, **opts)

    def loss(A, B):
        return float(np.sum(D * sk.sig_kernel_gram(A, B, 1, **opts)))
    scale = max(np.abs(dX).max(), np.abs(dY).max())
    np.testing.assert_allclose(dX, finite_difference(lambda A: loss(A, Y), X), atol=1e-7 * scale)
    np.testing.assert_allclose(dY, finite_difference(lambda B: loss(X, B), Y), atol=1e-7 * scale)


def test_gradients_converge_to_finite_differences_gradients(rng):
    # the two schemes' gradients tend to one limit: FD's, extrapolated as the values are
    X, Y = walks(rng, 2, 5, 2), walks(rng, 2, 6, 2)
    D = np.ones((2, 2))
    g = [sk.sig_kernel_gram_backprop(D, X, Y, d)[0] for d in (6, 7, 8)]
    once = [(4 * fine - coarse) / 3 for coarse, fine in zip(g, g[1:])]
    twice = (8 * once[1] - once[0]) / 7
    ours = sk.sig_kernel_gram_backprop(D, X, Y, 0, method="polynomial", order=14)[0]
    assert np.abs(ours - twice).max() <= 5e-9 * np.abs(ours).max()


def test_ragged_and_paired_gradients(rng):
    X = [rng.normal(size=(L, 2)).cumsum(axis=0) / 4 for L in (6, 3)]
    Y = [rng.normal(size=(L, 2)).cumsum(axis=0) / 4 for L in (4, 5)]
    d = np.array([0.7, -1.3])
    dX, dY = sk.sig_kernel_backprop(d, X, Y, 1, method="polynomial", order=6, left_deriv=True,
                                    right_deriv=True)
    for i in range(2):
        def loss(A, B):
            return d[i] * float(poly(A, B, 1, order=6))
        np.testing.assert_allclose(dX[i], finite_difference(lambda A: loss(A, Y[i]), X[i]),
                                   atol=1e-8)
        np.testing.assert_allclose(dY[i], finite_difference(lambda B: loss(X[i], B), Y[i]),
                                   atol=1e-8)


def test_torch_gradcheck(rng):
    torch = pytest.importorskip("torch")
    from sksigkernel.torch_api import sig_kernel_gram
    X = torch.tensor(walks(rng, 3, 5, 2), requires_grad=True)
    Y = torch.tensor(walks(rng, 2, 4, 2), requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda A, B: sig_kernel_gram(A, B, (1, 0), method="polynomial", order=5,
                                     static_kernel=sk.RBFKernel(0.9), normalize=True), (X, Y))


@pytest.mark.parametrize("kwargs, match", [
    (dict(method="spline"), "method must be"),
    (dict(order=8), "order is for method='polynomial'"),
    (dict(method="polynomial", order=0), "order must be an integer between 1 and 64"),
    (dict(method="polynomial", order=65), "order must be an integer between 1 and 64"),
    (dict(method="polynomial", order=2.0), "order must be an integer"),
])
def test_bad_options(rng, kwargs, match):
    X = walks(rng, 2, 4, 2)
    with pytest.raises(ValueError, match=match):
        sk.sig_kernel_gram(X, X, 0, **kwargs)


@pytest.mark.parametrize("d1, d2", [(0, 0), (1, 2), (2, 0)])
def test_backward_in_bands_is_the_backward_keeping_every_row(rng, d1, d2):
    """Long grids go in bands of rows (their edges recomputed from each band's first bottom
    edges): bit for bit the gradients of every row's edges kept, ragged pairs, node seeds."""
    X = np.cumsum(rng.normal(size=(3, 9, 2)) / 3, axis=1)
    Y = np.cumsum(rng.normal(size=(2, 7, 2)) / 3, axis=1)
    len1, len2 = np.array([9, 4, 6], dtype=np.intp), np.array([7, 2], dtype=np.intp)
    pa, pb = (np.repeat(np.arange(3), 2).astype(np.intp),
              np.tile(np.arange(2), 3).astype(np.intp))
    seeds = rng.normal(size=6)
    nodes = rng.normal(size=(6, (8 << d1) + 1, (6 << d2) + 1))
    for grid in (None, nodes):
        grads = []
        for at in (2.0 ** 40, 0.0):      # every row kept; bands of sqrt(R / 2) rows
            # one thread: with two, the blocks (two of four lanes in a portable build) go
            # to either thread's slice, and y's sums over them change order from run to run
            dX, dY = np.zeros((1,) + X.shape), np.zeros((1,) + Y.shape)
            _solver.poly_backward(X, Y, pa, pb, seeds, 0, 1.0, 0, 0, d1, d2, 7, dX, dY, 1,
                                  len1, len2, grid_seeds=grid, band_at=at)
            grads.append((dX.sum(axis=0), dY.sum(axis=0)))
        for got in grads[1:]:
            for u, v in zip(got, grads[0]):
                np.testing.assert_array_equal(u, v)
        assert np.abs(grads[0][0]).max() > 0


def test_grids_hold_the_kernels_of_the_paths_prefixes(rng):
    """A node's value is the right edge of the cell below-left of it at its top: at a coarse
    node (i, j), the kernel of the prefixes x[:i + 1], y[:j + 1] computed alone, bit for bit
    (the kernel is the last node); 1 on the bottom and left."""
    X, Y = walks(rng, 3, 5, 2), walks(rng, 2, 4, 2)
    for d1, d2 in ((0, 0), (1, 2)):
        G = sk.sig_kernel_gram(X, Y, (d1, d2), return_grid=True, method="polynomial", order=7)
        assert G.shape == sk.sig_kernel_gram(X, Y, (d1, d2), return_grid=True).shape
        np.testing.assert_array_equal(G[..., 0, :], 1)
        np.testing.assert_array_equal(G[..., :, 0], 1)
        for a, x in enumerate(X):
            for b, y in enumerate(Y):
                want = [[float(sk.sig_kernel(x[:i + 1], y[:j + 1], (d1, d2), method="polynomial",
                                             order=7)) for j in range(1, 4)] for i in range(1, 5)]
                np.testing.assert_array_equal(G[a, b, 1 << d1::1 << d1, 1 << d2::1 << d2], want)


def test_blocks_of_several_refinements_are_each_pair_alone(rng):
    """One call of several refinements (the blocks "auto" hands the solver, in any order,
    ragged, partly filled): each pair's value bit for bit that of its refinement in a call
    of its own, the gradients the sums of its own, whatever the threads; bad blocks raise."""
    lanes = _solver.POLY_LANES
    X = np.cumsum(rng.normal(size=(4, 8, 3)) / 3, axis=1)
    Y = np.cumsum(rng.normal(size=(3, 6, 3)) / 3, axis=1)
    len1, len2 = np.array([8, 3, 6, 2], dtype=np.intp), np.array([6, 4, 1], dtype=np.intp)
    for _ in range(3):
        pa = rng.integers(0, 4, size=3 * lanes + 5).astype(np.intp)
        pb = rng.integers(0, 3, size=len(pa)).astype(np.intp)
        seeds = rng.normal(size=len(pa))
        cuts = np.sort(rng.choice(np.arange(1, len(pa)), size=4, replace=False))
        runs = np.split(np.arange(len(pa)), cuts)
        plans = [(int(rng.integers(0, 3)), int(rng.choice([1, 2, 5, 8, 13]))) for _ in runs]
        blocks = np.array([(run[0] + s, min(lanes, len(run) - s), d, d, N)
                           for run, (d, N) in zip(runs, plans) for s in range(0, len(run), lanes)],
                          dtype=np.intp)[rng.permutation(sum(-(-len(r) // lanes) for r in runs))]
        want = np.empty(len(pa))
        want_x, want_y = np.zeros(X.shape), np.zeros(Y.shape)
        for run, (d, N) in zip(runs, plans):
            for n in run:
                out = np.empty(1)
                one = (pa[n:n + 1], pb[n:n + 1])
                _solver.poly_forward(X, Y, *one, 0, 1.0, 0, 0, d, d, N, out, 1, len1, len2)
                want[n] = out[0]
                dX, dY = np.zeros((1,) + X.shape), np.zeros((1,) + Y.shape)
                _solver.poly_backward(X, Y, *one, seeds[n:n + 1], 0, 1.0, 0, 0, d, d, N, dX, dY,
                                      1, len1, len2)
                want_x += dX[0]
                want_y += dY[0]
        for threads in (1, 2, 3):
            got = np.empty(len(pa))
            _solver.poly_forward(X, Y, pa, pb, 0, 1.0, 0, 0, 0, 0, 1, got, threads, len1, len2,
                                 blocks=blocks)
            np.testing.assert_array_equal(got, want)
            dX, dY = np.zeros((threads,) + X.shape), np.zeros((threads,) + Y.shape)
            _solver.poly_backward(X, Y, pa, pb, seeds, 0, 1.0, 0, 0, 0, 0, 1, dX, dY, threads,
                                  len1, len2, blocks=blocks)
            for got_grad, want_grad in ((dX.sum(axis=0), want_x), (dY.sum(axis=0), want_y)):
                np.testing.assert_allclose(got_grad, want_grad, rtol=0,
                                           atol=1e-13 * np.abs(want_grad).max())
    out = np.empty(len(pa))
    gap = [[0, 2, 0, 0, 2], [1, 1, 0, 0, 2]] + [[s, 1, 0, 0, 2] for s in range(3, len(pa))]
    for bad, match in (([[0, lanes + 1, 0, 0, 2]], "must hold 1 to"),
                       ([[len(pa) - 1, 2, 0, 0, 2]], "must hold 1 to"),
                       ([[0, 1, 31, 0, 2]], "dyadic orders"),
                       ([[0, 1, 0, 0, 65]], "order must be between 1 and 64"),
                       ([[0, 1, 0, 0]], "rows"),
                       ([[0, 1, 0, 0, 2]], "each of the"),
                       (gap, "each of the")):
        with pytest.raises(ValueError, match=match):
            _solver.poly_forward(X, Y, pa, pb, 0, 1.0, 0, 0, 0, 0, 1, out, 1, len1, len2,
                                 blocks=np.array(bad, dtype=np.intp))
    grid = np.empty((len(pa), 8, 6))
    with pytest.raises(ValueError, match="a grid's pairs"):
        _solver.poly_forward(X, Y, pa, pb, 0, 1.0, 0, 0, 0, 0, 1, out, 1, len1, len2, grid=grid,
                             blocks=np.array([[0, 1, 1, 1, 2]], dtype=np.intp))


@pytest.mark.parametrize("static", [sk.LinearKernel(), sk.RBFKernel(0.7)])
def test_few_pairs_in_strips_are_each_pair_in_a_full_block(rng, static):
    """A block of fewer pairs than half the lanes cuts each pair's columns into strips, a
    lane each (a pair alone: all the lanes): values and gradients bit for bit the pair's in
    a full block, with any split, degree (the unrolled ones and the general one), ragged
    lengths, the planning's G, scale exponents and the heads' kernels."""
    lanes = _solver.POLY_LANES
    code, params = static._code, static._params()
    for _ in range(40):
        d1, d2 = (int(v) for v in rng.integers(0, 3, size=2))
        N = int(rng.choice([1, 3, 8, 13, 20]))
        L1, L2 = (int(v) for v in rng.integers(2, 30, size=2))
        X = np.cumsum(rng.normal(size=(3, L1, 3)) / 3, axis=1)
        Y = np.cumsum(rng.normal(size=(4, L2, 3)) / 3, axis=1)
        len1 = rng.integers(1, L1 + 1, size=3).astype(np.intp)
        len2 = rng.integers(1, L2 + 1, size=4).astype(np.intp)
        few = int(rng.integers(1, lanes // 2 + 1))
        pa = rng.integers(0, 3, size=few).astype(np.intp)
        pb = rng.integers(0, 4, size=few).astype(np.intp)
        full = np.tile(np.arange(few), lanes)[:lanes]       # the same pairs, lanes of them
        got, want = np.empty(few), np.empty(lanes)
        _solver.poly_forward(X, Y, pa, pb, code, *params, d1, d2, N, got, 1, len1, len2)
        _solver.poly_forward(X, Y, pa[full], pb[full], code, *params, d1, d2, N, want, 1,
                             len1, len2)
        np.testing.assert_array_equal(got, want[:few])
        # the backward: each pair's gradients, bit for bit, those of the pair in a full
        # block whose other lanes have zero seeds (their gradients are exact zeros)
        seeds = np.zeros(lanes)
        seeds[:few] = rng.normal(size=few)
        # (band_at=0: edges too many for strips, the rows in bands instead)
        grads = []
        for take, at in ((np.arange(few), 2.0 ** 23), (np.arange(few), 0.0), (full, 2.0 ** 23)):
            dX, dY = np.zeros((1,) + X.shape), np.zeros((1,) + Y.shape)
            _solver.poly_backward(X, Y, pa[take], pb[take], seeds[:len(take)], code, *params,
                                  d1, d2, N, dX, dY, 1, len1, len2, band_at=at)
            grads.append(dX.tolist() + dY.tolist())
        assert grads[0] == grads[2] and grads[1] == grads[2]
        # with scale exponents and the kernels of the heads (auto's rough sweeps): strips
        # unless a row would be scaled (paths of large steps), then the rows in one lane each
        Z = X * (1.0 if rng.random() < 0.5 else 60.0)
        swept = []
        for take in (np.arange(few), full):
            out, mant = np.empty(len(take)), np.empty(len(take))
            exps, heads = np.empty(len(take), dtype=np.int64), np.zeros((len(take), L1))
            _solver.poly_forward(Z, Z, pa[take], pa[take], code, *params, d1, d1, N, out, 1,
                                 len1, len1, mant, exps, prefixes=heads)
            swept.append([out[:few], mant[:few], exps[:few], heads[:few]])
        for got, want in zip(*swept):
            np.testing.assert_array_equal(got, want)
    # "auto": the pairs' G from the planning, a degree a block
    x, y = np.cumsum(rng.normal(size=(2, 40, 2)), axis=1)
    k = sk.sig_kernel(x, y, "auto", method="polynomial", static_kernel=static)
    K = sk.sig_kernel_gram(np.stack([x] * lanes), np.stack([y] * lanes), "auto",
                           method="polynomial", static_kernel=static)
    np.testing.assert_array_equal(K, k)
