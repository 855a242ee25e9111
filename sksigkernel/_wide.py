"""Wide paths: the linear static kernel's second differences by matrix products.

For the linear static kernel, ``G = scale * dX dY^T`` for a pair of paths with increments
``dX`` and ``dY`` ((L1-1) x d and (L2-1) x d): (L1-1)(L2-1) d multiply-adds, which outweigh
the PDE itself once d is in the tens. The solver's own loops read the increments lane by
lane; for wide paths it instead computes each pair's G by one BLAS product
(``scipy.linalg.cython_blas``) inside its threads, and the backward takes dF/dG back to the
increments by two more. The solver is given the increments (:func:`increments`) and returns
their gradients (:func:`to_points` takes them to the points). Which way runs depends on the
channels and lengths alone, never on ``n_jobs``, and a pair's product has the pair's own
shape, so results do not depend on the threads or on the other pairs either.
"""
import contextlib
import functools

import numpy as np
from threadpoolctl import ThreadpoolController


# Channels from which the products pay (benchmarks/bench_wide.py measured the crossover).
CHANNELS = 16
# The most numbers of G a thread holds: a block's pairs (LANES // strips of them).
_HELD = 1 << 22


def wanted(static, channels, held=0):
    """Whether G should come from matrix products, for paths of ``channels`` channels, a
    thread holding ``held`` numbers of G at a time (a block's pairs)."""
    return static._code == 0 and channels >= CHANNELS and held <= _HELD


def increments(X, dtype):
    """The increments of a batch of paths, (n, L - 1, d), in ``dtype``."""
    return np.diff(np.asarray(X, dtype=dtype), axis=1)


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


def to_points(dinc, out):
    """Adds to ``out`` the gradients of a batch's points from those of its increments."""
    out[:, 1:] += dinc
    out[:, :-1] -= dinc
