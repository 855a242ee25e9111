"""What the kernel cache saves in a grid search: kernel evaluations and time.

``GridSearchCV(SigKernelSVC(), {"C": [0.1, 1, 10, 100]}, cv=5)`` on Brownian paths, once with
the cache and once without, counting the kernel values the engine computes
(``cache.info().evaluations``, which counts uncached computations too; tests/test_kernel.py
checks it against a wrapper of the functional API).

    python benchmarks/bench_grid_search.py [--n 200] [--length 100] [--order 1] [--repeat 3]
"""
import argparse
import time

import numpy as np
from sklearn.model_selection import GridSearchCV

from sksigkernel import SigKernelSVC, cache


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of paths")
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--order", type=int, default=1, help="dyadic order")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many searches")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.normal(size=(args.n, args.length, 3)), axis=1) / np.sqrt(args.length)
    y = (X[:, -1, 0] > X[:, 0, 0]).astype(int)

    def search(use_cache):
        cache.clear()
        start = time.perf_counter()
        GridSearchCV(SigKernelSVC(dyadic_order=args.order, cache=use_cache),
                     {"C": [0.1, 1, 10, 100]}, cv=5).fit(X, y)
        return cache.info().evaluations, time.perf_counter() - start

    search(True)                                   # warm up: threads, first calls
    results = {}
    for use in (True, False):
        runs = [search(use) for _ in range(args.repeat)]
        results[use] = (runs[-1][0], min(took for _, took in runs))
    full = args.n ** 2
    print(f"GridSearchCV, 5 folds x 4 values of C, {args.n} paths of length {args.length}, "
          f"dyadic order {args.order}:")
    for use_cache, label in ((True, "with the cache"), (False, "without")):
        count, took = results[use_cache]
        print(f"  {label:<15} {count:>9} kernel values = {count / full:.2f} full grams, "
              f"{took:.2f} s")
    print(f"  saved: {results[False][0] / results[True][0]:.1f}x fewer kernel values, "
          f"{results[False][1] / results[True][1]:.1f}x less time")


if __name__ == "__main__":
    main()
