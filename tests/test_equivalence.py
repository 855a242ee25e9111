"""Every public code path equals the simple one: the kernel of one pair, ``n_jobs=1``.

Random problems (hypothesis, derandomized so that CI draws the same ones every run) are
computed through every public path, with every number of threads and batch sizes, several
times, and compared with the pairwise kernel ``sig_kernel(x, y, n_jobs=1)`` and its
backprop:

- forwards (gram, paired kernel, torch_api, SigKernel without the cache) must equal the
  pairwise kernels bit for bit: a pair's value depends on nothing but its two paths, not on
  the block, the strips, the thread or the batch that computed it. The symmetric gram and
  the cache, which fill an entry from its transpose, equal k(x, y) or k(y, x) bit for bit,
  and those two agree to 1e-12;
- gradients equal the sums of pairwise gradients to 1e-11 of their largest entry (float64;
  float32 to 1e-4), and agree between numbers of threads to 1e-12.

Set SKSIGKERNEL_EQUIVALENCE_REPORT to a file name to have the problems drawn and the worst
differences seen written there.
"""
import json
import os
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import sksigkernel as sk
from sksigkernel import SigKernel, _wide, cache

torch = pytest.importorskip("torch")
from sksigkernel import torch_api  # noqa: E402

STATIC = [None, sk.ScaledLinearKernel(0.8), sk.RBFKernel(1.5), sk.Matern12Kernel(1.2),
          sk.Matern32Kernel(0.9), sk.Matern52Kernel(1.1), sk.PolynomialKernel(2, 0.5, 0.8),
          sk.RationalQuadraticKernel(1.3, 1.5)]
N_JOBS = [1, 2, 3, -1, -2]
SETTINGS = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

WORST = defaultdict(float)      # path -> the largest difference seen (relative, see above)
DRAWN = Counter()


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    name = os.environ.get("SKSIGKERNEL_EQUIVALENCE_REPORT")
    if name:
        with open(name, "w") as f:
            json.dump({"problems": dict(DRAWN), "worst": dict(WORST)}, f, indent=1)


@st.composite
def problems(draw, max_paths=5):
    """Two collections of paths and the options of one kernel computation."""
    seed = draw(st.integers(0, 2 ** 32 - 1))
    ragged = draw(st.booleans())
    n1, n2 = draw(st.integers(1, max_paths)), draw(st.integers(1, max_paths))
    # a few channels, or enough for the static kernels' matrix products (sksigkernel._wide)
    channels = draw(st.one_of(st.integers(1, 8), st.integers(1, 8),
                              st.sampled_from([_wide.CHANNELS, 2 * _wide.CHANNELS + 1])))
    # lengths from 1 to a few hundred, very unequal: most short, some long
    length = st.one_of(st.integers(1, 12), st.integers(13, 60), st.integers(100, 300))
    if ragged:
        len1 = [draw(length) for _ in range(n1)]
        len2 = [draw(length) for _ in range(n2)]
    else:
        len1, len2 = [draw(length)] * n1, [draw(length)] * n2
    opts = dict(static_kernel=draw(st.sampled_from(STATIC)), time_aug=draw(st.booleans()),
                lead_lag=draw(st.booleans()),
                end_time=draw(st.sampled_from([1.0, 0.5, 2.5])))
    order = draw(st.sampled_from([0, 1, 2, (0, 1), (1, 0), (2, 1), (1, 2)]))
    if max(len1 + len2) > 60 and (opts["lead_lag"] or order not in (0, 1, (0, 1), (1, 0))):
        order = draw(st.sampled_from([0, (1, 0), (0, 1)]))   # keep the references quick
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    max_batch = draw(st.sampled_from([-1, -1, 1, 2, 3, 7]))
    rng = np.random.default_rng(seed)

    def path(L):
        # Brownian paths of total variance about 1 a channel: kernels of order 1 to 10
        steps = rng.normal(size=(L, channels)) / np.sqrt(max(L, 2) * channels)
        return np.cumsum(steps, axis=0).astype(dtype) + rng.normal(size=channels).astype(dtype)

    X, Y = [path(L) for L in len1], [path(L) for L in len2]
    if not ragged:
        X, Y = np.stack(X), np.stack(Y)
    return X, Y, order, opts, max_batch


