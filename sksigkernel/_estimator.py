"""What SigKernelSVC, SigKernelRidge and SigMMDTest share: the kernel's flat parameters and
the reading of ``X``."""
import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_consistent_length, validate_data

from .collection import is_path_list, to_paths
from .kernel import KERNEL_PARAMS, KernelParams, SigKernel, median_sigma


class SigKernelParamsMixin(KernelParams):
    """For estimators that take SigKernel's hyperparameters as their own parameters."""

    def _kernel(self, paths=None):
        """The kernel of these parameters. sigma="median" is computed from ``paths`` (the
        training series, at fit: kept as ``sigma_``), else taken from ``sigma_`` once
        fitted (before, the kernel computes it from the series it is called on)."""
        kernel = SigKernel(**{name: getattr(self, name) for name in KERNEL_PARAMS})
        if isinstance(self.sigma, str):
            if paths is not None:
                self.sigma_ = median_sigma(paths)
            if hasattr(self, "sigma_"):
                kernel.set_params(sigma=self.sigma_)
        return kernel

    def _paths(self, X, reset, name="X"):
        """Validate a collection ``X`` into the engine's ``Paths``; on a 2-D table also record ``n_features_in_`` (reset)
        or check it (not reset) as scikit-learn estimators do."""
        if not is_path_list(X) and (X.ndim if hasattr(X, "ndim") else np.asarray(X).ndim) < 3:
            X = validate_data(self, X, reset=reset, ensure_all_finite="allow-nan",
                              dtype="numeric")
        paths = to_paths(X, self.n_channels, name)
        channels = paths.channels
        if reset:
            self.n_channels_ = channels
        elif channels != self.n_channels_:
            raise ValueError(f"{name} has {channels} channels, but {type(self).__name__} was "
                             f"fitted on series with {self.n_channels_} channels")
        return paths

    @staticmethod
    def _check_targets(paths, y, sample_weight, classifier):
        """Check ``y`` and ``sample_weight`` before the (costly) gram is computed."""
        check_consistent_length(paths, y)
        if classifier:
            check_classification_targets(y)
        if sample_weight is not None:
            _check_sample_weight(sample_weight, paths)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags
