"""The functional API: signature kernels, gram matrices and their exact gradients.

Names and parameters follow pysiglib (``sig_kernel``, ``sig_kernel_gram``,
``sig_kernel_backprop``, ``sig_kernel_gram_backprop``), so switching is a change of import.
numpy in gives numpy out; torch in gives torch out (same dtype, same device); float32 is
computed in float32, integers in float64. A list of paths of different lengths is accepted
wherever a batch is, and gradients come back as a list of the same shapes.
"""
from collections import OrderedDict
import copy
import hashlib
import inspect
import math
import threading
import warnings

import numpy as np

from . import _dask, _planning, _solver, _wide, cuda, transforms
from ._input import as_paths, check_flag, n_threads, parse_dyadic_order
from .static_kernels import check_static_kernel

__all__ = ["sig_kernel", "sig_kernel_gram", "sig_kernel_backprop", "sig_kernel_gram_backprop"]

# Pairs handed to the solver per call: bounds the index arrays, not the speed.
_PAIRS_PER_CALL = 1 << 16
# dyadic_order="auto" plans a chunk of pairs at a time, keeping their G for the solver, in
# this many bytes, when a chunk holds this many pairs a thread; else (long paths: small
# groups of pairs cost more than computing G twice) it plans all pairs first.
PLANNED_G_BYTES = 64 << 20
PLANNED_PAIRS = 64
# "auto"'s bounds hold for paths that magnify the errors made on their PDE grids by up to
# 2^FREE_BITS (_Problem.magnitudes); beyond, a pair's tolerance is divided by the excess, but
# not below FINEST_TOLERANCE, where rounding is larger than any scheme's error. Measured on
# 7,200 random 1-channel pairs whose steps cancel (4,378 within double precision, up to 25
# bits): without the division 77 were off, by up to 586x the tolerance; none with 7 free
# bits, one (13x) with 9. OSULeaf's series magnify by 4 to 8 bits with errors 1e-3 of the
# tolerance: 6 free bits cost its fit 10%.
FREE_BITS = 7.0
FINEST_TOLERANCE = 1e-15
# The paths' magnitudes, remembered (a path is swept once whatever the calls that take it):
# (setting, path digest) -> (log2 peak, log2 whole), the most recent MAGNITUDES_KEPT.
MAGNITUDES_KEPT = 1 << 16
_magnitudes = OrderedDict()
_magnitudes_lock = threading.Lock()


# What the parameters of the four functions mean, written once; each docstring takes the
# entries of its own parameters, in its signature's order (see _document).
_PARAMETERS = {
    "derivs": """derivs : array or tensor
    ``dF/dK`` of the forward's output: its shape (``()`` or ``(1,)`` for two single
    paths). With ``return_grid=True``, of the shape of the forward's grids: ``dF/dK`` at
    every node of each pair's fine PDE grid.""",
    "path1": """path1 : array or tensor of shape (length, channels) or (n_paths, length, channels), \
or list of (length_i, channels) arrays
    One path or a batch of paths; a list holds paths of different lengths.""",
    "path2": """path2 : array, tensor or list
    As ``path1``, with the same number of channels.""",
    "dyadic_order": """dyadic_order : int, (int, int) or "auto"
    Each coarse cell of the PDE grid is split into ``2**d1 x 2**d2`` fine cells (``d1``
    for path1, ``d2`` for path2; an int sets both); the error falls about 4x per level.
    "auto" (polynomial method): each pair gets the split, and the degree unless ``order``
    is given, that bounds its error by ``tolerance``.""",
    "method": """method : {"finite_difference", "polynomial"}, default="finite_difference"
    The PDE solver. "finite_difference": the second-order scheme, its error falling about
    4x per dyadic level. "polynomial" (Cass, Piatti & Pei 2025): each cell's edges are
    polynomials of degree ``order``, solved exactly on the cell; its error falls
    geometrically in ``order``, and ``dyadic_order`` splits cells whose static increments
    are large. The README compares their accuracy and speed.""",
    "order": """order : int or None, default=None
    The polynomial method's degree, 1 to 64 (None: 8, or chosen by "auto"); not for
    finite differences.""",
    "tolerance": """tolerance : float or None, default=None
    For ``dyadic_order="auto"``: the error allowed, relative to
    ``sqrt(k(x, x) k(y, y))`` (None: 1e-8). Paths that go far out and back (large
    increments that cancel) magnify the errors made on their PDE grids; beyond 128x (what
    the bounds hold for) this divides their pairs' tolerance. Each path is measured
    once, by two rough sweeps (kept until :func:`sksigkernel.cache.clear`). The tolerance
    bounds the scheme's error, not rounding: about 1e-16 (float64) of the largest value on
    the grid, which such paths can make far above the kernel itself; where that exceeds the
    tolerance, a ``ValueError`` names the path.""",
    "static_kernel": """static_kernel : StaticKernel or None, default=None
    Kernel on points; ``None`` is the linear kernel ``<x, y>``.""",
    "time_aug": """time_aug : bool, default=False
    Append time ``t_i = end_time * i / (L - 1)`` as the last channel.""",
    "lead_lag": """lead_lag : bool, default=False
    Apply the lead-lag transform (before time augmentation).""",
    "end_time": """end_time : float, default=1.0
    The final time of time augmentation.""",
    "left_deriv": """left_deriv : bool, default=True
    Return the gradient with respect to ``path1``.""",
    "right_deriv": """right_deriv : bool, default=False
    Return the gradient with respect to ``path2``; at least one side must be asked for.""",
    "k_grid": """k_grid : array or tensor or None, default=None
    The forward's grids (``return_grid=True`` with the same paths and options); recomputed,
    a block of pairs at a time, when None. The polynomial method checks its shape and
    recomputes its cells' edges (which the grid does not hold).""",
    "n_jobs": """n_jobs : int or None, default=-1
    Threads: -1 all that OpenMP may use (``OMP_NUM_THREADS`` and threadpoolctl limits
    apply), -2 all but one, ...; 1 or None serial. Results are the same, bit for bit,
    whatever the number.""",
    "max_batch": """max_batch : int, default=-1
    At most ``max_batch**2`` pairs per solver call (-1: no limit beyond an internal one).""",
    "return_grid": """return_grid : bool, default=False
    Forwards: return the fine PDE grid of each pair, shape ``(..., rows, cols)``, instead of
    the kernels (the kernel is its last entry); the backprops take it as ``k_grid``. With
    ``method="polynomial"``, a node's value is the right edge of the cell below-left of it,
    at its top (at a coarse node, the kernel of the paths' prefixes). Backprops: ``derivs``
    is given at every node of those grids (computed pair by pair, the grids held).""",
    "normalize": """normalize : bool, default=False
    Divide by ``sqrt(k(x, x) k(y, y))`` (not with ``return_grid``). Kernels beyond the
    floating range are normalised through scale exponents, so the result stays finite.""",
    "device": """device : {None, "cpu", "cuda"} or str, default=None
    Where to compute: None, where the paths live (torch CUDA tensors and CuPy arrays on
    their GPU: :mod:`sksigkernel.cuda`); "cuda" or "cuda:N" copies numpy paths to that GPU
    and the result back. A RuntimeError says so when the GPU or the CUDA extension is
    missing.""",
}


