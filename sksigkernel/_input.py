"""Input layer: turn what the caller passed into one validated float batch, and back.

Everything the user hands to the engine passes through :func:`as_paths` exactly once. It
accepts a single path ``(length, channels)``, a batch ``(n_paths, length, channels)`` or a
list of paths of different lengths, as numpy arrays or torch tensors, and returns a
:class:`Paths`: a C-contiguous float32/float64 array ``(n_paths, max_length, channels)``
whose shorter paths are padded by repeating their last point (which leaves every
signature kernel unchanged), plus what is needed to hand results back in the caller's form.
The scikit-learn layer's collections (:func:`sksigkernel.collection.to_paths`) become the same
:class:`Paths`, which the functional API and the kernel cache take as they are.
"""
from dataclasses import dataclass
import os
import sys

import numpy as np
from sklearn.utils._param_validation import InvalidParameterError

from . import _solver

__all__ = ["Paths", "as_paths", "n_threads", "parse_dyadic_order"]


def _torch():
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is optional
        return None
    return torch


def _is_tensor(obj):
    # a tensor exists only once torch is imported: numpy callers do not pay torch's import
    # (close to a second) on their first call
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor)


@dataclass
class Paths:
    """A validated batch of paths.

    Attributes
    ----------
    data : ndarray of shape (n_paths, length, channels)
        Float32 or float64, C-contiguous; ragged paths padded with their last point.
    lengths : ndarray of int or None
        The true length of each path when the input was a list, else None.
    single : bool
        True when the input was one path ``(length, channels)``.
    tensor : torch.Tensor or None
        A tensor of the caller's when the input was torch (for dtype and device of results).
    """

    data: np.ndarray
    lengths: np.ndarray | None
    single: bool
    tensor: object = None

    @property
    def n(self):
        return self.data.shape[0]

    def __len__(self):
        return self.data.shape[0]

    @property
    def channels(self):
        return self.data.shape[2]

    def series(self, i):
        """Path ``i`` without its padding (a view)."""
        return self.data[i] if self.lengths is None else self.data[i, :self.lengths[i]]

    def collection(self):
        """The paths as users hand them in: the 3-D array, or a list of unpadded series."""
        return self.data if self.lengths is None else [self.series(i) for i in range(self.n)]

    def take(self, idx):
        """The paths ``idx`` (indices or a slice) as a new batch, padded to their longest."""
        if self.lengths is None:
            return Paths(np.ascontiguousarray(self.data[idx]), None, False)
        lengths = self.lengths[idx]
        return Paths(np.ascontiguousarray(self.data[idx, :lengths.max(initial=1)]), lengths,
                     False)

    def astype(self, dtype):
        if self.data.dtype == dtype:
            return self
        return Paths(self.data.astype(dtype), self.lengths, self.single, self.tensor)

    @staticmethod
    def concatenate(batches):
        """One batch of the paths of ``batches`` (numpy, not single), in order."""
        dtype = np.result_type(*(b.data for b in batches))
        if len({b.data.shape[1] for b in batches}) == 1 and \
                all(b.lengths is None for b in batches):
            return Paths(np.concatenate([b.data for b in batches]).astype(dtype, copy=False),
                         None, False)
        length = max(b.data.shape[1] for b in batches)
        parts = [np.concatenate([b.data, np.repeat(b.data[:, -1:], length - b.data.shape[1],
                                                   axis=1)], axis=1) for b in batches]
        lengths = np.concatenate([np.full(b.n, b.data.shape[1]) if b.lengths is None
                                  else b.lengths for b in batches])
        return Paths(np.concatenate(parts).astype(dtype, copy=False), lengths, False)

    @property
    def batch_shape(self):
        return () if self.single else (self.n,)

    def wrap(self, array):
        """Return ``array`` (numpy) as the caller's type: numpy, or torch on its device."""
        if self.tensor is None:
            return array
        torch = _torch()      # (np.ascontiguousarray would make a scalar 1-D)
        return torch.from_numpy(np.asarray(array, order="C")).to(device=self.tensor.device)

    def unpad(self, grads):
        """Gradients with respect to the padded batch -> the caller's shapes.

        Padding copies the last point, so the gradient of every copy belongs to that point.
        """
        if self.lengths is None:
            out = grads[0] if self.single else grads
            return self.wrap(out)
        result = []
        for full, L in zip(grads, self.lengths):
            g = full[:L].copy()
            g[L - 1] += full[L:].sum(axis=0)
            result.append(self.wrap(g))
        return result


