"""float32 against float64: the drift of the finite-difference scheme under refinement.

Gram matrices of 6 Brownian paths (L=200, 2 channels, variance 1 over the path), float32
against float64 on the same (float32) points, at dyadic orders 0 to 4, over several draws:
the largest deviation relative to the largest entry, and the time of a 64 x 64 gram
(L=100, 4 channels) in each precision.

    python benchmarks/bench_float32.py [--draws 6]
"""
import argparse

import numpy as np

import sksigkernel as sk
from _timing import best

ORDERS = range(5)


def drift(draws):
    worst = np.zeros(len(ORDERS))
    for seed in range(draws):
        rng = np.random.default_rng(seed)
        X = (rng.normal(size=(6, 200, 2)).cumsum(axis=1) / np.sqrt(200)).astype(np.float32)
        for i, d in enumerate(ORDERS):
            K32 = sk.sig_kernel_gram(X, None, d).astype(np.float64)
            K64 = sk.sig_kernel_gram(X.astype(np.float64), None, d)
            worst[i] = max(worst[i], np.abs(K32 - K64).max() / np.abs(K64).max())
    return worst


def seconds(X, d):
    return best(lambda: sk.sig_kernel_gram(X, None, d))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=6)
    args = parser.parse_args()
    worst = drift(args.draws)
    print(f"float32 - float64, largest over {args.draws} draws (relative to the largest entry)")
    print("dyadic order  " + "  ".join(f"{d:>8d}" for d in ORDERS))
    print("error         " + "  ".join(f"{e:8.1e}" for e in worst))
    X = np.random.default_rng(0).normal(size=(64, 100, 4)).cumsum(axis=1) / 10
    print("\n64 x 64 gram, L=100, 4 channels: float64 / float32 ms")
    for d in range(4):
        t64, t32 = seconds(X, d), seconds(X.astype(np.float32), d)
        print(f"order {d}: {t64 * 1e3:7.1f} / {t32 * 1e3:7.1f}   float32 {t64 / t32:.2f}x faster")


if __name__ == "__main__":
    main()
