"""Grams of collections of paths, computed a block of rows at a time, with progress lines.

The kernel cache (:mod:`sksigkernel.cache`) calls these for what it does not hold.
"""
import sys
import time

import numpy as np

from . import functional


class Progress:
    """Lines on stderr while a gram is computed (``verbose`` > 0)."""

    def __init__(self, verbose, total):
        self.verbose, self.total, self.done, self.start = verbose, total, 0, time.perf_counter()

    def step(self, count):
        self.done += count
        if self.verbose and self.total:
            elapsed = time.perf_counter() - self.start
            eta = elapsed * max(self.total - self.done, 0) / max(self.done, 1)
            print(f"[sksigkernel] {self.done}/{self.total} kernel entries "
                  f"({min(100, 100 * self.done // self.total)}%), {elapsed:.1f} s elapsed, "
                  f"about {eta:.1f} s to go", file=sys.stderr, flush=True)

    def finish(self):
        if self.verbose:
            print(f"[sksigkernel] computed {self.done} kernel entries in "
                  f"{time.perf_counter() - self.start:.1f} s", file=sys.stderr, flush=True)


def block(A, B, kernel_args, progress):
    """gram(A, B), or one triangle of gram(A, A) when B is None, a chunk of rows at a time."""
    n = len(A)
    same = B is None
    chunks = 20 if progress.verbose else 1
    step = max(1, -(-n // chunks))
    out = np.empty((n, n if same else len(B)), dtype=A.data.dtype)
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        rows = A.take(slice(r0, r1))
        if same:
            out[r0:r1, r0:r1] = functional.sig_kernel_gram(rows, None, **kernel_args)
            if r1 < n:
                rest = A.take(slice(r1, n))
                out[r0:r1, r1:] = functional.sig_kernel_gram(rows, rest, **kernel_args)
                out[r1:, r0:r1] = out[r0:r1, r1:].T
            progress.step((r1 - r0) * (r1 - r0 + 1) // 2 + (r1 - r0) * (n - r1))
        else:
            out[r0:r1] = functional.sig_kernel_gram(rows, B, **kernel_args)
            progress.step((r1 - r0) * len(B))
    return out


def fill(known, symmetric, A, B, ua, ub, kernel_args, verbose):
    """Compute the missing (NaN) entries of ``known`` = K[ua][:, ub] in place (A, B: the
    paths of ua and ub, ua and ub: their indices in the caller's store), grouping the rows
    that miss the same columns into one gram; with a symmetric kernel, an entry whose
    transpose is computed first is taken from it. Returns the kernel values computed (a
    symmetric block counts one triangle)."""
    missing = np.isnan(known)
    col_of = {u: j for j, u in enumerate(ub)}
    row_of = {u: i for i, u in enumerate(ua)}
    total = evaluations = 0
    if verbose:       # entries to compute, a symmetric pair once
        i, j = np.nonzero(missing)
        pairs = np.sort(np.c_[ua[i], ub[j]], axis=1) if symmetric else np.c_[ua[i], ub[j]]
        total = len(np.unique(pairs, axis=0))
    progress = Progress(verbose, total)
    patterns, groups = np.unique(missing, axis=0, return_inverse=True)
    for g, pattern in enumerate(patterns):
        rows = np.flatnonzero(groups.ravel() == g)
        cols = np.flatnonzero(pattern)
        if cols.size == 0:
            continue
        still = np.isnan(known[np.ix_(rows, cols)])   # symmetry may have filled some
        rows, cols = rows[still.any(axis=1)], cols[still.any(axis=0)]
        if rows.size == 0:
            continue
        ra, cb = ua[rows], ub[cols]
        if symmetric and np.array_equal(ra, np.sort(cb)):
            # the same paths on both sides: one triangle, columns in the rows' order
            values = block(A.take(rows), None, kernel_args, progress)
            cb = ra
            count = ra.size * (ra.size + 1) // 2
        else:
            values = block(A.take(rows), B.take(cols), kernel_args, progress)
            count = values.size
        evaluations += count
        known[np.ix_(rows, [col_of[u] for u in cb])] = values
        if symmetric:        # the transposed entries that fall inside known
            ti = np.array([row_of.get(u, -1) for u in cb], dtype=np.intp)
            tj = np.array([col_of.get(u, -1) for u in ra], dtype=np.intp)
            inside_i, inside_j = ti >= 0, tj >= 0
            known[np.ix_(ti[inside_i], tj[inside_j])] = values.T[np.ix_(inside_i, inside_j)]
    progress.finish()
    return evaluations
