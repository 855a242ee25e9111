"""sksigkernel against pysiglib: gram and gram backprop, same process, same inputs.

Brownian paths in float64, n_jobs=-1. Prints the best of ``--repeat`` timings, the ratio
(pysiglib time / sksigkernel time), fine cells per second, and backprop / forward: for
grams of many pairs, then for the kernels of a few pairs of long paths (sig_kernel and
sig_kernel_backprop, both sides), where each pair's grid is cut into strips, by finite
differences at a dyadic order and by the polynomial method of a degree (``N=``). With
``--memory`` it also measures the peak resident memory of a 2000 x 2000 gram of length-100,
8-channel paths at dyadic order 0, in a fresh process.

    python benchmarks/bench_engine.py [--repeat 3] [--memory]
"""
import argparse
import os
import subprocess
import sys

import numpy as np

import sksigkernel as sk
from _timing import best

CASES = [(128, 64, 4, 0), (128, 64, 4, 1), (128, 64, 4, 2), (32, 256, 8, 1)]
FEW_PAIRS = [(1, 1000, 4, 0), (1, 1000, 4, 2), (4, 1000, 4, 1), (16, 500, 4, 1)]
# (pairs, length, channels, degree) at dyadic order 0
FEW_POLYNOMIAL = [(1, 200, 4, 8), (1, 1000, 4, 8), (2, 500, 4, 6)]


def brownian(rng, n, length, channels):
    return np.cumsum(rng.normal(size=(n, length, channels)) / np.sqrt(length), axis=1)


def report(name, cells, ours, theirs):
    """Lines for one case: forward and backprop, ours against pysiglib's (None: absent)."""
    for what, mine, other in (("forward", ours[0], theirs[0]), ("backprop", ours[1], theirs[1])):
        other_s = f"{other:10.4f}s" if other else f"{'-':>11}"
        ratio = f"{other / mine:7.1f}x" if other else f"{'-':>8}"
        print(f"{name + ' ' + what:<34}{mine:11.4f}s{other_s}{ratio}{cells / mine:11.3g}")
    print(f"{'':<34}backprop / forward (ours): {ours[1] / ours[0]:.2f}")


def run(repeat):
    try:
        import pysiglib
    except ImportError:
        pysiglib = None
        print("pysiglib is not installed: timing sksigkernel alone (pip install pysiglib)")
    rng = np.random.default_rng(0)
    header = f"{'case':<34}{'sksigkernel':>12}{'pysiglib':>11}{'ratio':>8}{'cells/s':>11}"
    print(header)
    print("-" * len(header))
    for gram, cases, poly in ((True, CASES, False), (False, FEW_PAIRS, False),
                              (False, FEW_POLYNOMIAL, True)):
        # the same names and parameters in both libraries
        forward, backprop = ("sig_kernel_gram", "sig_kernel_gram_backprop") if gram else \
            ("sig_kernel", "sig_kernel_backprop")
        for B, L, d, order in cases:
            X, Y = brownian(rng, B, L, d), brownian(rng, B, L, d)
            derivs = rng.normal(size=(B, B) if gram else B)

            def times(lib):
                if lib is None:
                    return None, None
                kw = dict(dyadic_order=order)
                if poly:    # (pysiglib's polynomial method takes no dyadic order: unsplit)
                    kw = dict(method="polynomial", order=order)
                    if lib is sk:
                        kw["dyadic_order"] = 0
                return (best(lambda: getattr(lib, forward)(X, Y, n_jobs=-1, **kw), repeat),
                        best(lambda: getattr(lib, backprop)(
                            derivs, X, Y, left_deriv=True, right_deriv=True, n_jobs=-1, **kw),
                            repeat))
            name = f"gram {B}x{B}" if gram else f"{B} pair{'s' * (B > 1)}"
            setting = f"N={order}" if poly else f"order={order}"
            report(f"{name} L={L} d={d} {setting}",
                   (B * B if gram else B) * ((L - 1) << (0 if poly else order)) ** 2, times(sk),
                   times(pysiglib))


MEMORY_SCRIPT = """
import time, numpy as np, sksigkernel as sk

def peak_mib():   # this process's high-water mark (VmHWM is not inherited through exec)
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith('VmHWM')) / 1024

X = np.cumsum(np.random.default_rng(0).normal(size=(2000, 100, 8)) / 10, axis=1)
before = peak_mib()
start = time.perf_counter()
K = sk.sig_kernel_gram(X, None, 0, n_jobs=-1)
took = time.perf_counter() - start
cells = 2000 * 2001 / 2 * 99 * 99
print(f"2000x2000 gram, L=100, 8 channels, order 0: {took:.2f}s, {cells / took:.3g} cells/s "
      f"(one triangle); peak memory {peak_mib():.0f} MiB, of which {before:.0f} MiB before the "
      f"call (Python, numpy, inputs); the output alone is {K.nbytes / 2**20:.0f} MiB")
"""


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory", action="store_true")
    args = parser.parse_args()
    run(args.repeat)
    if args.memory:
        # from the benchmark's folder, so that the installed package is imported, not the
        # source tree of the repository root (which has no compiled solver)
        subprocess.run([sys.executable, "-c", MEMORY_SCRIPT], check=True,
                       cwd=os.path.dirname(os.path.abspath(__file__)))
