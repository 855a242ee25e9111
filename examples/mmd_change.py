"""Detect a change between two sets of real series with the signature-kernel MMD test.

BasicMotions (aeon) holds 3-D accelerometer and gyroscope recordings of four activities, 20
each. For every pair of activities the test asks whether their recordings come from the same
law; on the diagonal it compares two random halves of one activity, where it should not
reject. Prints the p-values and the time taken.

    python examples/mmd_change.py
"""
import itertools
import time

import numpy as np
from aeon.datasets import load_classification

from sksigkernel import SigMMDTest, from_channels_first
from sksigkernel.preprocessing import ChannelScaler


def main():
    X, y = load_classification("BasicMotions")            # train and test splits together
    X = ChannelScaler().fit_transform(from_channels_first(X))
    activities = sorted(set(y))
    rng = np.random.default_rng(0)
    test = SigMMDTest(n_permutations=999, static_kernel="rbf", sigma=100.0, time_aug=True,
                      random_state=0)
    print(f"BasicMotions: {len(X)} series of {X.shape[1]} points, {X.shape[2]} channels; "
          f"MMD permutation test, {test.n_permutations} relabellings, p-values:")
    print(" " * 10 + "".join(f"{a:>11}" for a in activities))
    start = time.perf_counter()
    table = np.zeros((len(activities), len(activities)))
    for (i, a), (j, b) in itertools.product(enumerate(activities), repeat=2):
        if j < i:
            table[i, j] = table[j, i]
            continue
        if a == b:                                   # two random halves of one activity
            idx = rng.permutation(np.flatnonzero(y == a))
            first, second = X[idx[:len(idx) // 2]], X[idx[len(idx) // 2:]]
        else:
            first, second = X[y == a], X[y == b]
        table[i, j] = test.fit(first, second).pvalue_
    for a, row in zip(activities, table):
        print(f"{a:>10}" + "".join(f"{p:>11.3f}" for p in row))
    print(f"{time.perf_counter() - start:.1f} s for {len(activities) * (len(activities) + 1) // 2}"
          f" tests; different activities are told apart at 5% when p < 0.05.")


if __name__ == "__main__":
    main()
