"""Accuracy against time: our finite differences (FD) and polynomial method, and pysiglib's.

A 64 x 64 gram of Brownian paths (L=64, 4 channels, variance 1 over the path), float64,
n_jobs=-1, same process, same inputs. The error is the largest deviation from a converged
reference (our polynomial method at order 20 on cells split 2 x 2, which pysiglib's order 16
agrees with) relative to the largest entry. Prints a table, the polynomial method's gram
backprop against its forward, and saves a log-log plot of error against seconds.

    python benchmarks/bench_accuracy.py [--repeat 3] [--plot accuracy.png]
"""
import argparse

import numpy as np

import sksigkernel as sk
from _timing import best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--plot", default="accuracy.png")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    X = np.cumsum(rng.normal(size=(64, 64, 4)) / np.sqrt(64), axis=1)
    reference = sk.sig_kernel_gram(X, None, 1, method="polynomial", order=20)
    scale = np.abs(reference).max()
    try:
        import pysiglib
    except ImportError:
        pysiglib = None

    runs = {"ours FD": [(f"dyadic {d}", lambda d=d: sk.sig_kernel_gram(X, None, d))
                        for d in range(5)],
            "ours polynomial": [(f"order {n}", lambda n=n: sk.sig_kernel_gram(
                X, None, 0, method="polynomial", order=n)) for n in range(2, 13, 2)]}
    if pysiglib is not None:
        runs["pysiglib FD"] = [(f"dyadic {d}", lambda d=d: pysiglib.sig_kernel_gram(
            X, X, dyadic_order=d, n_jobs=-1)) for d in range(4)]
        runs["pysiglib polynomial"] = [(f"order {n}", lambda n=n: pysiglib.sig_kernel_gram(
            X, X, method="polynomial", order=n, n_jobs=-1)) for n in range(2, 13, 2)]
        agree = np.abs(pysiglib.sig_kernel_gram(X, X, method="polynomial", order=16)
                       - reference).max() / scale
        print(f"reference check: pysiglib polynomial order 16 is {agree:.1e} from it")

    print(f"{'solver':22s} {'setting':10s} {'seconds':>9s} {'rel. error':>11s}")
    results = {}
    for name, settings in runs.items():
        results[name] = []
        for label, fn in settings:
            K = fn()                          # also the warm-up
            seconds = best(fn, args.repeat, warmup=False)
            error = np.abs(np.asarray(K) - reference).max() / scale
            results[name].append((seconds, error))
            print(f"{name:22s} {label:10s} {seconds:9.4f} {error:11.2e}")

    # the polynomial method's gram backprop (both sides, a gram of distinct batches) against
    # its forward on the same gram
    Y = np.cumsum(rng.normal(size=(64, 64, 4)) / np.sqrt(64), axis=1)
    derivs = rng.normal(size=(64, 64))
    for n in (4, 8):
        opts = dict(method="polynomial", order=n)
        fwd = best(lambda: sk.sig_kernel_gram(X, Y, 0, **opts), args.repeat)
        bwd = best(lambda: sk.sig_kernel_gram_backprop(derivs, X, Y, 0, left_deriv=True,
                                                       right_deriv=True, **opts), args.repeat)
        print(f"polynomial order {n}: gram(X, Y) {fwd:.4f} s, its backprop {bwd:.4f} s, "
              f"{bwd / fwd:.2f}x")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, points in results.items():
        seconds, errors = zip(*points)
        ax.loglog(seconds, np.maximum(errors, 1e-17), "o-", label=name)
    ax.set_xlabel("seconds (64 x 64 gram, L=64, 4 channels, 2 threads)")
    ax.set_ylabel("error / largest entry")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.plot, dpi=120)
    print(f"saved {args.plot}")


if __name__ == "__main__":
    main()
