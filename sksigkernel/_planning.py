"""How the finite-difference solver's work is cut: strips of columns and the backward's
checkpoint segments. (``dyadic_order="auto"``'s refinements are the polynomial solver's own:
``polynomial.pxi``.)

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

from . import _solver

__all__ = ["strips", "segment_rows", "override"]

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
