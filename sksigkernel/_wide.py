"""Wide paths: the static kernel's second differences G by matrix products.

With d channels, G of a pair of paths of L1 and L2 points costs about L1 L2 d multiply-adds
(inner products of increments for the linear kernel, squared distances or inner products
of points for the others), which outweigh the PDE itself once d is in the tens. The
solver's own loops compute them lane by lane; for wide paths it instead computes each
pair's G by matrix products inside its threads (the engine's own up to 256 channels,
``_cython/gemm_nt.h``; BLAS, ``scipy.linalg.cython_blas``, beyond), and the backward's
chain rule by more (BLAS). The solver is given the paths' increments (linear kernel)
or points (:func:`data`). Which way runs depends on the channels and lengths alone, never
on ``n_jobs``, and a pair's products have the pair's own shape, so results do not depend on
the threads or on the other pairs either.
"""
import contextlib
import functools

import numpy as np
from threadpoolctl import ThreadpoolController

# Channels from which the products pay (benchmarks/bench_wide.py measured the crossover).
CHANNELS = 16
# The most numbers of G a thread holds: a block's pairs.
_HELD = 1 << 22


def wanted(channels, held=0):
    """Whether G should come from matrix products, for paths of ``channels`` channels, a
    thread holding ``held`` numbers of G at a time (a block's pairs)."""
    return channels >= CHANNELS and held <= _HELD


def data(X, static, dtype):
    """What the solver's products read for a batch: its increments, (n, L - 1, d), for the
    linear kernel, else its points, in ``dtype``."""
    X = np.asarray(X, dtype=dtype)
    return np.diff(X, axis=1) if static._code == 0 else X


@functools.cache
def _controller():
    """threadpoolctl's view of the BLAS libraries, found once (finding them takes ms)."""
    return ThreadpoolController()


def serial_blas(active=True):
    """A context in which BLAS runs on its caller's thread (when ``active``): the solver
    calls it from each of its own threads, and threads of BLAS's own on top would only
    compete with them."""
    if not active:
        return contextlib.nullcontext()
    return _controller().limit(limits=1, user_api="blas")
