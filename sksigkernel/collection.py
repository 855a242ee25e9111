"""Collections of time series as the scikit-learn layer takes them, and converters.

Every estimator of sksigkernel accepts, as ``X``:

- a 3-D array ``(n_samples, length, channels)`` (numpy or torch), channels last;
- a NaN-padded 3-D array, as tslearn writes it: trailing rows that are all NaN mark the end
  of a shorter series;
- a list of ``(length_i, channels)`` arrays of different lengths;
- a 2-D array ``(n_samples, length * channels)`` with ``n_channels`` declared, each row the
  points one after another (``x_0`` channels, then ``x_1`` channels, ...).

Channels-first collections (aeon, sktime: ``(n_samples, channels, length)``) are never
guessed: convert them with :func:`from_channels_first`.
"""
from dataclasses import replace

import numpy as np

from . import _dask
from ._input import Paths, _float_array, _is_tensor, _to_numpy, as_paths

__all__ = ["as_path_collection", "from_channels_first", "to_paths"]


def from_channels_first(X):
    """Convert an aeon/sktime collection ``(n_samples, channels, length)`` to channels last.

    Parameters
    ----------
    X : array of shape (n_samples, channels, length), or list of (channels, length_i) arrays
        As ``aeon.datasets.load_classification`` returns it (a list when lengths differ).

    Returns
    -------
    ndarray of shape (n_samples, length, channels), or list of (length_i, channels) arrays
        The same series, channels last.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.zeros((5, 3, 40))                  # 5 series, 3 channels, 40 time points
    >>> from_channels_first(X).shape
    (5, 40, 3)
    >>> [x.shape for x in from_channels_first([np.zeros((3, 7)), np.zeros((3, 9))])]
    [(7, 3), (9, 3)]
    """
    if isinstance(X, (list, tuple)):
        out = []
        for i, x in enumerate(X):
            x = np.asarray(x)
            if x.ndim != 2:
                raise ValueError(f"X[{i}] must have shape (channels, length), got {x.shape}")
            out.append(np.ascontiguousarray(x.T))
        return out
    X = _numpy(X, "X")
    if X.ndim != 3:
        raise ValueError(f"X must have shape (n_samples, channels, length), got an array with "
                         f"{X.ndim} dimension(s) {X.shape}")
    return np.ascontiguousarray(X.transpose(0, 2, 1))


def is_path_list(X):
    """True for a non-empty list (or tuple) of 2-D series, the ragged form of a collection."""
    return isinstance(X, (list, tuple)) and len(X) > 0 and all(np.ndim(x) == 2 for x in X)


def _numpy(X, name):
    if _is_tensor(X):
        return _to_numpy(X, name)[0]       # the engine's conversion, and its device check
    arr = np.asarray(X)
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must hold numbers; could not convert its values to float")
    return arr


def _nan_padded(batch, name):
    """A 3-D batch whose shorter series end in all-NaN rows -> :class:`Paths` with those rows
    replaced by the series' last point (which leaves every signature kernel unchanged)."""
    missing = np.isnan(batch)
    if not missing.any():
        return Paths(batch, None, False)
    rows_missing = missing.all(axis=2)
    lengths = batch.shape[1] - np.cumprod(rows_missing[:, ::-1], axis=1).sum(axis=1)
    data = batch.copy()
    for i, L in enumerate(lengths):
        if L == 0:
            raise ValueError(f"{name}[{i}] is all NaN: a series needs at least one point")
        if missing[i, :L].any():
            raise ValueError(f"{name}[{i}] contains NaN values that are not trailing padding "
                             f"(only whole rows of NaN at the end of a series mark a shorter "
                             f"series)")
        data[i, L:] = data[i, L - 1]
    return Paths(data, lengths, False)


def to_paths(X, n_channels=1, name="X"):
    """Validate a collection of series (any form of the module docstring) and return it as
    the engine's :class:`~sksigkernel._input.Paths`, the one form every layer below takes.

    Raises as :func:`as_path_collection` documents.
    """
    if _dask.is_dask(X):
        raise TypeError(f"{name} is a dask array, which this function would compute whole: "
                        f"sig_kernel_gram, sig_kernel, SigKernel(...)(X, Y), sig_mmd and "
                        f"SigKernelNystroem.transform take dask arrays lazily; elsewhere pass "
                        f"{name}.compute() if it fits in memory")
    if is_path_list(X):
        arrays = [_numpy(x, f"{name}[{i}]") for i, x in enumerate(X)]
        return replace(as_paths(arrays, name), tensor=None)
    arr = _float_array(_numpy(X, name), name)
    if arr.ndim == 2:
        if isinstance(n_channels, bool) or not isinstance(n_channels, (int, np.integer)) \
                or n_channels < 1:
            raise ValueError(f"n_channels must be a positive integer, got {n_channels!r}")
        if arr.shape[1] % n_channels:
            raise ValueError(f"{name} has {arr.shape[1]} features, which is not a multiple of "
                             f"n_channels={n_channels}; a 2-D {name} holds (n_samples, length * "
                             f"channels)")
        arr = arr.reshape(arr.shape[0], -1, n_channels)
    elif arr.ndim != 3:
        raise ValueError(f"{name} must be a 3-D array (n_samples, length, channels), a 2-D "
                         f"array (n_samples, length * channels) or a list of (length, channels) "
                         f"arrays; got an array with {arr.ndim} dimension(s) {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} holds no series (n_samples = 0)")
    if arr.shape[1] == 0 or arr.shape[2] == 0:
        raise ValueError(f"{name} has series of length 0 or 0 channels: shape {arr.shape}")
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains infinite values")
    return _nan_padded(np.ascontiguousarray(arr), name)


def as_path_collection(X, n_channels=1, name="X"):
    """Validate a collection of series and return it as the engine takes it.

    Parameters
    ----------
    X : array, tensor or list
        A collection of series in one of the forms of the module docstring.
    n_channels : int
        Channels per point when ``X`` is 2-D ``(n_samples, length * channels)``.
    name : str
        The argument's name, for error messages.

    Returns
    -------
    ndarray of shape (n_samples, length, channels), or list of (length_i, channels) arrays
        The array when all series have one length, else the list of the series without
        their padding; float32 or float64 (integers become float64).

    Examples
    --------
    >>> import numpy as np
    >>> as_path_collection(np.arange(12.).reshape(2, 6), n_channels=3).shape
    (2, 2, 3)
    >>> padded = np.array([[[0.], [1.], [2.]], [[0.], [1.], [np.nan]]])
    >>> [x.shape for x in as_path_collection(padded)]
    [(3, 1), (2, 1)]
    """
    return to_paths(X, n_channels, name).collection()
