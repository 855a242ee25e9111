"""sksigkernel: signature kernels of time series, fast, with exact gradients.

The functional API keeps pysiglib's names and parameters::

    from sksigkernel import sig_kernel, sig_kernel_gram, sig_kernel_backprop, \
        sig_kernel_gram_backprop

``sksigkernel.torch_api`` wraps the forward functions as torch autograd functions.
"""
from .functional import sig_kernel, sig_kernel_backprop, sig_kernel_gram, sig_kernel_gram_backprop
from .static_kernels import (LinearKernel, Matern12Kernel, Matern32Kernel, Matern52Kernel,
                             PolynomialKernel, RationalQuadraticKernel, RBFKernel,
                             ScaledLinearKernel, StaticKernel)
from .transforms import lead_lag, time_augment

__version__ = "0.1.0"

__all__ = ["sig_kernel", "sig_kernel_gram", "sig_kernel_backprop", "sig_kernel_gram_backprop",
           "StaticKernel", "LinearKernel", "ScaledLinearKernel", "RBFKernel", "Matern12Kernel",
           "Matern32Kernel", "Matern52Kernel", "PolynomialKernel", "RationalQuadraticKernel",
           "time_augment", "lead_lag"]
