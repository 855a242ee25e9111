"""Nyström features from inducing paths: cost against n, m and steps; accuracy against the
exact kernel SVM on real data; what learning the inducing paths does to the trace error.

1. ``transform`` time for n = 250 .. 2000 Brownian series (L = 50, 4 channels, m = 32):
   it must grow linearly in n.
2. ``fit`` time for m = 8 .. 64 and 0, 10, 30 L-BFGS steps (n = 500).
3. Test accuracy of ``ChannelScaler -> SigKernelNystroem(m) -> LinearSVC`` for m = 8 .. 128
   against the exact ``SigKernelSVC``, on JapaneseVowels and BasicMotions (aeon), the
   kernel of tests/test_datasets.py.
4. BasicMotions, m = 8, normalised kernel or not: the relative trace error of the random,
   greedy and k-means initialisations, before and after 150 L-BFGS steps, against random
   subsets of 2m series.

    python benchmarks/bench_nystroem.py [--quick]
"""
import argparse
import time

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

import sksigkernel as sk
from sksigkernel.nystroem import trace_error
from sksigkernel.preprocessing import ChannelScaler
from _timing import best


def brownian(rng, n, length=50, channels=4):
    return np.cumsum(rng.normal(size=(n, length, channels)) / np.sqrt(length), axis=1)


def transform_against_n(rng):
    print("1. transform time against n (m = 32, L = 50, 4 channels, dyadic order 1)")
    X = brownian(rng, 2000)
    nys = sk.SigKernelNystroem(32, init="random", random_state=0, cache=False).fit(X[:200])
    times = {}
    for n in (250, 500, 1000, 2000):
        times[n] = best(lambda: nys.transform(X[:n]), repeat=5, warmup=False)
        ratio = f"   x{times[n] / times[n // 4]:.2f} the time of n = {n // 4}" if n >= 1000 else ""
        print(f"   n = {n:5d}: {times[n] * 1e3:8.1f} ms{ratio}")


def fit_against_m_and_steps(rng):
    print("2. fit time (n = 500, L = 50, 4 channels, dyadic order 1, L-BFGS)")
    X = brownian(rng, 500)
    for m in (8, 16, 32, 64):
        row = []
        for steps in (0, 10, 30):
            nys = sk.SigKernelNystroem(m, n_iter=steps, random_state=0, cache=False)
            row.append(best(lambda: nys.fit(X), repeat=1, warmup=False))
        print(f"   m = {m:3d}: " + "  ".join(f"{s:2d} steps {t:6.2f} s"
                                             for s, t in zip((0, 10, 30), row)))


def load(name, split):
    from aeon.datasets import load_classification
    X, y = load_classification(name, split=split)
    return sk.from_channels_first(X), y


DATASETS = {"JapaneseVowels": dict(sigma=30.0, C=1), "BasicMotions": dict(sigma=100.0, C=10)}


def accuracy_against_m():
    print("3. test accuracy: ChannelScaler -> SigKernelNystroem(m) -> LinearSVC(C=10) against "
          "the exact SigKernelSVC (RBF static kernel, time_aug)")
    for name, opts in DATASETS.items():
        X, y = load(name, "train")
        X_test, y_test = load(name, "test")
        kernel = dict(static_kernel="rbf", sigma=opts["sigma"], time_aug=True)
        exact = make_pipeline(ChannelScaler(), sk.SigKernelSVC(C=opts["C"], **kernel))
        print(f"   {name}: exact SVC {exact.fit(X, y).score(X_test, y_test):.4f} "
              f"({len(X)} training series)")
        for m in (8, 16, 32, 64, 128):
            if m > len(X):
                continue
            scores = []
            for init in ("random", "greedy"):
                clf = make_pipeline(ChannelScaler(),
                                    sk.SigKernelNystroem(m, init=init, random_state=0, **kernel),
                                    LinearSVC(C=10, max_iter=20000))
                scores.append(clf.fit(X, y).score(X_test, y_test))
            print(f"      m = {m:3d}: random {scores[0]:.4f}   greedy {scores[1]:.4f}")


def learning_basic_motions(steps):
    print(f"4. BasicMotions, m = 8: relative trace error before and after {steps} L-BFGS steps")
    X = ChannelScaler().fit_transform(load("BasicMotions", "train")[0])
    kernel = dict(static_kernel="rbf", sigma=100.0, time_aug=True, dyadic_order=2)
    args = sk.SigKernel(**kernel)._engine_args()
    for normalize in (True, False):
        print(f"   normalize={normalize}")
        for init in ("random", "greedy", "kmeans"):
            start = time.perf_counter()
            nys = sk.SigKernelNystroem(8, init=init, n_iter=steps, random_state=0,
                                       normalize=normalize, **kernel).fit(X)
            before, after = nys.trace_error_[0], nys.trace_error_[-1]
            print(f"      {init:7s}: {before:.4f} -> {after:.4f} (cut {1 - after / before:5.1%})"
                  f", {time.perf_counter() - start:.1f} s")
        subsets = [trace_error(X[np.random.default_rng(seed).choice(len(X), 16, replace=False)],
                               X, args, normalize)[0] for seed in range(10)]
        print(f"      random subsets of 16 series (10 draws): mean {np.mean(subsets):.4f}, "
              f"best {np.min(subsets):.4f}, worst {np.max(subsets):.4f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="30 learning steps, not 150")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    transform_against_n(rng)
    fit_against_m_and_steps(rng)
    accuracy_against_m()
    learning_basic_motions(30 if args.quick else 150)


if __name__ == "__main__":
    main()
