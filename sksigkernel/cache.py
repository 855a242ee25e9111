"""A memory-bounded cache of signature-kernel entries, shared by every estimator.

A grid search over ``C`` or ``alpha`` with cross-validation asks for kernels between the same
paths again and again: each fold's training gram and test block, for every candidate. The
cache keeps every entry ``k(x, y)`` it has computed, so each is computed once per search.

- **Keys.** Entries are stored per *kernel setting*: the solver (method, order), the dyadic
  order, the static kernel and its parameters, ``time_aug``, ``lead_lag``, ``end_time`` and
  the dtype. Within a setting, a
  path is identified by a hash (BLAKE2b) of its shape, dtype and values, so the same series
  found again (in another fold, in a clone of the estimator, in another estimator) hits the
  cache, and a changed series misses it. ``normalize`` is applied on the way out, so both
  of its values share entries. Because the cache lives in this module, not on an estimator,
  it survives ``sklearn.base.clone``.
- **Memory.** A setting holds a square matrix over the distinct paths it has seen (8 bytes
  per entry in float64, 4 in float32). All settings together stay under
  :func:`set_max_bytes` (512 MiB by default, a float64 matrix of 8192 paths); the least
  recently used settings are dropped to make room, and a request too large for the bound
  is computed without caching.
- **Processes.** The cache is per process: run ``GridSearchCV(..., n_jobs=1)`` and let the
  kernel use the threads (its own ``n_jobs``), or each worker process fills its own cache.
- **Magnitudes.** ``dyadic_order="auto"`` also keeps, for every path it has planned, two
  numbers from its rough sweeps (its magnification and the precision check's: see
  ``tolerance``), in every call, not only through this cache; :func:`clear` forgets them.

Examples
--------
>>> import numpy as np
>>> from sksigkernel import SigKernel, cache
>>> cache.clear()
>>> X = np.random.default_rng(0).normal(size=(10, 20, 2)).cumsum(axis=1) / 10
>>> K = SigKernel()(X)                # computes one triangle: 55 entries
>>> K2 = SigKernel()(X[:4], X)       # all known: nothing computed
>>> cache.info().evaluations
55
"""
from collections import OrderedDict, namedtuple
import hashlib
import threading

import numpy as np

from . import _gram, functional
from ._input import parse_dyadic_order

__all__ = ["info", "clear", "set_max_bytes", "CacheInfo"]

CacheInfo = namedtuple("CacheInfo", "hits misses evaluations settings nbytes max_bytes")
CacheInfo.__doc__ = """Counters of the kernel cache (see :func:`info`).

hits, misses : entries requested that were found / had to be computed
evaluations : kernel values computed by the engine (a symmetric block counts one triangle)
settings : kernel settings currently held; nbytes : their memory; max_bytes : the bound
"""

_lock = threading.RLock()
_stores = OrderedDict()
_max_bytes = 512 << 20
_counters = {"hits": 0, "misses": 0, "evaluations": 0}


def info():
    """Counters since the last :func:`clear`, as a :class:`CacheInfo`."""
    with _lock:
        return CacheInfo(settings=len(_stores), nbytes=sum(s.nbytes for s in _stores.values()),
                         max_bytes=_max_bytes, **_counters)


def clear():
    """Drop every cached entry and reset the counters; forget the paths' magnitudes that
    ``dyadic_order="auto"`` keeps (a path is measured once: see ``tolerance``)."""
    with _lock:
        _stores.clear()
        for key in _counters:
            _counters[key] = 0
    functional.forget_magnitudes()


def set_max_bytes(max_bytes):
    """Bound the cache's memory (bytes, all settings together); 0 disables caching."""
    global _max_bytes
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, np.integer)) \
            or max_bytes < 0:
        raise ValueError(f"max_bytes must be an integer >= 0, got {max_bytes!r}")
    with _lock:
        _max_bytes = int(max_bytes)
        _evict(0)


def _evict(room, keep=None):
    """Drop least recently used settings until ``room`` more bytes fit under the bound."""
    while _stores and sum(s.nbytes for s in _stores.values()) + room > _max_bytes:
        key = next(iter(_stores))
        if _stores[key] is keep:
            if len(_stores) == 1:
                return False
            _stores.move_to_end(key)
            key = next(iter(_stores))
        del _stores[key]
    return True


def _digests(paths):
    out = []
    for x in map(paths.series, range(len(paths))):
        h = hashlib.blake2b(digest_size=16)
        h.update(repr((x.shape, x.dtype.str)).encode())
        h.update(np.ascontiguousarray(x).data)
        out.append(h.digest())
    return out


class _Store:
    """Entries of one kernel setting: a matrix over the distinct paths seen, NaN = unknown.

    ``symmetric``: k(x, y) = k(y, x), true unless the dyadic orders of the two sides differ.
    """

    def __init__(self, dtype, symmetric):
        self.symmetric = symmetric
        self.index = {}
        self.K = np.full((0, 0), np.nan, dtype=dtype)

    @property
    def nbytes(self):
        return self.K.nbytes

    def ids(self, digests):
        new = [d for d in dict.fromkeys(digests) if d not in self.index]
        for d in new:
            self.index[d] = len(self.index)
        return np.array([self.index[d] for d in digests], dtype=np.intp)

    def grow_bytes(self):
        """Bytes more that the matrix needs to hold every indexed path (0 if it fits)."""
        n = len(self.index)
        if n <= self.K.shape[0]:
            return 0
        return (max(n, 2 * self.K.shape[0]) ** 2 - self.K.shape[0] ** 2) * self.K.itemsize

    def grow(self):
        n = len(self.index)
        if n > self.K.shape[0]:
            K = np.full((max(n, 2 * self.K.shape[0]),) * 2, np.nan, dtype=self.K.dtype)
            K[:self.K.shape[0], :self.K.shape[0]] = self.K
            self.K = K