def _document(fn):
    """Fill the ``{parameters}`` of fn's docstring with the entries of its parameters."""
    names = list(inspect.signature(fn).parameters)
    entries = "\n".join(_PARAMETERS[n] for n in names)
    fn.__doc__ = fn.__doc__.replace("{parameters}",
                                    entries.replace("\n", "\n    ").replace("    \n", "\n"))
    return fn


class _Problem:
    """Both sides of a kernel computation, validated and transformed, ready for the solver."""

    def __init__(self, path1, path2, dyadic_order, static_kernel, time_aug, lead_lag,
                 end_time, n_jobs, method="finite_difference", order=None, tolerance=None):
        self.d1, self.d2 = parse_dyadic_order(dyadic_order)
        self.order = _check_method(method, order)
        self.auto = self.d1 == "auto"
        self.auto_order = order        # the degree "auto" keeps; None: it picks one too
        self.tolerance = _check_tolerance(tolerance, self.auto)
        if self.auto and not self.order:
            raise ValueError("dyadic_order='auto' is for method='polynomial'")
        self.static = check_static_kernel(static_kernel)
        self.time_aug = check_flag(time_aug, "time_aug")
        self.lead_lag = check_flag(lead_lag, "lead_lag")
        if not isinstance(end_time, (int, float, np.number)) or not math.isfinite(end_time):
            raise ValueError(f"end_time must be a finite number, got {end_time!r}")
        self.end_time = float(end_time)
        self.nthreads = n_threads(n_jobs)
        self.p1 = as_paths(path1, "path1")
        self.p2 = self.p1 if path2 is path1 else as_paths(path2, "path2")
        if self.p1.data.shape[2] != self.p2.data.shape[2]:
            raise ValueError(f"path1 and path2 must have the same number of channels, got "
                             f"{self.p1.data.shape[2]} and {self.p2.data.shape[2]}")
        if (self.p1.tensor is None) != (self.p2.tensor is None):
            raise TypeError("path1 and path2 must both be numpy arrays or both torch tensors")
        dtype = np.result_type(self.p1.data, self.p2.data)
        self.X1, self.len1 = self._transform(self.p1, dtype, float(end_time))
        self.X2, self.len2 = (self.X1, self.len1) if self.p2 is self.p1 else \
            self._transform(self.p2, dtype, float(end_time))
        self.dtype = dtype
        self._wide_data = {}      # wide paths: what the solver's products read (_wide)
        self._reversals = {}      # a side's paths reversed (forward's reverse), kept: by id
        self._magnitudes = {}     # side -> the magnitudes of its paths (see magnitudes)
        self.magnifies = self.auto    # whether "auto" plans by the paths' magnification

    def _transform(self, paths, dtype, end_time):
        """Transformed batch, and its true lengths (intp) when it holds padded paths."""
        X, lengths = transforms.apply(paths.data.astype(dtype, copy=False), paths.lengths,
                                      self.time_aug, self.lead_lag, end_time)
        return X, None if lengths is None else np.asarray(lengths, dtype=np.intp)

    @property
    def grid_shape(self):
        """Rows and columns of the fine PDE grid of one pair."""
        if self.auto:
            raise ValueError("return_grid and k_grid are for fixed dyadic orders, not 'auto'")
        return ((self.X1.shape[1] - 1 << self.d1) + 1, (self.X2.shape[1] - 1 << self.d2) + 1)

    def forward(self, pa, pb, grid=None, side=None, exps=None, prefixes=None, reverse=False):
        """Kernels of the pairs (X1[pa], X2[pb]); of (Xs[pa], Xs[pb]) for side s = 1 or 2,
        the paths reversed in time when ``reverse``. With exps, float64 mantissas m and
        exponents exps (filled in), k = m 2^exps: finite beyond the floating range. prefixes
        (the polynomial method; pairs x max points): log2 |k| of each pair's first s + 1
        points at [n, s], s up to the shorter path's last point (see _solver.poly_forward)."""
        X1, X2, n1, n2, d1, d2 = {
            None: (self.X1, self.X2, self.len1, self.len2, self.d1, self.d2),
            1: (self.X1, self.X1, self.len1, self.len1, self.d1, self.d1),
            2: (self.X2, self.X2, self.len2, self.len2, self.d2, self.d2)}[side]
        if reverse:
            if side not in self._reversals:
                self._reversals[side] = _reversed(X1, n1)
            X1 = X2 = self._reversals[side]
        out = np.empty(len(pa), dtype=self.dtype if exps is None else np.float64)
        if len(pa) and self.order:
            wide = self._wide(X1, X2)
            sides = (1, 2) if side is None else (side, side)
            for idx, blocks, given in self._plans(X1, X2, n1, n2, pa, pb, wide, sides):
                sub = np.empty(len(idx), dtype=self.dtype)
                scaled = (None, None) if exps is None else \
                    (np.empty(len(idx)), np.empty(len(idx), dtype=np.int64))
                heads = None if prefixes is None else np.empty((len(idx), X1.shape[1]))
                with _wide.serial_blas(wide):
                    _solver.poly_forward(X1, X2, pa[idx], pb[idx], self.static._code,
                                         *self.static._params(), *self._refinement(d1, d2),
                                         sub, self.nthreads, n1, n2, *scaled, **wide,
                                         grid=grid, prefixes=heads, blocks=blocks, **given)
                if exps is None:
                    out[idx] = sub
                else:
                    out[idx], exps[idx] = scaled
                if prefixes is not None:
                    prefixes[idx] = heads
        elif len(pa):
            strips = 1 if grid is not None else \
                _planning.strips(len(pa), self.nthreads, X1.shape[1] - 1, X2.shape[1] - 1,
                                 d1, d2, self.dtype.itemsize)
            wide = self._wide(X1, X2, strips)
            mantissas = out if exps is None else np.empty(len(pa), dtype=self.dtype)
            with _wide.serial_blas(wide):
                _solver.forward(X1, X2, pa, pb, self.static._code, *self.static._params(),
                                d1, d2, mantissas, grid, self.nthreads, n1, n2, strips,
                                exponents=exps, **wide)
            if exps is not None:
                out[:] = mantissas
        return out

    def _wide(self, X1, X2, strips=None, copies=1):
        """The solver's arguments wide1, wide2 when G should come from matrix products
        (_wide): for finite differences in blocks cut into ``strips`` (a thread holding
        ``copies`` arrays of its block's G), for the polynomial method (None) a pair at a
        time, in float64; else none."""
        held = 0 if strips is None else \
            copies * (_solver.LANES // strips) * (X1.shape[1] - 1) * (X2.shape[1] - 1)
        if not _wide.wanted(X1.shape[2], held):
            return {}
        dtype = np.dtype(np.float64 if strips is None else self.dtype)
        for X in (X1, X2):
            if (id(X), dtype) not in self._wide_data:
                self._wide_data[id(X), dtype] = _wide.data(X, self.static, dtype)
        return {"wide1": self._wide_data[id(X1), dtype],
                "wide2": self._wide_data[id(X2), dtype]}

    def _refinement(self, d1, d2):
        """The solver's d1, d2 and order: under "auto" its blocks give them instead."""
        return (0, 0, 1) if self.auto else (d1, d2, self.order)

    def _plans(self, X1, X2, n1, n2, pa, pb, wide, sides):
        """The polynomial method's pairs for the solver, a chunk at a time: (indices into pa,
        the solver's blocks, its given and given_rows or nothing). At a fixed order one chunk
        whose blocks the solver makes (None). Under dyadic_order="auto" the refinement of
        each pair (the solver's poly_plans) sorts the pairs into blocks of one refinement
        (_blocks): a chunk of pairs at a time, their G kept from the planning for the
        solver (one buffer, reused: a fresh one costs page faults), or all pairs at once,
        the solver computing G again (PLANNED_PAIRS). The pairs' paths are of ``sides`` (1
        or 2 each), whose magnification tightens their tolerance (FREE_BITS) when
        ``magnifies``."""
        if not self.auto:
            yield np.arange(len(pa)), None, {}
            return
        tolerance = np.full(len(pa), self.tolerance)
        if self.magnifies:
            (p1, w1), (p2, w2) = (self.magnitudes(s) for s in sides)
            excess = np.maximum(((p1 - w1)[pa] + (p2 - w2)[pb]) / 2 - FREE_BITS, 0)
            # (fmax: an unknown magnification, NaN, takes the finest)
            tolerance = np.fmax(tolerance * np.exp2(-excess), FINEST_TOLERANCE)
        cells = max(1, (X1.shape[1] - 1) * (X2.shape[1] - 1))
        step = min(len(pa), PLANNED_G_BYTES // (8 * cells))
        kept = step >= min(len(pa), PLANNED_PAIRS * self.nthreads) and step > 0
        if not kept:
            step = len(pa)
        G = _allocate((step, X1.shape[1] - 1, X2.shape[1] - 1), np.float64,
                      'dyadic_order="auto"\'s planning') if kept else None
        for start in range(0, len(pa), step):
            chunk = np.arange(start, min(start + step, len(pa)))
            d, N = np.empty(len(chunk), np.int64), np.empty(len(chunk), np.int64)
            with _wide.serial_blas(wide):
                _solver.poly_plans(X1, X2, pa[chunk], pb[chunk], self.static._code,
                                   *self.static._params(), tolerance[chunk],
                                   self.auto_order or 0, d, N, np.empty((len(chunk), 3)),
                                   self.nthreads, n1, n2, **wide,
                                   G=G[:len(chunk)] if kept else None)
            order = np.lexsort((N, d))
            yield chunk[order], _blocks(d[order], N[order]), \
                {"given": G, "given_rows": order} if kept else {}

    def magnitudes(self, side):
        """Of each path x of side 1 or 2 (the polynomial method): log2 of max_s
        k(head_s, head_s) k(tail_s, tail_s) (the path up to and from its point s) and of
        k(x, x), from two rough sweeps (one reversed; "auto" at 1e-3), remembered by path.
        An error made on x's PDE grid at the diagonal node (s, s) reaches k(x, x) scaled by
        about k(tail_s, tail_s), so their difference (the path's magnification, in bits) is
        what the grid magnifies its rounding and truncation errors by: large for paths that
        go far out and back, whose large steps cancel. A pair's grid magnifies about as the
        mean of its paths' (Cauchy-Schwarz on the heads and tails)."""
        if side == 2 and self.p2 is self.p1 and (self.auto or self.d2 == self.d1):
            side = 1                        # the same paths, swept alike
        if side in self._magnitudes:
            return self._magnitudes[side]
        paths, X, lengths = (self.p1, self.X1, self.len1) if side == 1 else \
            (self.p2, self.X2, self.len2)
        n, L = X.shape[:2]
        lengths = np.full(n, L) if lengths is None else lengths
        rough = copy.copy(self)          # the sweeps: "auto" at 1e-3, or the fixed order
        rough.magnifies, rough._magnitudes = False, {}
        if self.auto:
            rough.tolerance = max(self.tolerance, 1e-3)
        # the paths as given (fewer numbers than transformed), and what transforms them
        setting = (self.static._code, tuple(self.static._params()), self.dtype.str,
                   self.time_aug, self.lead_lag, self.end_time,
                   (rough.tolerance, self.auto_order) if self.auto
                   else ((self.d1, self.d2)[side - 1], self.order))
        keys = [(setting, _digest(paths.series(i))) for i in range(n)]
        with _magnitudes_lock:
            known = [_magnitudes.get(key, (np.nan, np.nan)) for key in keys]
        peak, whole = np.array(known, dtype=np.float64).reshape(n, 2).T.copy()
        todo = np.flatnonzero(np.isnan(peak))
        step = max(1, min(_PAIRS_PER_CALL, (32 << 20) // (16 * L)))    # heads, tails: 32 MB
        for start in range(0, len(todo), step):
            pa = todo[start:start + step]
            heads, tails = np.zeros((len(pa), L)), np.zeros((len(pa), L))
            for reverse, out in ((False, heads), (True, tails)):
                rough.forward(pa, pa, side=side, exps=np.empty(len(pa), dtype=np.int64),
                              prefixes=out, reverse=reverse)
            for row, i in enumerate(pa):
                m = lengths[i]
                peak[i] = np.max(heads[row, :m] + tails[row, m - 1::-1])
                whole[i] = heads[row, m - 1]
        with _magnitudes_lock:
            for i in todo:
                _magnitudes[keys[i]] = peak[i], whole[i]
                _magnitudes.move_to_end(keys[i])
            while len(_magnitudes) > MAGNITUDES_KEPT:
                _magnitudes.popitem(last=False)
        self._magnitudes[side] = peak, whole
        return peak, whole

    def column_order(self):
        """Columns of a gram by the length of their paths, so that a block of pairs (a few
        neighbouring columns) holds paths of about one length; None for unpadded paths."""
        return None if self.len2 is None else np.argsort(self.len2, kind="stable")

    def _segment_rows(self, strips):
        """The backward's checkpoint spacing for a block cut into ``strips`` (_planning)."""
        return _planning.segment_rows(self.X1.shape[1] - 1, self.X2.shape[1] - 1,
                                      self.X1.shape[2], self.d1, self.d2, self.dtype.itemsize,
                                      strips)

    def backward(self, pa, pb, seeds, dX, dY, grid=None):
        if not len(pa):
            return
        seeds = np.ascontiguousarray(seeds, self.dtype)
        if self.order:      # recomputes its edges: a k_grid holds only the nodes' values
            wide = self._wide(self.X1, self.X2)
            both = self.accumulators(dX is None and not wide, dY is None and not wide)
            # wide paths: float64 gradients of the points, a slice a thread
            grads = {name: np.zeros((self.nthreads,) + X.shape) for name, X, acc in
                     (("dW1", self.X1, dX), ("dW2", self.X2, dY)) if wide and acc is not None}
            for idx, blocks, given in self._plans(self.X1, self.X2, self.len1, self.len2, pa,
                                                  pb, wide, (1, 2)):
                with _wide.serial_blas(wide):
                    _solver.poly_backward(self.X1, self.X2, pa[idx], pb[idx],
                                          np.ascontiguousarray(seeds[idx]), self.static._code,
                                          *self.static._params(),
                                          *self._refinement(self.d1, self.d2),
                                          both[0] if dX is None else dX,
                                          both[1] if dY is None else dY,
                                          self.nthreads, self.len1, self.len2, **wide, **grads,
                                          blocks=blocks, **given)
            for acc, name in ((dX, "dW1"), (dY, "dW2")):
                if name in grads:
                    acc[0] += grads[name].sum(axis=0)
        else:
            strips = 1 if grid is not None else _planning.strips(
                len(pa), self.nthreads, self.X1.shape[1] - 1, self.X2.shape[1] - 1, self.d1,
                self.d2, self.dtype.itemsize, recomputed=lambda s: self._segment_rows(s) > 0)
            seg_rows = 0 if grid is not None else self._segment_rows(strips)
            wide = self._wide(self.X1, self.X2, strips, copies=2)     # G and dF/dG
            with _wide.serial_blas(wide):
                _solver.backward(self.X1, self.X2, pa, pb, seeds, self.static._code,
                                 *self.static._params(), self.d1, self.d2, dX, dY, grid,
                                 seg_rows, self.nthreads, self.len1, self.len2, strips, **wide)

    def grid_backward(self, pa, pb, grid, seeds, dX, dY):
        """Gradients of sum(seeds * grid) over the pairs' whole fine grids, added to the
        accumulators dX and dY (both needed)."""
        if len(pa) and self.order:
            _solver.poly_backward(self.X1, self.X2, pa, pb, np.zeros(len(pa), self.dtype),
                                  self.static._code, *self.static._params(), self.d1, self.d2,
                                  self.order, dX, dY, self.nthreads, self.len1, self.len2,
                                  grid_seeds=np.ascontiguousarray(seeds, self.dtype))
        elif len(pa):
            _solver.grid_backward(self.X1, self.X2, pa, pb, grid,
                                  np.ascontiguousarray(seeds, self.dtype), self.static._code,
                                  *self.static._params(), self.d1, self.d2, dX, dY,
                                  self.nthreads)

    def grid_gradients(self, derivs, k_grid, shape, chunks, offset, left, right):
        """The backprop of return_grid=True: derivs over every node of the grids of
        ``shape`` (the forward's batch shape), pairs from ``chunks``, a chunk's grids at
        ``offset(pa)`` (a slice) of the flat grid array."""
        full = shape + self.grid_shape
        seeds = _check_derivs(derivs, full, self.dtype).reshape((-1,) + self.grid_shape)
        grid = _check_grid(k_grid, full, self.dtype)
        if grid is None and self.order:       # the polynomial method recomputes its edges
            grid = np.empty((len(seeds), 0, 0), self.dtype)
        elif grid is None:
            grid = _allocate(seeds.shape, self.dtype, "the backprop of return_grid=True")
            for pa, pb in chunks():
                self.forward(pa, pb, grid[offset(pa)])
        dX, dY = self.accumulators(True, True)
        for pa, pb in chunks():
            self.grid_backward(pa, pb, grid[offset(pa)], seeds[offset(pa)], dX, dY)
        return self.gradients(dX if left else None, dY if right else None)

    def accumulators(self, left, right):
        def acc(X):
            return np.zeros((self.nthreads,) + X.shape, dtype=self.dtype)
        return (acc(self.X1) if left else None), (acc(self.X2) if right else None)

    def gradients(self, dX, dY):
        """Summed per-thread accumulators -> gradients in the caller's form."""
        def back(acc, paths):
            if acc is None:
                return None
            g = transforms.adjoint(acc.sum(axis=0), self.time_aug, self.lead_lag)
            return paths.unpad(g)
        return back(dX, self.p1), back(dY, self.p2)


def _check_method(method, order):
    """The polynomial method's degree (0 for finite differences), checked."""
    if method == "finite_difference":
        if order is not None:
            raise ValueError(f"order is for method='polynomial'; finite differences refine "
                             f"with dyadic_order (got order={order!r})")
        return 0
    if method != "polynomial":
        raise ValueError(f"method must be 'finite_difference' or 'polynomial', got {method!r}")
    if order is None:
        return 8
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) \
            or not 1 <= order <= 64:
        raise ValueError(f"order must be an integer between 1 and 64, got {order!r}")
    return int(order)


def _check_tolerance(tolerance, auto):
    """dyadic_order='auto''s relative error bound (None: 1e-8), checked."""
    if tolerance is None:
        return 1e-8 if auto else None
    if not auto:
        raise ValueError(f"tolerance is for dyadic_order='auto' (got tolerance={tolerance!r})")
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.number)) \
            or not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be a number between 0 and 1, got {tolerance!r}")
    return float(tolerance)


def _check_max_batch(max_batch):
    if isinstance(max_batch, bool) or not isinstance(max_batch, (int, np.integer)) \
            or max_batch == 0 or max_batch < -1:
        raise ValueError(f"max_batch must be a positive integer or -1, got {max_batch!r}")
    return _PAIRS_PER_CALL if max_batch == -1 else max(1, min(_PAIRS_PER_CALL, max_batch ** 2))


def _paired_chunks(n, max_batch):
    step = _check_max_batch(max_batch)
    for start in range(0, n, step):
        idx = np.arange(start, min(n, start + step), dtype=np.intp)
        yield idx, idx


def _gram_chunks(B1, B2, symmetric, max_batch, order=None):
    """Pairs (a, b) of a gram in row order, a few rows at a time, the columns of each row in
    ``order`` (default: their own); when symmetric, each pair of paths once."""
    step = _check_max_batch(max_batch)
    rows = max(1, step // max(B2, 1))
    cols = np.arange(B2, dtype=np.intp) if order is None else np.asarray(order, dtype=np.intp)
    rank = np.empty(B2, dtype=np.intp)
    rank[cols] = np.arange(B2)
    for a0 in range(0, B1, rows):
        a = np.arange(a0, min(B1, a0 + rows), dtype=np.intp)
        pa = np.repeat(a, B2)
        pb = np.tile(cols, len(a))
        if symmetric:
            keep = rank[pb] >= rank[pa]
            pa, pb = pa[keep], pb[keep]
        yield pa, pb


def _paired_size(prob):
    n1, n2 = prob.p1.n, prob.p2.n
    if prob.p1.single != prob.p2.single or n1 != n2:
        raise ValueError(f"sig_kernel pairs path1[i] with path2[i]: both must be single paths or "
                         f"batches of the same size, got batch shapes {prob.p1.batch_shape} and "
                         f"{prob.p2.batch_shape} (use sig_kernel_gram for all pairs)")
    return n1


def _check_derivs(derivs, shape, dtype):
    arr = derivs.detach().cpu().numpy() if hasattr(derivs, "detach") else np.asarray(derivs)
    if arr.dtype.kind not in "fiu":
        raise TypeError(f"derivs must hold numbers, got dtype {arr.dtype}")
    if arr.shape != tuple(shape) and not (shape == () and arr.shape == (1,)):
        raise ValueError(f"derivs must have shape {tuple(shape)} (the shape of the kernel "
                         f"output{', or (1,)' if shape == () else ''}), got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError("derivs contains NaN or infinite values")
    return arr.astype(dtype, copy=False)


def _check_grid(k_grid, shape, dtype):
    if k_grid is None:
        return None
    arr = k_grid.detach().cpu().numpy() if hasattr(k_grid, "detach") else np.asarray(k_grid)
    if arr.shape != tuple(shape):
        raise ValueError(f"k_grid must have shape {tuple(shape)} (from return_grid=True with the "
                         f"same paths and options), got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=dtype).reshape((-1,) + arr.shape[-2:])


def _blocks(dyadic, degree):
    """The solver's blocks (rows start, count, d, d, degree) of pairs sorted by refinement
    (dyadic orders and degrees, arrays): up to POLY_LANES pairs of one refinement a block,
    the costliest blocks first. All go to the solver in one call, so that several
    refinements of a few pairs each still keep every thread busy."""
    lanes = _solver.POLY_LANES
    cuts = np.flatnonzero((np.diff(dyadic) != 0) | (np.diff(degree) != 0)) + 1
    runs = np.split(np.arange(len(dyadic)), cuts)
    starts = np.concatenate([run[::lanes] for run in runs]).astype(np.intp)
    ends = np.concatenate([np.minimum(run[::lanes] + lanes, run[-1] + 1) for run in runs])
    d, N = dyadic[starts], degree[starts]
    blocks = np.column_stack([starts, ends - starts, d, d, N]).astype(np.intp)
    cost = np.exp2(2.0 * d) * (N + 1.0) ** 2       # of a cell split 2^d x 2^d, per pair
    return np.ascontiguousarray(blocks[np.argsort(-cost, kind="stable")])


def _allocate(shape, dtype, what):
    """np.empty, or a MemoryError that says how much ``what`` asked for."""
    try:
        return np.empty(shape, dtype=dtype)
    except (MemoryError, ValueError):     # ValueError: more bytes than an array can index
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        raise MemoryError(f"{what} needs an array of shape {shape}: "
                          f"{nbytes / 2 ** 30:.4g} GiB") from None


def _sides(left_deriv, right_deriv):
    left = check_flag(left_deriv, "left_deriv")
    right = check_flag(right_deriv, "right_deriv")
    if not (left or right):
        raise ValueError("at least one of left_deriv and right_deriv must be True")
    return left, right


def _overflowed(values, what="kernels"):
    """Kernels that overflowed the dtype (inf, or NaN from inf - inf: the inputs are finite)
    become inf, with a warning that names the remedy; never NaN."""
    bad = ~np.isfinite(values)
    if bad.any():
        values[np.isnan(values)] = np.inf
        wider = " or pass float64 paths" if values.dtype == np.float32 else ""
        warnings.warn(f"{int(bad.sum())} of {values.size} {what} overflowed {values.dtype} and "
                      f"are inf: the paths are too large for an unnormalised signature kernel; "
                      f"scale them down (ChannelScaler, a smaller static-kernel scale){wider}",
                      RuntimeWarning, stacklevel=3)
    return values


def _scalings(prob):
    """normalize=True's passes, whether each keeps scale exponents: finite differences keep
    them only when the kernels overflow without (a scan of every row, slower), the
    polynomial method always (as fast)."""
    return (True,) if prob.order else (False, True)


def _finite(*arrays):
    return all(np.isfinite(a).all() for a in arrays)


def _normalise(values, diag1, diag2, names=("path1", "path2"), exps=None):
    """values / sqrt(diag1 diag2); with exps = (E, E1, E2), of the kernels
    values 2^E, diag1 2^E1, diag2 2^E2 (mantissas and scale exponents)."""
    if not _finite(values, diag1, diag2):
        raise OverflowError("normalize=True: some kernels overflowed before they could be "
                            "normalised; scale the paths down (ChannelScaler, a smaller "
                            "static-kernel scale)")
    for name, diag in zip(names, (diag1, diag2)):
        if np.any(diag <= 0):
            raise ValueError(f"normalize=True needs k(x, x) > 0 for every path, but some paths of "
                             f"{name} give k(x, x) <= 0: the PDE scheme is unstable for them; "
                             f"scale the paths down, raise dyadic_order, or use "
                             f"method='polynomial' with dyadic_order='auto' (any scale). "
                             f"Under 'auto' it is rounding: paths whose large increments "
                             f"cancel (far out and back) have PDE grids beyond the "
                             f"precision of their kernel; scale them down")
    out = values / np.sqrt(diag1) / np.sqrt(diag2)
    if exps is not None:
        E, E1, E2 = exps
        out = out * np.exp2(E - (E1 + E2) / 2)
    largest = np.abs(out).max() if out.size else 0.0
    if largest > 1 + 1e-3:      # no kernel can (Cauchy-Schwarz)
        warnings.warn(f"normalize=True: some normalised kernels exceed 1 (the largest is "
                      f"{largest:.3g}), which no kernel's can: the PDE scheme is "
                      f"inaccurate for these paths; raise dyadic_order, scale the paths down, "
                      f"or use method='polynomial' with dyadic_order='auto'", RuntimeWarning,
                      stacklevel=3)
    return out


@_document
def sig_kernel(path1, path2, dyadic_order, *, method="finite_difference", order=None,
               tolerance=None, static_kernel=None, time_aug=False, lead_lag=False, end_time=1.0,
               n_jobs=-1, max_batch=-1, return_grid=False, normalize=False, device=None):
    """Signature kernels of paired paths: ``k(path1[i], path2[i])``.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    ndarray or tensor of shape (n_paths,)
        The kernels; shape ``()`` for two single paths. With ``return_grid=True``, the fine
        PDE grids, shape ``(n_paths, rows, cols)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksigkernel import sig_kernel
    >>> x = np.array([[0., 0.], [1., 1.]])         # a straight line, increment (1, 1)
    >>> round(float(sig_kernel(x, x, dyadic_order=0)), 12)  # 1 + c + c**2/4, c = <dx, dx> = 2
    4.0
    """
    if _dask.is_dask(path1) or _dask.is_dask(path2):
        return _dask.paired(path1, path2, _checked(locals()), check_flag(normalize, "normalize"))
    if cuda.wanted(path1, path2, device):
        return _on_gpu(locals(), gram=False)
    prob = _Problem(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                    method, order, tolerance)
    if check_flag(normalize, "normalize") and check_flag(return_grid, "return_grid"):
        raise ValueError("normalize=True cannot be combined with return_grid=True")
    n = _paired_size(prob)
    shape = prob.p1.batch_shape
    if return_grid:
        grid = _allocate((n,) + prob.grid_shape, prob.dtype, "return_grid=True")
        for pa, pb in _paired_chunks(n, max_batch):
            prob.forward(pa, pb, grid[pa[0]:pa[-1] + 1])
        return prob.p1.wrap(grid.reshape(shape + prob.grid_shape))
    if normalize or prob.auto:
        _check_precision(prob, 1, "path1")
        if prob.p2 is not prob.p1:
            _check_precision(prob, 2, "path2")

    def kernels(scaled):
        """The kernels, and with ``scaled`` their exponents (mantissas: never overflow)."""
        out = np.empty(n, dtype=np.float64 if scaled else prob.dtype)
        E = np.zeros(n, dtype=np.int64) if scaled else None
        for pa, pb in _paired_chunks(n, max_batch):
            e = np.empty(len(pa), dtype=np.int64) if scaled else None
            out[pa] = prob.forward(pa, pb, exps=e)
            if scaled:
                E[pa] = e
        return out, E

    if not normalize:
        return prob.p1.wrap(_overflowed(kernels(False)[0]).reshape(shape))
    for scaled in _scalings(prob):
        out, E = kernels(scaled)
        E1, E2 = (np.zeros(n, dtype=np.int64) if scaled else None for _ in range(2))
        diag1 = _diagonal(prob, 1, max_batch, E1)
        diag2 = _diagonal(prob, 2, max_batch, E2)
        if scaled or _finite(out, diag1, diag2):
            break
    out = _normalise(out, diag1, diag2, exps=(E, E1, E2) if scaled else None)
    return prob.p1.wrap(out.astype(prob.dtype, copy=False).reshape(shape))


def _checked(arguments):
    """The options of a forward call on dask arrays, checked now (on a path of zeros): the
    chunks are computed later, where an error would come late and far away."""
    kw = {k: v for k, v in arguments.items() if k not in ("path1", "path2", "normalize")}
    if kw.pop("device", None) is not None:
        raise ValueError("device is not for dask arrays: the cluster's workers compute")
    if kw.pop("return_grid"):
        raise ValueError("return_grid=True is not for dask arrays")
    channels = next(p.shape[-1] for p in (arguments["path1"], arguments["path2"])
                    if p is not None)
    zero = np.zeros((2, channels))
    sig_kernel(zero, zero, **kw)
    return kw


def _on_gpu(arguments, gram):
    """A forward call (its arguments) computed on the GPU (sksigkernel.cuda)."""
    kw = dict(arguments)
    _check_max_batch(kw.pop("max_batch"))
    kw.pop("n_jobs")            # threads of the CPU
    if check_flag(kw.pop("return_grid"), "return_grid"):
        raise NotImplementedError("return_grid=True is not on the GPU yet")
    return cuda.forward(kw.pop("path1"), kw.pop("path2"), kw.pop("dyadic_order"), gram=gram,
                        **kw)


def _reversed(X, lengths):
    """The paths of a batch reversed in time, each within its true length (padded after)."""
    if lengths is None:
        return np.ascontiguousarray(X[:, ::-1])
    R = X.copy()
    for i, n in enumerate(lengths):
        R[i, :n] = X[i, n - 1::-1]
    return R


def forget_magnitudes():
    """Forget the paths' magnitudes kept for "auto" (sksigkernel.cache.clear)."""
    with _magnitudes_lock:
        _magnitudes.clear()


def _digest(x):
    """A key of one path's numbers: its shape, dtype and a digest of them."""
    return x.shape, x.dtype.str, hashlib.blake2b(np.ascontiguousarray(x),
                                                 digest_size=16).digest()


def _check_precision(prob, side, name, numbers=None):
    """For the polynomial method: raises where a path x of side 1 or 2 has a kernel that
    double precision cannot hold: where its grid's rounding, about 2^-52 of its peak
    (_Problem.magnitudes), exceeds ``tolerance`` (1e-8 when not 'auto') of k(x, x). A pair's
    rounding is at most that of its two paths' (Cauchy-Schwarz on the grids), so this
    covers every kernel the path takes part in. numbers: the paths' numbers in the error
    (default 0, 1, ...)."""
    if not prob.order:
        return
    peak, whole = prob.magnitudes(side)
    tolerance = prob.tolerance if prob.auto else 1e-8
    for i, bits in enumerate(peak - whole):
        if not bits <= 52 + math.log2(tolerance):
            raise ValueError(
                f"the signature kernel of {name}[{i if numbers is None else numbers[i]}] with "
                f"itself is beyond double precision: "
                f"its PDE grid's rounding, about 2^{bits - 52:.0f} of it, exceeds the "
                f"tolerance {tolerance:g}. Its large steps cancel (it goes far out and back); "
                f"scale the paths down (ChannelScaler, a smaller static-kernel scale)")


def check_precision(paths, name, numbers=None, **args):
    """_check_precision for a batch or list of paths under sig_kernel_gram's keyword
    arguments ``args`` (SigKernel, whose errors name its own arguments: "X", "Y")."""
    _check_precision(_Problem(paths, paths, **args), 1, name, numbers)


def _diagonal(prob, side, max_batch, exps=None):
    """k(x, x) for every path x of side 1 or 2 of prob (at that side's dyadic order); with
    exps, their mantissas, and exps (filled in) their exponents (see _Problem.forward)."""
    n = (prob.X1 if side == 1 else prob.X2).shape[0]
    out = np.empty(n, dtype=prob.dtype if exps is None else np.float64)
    for pa, pb in _paired_chunks(n, max_batch):
        e = None if exps is None else np.empty(len(pa), dtype=np.int64)
        out[pa] = prob.forward(pa, pb, side=side, exps=e)
        if exps is not None:
            exps[pa] = e
    return out


@_document
def sig_kernel_gram(path1, path2, dyadic_order, *, method="finite_difference", order=None,
                    tolerance=None, static_kernel=None, time_aug=False, lead_lag=False,
                    end_time=1.0, n_jobs=-1, max_batch=-1, return_grid=False, normalize=False,
                    device=None):
    """The gram matrix ``K[i, j] = k(path1[i], path2[j])`` of signature kernels.

    When ``path2`` is ``None`` or holds the same data as ``path1``, only one triangle is
    computed. Memory stays bounded by a workspace per thread (no ``B1 x B2 x L1 x L2``
    intermediate).

    Parameters
    ----------
    {parameters}

    Returns
    -------
    ndarray or tensor of shape (n_paths_1, n_paths_2)
        A single path on either side drops that axis. With ``return_grid=True``, the fine
        PDE grids, shape ``(n_paths_1, n_paths_2, rows, cols)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksigkernel import sig_kernel_gram
    >>> X = np.random.default_rng(0).normal(size=(5, 20, 3)).cumsum(axis=1) / 10
    >>> K = sig_kernel_gram(X, None, dyadic_order=1)
    >>> K.shape, bool(np.allclose(K, K.T))
    ((5, 5), True)
    """
    if _dask.is_dask(path1) or _dask.is_dask(path2):
        return _dask.gram(path1, path2, _checked(locals()), check_flag(normalize, "normalize"))
    if cuda.wanted(path1, path2, device):
        return _on_gpu(locals(), gram=True)
    if path2 is None:
        path2 = path1
    prob = _Problem(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                    method, order, tolerance)
    if check_flag(normalize, "normalize") and check_flag(return_grid, "return_grid"):
        raise ValueError("normalize=True cannot be combined with return_grid=True")
    B1, B2 = prob.p1.n, prob.p2.n
    shape = prob.p1.batch_shape + prob.p2.batch_shape
    symmetric = (prob.d1 == prob.d2 and prob.X1.shape == prob.X2.shape
                 and (prob.X1 is prob.X2 or np.array_equal(prob.X1, prob.X2)))
    if return_grid:
        grid = _allocate((B1 * B2,) + prob.grid_shape, prob.dtype, "return_grid=True")
        for pa, pb in _gram_chunks(B1, B2, False, max_batch):
            prob.forward(pa, pb, grid[pa[0] * B2:(pa[-1] + 1) * B2])
        return prob.p1.wrap(grid.reshape(shape + prob.grid_shape))
    if normalize or prob.auto or symmetric:
        _check_precision(prob, 1, "path1")
        if not symmetric:
            _check_precision(prob, 2, "path2")

    def kernels(scaled):
        """The gram, and with ``scaled`` its exponents (mantissas: never overflow)."""
        out = np.empty((B1, B2), dtype=np.float64 if scaled else prob.dtype)
        E = np.zeros((B1, B2), dtype=np.int64) if scaled else None
        for pa, pb in _gram_chunks(B1, B2, symmetric, max_batch, prob.column_order()):
            e = np.empty(len(pa), dtype=np.int64) if scaled else None
            out[pa, pb] = values = prob.forward(pa, pb, exps=e)
            if symmetric:
                out[pb, pa] = values
            if scaled:
                E[pa, pb] = e
                if symmetric:
                    E[pb, pa] = e
        return out, E

    if not normalize:
        return prob.p1.wrap(_overflowed(kernels(False)[0]).reshape(shape))
    for scaled in _scalings(prob):
        out, E = kernels(scaled)
        if symmetric:
            diag1 = diag2 = np.diag(out).copy()
            E1 = E2 = None if E is None else np.diag(E).copy()
        else:
            E1, E2 = (np.zeros(B, dtype=np.int64) if scaled else None for B in (B1, B2))
            diag1 = _diagonal(prob, 1, max_batch, E1)
            diag2 = _diagonal(prob, 2, max_batch, E2)
        if scaled or _finite(out, diag1, diag2):
            break
    exps = (E, E1[:, None], E2[None, :]) if scaled else None
    out = _normalise(out, diag1[:, None], diag2[None, :], exps=exps)
    return prob.p1.wrap(out.astype(prob.dtype, copy=False).reshape(shape))


@_document
def sig_kernel_backprop(derivs, path1, path2, dyadic_order, *, method="finite_difference",
                        order=None, tolerance=None, static_kernel=None, time_aug=False,
                        lead_lag=False, end_time=1.0, left_deriv=True, right_deriv=False,
                        k_grid=None, n_jobs=-1, max_batch=-1, return_grid=False):
    """Backpropagate through :func:`sig_kernel`: given ``dF/dk`` of each pair, ``dF/dpath``.

    The derivative is the exact reverse mode of the discrete PDE scheme, not a finite
    difference. Options must be those of the forward call.

    Parameters
    ----------
    {parameters}

    Returns
    -------
    d_path1 : array, tensor, list or None
        ``dF/dpath1`` in the shape (and type) of ``path1``; None unless ``left_deriv``.
    d_path2 : array, tensor, list or None
        ``dF/dpath2`` likewise; None unless ``right_deriv``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksigkernel import sig_kernel_backprop
    >>> x = np.array([[0., 0.], [1., 1.]])
    >>> dx, dy = sig_kernel_backprop(1.0, x, x, 0, left_deriv=True, right_deriv=True)
    >>> dx[1]   # d/dx_1 of 1 + c + c**2/4, c = <x_1 - x_0, y_1 - y_0>: (1 + c/2) * y_1
    array([2., 2.])
    """
    cuda.refuse_gradients(path1, path2)
    prob = _Problem(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                    method, order, tolerance)
    left, right = _sides(left_deriv, right_deriv)
    n = _paired_size(prob)
    shape = prob.p1.batch_shape
    if check_flag(return_grid, "return_grid"):
        return prob.grid_gradients(derivs, k_grid, shape, lambda: _paired_chunks(n, max_batch),
                                   lambda pa: slice(pa[0], pa[-1] + 1), left, right)
    seeds = _check_derivs(derivs, shape, prob.dtype).reshape(n)
    grid = None if k_grid is None else _check_grid(k_grid, shape + prob.grid_shape,
                                                   prob.dtype)
    dX, dY = prob.accumulators(left, right)
    for pa, pb in _paired_chunks(n, max_batch):
        prob.backward(pa, pb, seeds[pa], dX, dY,
                      None if grid is None else grid[pa[0]:pa[-1] + 1])
    return prob.gradients(dX, dY)


@_document
def sig_kernel_gram_backprop(derivs, path1, path2, dyadic_order, time_aug=False, lead_lag=False,
                             end_time=1.0, left_deriv=True, right_deriv=False, k_grid=None,
                             n_jobs=-1, max_batch=-1, *, method="finite_difference",
                             order=None, tolerance=None, static_kernel=None,
                             return_grid=False):
    """Backpropagate through :func:`sig_kernel_gram`: ``dF/dK`` -> ``dF/dpath1``, ``dF/dpath2``.

    This is pysiglib's ``sig_kernel_gram_backprop`` contract: positional parameters in the
    same order, a tuple back whose unrequested side is ``None``. ``path1`` and ``path2`` are
    the two arguments of the gram even when they hold the same data: the left gradient holds
    ``path2`` fixed (for the total derivative of ``K(X, X)`` add both sides).

    Parameters
    ----------
    {parameters}

    Returns
    -------
    d_path1 : array, tensor, list or None
        ``dF/dpath1`` in the shape (and type) of ``path1``; None unless ``left_deriv``.
    d_path2 : array, tensor, list or None
        ``dF/dpath2`` likewise; None unless ``right_deriv``.

    Examples
    --------
    >>> import numpy as np
    >>> from sksigkernel import sig_kernel_gram, sig_kernel_gram_backprop
    >>> rng = np.random.default_rng(0)
    >>> X, Y = rng.normal(size=(4, 10, 2)) / 5, rng.normal(size=(3, 12, 2)) / 5
    >>> dX, dY = sig_kernel_gram_backprop(np.ones((4, 3)), X, Y, 1,
    ...                                   left_deriv=True, right_deriv=True)
    >>> dX.shape, dY.shape
    ((4, 10, 2), (3, 12, 2))
    """
    cuda.refuse_gradients(path1, path2)
    prob = _Problem(path1, path2, dyadic_order, static_kernel, time_aug, lead_lag, end_time, n_jobs,
                    method, order, tolerance)
    left, right = _sides(left_deriv, right_deriv)
    B1, B2 = prob.p1.n, prob.p2.n
    shape = prob.p1.batch_shape + prob.p2.batch_shape
    if check_flag(return_grid, "return_grid"):
        return prob.grid_gradients(derivs, k_grid, shape,
                                   lambda: _gram_chunks(B1, B2, False, max_batch),
                                   lambda pa: slice(pa[0] * B2, (pa[-1] + 1) * B2), left, right)
    seeds = _check_derivs(derivs, shape, prob.dtype).reshape(B1, B2)
    grid = None if k_grid is None else _check_grid(k_grid, shape + prob.grid_shape,
                                                   prob.dtype)
    dX, dY = prob.accumulators(left, right)
    order = prob.column_order() if grid is None else None   # a given grid is in row order
    for pa, pb in _gram_chunks(B1, B2, False, max_batch, order):
        prob.backward(pa, pb, seeds[pa, pb], dX, dY,
                      None if grid is None else grid[pa[0] * B2:(pa[-1] + 1) * B2])
    return prob.gradients(dX, dY)
