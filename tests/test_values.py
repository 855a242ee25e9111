"""Forward values against closed forms, independent references and invariants."""
import numpy as np
import pytest
from scipy.special import i0, j0

import sksigkernel as sk
from sksigkernel import _planning, _solver
from sksigkernel._planning import override
from helpers import STATIC, brownian
from reference import pde_reference, pde_reference_exact, static_differences, \
    truncated_sig_kernel


def line(increment, length=2):
    return np.linspace(0, 1, length)[:, None] * np.asarray(increment, float)[None, :]


@pytest.mark.parametrize("c", [0.7, 2.0, -1.5])
def test_straight_lines_dyadic_order_zero(c):
    # one coarse cell: 1 + c + c^2 / 4 (A = 1 + c/2 + c^2/12, B = 1 - c^2/12)
    x, y = line([1.0, 0.0]), line([c, 0.5])
    assert sk.sig_kernel(x, y, 0) == pytest.approx(1 + c + c * c / 4, rel=1e-14)


@pytest.mark.parametrize("c", [0.5, 2.0, -1.5])
def test_straight_lines_converge_to_bessel_at_second_order(c):
    exact = i0(2 * np.sqrt(c)) if c > 0 else j0(2 * np.sqrt(-c))
    x, y = line([1.0, 1.0], 3), line([c / 2, c / 2], 5)
    errors = [abs(sk.sig_kernel(x, y, n) - exact) for n in range(2, 7)]
    ratios = np.array(errors[:-1]) / np.array(errors[1:])
    assert errors[-1] < 1e-5 * max(1.0, abs(exact))   # J0 is near a zero for c = -1.5
    # O(h^2): the error ratio per dyadic level tends to 4 (higher-order terms fade with h)
    assert np.all((ratios > 3.5) & (ratios < 4.5))
    assert ratios[-1] == pytest.approx(4.0, abs=0.1)


def test_matches_truncated_signatures(rng):
    X = brownian(rng, 3, 6, 2)
    Y = brownian(rng, 2, 5, 2)
    K = sk.sig_kernel_gram(X, Y, 7)
    exact = np.array([[truncated_sig_kernel(x, y) for y in Y] for x in X])
    np.testing.assert_allclose(K, exact, rtol=2e-5)
    coarse = sk.sig_kernel_gram(X, Y, 5)
    # the error at order 5 is about 16x the one at order 7
    ratio = np.abs(coarse - exact).max() / np.abs(K - exact).max()
    assert 10 < ratio < 20


@pytest.mark.parametrize("kernel", STATIC, ids=repr)
@pytest.mark.parametrize("order", [0, (1, 2)])
def test_matches_plain_numpy_scheme(rng, kernel, order):
    X = brownian(rng, 3, 6, 3, scale=2.0)
    Y = brownian(rng, 2, 4, 3, scale=2.0)
    d1, d2 = (order, order) if isinstance(order, int) else order
    K = sk.sig_kernel_gram(X, Y, order, static_kernel=kernel)
    ref = np.array([[pde_reference(static_differences(kernel, x, y), d1, d2)[-1, -1]
                     for y in Y] for x in X])
    np.testing.assert_allclose(K, ref, rtol=1e-12)


@pytest.mark.parametrize("strips", [1, 2, 4, 8, 16, 32])
@pytest.mark.parametrize("kernel", [sk.LinearKernel(), sk.RBFKernel(0.8)], ids=repr)
def test_strips_of_columns_match_plain_numpy_scheme(rng, kernel, strips):
    """Few pairs fill the lanes by cutting each grid into strips of columns (skewed by a row
    each): every number of strips gives the plain scheme's values, with strips wider or
    narrower than the grid, lists of paths and a dyadic pair."""
    X = brownian(rng, 3, 9, 3, scale=2.0)
    Y = [brownian(rng, 1, L, 3, scale=2.0)[0] for L in (12, 5)]
    for order, (d1, d2) in [(0, (0, 0)), ((2, 1), (2, 1))]:
        with override(strips=strips):
            K = sk.sig_kernel_gram(X, Y, order, static_kernel=kernel)
        ref = np.array([[pde_reference(static_differences(kernel, x, y), d1, d2)[-1, -1]
                         for y in Y] for x in X])
        np.testing.assert_allclose(K, ref, rtol=1e-12)