def drawn(name, X, opts):
    """Counts a problem drawn, and apart those whose G the matrix products compute."""
    DRAWN[name] += 1
    channels = np.shape(X[0])[-1] * (2 if opts["lead_lag"] else 1) + opts["time_aug"]
    if channels >= _wide.CHANNELS:
        DRAWN[name + " (wide)"] += 1


def pairwise(X, Y, order, opts):
    """k(X[i], Y[j]) of each pair alone, serially: the reference."""
    return np.array([[sk.sig_kernel(x, y, order, n_jobs=1, **opts) for y in Y] for x in X])


def pairwise_gradients(D, X, Y, order, opts):
    """dF/dX, dF/dY of F = sum(D * K), summed from the backprops of each pair alone; for
    float32 paths, each side is the pair (float32's, float64's) (see close)."""
    def sums(X, Y):
        dX = [np.zeros(x.shape, np.float64) for x in X]
        dY = [np.zeros(y.shape, np.float64) for y in Y]
        for i, x in enumerate(X):
            for j, y in enumerate(Y):
                gx, gy = sk.sig_kernel_backprop(np.ones((), x.dtype), x, y, order,
                                                left_deriv=True, right_deriv=True, n_jobs=1,
                                                **opts)
                dX[i] += D[i, j] * gx
                dY[j] += D[i, j] * gy
        return dX, dY
    if X[0].dtype == np.float64:
        return sums(X, Y)
    wide = sums([x.astype(np.float64) for x in X], [y.astype(np.float64) for y in Y])
    return tuple(zip(sums(X, Y), wide))


def equal(name, got, want):
    """Bitwise equality of a forward with its reference."""
    got, want = np.asarray(got), np.asarray(want)
    diff = np.abs(got.astype(np.float64) - want) / max(np.abs(want).max(), 1e-300)
    name = f"{name} [{got.dtype}]"
    WORST[name] = max(WORST[name], float(diff.max()) if diff.size else 0.0)
    np.testing.assert_array_equal(got, want, err_msg=name)


def equal_either(name, got, want):
    """Each entry bitwise k(x, y) or k(y, x): a symmetric gram computes one of the two."""
    equal(name, got, np.where(got == want.T, want.T, want))


def gap(got, want):
    """The largest difference of two lists of arrays, over the largest entry of ``want``."""
    assert len(got) == len(want)
    scale = max(max((float(np.abs(w).max()) for w in want), default=0.0), 1e-300)
    return max((float(np.abs(np.asarray(g, np.float64) - w).max()) for g, w in zip(got, want)),
               default=0.0) / scale


def close(name, got, want, tol):
    """Gradients (lists of arrays) within tol of the largest entry of the reference. In
    float32, where summing in another order moves the result by more than rounding a few
    times, the reference is float64's and tol is the pairwise float32 gradient's own error
    (want: the pair (float32 reference, float64 reference)) times 4, plus 1e-5."""
    if isinstance(want, tuple):
        want32, want = want
        tol = 4 * gap(want32, want) + 1e-5
    err = gap(got, want)
    name = f"{name} [{np.asarray(got[0]).dtype}]"
    WORST[name] = max(WORST[name], err)
    assert err <= tol, f"{name}: {err:.3g} of the largest gradient entry, above {tol:.3g}"


def as_list(grad):
    return list(grad) if isinstance(grad, (list, tuple)) or grad.ndim == 3 else [grad]


def runs(n_jobs):
    """Parallel cases run several times (a race shows on some runs only)."""
    return 1 if n_jobs == 1 else 3


