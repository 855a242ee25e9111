"""The GPU forward against pysiglib-cuda and against our CPU engine: same process, same inputs.

Cases: pysiglib's own benchmark setting (32 x 32 gram, L=1000, channels 2/4/8/16, dyadic
order 1, float32), a large gram (2000 x 2000, L=100, 8 channels, dyadic order 0, float32)
and a 10,000 x 10,000 gram (L=100, 8 channels). Times are the best of --repeat, with the
GPU synchronised around each call; each GPU result is checked against the CPU engine on a
corner of the gram. Needs a CUDA GPU, torch with CUDA and the extension
(pip install -Csetup-args=-Dcuda=enabled .); pysiglib-cuda where installed.

    python benchmarks/bench_cuda.py [--repeat 3] [--skip-huge]
"""
import argparse

import numpy as np
import torch

import sksigkernel as sk
from _timing import best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-huge", action="store_true")
    args = parser.parse_args()
    if not sk.cuda.is_available():
        raise SystemExit("no CUDA GPU or no CUDA extension: nothing to time")
    try:
        import pysiglib
    except ImportError:
        pysiglib = None
    print(torch.cuda.get_device_name(), "| pysiglib:",
          getattr(pysiglib, "__version__", "not installed"))
    cases = [(32, 1000, c, 1) for c in (2, 4, 8, 16)] + [(2000, 100, 8, 0)]
    if not args.skip_huge:
        cases.append((10000, 100, 8, 0))
    print(f"{'gram':<14}{'L':>6}{'ch':>4}{'d':>3}{'ours ms':>11}{'pysiglib ms':>13}"
          f"{'ratio':>8}{'cells/s':>11}{'err vs CPU':>12}")
    rng = np.random.default_rng(0)
    for B, L, ch, d in cases:
        X = (rng.normal(size=(B, L, ch)).cumsum(axis=1) / np.sqrt(L)).astype(np.float32)
        G = torch.as_tensor(X, device="cuda")
        ours = best(lambda: sk.sig_kernel_gram(G, None, d), args.repeat,
                    sync=torch.cuda.synchronize)
        K = sk.sig_kernel_gram(G, None, d)[:16, :16].cpu().numpy()
        ref = sk.sig_kernel_gram(X[:16], None, d)
        err = np.abs(K - ref).max() / np.abs(ref).max()
        theirs = None
        if pysiglib is not None and B <= 2000:
            theirs = best(lambda: pysiglib.sig_kernel_gram(G, G, d), args.repeat,
                          sync=torch.cuda.synchronize)
        cells = B * B * ((L - 1) << d) ** 2
        print(f"{B}x{B:<9}{L:>6}{ch:>4}{d:>3}{ours * 1e3:11.2f}"
              f"{'' if theirs is None else f'{theirs * 1e3:.2f}':>13}"
              f"{'' if theirs is None else f'{theirs / ours:.2f}x':>8}{cells / ours:11.3g}"
              f"{err:12.1e}")


if __name__ == "__main__":
    main()
