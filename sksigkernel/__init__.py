"""sksigkernel: signature kernels of time series, fast, with exact gradients.

The functional API keeps pysiglib's names and parameters::

    from sksigkernel import sig_kernel, sig_kernel_gram, sig_kernel_backprop, \
        sig_kernel_gram_backprop

``sksigkernel.torch_api`` wraps the forward functions as torch autograd functions.

On top sits a scikit-learn layer: :class:`SigKernel` (a callable kernel for any estimator),
:class:`SigKernelSVC`, :class:`SigKernelRidge`, Nyström features from learned inducing
paths (:class:`SigKernelNystroem`), sparse GP regression (:class:`SparseSigGPRegressor`),
the MMD two-sample test (:func:`sig_mmd_test`, :class:`SigMMDTest`) and the differentiable
:func:`sig_mmd`.
"""
from .functional import sig_kernel, sig_kernel_backprop, sig_kernel_gram, sig_kernel_gram_backprop
from .static_kernels import (LinearKernel, Matern12Kernel, Matern32Kernel, Matern52Kernel,
                             PolynomialKernel, RationalQuadraticKernel, RBFKernel,
                             ScaledLinearKernel, StaticKernel)
from .transforms import lead_lag, time_augment
from .collection import as_path_collection, from_channels_first
from .kernel import SigKernel
from .kernel_ridge import SigKernelRidge
from .mmd import MMDTestResult, SigMMDTest, sig_mmd, sig_mmd_test
from .svm import SigKernelSVC
from .nystroem import SigKernelNystroem
from .gaussian_process import SparseSigGPRegressor
from . import cache

__version__ = "0.1.0"

__all__ = ["sig_kernel", "sig_kernel_gram", "sig_kernel_backprop", "sig_kernel_gram_backprop",
           "StaticKernel", "LinearKernel", "ScaledLinearKernel", "RBFKernel", "Matern12Kernel",
           "Matern32Kernel", "Matern52Kernel", "PolynomialKernel", "RationalQuadraticKernel",
           "time_augment", "lead_lag", "as_path_collection", "from_channels_first", "SigKernel",
           "SigKernelSVC", "SigKernelRidge", "SigMMDTest", "sig_mmd_test", "sig_mmd",
           "MMDTestResult", "SigKernelNystroem", "SparseSigGPRegressor", "cache"]
