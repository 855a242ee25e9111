"""Path transforms applied before the solver, and their adjoints.

Both act on a padded batch ``(n_paths, length, channels)`` with optional true ``lengths``
(see :mod:`sksigkernel._input`), so that ragged batches are transformed exactly as each
path would be on its own.
"""
import numpy as np

__all__ = ["time_augment", "lead_lag", "lead_lag_adjoint", "apply", "adjoint"]


def time_augment(X, end_time=1.0, lengths=None):
    """Append time ``t_i = end_time * i / (L - 1)`` as the last channel.

    Parameters
    ----------
    X : ndarray of shape (n_paths, length, channels)
        A batch of paths (padded by repeating their last points).
    end_time : float, default=1.0
        The time of each path's last point.
    lengths : array of int or None, default=None
        The true length of each path (None: all of them ``length``); the padding keeps
        the last time.

    Returns
    -------
    ndarray of shape (n_paths, length, channels + 1)
        The paths with time as their last channel.

    Examples
    --------
    >>> import numpy as np
    >>> time_augment(np.zeros((1, 3, 1)), end_time=2.0)[0, :, 1]
    array([0., 1., 2.])
    """
    t = _time_channel(X.shape[0], X.shape[1], end_time, lengths)
    return np.concatenate([X, t[:, :, None].astype(X.dtype)], axis=2)


def _time_channel(n, L, end_time, lengths=None):
    """The time of each of ``L`` points of ``n`` paths, ``(n, L)``: ``end_time * i / (l - 1)``
    for a path of true length ``l``, whose padding keeps its last time (time_augment; the
    GPU route appends it to paths on the device)."""
    lengths = np.full(n, L) if lengths is None else np.asarray(lengths)
    steps = np.minimum(np.arange(L)[None, :], (lengths - 1)[:, None])
    return end_time * steps / np.maximum(lengths - 1, 1)[:, None]


def _lead_lag_points(L):
    """Which of ``L`` points each of the ``2L - 1`` lead-lag points takes, as (lag, lead)
    index arrays: point ``2k`` is ``(x_k, x_k)``, point ``2k + 1`` is ``(x_k, x_{k+1})``."""
    k = np.arange(2 * L - 1)
    return k // 2, (k + 1) // 2


def lead_lag(X):
    """The lead-lag path: ``2L - 1`` points with channels ``(lag, lead)``.

    Point ``2k`` is ``(x_k, x_k)`` and point ``2k + 1`` is ``(x_k, x_{k+1})``, as in pysiglib.
    A path padded by repeating its last point stays so padded.

    Parameters
    ----------
    X : ndarray of shape (n_paths, length, channels)
        A batch of paths.

    Returns
    -------
    ndarray of shape (n_paths, 2 length - 1, 2 channels)
        The lead-lag paths, channels ``(lag, lead)``.

    Examples
    --------
    >>> import numpy as np
    >>> lead_lag(np.array([[[0.], [1.]]]))[0]
    array([[0., 0.],
           [0., 1.],
           [1., 1.]])
    """
    lag, lead = _lead_lag_points(X.shape[1])
    return np.concatenate([X[:, lag], X[:, lead]], axis=2)


def lead_lag_adjoint(dZ):
    """Adjoint of :func:`lead_lag`: gradients of the ``2L - 1`` points -> of the ``L`` points."""
    n, L2, d2 = dZ.shape
    d = d2 // 2
    dX = dZ[:, 0::2, :d] + dZ[:, 0::2, d:]
    dX[:, :-1] += dZ[:, 1::2, :d]
    dX[:, 1:] += dZ[:, 1::2, d:]
    return dX


def apply(X, lengths, time_aug, lead_lag_, end_time):
    """Lead-lag first, then time augmentation (pysiglib's order); returns (X, lengths)."""
    if lead_lag_:
        X = lead_lag(X)
        lengths = None if lengths is None else 2 * lengths - 1
    if time_aug:
        X = time_augment(X, end_time, lengths)
    return np.ascontiguousarray(X), lengths


def adjoint(dX, time_aug, lead_lag_):
    """Gradients with respect to the transformed batch -> with respect to the original."""
    if time_aug:
        dX = dX[:, :, :-1]
    if lead_lag_:
        dX = lead_lag_adjoint(dX)
    return dX
