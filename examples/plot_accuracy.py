"""
Accuracy against time: finite differences and the polynomial method
===================================================================

A 32 x 32 gram of Brownian paths (32 points, 3 channels), float64. The error is the largest
deviation from a converged reference (the polynomial method at degree 20 on cells split
2 x 2) relative to the largest entry. Finite differences halve their step per dyadic level;
the polynomial method raises its degree. ``benchmarks/bench_accuracy.py`` prints the full
table against pysiglib.
"""
import time

import matplotlib.pyplot as plt
import numpy as np

from sksigkernel import sig_kernel_gram

rng = np.random.default_rng(0)
X = np.cumsum(rng.normal(size=(32, 32, 3)) / np.sqrt(32), axis=1)
reference = sig_kernel_gram(X, None, 1, method="polynomial", order=20)
scale = np.abs(reference).max()


def measure(**options):
    start = time.perf_counter()
    K = sig_kernel_gram(X, None, **options)
    return time.perf_counter() - start, np.abs(K - reference).max() / scale


fd = [measure(dyadic_order=d) for d in range(5)]
poly = [measure(dyadic_order=0, method="polynomial", order=n) for n in range(2, 12, 2)]
auto = measure(dyadic_order="auto", method="polynomial", tolerance=1e-8)
for name, rows in (("FD, dyadic order 0-4", fd), ("polynomial, degree 2-10", poly)):
    print(name, ", ".join(f"{e:.1e} in {t * 1e3:.0f} ms" for t, e in rows))
print(f"auto, tolerance 1e-8: {auto[1]:.1e} in {auto[0] * 1e3:.0f} ms")

# %%
fig, ax = plt.subplots(figsize=(6, 4))
ax.loglog(*zip(*fd), "o-", label="finite differences (dyadic order 0-4)")
ax.loglog(*zip(*poly), "s-", label="polynomial (degree 2-10)")
ax.loglog(*auto, "k*", markersize=12, label='dyadic_order="auto", tolerance 1e-8')
ax.set_xlabel("seconds")
ax.set_ylabel("error / largest entry")
ax.legend()
plt.show()