@settings(max_examples=200, **SETTINGS)
@given(problems())
def test_forwards_equal_pairwise_kernels(problem):
    X, Y, order, opts, max_batch = problem
    drawn("forward", X, opts)
    ref = pairwise(X, Y, order, opts)
    n = min(len(X), len(Y))
    for n_jobs in N_JOBS:
        for _ in range(runs(n_jobs)):
            K = sk.sig_kernel_gram(X, Y, order, n_jobs=n_jobs, max_batch=max_batch, **opts)
            equal("sig_kernel_gram", K, ref)
            k = sk.sig_kernel(X[:n], Y[:n], order, n_jobs=n_jobs, max_batch=max_batch, **opts)
            equal("sig_kernel (paired)", k, np.diag(ref[:n, :n]))
    if isinstance(order, int):      # the symmetric gram: one triangle, the other its transpose
        ref_xx = pairwise(X, X, order, opts)
        tol = 1e-12 if ref_xx.dtype == np.float64 else 1e-4
        np.testing.assert_allclose(ref_xx, ref_xx.T, rtol=tol, atol=tol * np.abs(ref_xx).max())
        for n_jobs in (1, -1):
            S = sk.sig_kernel_gram(X, None, order, n_jobs=n_jobs, max_batch=max_batch, **opts)
            equal_either("sig_kernel_gram (symmetric)", S, ref_xx)
            np.testing.assert_array_equal(S, S.T)


@settings(max_examples=80, **SETTINGS)
@given(problems(max_paths=4))
def test_backprops_equal_sums_of_pairwise_gradients(problem):
    X, Y, order, opts, max_batch = problem
    drawn("backprop", X, opts)
    rng = np.random.default_rng(len(X) * 7 + len(Y))
    D = rng.normal(size=(len(X), len(Y)))
    want_x, want_y = pairwise_gradients(D, X, Y, order, opts)
    tol = 1e-11
    n = min(len(X), len(Y))
    paired_x, paired_y = pairwise_gradients(np.diag(np.diag(D[:n, :n])), X[:n], Y[:n], order,
                                            opts)
    first = None
    for n_jobs in N_JOBS:
        for _ in range(runs(n_jobs)):
            kw = dict(n_jobs=n_jobs, max_batch=max_batch, **opts)
            both = sk.sig_kernel_gram_backprop(D, X, Y, order, left_deriv=True, right_deriv=True,
                                               **kw)
            close("sig_kernel_gram_backprop (both, x)", as_list(both[0]), want_x, tol)
            close("sig_kernel_gram_backprop (both, y)", as_list(both[1]), want_y, tol)
            left, none = sk.sig_kernel_gram_backprop(D, X, Y, order, **kw)
            close("sig_kernel_gram_backprop (left)", as_list(left), want_x, tol)
            none2, right = sk.sig_kernel_gram_backprop(D, X, Y, order, left_deriv=False,
                                                       right_deriv=True, **kw)
            close("sig_kernel_gram_backprop (right)", as_list(right), want_y, tol)
            assert none is None and none2 is None
            px, py = sk.sig_kernel_backprop(np.diag(D[:n, :n]), X[:n], Y[:n], order,
                                            left_deriv=True, right_deriv=True, **kw)
            close("sig_kernel_backprop (both, x)", as_list(px), paired_x, tol)
            close("sig_kernel_backprop (both, y)", as_list(py), paired_y, tol)
            lx, _ = sk.sig_kernel_backprop(np.diag(D[:n, :n]), X[:n], Y[:n], order, **kw)
            close("sig_kernel_backprop (left)", as_list(lx), paired_x, tol)
            _, ry = sk.sig_kernel_backprop(np.diag(D[:n, :n]), X[:n], Y[:n], order,
                                           left_deriv=False, right_deriv=True, **kw)
            close("sig_kernel_backprop (right)", as_list(ry), paired_y, tol)
            grads = as_list(both[0]) + as_list(both[1])
            if first is None:
                first = grads
            elif X[0].dtype == np.float64:   # whatever the threads and runs, the same to rounding
                close("gram backprop, between numbers of threads", grads, first, 1e-12)


def tensors(P):
    return [torch.from_numpy(p).requires_grad_() for p in P] if isinstance(P, list) \
        else torch.from_numpy(P).requires_grad_()


def torch_grads(P):
    return [p.grad.numpy() for p in P] if isinstance(P, list) else list(P.grad.numpy())