def test_strips_are_chosen_for_few_pairs_and_short_rows():
    assert _planning.strips(1, 2, 999, 999) == 32           # one pair: all lanes
    assert _planning.strips(4, 2, 999, 127) == 16           # 2 blocks for 2 threads
    assert _planning.strips(128 * 128, 2, 31, 31) == 1       # many pairs, rows in cache
    assert _planning.strips(1, 1, 50, 3) <= 3                # no strip narrower than a cell
    # rows of 252 fine cells do not stay in the L1 cache; in 4 strips (64 cells) they do,
    # and in float32 rows twice as long do
    assert _planning.strips(128 * 128, 2, 63, 63, 2, 2) == 4
    assert _planning.strips(128 * 128, 2, 63, 63, 2, 2, itemsize=4) == 2
    # at order 0 the forward's coarse rows of A and B are as long as its fine rows: rows of
    # 63 cells (64 x 64 pairs of length 500 in 8 strips) take 64 KiB with them, 16 strips
    # 33 KiB; the backward counts its two fine rows alone
    assert _planning.strips(64 * 64, 2, 499, 499) == 16
    assert _planning.strips(64 * 64, 2, 499, 499, itemsize=4) == 8
    assert _planning.strips(64 * 64, 2, 499, 499, recomputed=lambda s: False) == 8
    # the backward cuts grids into strips when that lets it keep them instead of recomputing
    assert _planning.strips(128 * 128, 2, 63, 63, 2, 2, recomputed=lambda s: s < 8) == 8
    assert _planning.strips(128 * 128, 2, 63, 63, 2, 2, recomputed=lambda s: False) == 4


@pytest.mark.parametrize("kernel", [sk.RBFKernel(1e-3), sk.Matern12Kernel(1e-3),
                                    sk.Matern32Kernel(0.05), sk.Matern52Kernel(0.05)], ids=repr)
def test_distance_kernels_over_the_whole_range_of_exp(rng, kernel):
    """The solver's own exp (vectorised) against numpy's: kernel values from 1 down to far
    below the smallest double (exponents from 0 to about -4000)."""
    X = brownian(rng, 3, 8, 2, scale=2.0)
    Y = np.concatenate([X[:1] + 1e-3, brownian(rng, 1, 8, 2, scale=2.0)])
    for x, y in [(X[0], Y[0]), (X[1], Y[1])]:
        assert np.exp(-((x[:, None] - y[None]) ** 2).sum(-1) / 1e-3).min() == 0.0
    K = sk.sig_kernel_gram(X, Y, 1, static_kernel=kernel)
    ref = np.array([[pde_reference(static_differences(kernel, x, y), 1, 1)[-1, -1]
                     for y in Y] for x in X])
    np.testing.assert_allclose(K, ref, rtol=1e-12)
    dX, dY = sk.sig_kernel_gram_backprop(np.ones((3, 2)), X, Y, 1, left_deriv=True,
                                         right_deriv=True, static_kernel=kernel)
    assert np.isfinite(dX).all() and np.isfinite(dY).all()


def test_grid_is_the_scheme_and_ends_in_the_kernel(rng):
    X, Y = brownian(rng, 2, 5, 2), brownian(rng, 3, 4, 2)
    grid = sk.sig_kernel_gram(X, Y, (2, 1), return_grid=True)
    assert grid.shape == (2, 3, 4 * 4 + 1, 3 * 2 + 1)
    np.testing.assert_allclose(grid[1, 2], pde_reference(
        static_differences(sk.LinearKernel(), X[1], Y[2]), 2, 1), rtol=1e-13)
    np.testing.assert_allclose(grid[..., -1, -1], sk.sig_kernel_gram(X, Y, (2, 1)), rtol=1e-14)
    paired = sk.sig_kernel(X[:2], Y[:2], 1, return_grid=True)
    np.testing.assert_allclose(paired[..., -1, -1], sk.sig_kernel(X[:2], Y[:2], 1), rtol=1e-14)


def test_constant_path_gives_one(rng):
    X = brownian(rng, 4, 7, 3)
    const = np.ones((6, 3)) * 0.3
    np.testing.assert_allclose(sk.sig_kernel_gram(const, X, 2), 1.0, rtol=0, atol=1e-15)
    for kernel in STATIC:
        np.testing.assert_allclose(sk.sig_kernel_gram(X, const, 1, static_kernel=kernel), 1.0,
                                   atol=1e-14)


def test_repeating_last_point_changes_nothing(rng):
    X, Y = brownian(rng, 3, 6, 2), brownian(rng, 2, 5, 2)
    Xr = np.concatenate([X, X[:, -1:], X[:, -1:]], axis=1)
    for kernel in (sk.LinearKernel(), sk.RBFKernel(0.5)):
        np.testing.assert_allclose(sk.sig_kernel_gram(Xr, Y, 2, static_kernel=kernel),
                                   sk.sig_kernel_gram(X, Y, 2, static_kernel=kernel), rtol=1e-13)


