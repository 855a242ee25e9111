"""Threads: parallel ragged batches, n_jobs semantics, concurrent callers, allocation failures."""
import os
import threading

import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError
from threadpoolctl import threadpool_limits

import sksigkernel as sk
from sksigkernel import SigKernel, _solver, cache
from sksigkernel._input import n_threads


def ragged(rng, n, lo, hi, channels=3, scale=0.15):
    return [np.cumsum(rng.normal(size=(rng.integers(lo, hi), channels)) * scale, axis=0)
            for _ in range(n)]


@pytest.mark.parametrize("n_jobs", [1, 2, 3, -1])
def test_ragged_lists_in_parallel_equal_pairwise(n_jobs):
    """The report of the race (a strip's column count shared between threads), on 1719f49:
    kernels of ragged pairs off by up to 7 with n_jobs=-1, gram entries off by 46 with
    n_jobs=2, and two calls disagreeing. Each entry must equal the kernel of its pair alone,
    bit for bit."""
    rng = np.random.default_rng(5)
    X, Y = ragged(rng, 50, 2, 100), ragged(rng, 50, 2, 100)
    paired = np.array([float(sk.sig_kernel(a, b, 1, n_jobs=1)) for a, b in zip(X, Y)])
    gram = np.array([[float(sk.sig_kernel(a, b, 1, n_jobs=1)) for b in Y] for a in X])
    for _ in range(3):
        np.testing.assert_array_equal(sk.sig_kernel(X, Y, 1, n_jobs=n_jobs), paired)
        np.testing.assert_array_equal(sk.sig_kernel_gram(X, Y, 1, n_jobs=n_jobs), gram)


def test_ragged_gram_backprop_in_parallel_equals_serial():
    rng = np.random.default_rng(7)
    X, Y = ragged(rng, 30, 2, 120), ragged(rng, 30, 2, 120)
    D = rng.normal(size=(30, 30))
    serial = sk.sig_kernel_gram_backprop(D, X, Y, 1, left_deriv=True, right_deriv=True, n_jobs=1)
    for _ in range(3):
        par = sk.sig_kernel_gram_backprop(D, X, Y, 1, left_deriv=True, right_deriv=True,
                                          n_jobs=-1)
        for got, want in zip(par[0] + par[1], serial[0] + serial[1]):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


def test_n_jobs_minus_one_honours_openmp_limits():
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert n_threads(-1) == min(_solver.max_threads(), cpus)
    with threadpool_limits(1):
        assert _solver.max_threads() == 1
        assert n_threads(-1) == 1
        assert n_threads(-2) == 1
    assert n_threads(None) == 1 and n_threads(3) == 3


@pytest.mark.parametrize("n_jobs", [0, 1.5, "all", True])
def test_n_jobs_rejected_by_parameter_validation(n_jobs):
    X = np.zeros((3, 4, 2))
    with pytest.raises(InvalidParameterError, match="n_jobs"):
        SigKernel(n_jobs=n_jobs)(X)
    with pytest.raises(InvalidParameterError, match="n_jobs"):
        sk.SigKernelSVC(n_jobs=n_jobs).fit(X, [0, 1, 0])
    with pytest.raises(InvalidParameterError, match="n_jobs"):
        sk.sig_kernel(X, X, 0, n_jobs=n_jobs)


def test_python_threads_calling_at_once_get_the_right_answers():
    """Several Python threads computing grams at once (the cache's lock is held only around
    its store, so they compute concurrently) each get their own, right, result."""
    rng = np.random.default_rng(3)
    problems = [ragged(rng, 12, 2, 60) for _ in range(6)]
    expected = [sk.sig_kernel_gram(P, None, 1, n_jobs=1) for P in problems]
    cache.clear()
    results, errors = [None] * 12, []

    def work(i):
        try:
            P = problems[i % 6]
            if i < 6:
                results[i] = SigKernel(dyadic_order=1, n_jobs=2)(P)
            else:
                results[i] = sk.sig_kernel_gram(P, None, 1, n_jobs=2)
        except Exception as exc:       # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i, K in enumerate(results):
        np.testing.assert_array_equal(K, expected[i % 6])


def test_impossible_allocations_raise_memory_error():
    X = np.zeros((2, 10 ** 6, 1))
    with pytest.raises(MemoryError):
        sk.sig_kernel_gram(X, X, 16, return_grid=True)
    with pytest.raises(MemoryError):          # the solver's own workspace: rows of 2^16 x 10^6
        sk.sig_kernel(np.zeros((2, 3, 1)), np.zeros((2, 10 ** 7, 1)), (0, 16), n_jobs=1)


def _overcommit_refuses_the_impossible():
    """Linux's default (heuristic, 0) and strict (2) overcommit policies refuse a malloc far
    beyond RAM + swap; with 1 (always) malloc would succeed and the process be killed later."""
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            return f.read().strip() in ("0", "2")
    except OSError:
        return False


@pytest.mark.skipif(not _overcommit_refuses_the_impossible(),
                    reason="needs an overcommit policy that refuses impossible mallocs")
@pytest.mark.parametrize("n_jobs", [1, 2])
def test_failed_workspace_mallocs_raise_memory_error(n_jobs):
    # workspaces under the size check's bound (2^48 bytes) but of hundreds of GiB per thread:
    # malloc returns NULL inside the parallel region, and the call raises afterwards
    x = np.zeros((2, 1))
    with pytest.raises(MemoryError, match="could not allocate the solver's workspace"):
        sk.sig_kernel(x, np.zeros((20000, 1)), 16, n_jobs=n_jobs)
    with pytest.raises(MemoryError, match="could not allocate the solver's workspace"):
        sk.sig_kernel_backprop(np.ones(()), x, np.zeros((100, 1)), 12, n_jobs=n_jobs)
    # and the engine still works afterwards
    assert float(sk.sig_kernel(x, x, 0)) == 1.0


def test_cache_does_not_serialise_computations(monkeypatch):
    """Two threads' grams are computed at the same time: each waits inside the engine call
    for the other to arrive, which a lock held while computing would never allow."""
    rng = np.random.default_rng(4)
    P, Q = ragged(rng, 6, 2, 30), ragged(rng, 6, 2, 30)
    barrier = threading.Barrier(2, timeout=20)
    engine = sk.functional.sig_kernel_gram

    def meeting(*args, **kwargs):
        barrier.wait()
        return engine(*args, **kwargs)

    cache.clear()
    monkeypatch.setattr(sk.functional, "sig_kernel_gram", meeting)
    results, errors = {}, []

    def work(name, paths):
        try:
            results[name] = SigKernel(n_jobs=1)(paths)
        except Exception as exc:       # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=item) for item in (("P", P), ("Q", Q))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    monkeypatch.setattr(sk.functional, "sig_kernel_gram", engine)
    np.testing.assert_array_equal(results["P"], engine(P, None, 1, n_jobs=1))
    np.testing.assert_array_equal(results["Q"], engine(Q, None, 1, n_jobs=1))
    assert cache.info().evaluations == 2 * 21
