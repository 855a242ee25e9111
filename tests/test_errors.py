"""Bad input gets a clear error that names the argument."""
import numpy as np
import pytest
from sklearn.utils._param_validation import InvalidParameterError

import sksigkernel as sk

X = np.random.default_rng(0).normal(size=(3, 5, 2))


@pytest.mark.parametrize("bad,match", [
    (np.full((3, 5, 2), np.nan), "path1 contains NaN"),
    (np.full((3, 5, 2), np.inf), "path1 contains NaN or infinite"),
    (np.zeros((2, 3, 5, 2)), "path1 must have shape"),
    (np.zeros(5), "path1 must have shape"),
    (np.zeros((3, 0, 2)), "path1 has paths of length 0"),
])
def test_bad_paths(bad, match):
    with pytest.raises(ValueError, match=match):
        sk.sig_kernel_gram(bad, X, 1)


def test_wrong_types():
    with pytest.raises(TypeError, match="path2 must be a numpy array"):
        sk.sig_kernel_gram(X, "abc", 1)
    with pytest.raises(TypeError, match="path1 must hold float32, float64 or integer"):
        sk.sig_kernel_gram(X.astype(np.complex128), X, 1)
    with pytest.raises(TypeError, match="static_kernel must be"):
        sk.sig_kernel_gram(X, X, 1, static_kernel="rbf")
    with pytest.raises(TypeError, match="time_aug must be True or False"):
        sk.sig_kernel_gram(X, X, 1, time_aug="yes")


def test_mismatched_channels_and_batches():
    with pytest.raises(ValueError, match="same number of channels"):
        sk.sig_kernel_gram(X, np.zeros((2, 5, 3)), 1)
    with pytest.raises(ValueError, match="batches of the same size"):
        sk.sig_kernel(X, X[:2], 1)
    with pytest.raises(ValueError, match=r"paths in path1 have different numbers of channels"):
        sk.sig_kernel_gram([np.zeros((3, 2)), np.zeros((4, 3))], X, 1)


@pytest.mark.parametrize("order", [-1, 17, (1, 2, 3), (1, -1)])
def test_bad_dyadic_order(order):
    with pytest.raises(ValueError, match="dyadic_order"):
        sk.sig_kernel_gram(X, X, order)


@pytest.mark.parametrize("order", [1.5, "2", "a", True, (1, 2.0), None])
def test_dyadic_order_of_wrong_type(order):
    # pysiglib raises TypeError for a dyadic order that is not an integer
    with pytest.raises(TypeError, match="dyadic_order"):
        sk.sig_kernel_gram(X, X, order)


@pytest.mark.parametrize("n_jobs", [0, 1.5, "all", True])
def test_bad_n_jobs(n_jobs):
    with pytest.raises(InvalidParameterError, match="n_jobs"):
        sk.sig_kernel_gram(X, X, 1, n_jobs=n_jobs)


def test_bad_max_batch():
    with pytest.raises(ValueError, match="max_batch"):
        sk.sig_kernel_gram(X, X, 1, max_batch=0)


def test_backprop_errors():
    with pytest.raises(ValueError, match=r"derivs must have shape \(3, 3\)"):
        sk.sig_kernel_gram_backprop(np.ones((3, 2)), X, X, 1)
    with pytest.raises(ValueError, match="derivs contains NaN"):
        sk.sig_kernel_gram_backprop(np.full((3, 3), np.nan), X, X, 1)
    with pytest.raises(ValueError, match="at least one of left_deriv and right_deriv"):
        sk.sig_kernel_gram_backprop(np.ones((3, 3)), X, X, 1, left_deriv=False)
    with pytest.raises(ValueError, match="k_grid must have shape"):
        sk.sig_kernel_gram_backprop(np.ones((3, 3)), X, X, 1, k_grid=np.ones((3, 3, 9, 8)))
    with pytest.raises(ValueError, match=r"derivs must have shape \(3,\)"):
        sk.sig_kernel_backprop(np.ones(2), X, X, 1)


def test_static_kernel_parameters():
    with pytest.raises(ValueError, match="RBFKernel: sigma must be a positive number"):
        sk.RBFKernel(0.0)
    with pytest.raises(ValueError, match="alpha"):
        sk.RationalQuadraticKernel(1.0, alpha=-1)
    with pytest.raises(ValueError, match="degree"):
        sk.PolynomialKernel(degree=-1)


def test_normalize_with_grid():
    with pytest.raises(ValueError, match="normalize=True cannot be combined with return_grid"):
        sk.sig_kernel_gram(X, X, 1, normalize=True, return_grid=True)


def test_tensor_on_another_device_is_refused():
    torch = pytest.importorskip("torch")
    # A meta tensor stands for any tensor neither on the CPU nor on a CUDA GPU (those go to
    # sksigkernel.cuda: tests/test_cuda.py).
    t = torch.empty((3, 5, 2), dtype=torch.float64, device="meta")
    with pytest.raises(ValueError, match="path1 is a tensor on device"):
        sk.sig_kernel_gram(t, torch.zeros(3, 5, 2, dtype=torch.float64), 1)


@pytest.mark.parametrize("method", ["finite_difference", "polynomial"])
def test_overflow_is_inf_with_a_warning_never_nan(method):
    # increments of about 50: k(x, y) is far beyond float64 (the scheme met inf - inf)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 50, 2)).cumsum(axis=1) * 50
    small = X[:1] / 1000
    for fn, args in [(sk.sig_kernel_gram, (np.concatenate([X, small]), None)),
                     (sk.sig_kernel, (X, X))]:
        with pytest.warns(RuntimeWarning, match="overflowed float64 and are inf.*scale them"):
            K = fn(*args, 0, method=method)
        assert not np.isnan(K).any() and np.isinf(K).any()
    assert np.isfinite(sk.sig_kernel_gram(small, None, 0, method=method)).all()
    with pytest.warns(RuntimeWarning, match="overflowed float32 .* or pass float64 paths"):
        sk.sig_kernel_gram(X[:, :8].astype(np.float32) / 5, None, 0, method=method)
    if method == "finite_difference":
        # kernels carry a scale exponent: normalised, they stay finite; but dyadic order 0
        # is far too coarse for these paths, and the normalised kernels show it
        with pytest.warns(RuntimeWarning, match="normalised kernels exceed 1 .* inaccurate"):
            K = sk.sig_kernel_gram(X, None, 0, method=method, normalize=True)
    else:
        K = sk.sig_kernel_gram(X[:, :6], None, "auto", method=method, normalize=True)
    assert np.isfinite(K).all() and np.allclose(np.diag(K), 1)
