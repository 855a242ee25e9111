"""dyadic_order="auto" against fixed settings: seconds and error on one gram, same process.

A 200 x 200 gram of Brownian paths (L=100, 4 channels, variance 1 over the path), float64,
n_jobs=-1, for two static kernels: linear, and the estimators' default (RBF with
sigma="median" from the paths, time augmentation). Each row: our finite differences (FD)
at dyadic orders 0 to 2, the polynomial method at fixed degrees without splitting, and
"auto" at the default tolerance 1e-8; its seconds, the ratio to FD at dyadic order 1, and
its largest error relative to sqrt(k(x, x) k(y, y)) against a converged reference (degree
14 on cells split 2 x 2). For "auto", also how many pairs got each (split, degree).

    python benchmarks/bench_auto.py [--repeat 3] [--paths 200]
"""
import argparse
import collections

import numpy as np

import sksigkernel as sk
from sksigkernel import functional
from _timing import best


def plans(X, kernel):
    """(split, degree): pairs, as "auto" plans the gram's triangle (with the paths'
    magnification: functional._Problem._plans)."""
    prob = functional._Problem(X, X, "auto", kernel["static_kernel"],
                               kernel.get("time_aug", False), False, 1.0, -1,
                               method="polynomial")
    pa, pb = (np.ascontiguousarray(a, dtype=np.intp) for a in np.triu_indices(len(X)))
    counts = collections.Counter()
    for _, blocks, _ in prob._plans(prob.X1, prob.X1, None, None, pa, pb, {}, (1, 1)):
        for _, count, d, _, N in blocks:
            counts[int(d), int(N)] += int(count)
    return dict(sorted(counts.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--paths", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.normal(size=(args.paths, 100, 4)) / np.sqrt(100), axis=1)
    # the estimators' default kernel: sigma as SigKernelRidge() takes it from these paths
    sigma = sk.SigKernelRidge().fit(X, np.zeros(len(X))).sigma_
    kernels = {"linear": dict(static_kernel=sk.LinearKernel()),
               f"rbf (sigma={sigma:.3g}), time_aug": dict(static_kernel=sk.RBFKernel(sigma),
                                                          time_aug=True)}
    print(f"{'kernel':28s} {'setting':18s} {'seconds':>8s} {'x FD 1':>7s} {'rel. error':>11s}")
    for name, kernel in kernels.items():
        reference = sk.sig_kernel_gram(X, None, 1, method="polynomial", order=14, **kernel)
        norms = np.sqrt(np.outer(np.diag(reference), np.diag(reference)))
        runs = [(f"FD dyadic {d}", dict(dyadic_order=d)) for d in range(3)] + \
            [(f"polynomial N={n}", dict(dyadic_order=0, method="polynomial", order=n))
             for n in (4, 5, 6, 7, 8)] + \
            [("auto (1e-8)", dict(dyadic_order="auto", method="polynomial"))]
        base = None
        for label, settings in runs:
            def fn():       # each call measures its paths afresh ("auto" keeps them)
                sk.cache.clear()
                return sk.sig_kernel_gram(X, None, **settings, **kernel)
            K = fn()
            seconds = best(fn, args.repeat, warmup=False)
            base = base if label != "FD dyadic 1" else seconds
            ratio = f"{seconds / base:7.2f}" if base else f"{'':7s}"
            error = np.max(np.abs(K - reference) / norms)
            print(f"{name:28s} {label:18s} {seconds:8.3f} {ratio} {error:11.2e}", flush=True)
        print(f"{name:28s} auto's (split, degree): pairs {plans(X, kernel)}")


if __name__ == "__main__":
    main()