def _setting(kernel_args, dtype):
    d = kernel_args
    dyadic = parse_dyadic_order(d["dyadic_order"])
    auto = dyadic[0] == "auto"
    order = d.get("order") or (None if auto else 8) if d.get("method") == "polynomial" else None
    tolerance = (d.get("tolerance") or 1e-8) if auto else None
    return (dyadic, d.get("method"), order, tolerance, d["static_kernel"],
            d["time_aug"], d["lead_lag"], float(d["end_time"]), np.dtype(dtype).str)


def _compute(A, B, kernel_args, verbose):
    """Uncached gram (one triangle when B is None)."""
    same = B is None
    total = len(A) * (len(A) + 1) // 2 if same else len(A) * len(B)
    with _lock:
        _counters["misses"] += len(A) * len(A if same else B)
        _counters["evaluations"] += total
    progress = _gram.Progress(verbose, total)
    out = _gram.block(A, B, kernel_args, progress)
    progress.finish()
    return out


def _store(digests, kernel_args, dtype):
    """The store of this setting with every path of ``digests`` indexed and room for them,
    or None when that does not fit under the bound. Call with the lock held."""
    if _max_bytes == 0:
        return None
    key = _setting(kernel_args, dtype)
    store = _stores.get(key) or _Store(dtype, key[0][0] == key[0][1])
    _stores[key] = store
    _stores.move_to_end(key)
    for d in digests:
        store.ids(d)
    if not _evict(store.grow_bytes(), keep=store):
        del _stores[key]
        return None
    store.grow()
    return store


def gram(A, B, kernel_args, verbose=0, use_cache=True):
    """The raw (unnormalised) gram ``k(A[i], B[j])``, from the cache where possible.

    ``A`` and ``B`` are ``Paths`` from :func:`~sksigkernel.collection.to_paths`
    (``B`` None for ``A`` against itself); ``kernel_args`` the keyword arguments of
    :func:`sksigkernel.sig_kernel_gram` (``normalize`` excluded). The lock is held while the
    store is read and written, not while kernels are computed: threads compute at once (two
    that miss the same entries both compute them, to the same values).
    """
    dtype = np.result_type(A.data, A.data if B is None else B.data)
    A = A.astype(dtype)
    B = None if B is None else B.astype(dtype)
    dA = _digests(A) if use_cache else None
    dB = dA if B is None or not use_cache else _digests(B)
    with _lock:
        store = _store((dA, dB), kernel_args, dtype) if use_cache else None
        if store is not None:
            ia, ib = store.ids(dA), store.ids(dB)
            ua, first_a, inv_a = np.unique(ia, return_index=True, return_inverse=True)
            ub, first_b, inv_b = np.unique(ib, return_index=True, return_inverse=True)
            known = store.K[np.ix_(ua, ub)]          # a copy: the entries known now
            missing = np.isnan(known)
            n_missing = int(missing.sum())
            _counters["misses"] += n_missing
            _counters["hits"] += missing.size - n_missing
    if store is None:
        return _compute(A, B, kernel_args, verbose)
    if n_missing:
        count = _gram.fill(known, store.symmetric, A.take(first_a),
                           (A if B is None else B).take(first_b), ua, ub, kernel_args,
                           verbose)
        with _lock:        # the store may have grown meanwhile, but its indices stay
            _counters["evaluations"] += count
            store.K[np.ix_(ua, ub)] = known
            if store.symmetric:
                store.K[np.ix_(ub, ua)] = known.T
    return known[np.ix_(inv_a, inv_b)]


def diagonal(A, kernel_args, use_cache=True, checked=None):
    """``k(A[i], A[i])`` for every path, from the cache where possible. checked (a name for
    the paths, "X"): those computed now pass functional.check_precision first, so that a
    path is checked once."""
    dtype = A.data.dtype
    digests = _digests(A) if use_cache else None
    with _lock:
        store = _store((digests,), kernel_args, dtype) if use_cache else None
        ids = None if store is None else store.ids(digests)
        diag = np.full(len(A), np.nan, dtype=dtype) if store is None else store.K[ids, ids]
        todo = np.flatnonzero(np.isnan(diag))
        _counters["misses"] += todo.size
        _counters["hits"] += diag.size - todo.size
        _counters["evaluations"] += todo.size
    if todo.size:
        P = A.take(todo)
        if checked is not None:
            functional.check_precision(P, checked, todo, **kernel_args)
        diag[todo] = functional.sig_kernel(P, P, **kernel_args)
        if store is not None:
            with _lock:
                store.K[ids[todo], ids[todo]] = diag[todo]
    return diag