def test_reparametrisation_converges(rng):
    X, Y = brownian(rng, 2, 5, 2), brownian(rng, 2, 5, 2)
    Xf = np.concatenate([np.linspace(a, b, 3)[:-1] for a, b in zip(X[0][:-1], X[0][1:])] + [X[0][-1:]])
    exact = truncated_sig_kernel(X[0], Y[0])
    assert sk.sig_kernel(Xf, Y[0], 6) == pytest.approx(exact, rel=1e-5)


def test_symmetric_gram(rng):
    X = brownian(rng, 21, 8, 3)
    K = sk.sig_kernel_gram(X, None, 1, n_jobs=2)
    np.testing.assert_array_equal(K, K.T)
    np.testing.assert_allclose(K, sk.sig_kernel_gram(X, X.copy() + 0.0, 1), rtol=1e-14)
    full = np.array([[sk.sig_kernel(x, y, 1) for y in X] for x in X])
    np.testing.assert_allclose(K, full, rtol=1e-13)


def test_list_input_equals_padded_input(rng):
    paths = [brownian(rng, 1, L, 2)[0] for L in (3, 7, 5, 1)]
    Y = brownian(rng, 2, 6, 2)
    K = sk.sig_kernel_gram(paths, Y, 2, time_aug=True, lead_lag=True)
    one_by_one = np.array([sk.sig_kernel_gram(p, Y, 2, time_aug=True, lead_lag=True)
                           for p in paths])
    np.testing.assert_allclose(K, one_by_one, rtol=1e-13)


@pytest.mark.parametrize("kernel", [None, sk.RBFKernel(0.7)], ids=repr)
def test_ragged_blocks_stop_at_their_longest_path(rng, kernel):
    """Blocks of 32 pairs of lists of paths stop at their longest path, and a gram's columns
    are taken by length: every entry still equals the one computed alone, both sides
    ragged, symmetric or not, with both transforms."""
    lengths = rng.integers(1, 30, size=45)
    paths = [brownian(rng, 1, L, 2)[0] for L in lengths]
    others = [brownian(rng, 1, L, 2)[0] for L in rng.integers(2, 12, size=40)]
    opts = dict(static_kernel=kernel, time_aug=True, lead_lag=True)
    for A, B in [(paths, None), (paths, others), (others, paths)]:
        K = sk.sig_kernel_gram(A, B, 1, **opts)
        B = A if B is None else B
        alone = np.array([[float(sk.sig_kernel(a, b, 1, **opts)) for b in B] for a in A])
        np.testing.assert_allclose(K, alone, rtol=1e-12)
    np.testing.assert_allclose(sk.sig_kernel(paths[:40], others, 1, **opts),
                               [float(sk.sig_kernel(a, b, 1, **opts))
                                for a, b in zip(paths, others)], rtol=1e-12)


def test_paired_matches_gram_diagonal(rng):
    X, Y = brownian(rng, 17, 6, 2), brownian(rng, 17, 9, 2)
    np.testing.assert_allclose(sk.sig_kernel(X, Y, 1), np.diag(sk.sig_kernel_gram(X, Y, 1)),
                               rtol=1e-14)


