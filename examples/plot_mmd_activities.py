"""
Telling activities apart with the MMD test
==========================================

BasicMotions (aeon) holds 3-D accelerometer and gyroscope recordings of four activities, 20
each. For every pair of activities the signature-kernel MMD permutation test asks whether
their recordings come from the same law; on the diagonal it compares two random halves of
one activity, where it should not reject.
"""
import itertools

import matplotlib.pyplot as plt
import numpy as np
from aeon.datasets import load_classification

from sksigkernel import SigMMDTest, from_channels_first
from sksigkernel.preprocessing import ChannelScaler

X, y = load_classification("BasicMotions")            # train and test splits together
X = ChannelScaler().fit_transform(from_channels_first(X))
activities = sorted(set(y))
rng = np.random.default_rng(0)
test = SigMMDTest(n_permutations=199, static_kernel="rbf", sigma=100.0, time_aug=True,
                  random_state=0)

# %%
# p-values of every pair of activities (halves of one activity on the diagonal).
pvalues = np.empty((len(activities), len(activities)))
for (i, a), (j, b) in itertools.combinations_with_replacement(enumerate(activities), 2):
    if a == b:
        idx = rng.permutation(np.flatnonzero(y == a))
        first, second = X[idx[: len(idx) // 2]], X[idx[len(idx) // 2:]]
    else:
        first, second = X[y == a], X[y == b]
    pvalues[i, j] = pvalues[j, i] = test.fit(first, second).pvalue_
print(np.round(pvalues, 3))

# %%
# The null distribution of the last pair's statistic, and the statistic itself.
walking, running = X[y == "walking"], X[y == "running"]
test.fit(walking, running)
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
im = axes[0].imshow(pvalues, vmin=0, vmax=1, cmap="viridis")
axes[0].set_xticks(range(4), activities, rotation=30)
axes[0].set_yticks(range(4), activities)
axes[0].set_title("p-values")
fig.colorbar(im, ax=axes[0])
axes[1].hist(test.null_distribution_, bins=30, color="0.6")
axes[1].axvline(test.statistic_, color="C3")
axes[1].set_title(f"walking against running: p = {test.pvalue_:.3f}")
fig.tight_layout()
plt.show()