@settings(max_examples=40, **SETTINGS)
@given(problems(max_paths=4))
def test_torch_api_equals_pairwise(problem):
    X, Y, order, opts, max_batch = problem
    drawn("torch_api", X, opts)
    rng = np.random.default_rng(len(X) + 3 * len(Y))
    D = rng.normal(size=(len(X), len(Y)))
    ref = pairwise(X, Y, order, opts)
    want_x, want_y = pairwise_gradients(D, X, Y, order, opts)
    tol = 1e-11
    for n_jobs in (1, -1, 2):
        Xt, Yt = tensors(X), tensors(Y)
        K = torch_api.sig_kernel_gram(Xt, Yt, order, n_jobs=n_jobs, max_batch=max_batch, **opts)
        equal("torch_api.sig_kernel_gram", K.detach().numpy(), ref)
        (K * torch.from_numpy(D).to(K.dtype)).sum().backward()
        close("torch_api.sig_kernel_gram backward (x)", torch_grads(Xt), want_x, tol)
        close("torch_api.sig_kernel_gram backward (y)", torch_grads(Yt), want_y, tol)
        n = min(len(X), len(Y))
        Xt, Yt = tensors(X[:n]), tensors(Y[:n])
        k = torch_api.sig_kernel(Xt, Yt, order, n_jobs=n_jobs, max_batch=max_batch, **opts)
        equal("torch_api.sig_kernel", k.detach().numpy(), np.diag(ref[:n, :n]))
    if isinstance(order, int):       # K(X, X) differentiated through both of its arguments
        Xt = tensors(X)
        S = torch_api.sig_kernel_gram(Xt, None, order, n_jobs=-1, **opts)
        W = rng.normal(size=(len(X), len(X)))
        (S * torch.from_numpy(W).to(S.dtype)).sum().backward()
        wx, wy = pairwise_gradients(W, X, X, order, opts)
        if isinstance(wx, tuple):    # float32: (float32's, float64's) each
            total = tuple([a + b for a, b in zip(u, v)] for u, v in zip(wx, wy))
        else:
            total = [a + b for a, b in zip(wx, wy)]
        close("torch_api.sig_kernel_gram (symmetric) backward", torch_grads(Xt), total, tol)


def nan_padded(P):
    """A list of paths as a NaN-padded 3-D array (trailing NaN rows end a shorter path)."""
    out = np.full((len(P), max(len(p) for p in P), P[0].shape[1]), np.nan, P[0].dtype)
    for row, p in zip(out, P):
        row[:len(p)] = p
    return out


@settings(max_examples=60, **SETTINGS)
@given(problems(), st.sampled_from(["list", "nan-padded"]))
def test_estimator_kernel_equals_pairwise(problem, form):
    X, Y, order, opts, _ = problem
    drawn("SigKernel", X, opts)
    ref = pairwise(X, Y, order, opts)
    ref_xx = pairwise(X, X, order, opts) if isinstance(order, int) else None
    if form == "nan-padded" and isinstance(X, list):
        X, Y = nan_padded(X), nan_padded(Y)
    static = opts["static_kernel"] or sk.LinearKernel()
    params = dict(dyadic_order=order, static_kernel=static, time_aug=opts["time_aug"],
                  lead_lag=opts["lead_lag"], end_time=opts["end_time"])
    tol = 1e-12 if ref.dtype == np.float64 else 1e-4
    for n_jobs in (1, -1, 3):
        equal("SigKernel (no cache)", SigKernel(cache=False, n_jobs=n_jobs, **params)(X, Y), ref)
        cache.clear()
        for _ in range(2):      # computed, then from the cache
            if ref_xx is not None:
                K = SigKernel(n_jobs=n_jobs, **params)(X)
                equal_either("SigKernel (cache, symmetric)", K, ref_xx)
            K = SigKernel(n_jobs=n_jobs, **params)(X, Y)
            name = f"SigKernel (cache) [{K.dtype}]"
            WORST[name] = max(WORST[name], float(np.abs(K - ref).max() / np.abs(ref).max()))
            np.testing.assert_allclose(K, ref, rtol=tol, atol=tol * np.abs(ref).max())
    cache.clear()
