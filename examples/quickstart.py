"""A first run of sksigkernel: values you can check, a gram, its gradient, and the time taken.

    python examples/quickstart.py
"""
import math
import time

import numpy as np

import sksigkernel as sk


def main():
    rng = np.random.default_rng(0)

    # 1. Two straight lines whose increments have inner product c: k = I0(2 sqrt(c)).
    c = 0.8
    x = np.array([[0.0, 0.0], [1.0, 0.0]])
    y = np.array([[0.0, 0.0], [c, 0.0]])
    bessel = sum(c ** n / math.factorial(n) ** 2 for n in range(30))
    print("straight lines, closed form I0(2 sqrt(c)) =", f"{bessel:.10f}")
    for order in (0, 2, 4, 6):
        print(f"  dyadic order {order}: {sk.sig_kernel(x, y, order):.10f}")

    # 2. A gram of Brownian paths with two volatilities, normalised, with time augmentation.
    n, length, channels = 200, 50, 3
    steps = rng.normal(size=(n, length, channels)) / np.sqrt(length)
    steps[n // 2:] *= 2.0
    X = np.cumsum(steps, axis=1)
    start = time.perf_counter()
    K = sk.sig_kernel_gram(X, None, 1, static_kernel=sk.RBFKernel(1.0), time_aug=True,
                           normalize=True, n_jobs=-1)
    took = time.perf_counter() - start
    low, high = K[:n // 2, :n // 2], K[n // 2:, n // 2:]
    across = K[:n // 2, n // 2:]
    print(f"\n{n}x{n} normalised RBF signature gram (L={length}, {channels} channels): {took:.3f}s")
    print(f"  mean kernel within low volatility {low.mean():.3f}, within high {high.mean():.3f}, "
          f"across {across.mean():.3f}")

    # 3. Its exact gradient: how to move every point of every path to raise sum(K).
    start = time.perf_counter()
    dX, _ = sk.sig_kernel_gram_backprop(np.ones((n, n)), X, X.copy(), 1, True, False, 1.0,
                                        static_kernel=sk.RBFKernel(1.0), n_jobs=-1)
    print(f"  gradient of sum(K) (unnormalised, one side): shape {dX.shape}, "
          f"norm {np.linalg.norm(dX):.3f}, {time.perf_counter() - start:.3f}s")


if __name__ == "__main__":
    main()
