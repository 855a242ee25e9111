"""Wide paths: the static kernel's G by matrix products (BLAS) against the solver's loops
and against pysiglib, same process, same inputs.

A 32 x 32 gram of Brownian paths, L=100, dyadic order 1, float64, n_jobs=-1, at 8 to 1024
channels, with the linear static kernel (or ``--static rbf``: the RBF kernel, sigma = the
channels): forward and gram backprop (both sides), each way of computing G (``loops``: the
solver's lanes, forced by raising the crossover; ``blas``: products a pair), the time that
runs by default, pysiglib's, and the ratio. The crossover (sksigkernel._wide.CHANNELS) is
where ``blas`` starts to win.

    python benchmarks/bench_wide.py [--repeat 3] [--channels 8 16 ...] [--static rbf]
"""
import argparse

import numpy as np

import sksigkernel as sk
from sksigkernel import _wide
from _timing import best


def times(lib, X, Y, derivs, repeat, static):
    """(forward, backprop) seconds of lib on the gram of X and Y."""
    kw = dict(dyadic_order=1, n_jobs=-1)
    if static == "rbf":     # the same kernel in both libraries
        kw["static_kernel"] = lib.RBFKernel(float(X.shape[2]))
    return (best(lambda: lib.sig_kernel_gram(X, Y, **kw), repeat),
            best(lambda: lib.sig_kernel_gram_backprop(derivs, X, Y, left_deriv=True,
                                                      right_deriv=True, **kw), repeat))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 16, 32, 64, 256, 1024])
    parser.add_argument("--static", choices=["linear", "rbf"], default="linear")
    args = parser.parse_args()
    try:
        import pysiglib
    except ImportError:
        pysiglib = None
        print("pysiglib is not installed: timing sksigkernel alone (pip install pysiglib)")
    crossover = _wide.CHANNELS
    rng = np.random.default_rng(0)
    print(f"32 x 32 gram, L=100, dyadic order 1, float64, {args.static} static kernel; ms; "
          f"crossover at {crossover} channels")
    print(f"{'channels':>8} {'':>8} {'loops':>9} {'blas':>9} {'default':>9} {'pysiglib':>9} "
          f"{'ratio':>7}")
    for d in args.channels:
        X, Y = (np.cumsum(rng.normal(size=(32, 100, d)), axis=1) / np.sqrt(100 * d)
                for _ in range(2))
        derivs = rng.normal(size=(32, 32))
        _wide.CHANNELS = 10 ** 9
        loops = times(sk, X, Y, derivs, args.repeat, args.static)
        _wide.CHANNELS = 1
        blas = times(sk, X, Y, derivs, args.repeat, args.static)
        _wide.CHANNELS = crossover
        ours = blas if d >= crossover else loops
        theirs = times(pysiglib, X, Y, derivs, args.repeat, args.static) if pysiglib \
            else (None, None)
        for i, what in enumerate(("forward", "backprop")):
            other = f"{theirs[i] * 1e3:9.1f} {theirs[i] / ours[i]:6.1f}x" if theirs[i] else ""
            print(f"{d if i == 0 else '':>8} {what:>8} {loops[i] * 1e3:9.1f} "
                  f"{blas[i] * 1e3:9.1f} {ours[i] * 1e3:9.1f} {other}")


if __name__ == "__main__":
    main()
