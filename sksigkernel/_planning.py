"""How the solver's work is cut: strips of columns, the backward's checkpoint segments, and
the refinement that ``dyadic_order="auto"`` picks for each pair.

The solver (``_solver.pyx``) runs blocks of ``LANES`` lanes. A pair's grid may be cut into
``strips`` strips of columns, one lane each, so that few pairs still fill the lanes and long
rows stay in the L1 cache; the backward keeps a block's forward grid whole when it is small
enough, else recomputes it from checkpoint rows, a cache-sized segment at a time. The sizes
below were fitted by ``benchmarks/bench_engine.py`` (their measurements are in the commit
history). Results do not depend on these choices (``tests/test_equivalence.py``), only speed.

Tests force a choice with :func:`override`.
"""
from contextlib import contextmanager
import contextvars
import math

import numpy as np

from . import _solver

__all__ = ["strips", "segment_rows", "refinement", "override"]

# The backward keeps a block's whole grid, with its rows of G and dF/dG, up to this size;
# beyond it, segments of about SEGMENT_BYTES of fine rows are recomputed from checkpoints.
KEPT_GRID_BYTES = 6 << 20
SEGMENT_BYTES = 4 << 20
# A forward row's working set (two fine rows and the coarse row's A and B) that stays in
# the L1 data cache; the backward counts its two fine rows alone, against CACHED_ROWS_BYTES.
CACHED_FORWARD_BYTES = 52 << 10
CACHED_ROWS_BYTES = 36 << 10

_forced = contextvars.ContextVar("sksigkernel_planning", default={})


@contextmanager
def override(strips=None, kept_grid_bytes=None, segment_bytes=None):
    """Force the plan within a ``with`` block (for tests: every plan must give the same
    results): ``strips`` per pair, or the byte sizes of the backward's kept grid and
    segments (``kept_grid_bytes=0, segment_bytes=1`` recomputes every grid from checkpoint
    rows about the square root of the rows apart)."""
    given = {"strips": strips, "kept_grid_bytes": kept_grid_bytes,
             "segment_bytes": segment_bytes}
    token = _forced.set({**_forced.get(), **{k: v for k, v in given.items() if v is not None}})
    try:
        yield
    finally:
        _forced.reset(token)


def strips(npairs, nthreads, n1, n2, d1=0, d2=0, itemsize=8, recomputed=None):
    """Strips of columns to cut each pair's grid into (a power of two dividing LANES).

    Cut into s strips, a pair's grid of n1 x n2 coarse cells becomes s lanes of
    (n1 + s - 1) x ceil(n2 / s) cells (strip k runs k rows behind the one before it), and a
    block holds LANES // s pairs. The cost counts the fine cells (dyadic orders d1, d2) each
    of ``nthreads`` threads computes, plus six cells a fine row for the work done once per
    row; times 1.5 when a row's working set of numbers of ``itemsize`` bytes leaves the L1
    cache; times 1.6 where ``recomputed(s)`` (given for the backward only) says that the
    backward recomputes the grid from checkpoints (a forward pass more).
    """
    forced = _forced.get().get("strips")
    if forced is not None:
        return forced
    number = _solver.LANES * itemsize      # bytes of a value of a block

    def cost(s):
        blocks = -(-npairs * s // _solver.LANES)
        cols = -(-n2 // s) << d2
        cells = -(-blocks // nthreads) * (n1 + s - 1 << d1) * (cols + 6)
        if recomputed is None:
            cached = (2 * (cols + 1) + 2 * (cols >> d2)) * number <= CACHED_FORWARD_BYTES
        else:
            cached = 2 * (cols + 1) * number <= CACHED_ROWS_BYTES
        if not cached:
            cells *= 1.5
        return cells * 1.6 if recomputed is not None and recomputed(s) else cells
    choices = [s for s in (1, 2, 4, 8, 16, 32) if _solver.LANES % s == 0 and (s == 1 or s <= n2)]
    return min(choices, key=cost)


def segment_rows(n1, n2, channels, d1, d2, itemsize, strips):
    """Fine rows between the backward's checkpoints for a block of pairs of n1 x n2 coarse
    cells cut into ``strips``; 0 when the block's whole grid fits in KEPT_GRID_BYTES and is
    kept. Segments are at least the square root of the rows (the solver rounds them up to
    whole coarse rows)."""
    forced = _forced.get()
    kept = forced.get("kept_grid_bytes", KEPT_GRID_BYTES)
    segment = forced.get("segment_bytes", SEGMENT_BYTES)
    n1 = n1 + strips - 1                            # coarse rows of a block (skewed)
    n2 = -(-n2 // strips)                           # coarse columns of a strip
    number = _solver.LANES * itemsize               # bytes of a value of the block
    rows, row_bytes = (n1 << d1) + 1, ((n2 << d2) + 1) * number
    # a kept grid comes with G and dF/dG for all its coarse rows, and x's increments
    if rows * row_bytes + (n1 + 1) * (2 * n2 + channels) * number <= kept:
        return 0
    return max(segment // row_bytes - 1, math.isqrt(rows - 1) + 1, 1)


def _log10_bound(N):
    """log10 of g(N) in the polynomial method's error bound (see refinement)."""
    return np.where(N <= 4, 0.7, -0.1 - 1.5 * (N - 5))


def refinement(largest, total, tolerance, order=None):
    """Dyadic order d and polynomial degree N for each pair, from the largest |G| of its
    cells (``largest``) and their sum (``total``): the cheapest (cost ``4**d (N + 1)**2``)
    whose error bound ``total * g(N) * r**N`` is within ``tolerance``, r = largest / 4**d
    the largest sub-cell increment (at most 1), N from 2 to 16 (``order`` when given).

    The bound is on the error relative to sqrt(k(x, x) k(y, y)). Its g(N) lies 10x above
    the largest errors measured (Brownian pairs of 2 to 60 points, 1 to 5 channels, every
    scale, linear and RBF static kernels, against the method converged); beyond N = 12,
    where no truncation error was measurable, g continues the same line.
    """
    largest = np.asarray(largest, dtype=float)
    total = np.asarray(total, dtype=float)
    degrees = np.arange(2, 17) if order is None else np.array([order])
    best_d = np.full(largest.shape, -1)
    best_n = np.full(largest.shape, degrees[-1])
    best_cost = np.full(largest.shape, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_total = np.log10(total)
        for d in range(17):
            r = largest / 4.0 ** d
            log_r = np.log10(r)
            first = (best_d < 0) & (r <= 1)           # the fallback: the least d with r <= 1
            best_d[first] = d
            for N in degrees:
                cost = 4.0 ** d * (N + 1) ** 2
                ok = (r <= 1) & (log_total + _log10_bound(N) + N * log_r <= math.log10(tolerance)) \
                    & (cost < best_cost)
                best_d[ok], best_n[ok], best_cost[ok] = d, N, cost
    best_d[best_d < 0] = 16
    return best_d, best_n
