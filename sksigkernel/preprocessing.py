"""Preprocessing of collections of series, for pipelines in front of the kernel estimators."""
from dataclasses import replace
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .collection import to_paths

__all__ = ["ChannelScaler"]


class ChannelScaler(TransformerMixin, BaseEstimator):
    """Standardise each channel over all time points of all training series.

    Channels measured in different units (acceleration and angular velocity, say) then
    weigh alike in the signature kernel. It is :class:`sklearn.preprocessing.StandardScaler`
    applied to the points of the series, so one mean and one standard deviation per
    channel; the series keep their shapes.

    Parameters
    ----------
    with_mean, with_std : bool, default=True
        As in StandardScaler. The mean does not change a linear signature kernel (which
        sees increments only) but matters to the RBF and other static kernels.
    n_channels : int, default=1
        Channels per point when ``X`` is 2-D ``(n_samples, length * channels)``.

    Attributes
    ----------
    scaler_ : StandardScaler
        Fitted on the points, shape (total points, channels).

    Examples
    --------
    >>> import numpy as np
    >>> from sksigkernel.preprocessing import ChannelScaler
    >>> X = np.random.default_rng(0).normal(size=(10, 50, 2)) * [1.0, 100.0]
    >>> Z = ChannelScaler().fit_transform(X)
    >>> Z.shape, np.round(Z.std(axis=(0, 1)), 6)
    ((10, 50, 2), array([1., 1.]))
    """

    _parameter_constraints = {
        "with_mean": ["boolean"],
        "with_std": ["boolean"],
        "n_channels": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, *, with_mean=True, with_std=True, n_channels=1):
        self.with_mean = with_mean
        self.with_std = with_std
        self.n_channels = n_channels

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn each channel's mean and standard deviation from the series ``X``."""
        paths = to_paths(X, self.n_channels)
        points = paths.data.reshape(-1, paths.channels) if paths.lengths is None else \
            np.concatenate(paths.collection())       # the series' own points, not the padding
        self.scaler_ = StandardScaler(with_mean=self.with_mean, with_std=self.with_std)
        self.scaler_.fit(points)
        return self

    def transform(self, X):
        """Scaled series, in the form ``as_path_collection`` gives (3-D array or list)."""
        check_is_fitted(self)
        paths = to_paths(X, self.n_channels)
        if paths.channels != self.scaler_.n_features_in_:
            raise ValueError(f"X has {paths.channels} channels, but ChannelScaler was fitted "
                             f"on {self.scaler_.n_features_in_}")
        # one call for all the points; a padding point (a copy of the last) scales as it
        points = self.scaler_.transform(paths.data.reshape(-1, paths.channels))
        return replace(paths, data=points.reshape(paths.data.shape)).collection()
