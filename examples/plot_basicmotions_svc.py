"""
Classifying activities with the signature-kernel SVM
====================================================

BasicMotions (aeon): 40 training and 40 test recordings of four activities, 6 channels, 100
points. ``ChannelScaler -> SigKernelSVC`` is tuned over ``C`` and the RBF bandwidth by
5-fold cross-validation; the kernel cache computes each kernel entry once across the search.
"""
import matplotlib.pyplot as plt
from aeon.datasets import load_classification
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sksigkernel import SigKernelSVC, cache, from_channels_first
from sksigkernel.preprocessing import ChannelScaler

X, y = load_classification("BasicMotions", split="train")
X_test, y_test = load_classification("BasicMotions", split="test")
X, X_test = from_channels_first(X), from_channels_first(X_test)     # channels last

model = make_pipeline(ChannelScaler(), SigKernelSVC(static_kernel="rbf", time_aug=True))
search = GridSearchCV(model, {"sigkernelsvc__C": [1, 10, 100],
                              "sigkernelsvc__sigma": [30, 100]}, cv=5)
search.fit(X, y)
print(f"best: {search.best_params_}, test accuracy {search.score(X_test, y_test):.3f}")
print(f"kernel evaluations: {cache.info().evaluations}")

# %%
ConfusionMatrixDisplay.from_estimator(search, X_test, y_test, colorbar=False)
plt.title("BasicMotions: SigKernelSVC")
plt.show()