def test_normalize(rng):
    X, Y = brownian(rng, 3, 6, 2), brownian(rng, 4, 5, 2)
    K = sk.sig_kernel_gram(X, Y, 1)
    kx, ky = sk.sig_kernel(X, X, 1), sk.sig_kernel(Y, Y, 1)
    np.testing.assert_allclose(sk.sig_kernel_gram(X, Y, 1, normalize=True),
                               K / np.sqrt(kx[:, None] * ky[None, :]), rtol=1e-14)
    np.testing.assert_allclose(np.diag(sk.sig_kernel_gram(X, None, 1, normalize=True)), 1.0)
    np.testing.assert_allclose(sk.sig_kernel(X[:3], Y[:3], 1, normalize=True),
                               np.diag(K[:, :3]) / np.sqrt(kx * ky[:3]), rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
# the scheme at dyadic order 1 is far from the kernel at these increments (normalised values
# above 1, and a warning that says so): the values are checked against the scheme itself
@pytest.mark.filterwarnings("ignore:normalize=True. some normalised kernels exceed 1")
def test_normalised_kernels_beyond_the_floating_range(rng, dtype):
    # 1-channel rising paths: every G > 0, so every value of the grid is a sum of positive
    # terms (no cancellation) and the kernels here, past 1e308 (float32: 3e38), are the
    # scheme's to rounding; normalised, they are the exact scheme's (40-digit decimals)
    lengths, order = [22, 12, 17], (1, 1)
    step = 30.0 if dtype == np.float64 else 3.0
    P = [np.cumsum(rng.uniform(step / 1.5, 1.5 * step, size=(L, 1)), axis=0).astype(dtype)
         for L in lengths]
    with pytest.warns(RuntimeWarning, match="overflowed"):
        assert np.isinf(sk.sig_kernel_gram(P, None, order)).any()
    exact = np.array([[pde_reference_exact(np.diff(x, axis=0) @ np.diff(y, axis=0).T, *order)
                       for y in P] for x in P])
    want = np.array([[float(exact[i, j] / (exact[i, i] * exact[j, j]).sqrt())
                      for j in range(3)] for i in range(3)])
    assert exact.max() > np.finfo(dtype).max
    tol = 1e-12 if dtype == np.float64 else 1e-4
    K = sk.sig_kernel_gram(P, None, order, normalize=True)
    assert K.dtype == dtype
    np.testing.assert_allclose(K, want, rtol=tol)
    np.testing.assert_allclose(sk.sig_kernel(P[:2], P[1:], order, normalize=True),
                               [want[0, 1], want[1, 2]], rtol=tol)
    np.testing.assert_allclose(sk.SigKernel(dyadic_order=order, normalize=True)(P), want,
                               rtol=tol)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_scaled_grids_are_the_unscaled_ones_times_a_power_of_two(rng, dtype):
    # kernels up to about 1e244 (float32: 1e34), rising paths (no cancellation), ragged
    # (padded with their last point, as the solver takes them): the scaled computation
    # rescales (past 2^600, float32 2^60), and its mantissa times 2^exponent is the plain
    # kernel, bit for bit (scaling by powers of two is exact), whatever the strips; the
    # polynomial method's too (in double precision), each lane on its own columns
    low = 9.0 if dtype == np.float64 else 1.0
    X = np.cumsum(rng.uniform(low, 3 * low, size=(9, 14, 2)), axis=1).astype(dtype)
    lengths = np.array([14, 3, 9, 14, 1, 12, 14, 7, 2], dtype=np.intp)
    for path, L in zip(X, lengths):
        path[L:] = path[L - 1]
    pa, pb = (np.repeat(np.arange(9), 9).astype(np.intp),
              np.tile(np.arange(9), 9).astype(np.intp))
    rescaled = 0
    for order in (0, 1, (2, 1)):
        d1, d2 = (order, order) if isinstance(order, int) else order
        plain = np.empty(81, dtype)
        _solver.forward(X, X, pa, pb, 0, 1.0, 0, 0, d1, d2, plain, None, 2, lengths, lengths)
        assert np.isfinite(plain).all()
        for strips in (1, 2, 8, 32):
            mant, exps = np.empty(81, dtype), np.empty(81, dtype=np.int64)
            _solver.forward(X, X, pa, pb, 0, 1.0, 0, 0, d1, d2, mant, None, 2, lengths,
                            lengths, strips, exponents=exps)
            np.testing.assert_array_equal(np.ldexp(mant.astype(np.float64), exps), plain)
        rescaled += (exps > 0).sum()
        if dtype == np.float64:
            plain, mant = np.empty(81), np.empty(81)
            _solver.poly_forward(X, X, pa, pb, 0, 1.0, 0, 0, d1, d2, 8, plain, 2, lengths,
                                 lengths)
            _solver.poly_forward(X, X, pa, pb, 0, 1.0, 0, 0, d1, d2, 8, np.empty(81), 2,
                                 lengths, lengths, mant, exps)
            np.testing.assert_array_equal(np.ldexp(mant, exps), plain)
            assert (exps > 0).sum() > 5               # its lanes rescaled too
    assert rescaled > 20
    with pytest.raises(ValueError, match="exponents need no grid"):
        _solver.forward(X, X, pa, pb, 0, 1.0, 0, 0, 0, 0, mant, np.empty((81, 14, 14), dtype),
                        2, None, None, 1, exponents=exps)


def test_transforms_match_explicit_paths(rng):
    X, Y = brownian(rng, 3, 5, 2), brownian(rng, 2, 4, 2)
    Xt = sk.time_augment(sk.lead_lag(X), end_time=3.0)
    Yt = sk.time_augment(sk.lead_lag(Y), end_time=3.0)
    np.testing.assert_allclose(sk.sig_kernel_gram(X, Y, 1, time_aug=True, lead_lag=True, end_time=3.0),
                               sk.sig_kernel_gram(Xt, Yt, 1), rtol=1e-14)


def test_max_batch_and_threads_do_not_change_values(rng):
    X, Y = brownian(rng, 37, 6, 2), brownian(rng, 29, 5, 2)
    K = sk.sig_kernel_gram(X, Y, 1)
    np.testing.assert_allclose(sk.sig_kernel_gram(X, Y, 1, max_batch=3, n_jobs=-1), K, rtol=1e-15)
    np.testing.assert_allclose(sk.sig_kernel_gram(X, None, 1, max_batch=5, n_jobs=2),
                               sk.sig_kernel_gram(X, X.copy(), 1), rtol=1e-14)


def test_dtypes_and_shapes(rng):
    X = brownian(rng, 3, 6, 2)
    K32 = sk.sig_kernel_gram(X.astype(np.float32), X.astype(np.float32), 1)
    assert K32.dtype == np.float32
    np.testing.assert_allclose(K32, sk.sig_kernel_gram(X, X, 1), rtol=1e-5)
    Ki = sk.sig_kernel_gram(np.arange(12).reshape(2, 3, 2) % 3, None, 0)
    assert Ki.dtype == np.float64
    assert sk.sig_kernel_gram(X[0], X, 1).shape == (3,)
    assert sk.sig_kernel_gram(X[0], X[1], 1).shape == ()
    assert np.ndim(sk.sig_kernel(X[0], X[1], 1)) == 0


@pytest.mark.parametrize("kernel", [None, sk.RBFKernel(0.5)], ids=repr)
@pytest.mark.parametrize("strips", [None, 1, 32])
def test_float32_holds_under_refinement(rng, kernel, strips):
    """float32 carries each fine row's increments over the row below (lanes_rows.h), so that
    refining does not add error: the same scheme in float64, on the same (float32) points,
    within 1e-5 of the largest kernel at dyadic orders 0 to 4 (before: 5e-5 at order 0
    growing to 3e-3 at 3 and 4), with the block's pairs in any number of strips; the
    polynomial method within 1e-5."""
    X = brownian(rng, 6, 200, 2, from_origin=False).astype(np.float32)
    plan = {} if strips is None else {"strips": strips}
    for order in range(5):
        with override(**plan):
            K32 = sk.sig_kernel_gram(X, None, order, static_kernel=kernel)
        K64 = sk.sig_kernel_gram(X.astype(np.float64), None, order, static_kernel=kernel)
        assert K32.dtype == np.float32
        assert np.abs(K32 - K64).max() <= 1e-5 * np.abs(K64).max(), order
    for order in range(2 if strips is None else 0):   # the polynomial method
        K32 = sk.sig_kernel_gram(X, None, order, method="polynomial", static_kernel=kernel)
        K64 = sk.sig_kernel_gram(X.astype(np.float64), None, order, method="polynomial",
                                 static_kernel=kernel)
        assert np.abs(K32 - K64).max() <= 1e-5 * np.abs(K64).max(), order


def test_empty_batch_and_single_point():
    assert sk.sig_kernel_gram(np.zeros((0, 5, 2)), np.ones((3, 4, 2)), 1).shape == (0, 3)
    assert sk.sig_kernel(np.zeros((0, 5, 2)), np.zeros((0, 4, 2)), 1).shape == (0,)
    point = np.array([[0.3, -1.0]])
    assert sk.sig_kernel(point, np.random.default_rng(0).normal(size=(6, 2)), 2) == 1.0


def test_torch_in_torch_out(rng):
    torch = pytest.importorskip("torch")
    X = brownian(rng, 3, 6, 2)
    K = sk.sig_kernel_gram(torch.from_numpy(X), torch.from_numpy(X), 1)
    assert isinstance(K, torch.Tensor) and K.dtype == torch.float64
    np.testing.assert_allclose(K.numpy(), sk.sig_kernel_gram(X, X, 1), rtol=1e-15)
    K32 = sk.sig_kernel(torch.from_numpy(X).float(), torch.from_numpy(X).float(), 1)
    assert K32.dtype == torch.float32


def test_numpy_calls_do_not_import_torch(tmp_path):
    # torch's import takes about a second; a numpy caller must not pay it. (A fresh
    # interpreter, away from the source tree, which has no compiled solver.)
    import subprocess
    import sys
    code = ("import sys, numpy as np, sksigkernel as sk; X = np.ones((2, 3, 2)); "
            "sk.sig_kernel_gram(X, X, 1); sk.sig_kernel_gram_backprop(np.ones((2, 2)), X, X, 1); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
