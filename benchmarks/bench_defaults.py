"""Which kernel settings should SigKernelSVC default to? Test accuracy on the datasets aeon
ships, for each candidate, with a fixed small grid over C alone.

Each candidate is ``ChannelScaler -> SigKernelSVC(candidate)`` (``--raw``: no scaler),
``C`` chosen from {0.1, 1, 10, 100} by 3-fold cross-validation on the training split,
scored on the test split; a candidate names only what it changes from the defaults. A
candidate that fails on a dataset (an unstable or overflowing kernel) is reported with its
error. Prints one table: datasets by candidates, each cell the test accuracy and the seconds
of its search.

    python benchmarks/bench_defaults.py [--raw] [--datasets BasicMotions ...] [--candidates A B ...]
"""
import argparse
import time
import warnings

from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import sksigkernel as sk
from sksigkernel.preprocessing import ChannelScaler

DATASETS = ["BasicMotions", "JapaneseVowels", "ArrowHead", "ItalyPowerDemand", "OSULeaf",
            "ACSF1"]
FD1 = dict(method="finite_difference", dyadic_order=1)
CANDIDATES = {
    # rbf, sigma="median", time_aug, normalize; polynomial method, dyadic_order="auto"
    "default": dict(),
    "FD order 1": FD1,                      # the default solver before
    # the first default: linear, no time, normalize=True, FD order 1
    "former": dict(static_kernel="linear", sigma=1.0, time_aug=False, **FD1),
    "unnormalised": dict(static_kernel="linear", time_aug=False, normalize=False, **FD1),
    "time_aug": dict(static_kernel="linear", **FD1),
    "rbf": dict(sigma=1.0, time_aug=False, **FD1),
    "rbf+time_aug": dict(sigma=1.0, **FD1),
    "order 2": dict(static_kernel="linear", time_aug=False, method="finite_difference",
                    dyadic_order=2),
    "auto": dict(static_kernel="linear", time_aug=False, method="polynomial",
                 dyadic_order="auto"),
    "auto+time_aug": dict(static_kernel="linear", method="polynomial", dyadic_order="auto"),
    "auto scale .3": dict(static_kernel="linear", time_aug=False, method="polynomial",
                          dyadic_order="auto", scale=0.3),
    "auto scale .1": dict(static_kernel="linear", time_aug=False, method="polynomial",
                          dyadic_order="auto", scale=0.1),
    "auto+ta scale .3": dict(static_kernel="linear", method="polynomial", dyadic_order="auto",
                             scale=0.3),
    # sigma twice the channels: about the median |x - y|^2 of ChannelScaler's points
    "rbf+ta 2ch": lambda X: dict(sigma=2.0 * X[0].shape[1], **FD1),
    "auto rbf+ta 2ch": lambda X: dict(sigma=2.0 * X[0].shape[1], method="polynomial",
                                      dyadic_order="auto"),
}


def load(name, split):
    from aeon.datasets import load_classification
    X, y = load_classification(name, split=split)
    return sk.from_channels_first(X), y


def score(X, y, X_test, y_test, settings, raw=False):
    model = make_pipeline(*([] if raw else [ChannelScaler()]), sk.SigKernelSVC(**settings))
    search = GridSearchCV(model, {"sigkernelsvc__C": [0.1, 1, 10, 100]}, cv=3,
                          error_score="raise")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X, y)
    return search.score(X_test, y_test)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=DATASETS)
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES))
    parser.add_argument("--raw", action="store_true", help="no ChannelScaler: the data as is")
    args = parser.parse_args()
    print(f"{'dataset':18s}" + "".join(f"{c:>16s}" for c in args.candidates))
    for name in args.datasets:
        X, y = load(name, "train")
        X_test, y_test = load(name, "test")
        row, start = [], time.perf_counter()
        for candidate in args.candidates:
            sk.cache.clear()
            begun = time.perf_counter()
            try:
                settings = CANDIDATES[candidate]
                settings = settings(X) if callable(settings) else settings
                accuracy = score(X, y, X_test, y_test, settings, args.raw)
                row.append(f"{accuracy:9.3f} ({time.perf_counter() - begun:3.0f}s)")
            except (ValueError, OverflowError) as error:
                row.append(f"{'fails':>16s}")
                print(f"  ({name}, {candidate}: {str(error)[:90]})")
        print(f"{name:18s}" + "".join(row) + f"   ({time.perf_counter() - start:.0f} s)",
              flush=True)


if __name__ == "__main__":
    main()