def _to_numpy(obj, name):
    if _is_tensor(obj):
        if obj.device.type != "cpu":
            raise ValueError(
                f"{name} is a tensor on device '{obj.device}': only the forwards "
                f"sig_kernel and sig_kernel_gram run on the GPU (sksigkernel.cuda); "
                f"pass {name}.cpu()")
        return obj.detach().numpy(), obj
    if isinstance(obj, np.ndarray):
        return obj, None
    raise TypeError(f"{name} must be a numpy array, a torch tensor or a list of them, "
                    f"got {type(obj).__name__}")


def _float_array(arr, name):
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        return arr
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64)
    raise TypeError(f"{name} must hold float32, float64 or integer values, got dtype {arr.dtype}")


def _check_finite(arr, name):
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")


def as_paths(obj, name):
    """Validate ``obj`` (argument ``name``) and return it as :class:`Paths` (a
    :class:`Paths` is returned as it is: it was validated when it was made)."""
    if isinstance(obj, Paths):
        return obj
    if isinstance(obj, (list, tuple)):
        return _as_ragged(obj, name)
    arr, tensor = _to_numpy(obj, name)
    arr = _float_array(arr, name)
    if arr.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (length, channels) or (n_paths, length, "
                         f"channels), got an array with {arr.ndim} dimension(s) {arr.shape}")
    single = arr.ndim == 2
    data = np.ascontiguousarray(arr[None] if single else arr)
    if data.shape[1] == 0:
        raise ValueError(f"{name} has paths of length 0; a path needs at least one point")
    if data.shape[2] == 0:
        raise ValueError(f"{name} has 0 channels")
    _check_finite(data, name)
    return Paths(data, None, single, tensor)


def _as_ragged(items, name):
    if len(items) == 0:
        raise ValueError(f"{name} is an empty list; pass an array of shape (0, length, "
                         f"channels) for an empty batch")
    arrays, tensors = [], []
    for i, item in enumerate(items):
        arr, tensor = _to_numpy(item, f"{name}[{i}]")
        arr = _float_array(arr, f"{name}[{i}]")
        if arr.ndim != 2:
            raise ValueError(f"{name}[{i}] must have shape (length, channels), got {arr.shape}")
        if arr.shape[0] == 0:
            raise ValueError(f"{name}[{i}] has length 0; a path needs at least one point")
        _check_finite(arr, f"{name}[{i}]")
        arrays.append(arr)
        tensors.append(tensor)
    channels = {a.shape[1] for a in arrays}
    if len(channels) > 1:
        raise ValueError(f"the paths in {name} have different numbers of channels: "
                         f"{sorted(channels)}")
    if len({t is None for t in tensors}) > 1:
        raise TypeError(f"{name} mixes numpy arrays and torch tensors")
    dtype = np.result_type(*arrays)
    lengths = np.array([a.shape[0] for a in arrays])
    data = np.empty((len(arrays), lengths.max(), arrays[0].shape[1]), dtype=dtype)
    for row, a in zip(data, arrays):
        row[:len(a)] = a
        row[len(a):] = a[-1]
    return Paths(data, lengths, False, tensors[0])


def n_threads(n_jobs):
    """Threads for ``n_jobs``: n > 0 threads; -1 all that OpenMP may use, -2 all but one, ...;
    None means 1.

    "All" is scikit-learn's ``_openmp_effective_n_threads``: OpenMP's own limit, which
    honours ``OMP_NUM_THREADS`` and threadpoolctl, at most the CPUs this process may run on.
    """
    if n_jobs is None:
        return 1
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, (int, np.integer)) or n_jobs == 0:
        raise InvalidParameterError(f"n_jobs must be a non-zero integer (-1 for all threads) "
                                    f"or None, got {n_jobs!r}")
    if n_jobs > 0:
        return int(n_jobs)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(_solver.max_threads(), cpus or 1) + 1 + int(n_jobs))


def parse_dyadic_order(dyadic_order):
    """An int or a pair of ints between 0 and 16 -> (d1, d2), "auto" -> ("auto", "auto"):
    TypeError for anything else but integers (as pysiglib), ValueError for a wrong count or
    range."""
    if isinstance(dyadic_order, str) and dyadic_order == "auto":
        return "auto", "auto"
    pair = dyadic_order if isinstance(dyadic_order, (tuple, list)) else (dyadic_order, dyadic_order)
    if len(pair) != 2:
        raise ValueError(f"dyadic_order must be an integer or a pair of integers, got "
                         f"{dyadic_order!r}")
    for v in pair:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"dyadic_order must be an integer between 0 and 16, a pair of "
                            f"them, or 'auto', got {dyadic_order!r}")
        if not 0 <= v <= 16:
            raise ValueError(f"dyadic_order must be between 0 and 16, got {dyadic_order!r}")
    return int(pair[0]), int(pair[1])


def check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)
