"""
Kernel ridge regression on ragged series
========================================

JapaneseVowels (aeon): 270 training and 370 test utterances of 9 speakers, 12 channels,
lengths 7 to 29, so the series come as a list. ``SigKernelRidge`` regresses one-hot speaker
labels; the largest predicted coordinate is the predicted speaker.
"""
import matplotlib.pyplot as plt
import numpy as np
from aeon.datasets import load_classification
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.pipeline import make_pipeline

from sksigkernel import SigKernelRidge, from_channels_first
from sksigkernel.preprocessing import ChannelScaler

X, y = load_classification("JapaneseVowels", split="train")
X_test, y_test = load_classification("JapaneseVowels", split="test")
X, X_test = from_channels_first(X), from_channels_first(X_test)     # lists of (L_i, 12)
print(f"lengths {min(map(len, X))} to {max(map(len, X))}")

classes = np.unique(y)
onehot = (y[:, None] == classes).astype(float)
model = make_pipeline(ChannelScaler(), SigKernelRidge(alpha=0.1, static_kernel="rbf",
                                                      sigma=30.0, time_aug=True))
predicted = classes[model.fit(X, onehot).predict(X_test).argmax(axis=1)]
print(f"test accuracy {np.mean(predicted == y_test):.3f}")

# %%
ConfusionMatrixDisplay.from_predictions(y_test, predicted, colorbar=False)
plt.title("JapaneseVowels: SigKernelRidge on one-hot speakers")
plt.show()
