"""Learn inducing paths with your own objective: scipy and the gram backprop, no torch.

On BasicMotions (aeon), m inducing paths Z start as random training series and are moved to
minimise the relative Nyström trace error tr(K - Q) / tr(K), Q = K(X, Z) K(Z, Z)^-1 K(Z, X),
by ``scipy.optimize.minimize(..., jac=True)``. The gradient is exact: the objective's
derivatives with respect to the grams K(Z, X) and K(Z, Z) go through
``sig_kernel_gram_backprop``, both sides for K(Z, Z), whose arguments are both Z. Prints the
trace error before and after, and saves a figure of the learned paths over a few training
series. (``SigKernelNystroem(n_iter=...)`` does the same, normalised, as a transformer.)

    python examples/inducing_paths.py [--m 8] [--steps 100] [--figure inducing_paths.png]
"""
import argparse

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402
from aeon.datasets import load_classification  # noqa: E402

from sksigkernel import (RBFKernel, from_channels_first, sig_kernel,  # noqa: E402
                         sig_kernel_gram, sig_kernel_gram_backprop)
from sksigkernel.preprocessing import ChannelScaler  # noqa: E402

# The kernel: an RBF static kernel on time-augmented series, dyadic order 2.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=8, help="inducing paths")
    parser.add_argument("--steps", type=int, default=100, help="L-BFGS iterations")
    parser.add_argument("--figure", default="inducing_paths.png")
    args = parser.parse_args()

    X, y = load_classification("BasicMotions", split="train")
    X = ChannelScaler().fit_transform(from_channels_first(X))      # (40, 100, 6)
    trace = float(np.sum(sig_kernel(X, X, DYADIC, **OPTIONS)))        # tr(K), fixed
    rng = np.random.default_rng(0)
    Z0 = X[rng.choice(len(X), args.m, replace=False)]
    before, _ = trace_error(Z0.ravel(), X, Z0.shape, trace)
    print(f"BasicMotions: {len(X)} series of {X.shape[1]} points, {X.shape[2]} channels; "
          f"{args.m} inducing paths")
    print(f"trace error of the random start: {before:.4f}")
    result = scipy.optimize.minimize(trace_error, Z0.ravel(), args=(X, Z0.shape, trace),
                                     jac=True, method="L-BFGS-B",
                                     options={"maxiter": args.steps})
    Z = result.x.reshape(Z0.shape)
    print(f"after {result.nit} L-BFGS steps ({result.nfev} evaluations): {result.fun:.4f} "
          f"({1 - result.fun / before:.0%} lower)")

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, channel in zip(axes, (0, 3)):
        for x in X[:10]:
            ax.plot(x[:, channel], color="0.8", lw=0.8)
        for k in range(min(3, args.m)):
            ax.plot(Z0[k, :, channel], ls="--", color=f"C{k}", lw=1)
            ax.plot(Z[k, :, channel], color=f"C{k}", lw=1.6)
        ax.set_title(f"channel {channel}: 10 training series (grey), 3 inducing paths "
                     f"(dashed: start)", fontsize=9)
        ax.set_xlabel("time step")
    fig.tight_layout()
    fig.savefig(args.figure, dpi=120)
    print(f"figure saved to {args.figure}")


if __name__ == "__main__":
    main()
