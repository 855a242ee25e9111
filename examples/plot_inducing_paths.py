"""
Learning inducing paths with your own objective
===============================================

On BasicMotions (aeon), 8 inducing paths Z start as random training series and move to
minimise the relative Nyström trace error ``tr(K - Q) / tr(K)``,
``Q = K(X, Z) K(Z, Z)^-1 K(Z, X)``, with ``scipy.optimize.minimize(..., jac=True)``. The
gradient is exact: the objective's derivatives with respect to the grams ``K(Z, X)`` and
``K(Z, Z)`` go through ``sig_kernel_gram_backprop`` (both sides for ``K(Z, Z)``, whose
arguments are both Z). No torch is needed. ``SigKernelNystroem(n_iter=...)`` does the same,
normalised and with the steps boxed, as a transformer.
"""
import matplotlib.pyplot as plt
import numpy as np
import scipy.optimize
from aeon.datasets import load_classification

from sksigkernel import (RBFKernel, from_channels_first, sig_kernel, sig_kernel_gram,
                         sig_kernel_gram_backprop)
from sksigkernel.preprocessing import ChannelScaler

# %%
# The kernel (an RBF static kernel on time-augmented series, dyadic order 2) and the
# objective with its gradient.
OPTIONS = dict(static_kernel=RBFKernel(100.0), time_aug=True)
DYADIC = 2


def trace_error(z, X, shape, trace):
    """The relative trace error of the inducing paths z (flat) and its gradient."""
    Z = z.reshape(shape)
    C = sig_kernel_gram(Z, X, DYADIC, **OPTIONS)                       # K(Z, X), m x n
    S = sig_kernel_gram(Z, Z, DYADIC, **OPTIONS)                       # K(Z, Z), m x m
    S = S + 1e-8 * np.trace(S) / len(S) * np.eye(len(S))               # a little jitter
    A = np.linalg.solve(S, C)                                          # K(Z, Z)^-1 K(Z, X)
    value = 1 - np.sum(C * A) / trace                                  # 1 - tr(Q) / tr(K)
    dC = -2 * A / trace                                                # dL / dK(Z, X)
    dS = A @ A.T / trace                                               # dL / dK(Z, Z)
    gZ, _ = sig_kernel_gram_backprop(dC, Z, X, DYADIC, left_deriv=True, **OPTIONS)
    left, right = sig_kernel_gram_backprop(dS, Z, Z, DYADIC, left_deriv=True,
                                           right_deriv=True, **OPTIONS)
    return value, (gZ + left + right).ravel()


# %%
# The data, the random start, and 60 L-BFGS steps.
X, y = load_classification("BasicMotions", split="train")
X = ChannelScaler().fit_transform(from_channels_first(X))          # (40, 100, 6)
trace = float(np.sum(sig_kernel(X, X, DYADIC, **OPTIONS)))            # tr(K), fixed
Z0 = X[np.random.default_rng(0).choice(len(X), 8, replace=False)]
before, _ = trace_error(Z0.ravel(), X, Z0.shape, trace)
result = scipy.optimize.minimize(trace_error, Z0.ravel(), args=(X, Z0.shape, trace),
                                 jac=True, method="L-BFGS-B", options={"maxiter": 60})
Z = result.x.reshape(Z0.shape)
print(f"trace error: {before:.4f} at the random start, {result.fun:.4f} after "
      f"{result.nit} L-BFGS steps ({1 - result.fun / before:.0%} lower)")

# %%
# Three learned paths (solid) over their starts (dashed) and ten training series (grey).
fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
for ax, channel in zip(axes, (0, 3)):
    for x in X[:10]:
        ax.plot(x[:, channel], color="0.8", lw=0.8)
    for k in range(3):
        ax.plot(Z0[k, :, channel], ls="--", color=f"C{k}", lw=1)
        ax.plot(Z[k, :, channel], color=f"C{k}", lw=1.6)
    ax.set_title(f"channel {channel}")
    ax.set_xlabel("time step")
fig.tight_layout()
plt.show()
