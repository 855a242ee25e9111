"""The polynomial method through every public path equals the pair computed alone, as
test_equivalence checks for finite differences, with its helpers and its problems, here with
``method="polynomial"``: the degrees with code of their own (1 to 10) and the code for any
degree (17 to 19), some problems with ``dyadic_order="auto"``.

Forwards equal the pairwise kernels bit for bit; gradients are within 1e-11 of the largest
entry (float32: see test_equivalence.close). Symmetric grams fill one triangle from the
other, bit for bit; they are not checked for k(x, y) = k(y, x), which the method's truncation
does not give at low degrees (at N = 1 two 3-point paths give 1.2697 and 1.2883: it reads
the kernel from the last cell's right edge, not its top edge).
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import sksigkernel as sk
from sksigkernel import SigKernel
from test_equivalence import (N_JOBS, SETTINGS, as_list, close, drawn, equal, equal_either,
                              pairwise, pairwise_gradients, problems, runs, tensors,
                              torch_grads)

torch = pytest.importorskip("torch")
from sksigkernel import torch_api  # noqa: E402


@st.composite
def polynomial_problems(draw, max_paths=5):
    """test_equivalence's problems, for the polynomial method (lower degrees on long paths,
    to keep the references quick)."""
    X, Y, order, opts, max_batch = draw(problems(max_paths))
    longest = max(len(p) for p in [*X, *Y])
    degrees = st.one_of(st.integers(1, 10), st.integers(17, 19)) if longest <= 60 else \
        st.integers(1, 6)
    opts.update(method="polynomial", order=draw(degrees))
    if longest <= 60 and draw(st.booleans()):
        order = "auto"
        opts["order"] = draw(st.sampled_from([None, 4, 9]))
    return X, Y, order, opts, max_batch


def symmetric(order):
    """Whether the gram of a batch with itself may be asked for (one dyadic order)."""
    return order == "auto" or isinstance(order, int)


@settings(max_examples=60, **SETTINGS)
@given(polynomial_problems())
def test_polynomial_forwards_equal_pairwise_kernels(problem):
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
    if symmetric(order):
        ref_xx = pairwise(X, X, order, opts)
        for n_jobs in (1, -1):
            S = sk.sig_kernel_gram(X, None, order, n_jobs=n_jobs, max_batch=max_batch, **opts)
            equal_either("sig_kernel_gram (symmetric)", S, ref_xx)
            np.testing.assert_array_equal(S, S.T)


@settings(max_examples=30, **SETTINGS)
@given(polynomial_problems(max_paths=4))
def test_polynomial_backprops_equal_sums_of_pairwise_gradients(problem):
    X, Y, order, opts, max_batch = problem
    drawn("backprop", X, opts)
    rng = np.random.default_rng(len(X) * 7 + len(Y))
    D = rng.normal(size=(len(X), len(Y)))
    want_x, want_y = pairwise_gradients(D, X, Y, order, opts)
    n = min(len(X), len(Y))
    paired_x, paired_y = pairwise_gradients(np.diag(np.diag(D[:n, :n])), X[:n], Y[:n], order,
                                            opts)
    first = None
    for n_jobs in N_JOBS:
        for _ in range(runs(n_jobs)):
            kw = dict(n_jobs=n_jobs, max_batch=max_batch, **opts)
            both = sk.sig_kernel_gram_backprop(D, X, Y, order, left_deriv=True, right_deriv=True,
                                               **kw)
            close("sig_kernel_gram_backprop (both, x)", as_list(both[0]), want_x, 1e-11)
            close("sig_kernel_gram_backprop (both, y)", as_list(both[1]), want_y, 1e-11)
            left, _ = sk.sig_kernel_gram_backprop(D, X, Y, order, **kw)
            close("sig_kernel_gram_backprop (left)", as_list(left), want_x, 1e-11)
            px, py = sk.sig_kernel_backprop(np.diag(D[:n, :n]), X[:n], Y[:n], order,
                                            left_deriv=True, right_deriv=True, **kw)
            close("sig_kernel_backprop (both, x)", as_list(px), paired_x, 1e-11)
            close("sig_kernel_backprop (both, y)", as_list(py), paired_y, 1e-11)
            grads = as_list(both[0]) + as_list(both[1])
            if first is None:
                first = grads
            elif X[0].dtype == np.float64:   # whatever the threads and runs, the same to rounding
                close("gram backprop, between numbers of threads", grads, first, 1e-12)


@settings(max_examples=15, **SETTINGS)
@given(polynomial_problems(max_paths=4))
def test_polynomial_torch_api_equals_pairwise(problem):
    X, Y, order, opts, max_batch = problem
    drawn("torch_api", X, opts)
    D = np.random.default_rng(len(X) + 3 * len(Y)).normal(size=(len(X), len(Y)))
    ref = pairwise(X, Y, order, opts)
    want_x, want_y = pairwise_gradients(D, X, Y, order, opts)
    for n_jobs in (1, -1):
        Xt, Yt = tensors(X), tensors(Y)
        K = torch_api.sig_kernel_gram(Xt, Yt, order, n_jobs=n_jobs, max_batch=max_batch, **opts)
        equal("torch_api.sig_kernel_gram", K.detach().numpy(), ref)
        (K * torch.from_numpy(D).to(K.dtype)).sum().backward()
        close("torch_api.sig_kernel_gram backward (x)", torch_grads(Xt), want_x, 1e-11)
        close("torch_api.sig_kernel_gram backward (y)", torch_grads(Yt), want_y, 1e-11)


@settings(max_examples=20, **SETTINGS)
@given(polynomial_problems())
def test_polynomial_estimator_kernel_equals_pairwise(problem):
    X, Y, order, opts, _ = problem
    drawn("SigKernel", X, opts)
    ref = pairwise(X, Y, order, opts)
    params = dict(opts, dyadic_order=order,
                  static_kernel=opts["static_kernel"] or sk.LinearKernel())
    for n_jobs in (1, -1):
        equal("SigKernel (no cache)", SigKernel(cache=False, n_jobs=n_jobs, **params)(X, Y), ref)
