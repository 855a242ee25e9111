"""The CUDA route: errors and routing everywhere; on a GPU, every result against the CPU.

The GPU tests (marked ``gpu``) skip cleanly without a CUDA GPU and the extension
(``pip install -Csetup-args=-Dcuda=enabled .``); they compare with the CPU engine to 1e-12
(float64) and 1e-5 (float32) of the largest entry.
"""
import numpy as np
import pytest

import sksigkernel as sk
from sksigkernel import cuda
from helpers import STATIC, brownian

GPU = cuda.is_available()
gpu = pytest.mark.skipif(not GPU, reason="needs a CUDA GPU and the CUDA extension")


class FakeGPUArray:
    """Stands for a CuPy array: only __cuda_array_interface__ says where it lives."""

    __cuda_array_interface__ = {"shape": (2, 5, 2), "typestr": "<f8", "data": (0, False),
                                "version": 3}


def test_is_available_is_a_bool_and_false_without_a_gpu():
    assert isinstance(cuda.is_available(), bool)
    ext = cuda._extension()
    if ext is None or ext.device_count() == 0:
        assert not cuda.is_available()


@pytest.mark.skipif(GPU, reason="the request succeeds on a GPU")
@pytest.mark.parametrize("fn", [sk.sig_kernel, sk.sig_kernel_gram])
def test_cuda_request_without_a_gpu_is_a_clear_runtime_error(rng, fn):
    X = brownian(rng, 2, 5)
    with pytest.raises(RuntimeError, match="CUDA computation was asked for"):
        fn(X, X, 1, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA computation was asked for"):
        fn(FakeGPUArray(), FakeGPUArray(), 1)


def test_device_is_checked(rng):
    X = brownian(rng, 2, 5)
    with pytest.raises(ValueError, match="device must be None, 'cpu' or 'cuda'"):
        sk.sig_kernel_gram(X, X, 1, device="gpu")
    np.testing.assert_array_equal(sk.sig_kernel_gram(X, X, 1, device="cpu"),
                                  sk.sig_kernel_gram(X, X, 1))
    with pytest.raises(ValueError, match="device='cpu' was given for paths that live on"):
        sk.sig_kernel_gram(FakeGPUArray(), FakeGPUArray(), 1, device="cpu")


def test_paths_on_both_sides_of_the_bus_are_refused(rng):
    X = brownian(rng, 2, 5)
    with pytest.raises(TypeError, match="both be on the GPU or both on the CPU"):
        sk.sig_kernel_gram(FakeGPUArray(), X, 1)
    with pytest.raises(TypeError, match="both be on the GPU or both on the CPU"):
        sk.sig_kernel(X, [FakeGPUArray()], 1)


@pytest.mark.parametrize("fn", [sk.sig_kernel_backprop, sk.sig_kernel_gram_backprop])
def test_gradients_of_gpu_paths_say_they_are_not_built(fn):
    with pytest.raises(NotImplementedError, match="gradients on the GPU are not built yet"):
        fn(np.ones((2, 2)), FakeGPUArray(), FakeGPUArray(), 1)


def test_dask_arrays_take_no_device(rng):
    da = pytest.importorskip("dask.array")
    X = da.from_array(brownian(rng, 4, 5), chunks=(2, 5, 2))
    with pytest.raises(ValueError, match="device is not for dask arrays"):
        sk.sig_kernel_gram(X, X, 1, device="cuda")


# --- on a GPU -------------------------------------------------------------------------

def _close(gpu_result, cpu_result, dtype):
    got = np.asarray(gpu_result.cpu() if hasattr(gpu_result, "cpu") else gpu_result,
                     dtype=np.float64)
    ref = np.asarray(cpu_result, dtype=np.float64)
    assert got.shape == ref.shape
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert np.abs(got - ref).max() <= tol * max(np.abs(ref).max(), 1.0)


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kernel", STATIC, ids=repr)
def test_gpu_gram_equals_cpu(rng, kernel, dtype):
    torch = pytest.importorskip("torch")
    X, Y = brownian(rng, 5, 9, 3).astype(dtype), brownian(rng, 4, 12, 3).astype(dtype)
    for order, options in [(0, {}), (1, {"time_aug": True}), ((2, 1), {"lead_lag": True}),
                           (1, {"normalize": True, "end_time": 2.0, "time_aug": True})]:
        ref = sk.sig_kernel_gram(X, Y, order, static_kernel=kernel, **options)
        got = sk.sig_kernel_gram(torch.as_tensor(X, device="cuda"),
                                 torch.as_tensor(Y, device="cuda"), order,
                                 static_kernel=kernel, **options)
        assert got.is_cuda and got.dtype == torch.as_tensor(X).dtype
        _close(got, ref, dtype)
        _close(sk.sig_kernel(torch.as_tensor(X[:4], device="cuda"),
                             torch.as_tensor(Y, device="cuda"), order, static_kernel=kernel,
                             **options),
               sk.sig_kernel(X[:4], Y, order, static_kernel=kernel, **options), dtype)


@pytest.mark.gpu
@gpu
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gpu_ragged_lists_long_paths_and_numpy_with_device(rng, dtype):
    """Lists of several lengths; paths long enough that a pair's columns take several
    panels of the warp (more than 256 fine columns); numpy in with device='cuda'."""
    torch = pytest.importorskip("torch")
    X = [brownian(rng, 1, L, 2)[0].astype(dtype) for L in (3, 40, 170)]
    Y = [brownian(rng, 1, L, 2)[0].astype(dtype) for L in (150, 7)]
    for order in (0, (1, 2)):
        ref = sk.sig_kernel_gram(X, Y, order)
        got = sk.sig_kernel_gram([torch.as_tensor(x, device="cuda") for x in X],
                                 [torch.as_tensor(y, device="cuda") for y in Y], order)
        _close(got, ref, dtype)
        host = sk.sig_kernel_gram(X, Y, order, device="cuda")
        assert isinstance(host, np.ndarray)
        _close(host, ref, dtype)


@pytest.mark.gpu
@gpu
def test_gpu_cupy_in_cupy_out(rng):
    cupy = pytest.importorskip("cupy")
    X = brownian(rng, 6, 20, 3)
    got = sk.sig_kernel_gram(cupy.asarray(X), None, 2)
    assert isinstance(got, cupy.ndarray)
    _close(cupy.asnumpy(got), sk.sig_kernel_gram(X, None, 2), np.float64)


@pytest.mark.gpu
@gpu
def test_gpu_forward_is_deterministic(rng):
    torch = pytest.importorskip("torch")
    X = torch.as_tensor(brownian(rng, 30, 50, 4), device="cuda")
    K = sk.sig_kernel_gram(X, None, 1)
    for _ in range(3):
        assert torch.equal(sk.sig_kernel_gram(X, None, 1), K)


@pytest.mark.parametrize("options", [dict(), dict(time_aug=True, end_time=2.5),
                                     dict(lead_lag=True), dict(lead_lag=True, time_aug=True)])
def test_gpu_side_padding_and_transforms_equal_the_cpu_ones(rng, options):
    """The GPU route's batches (padding of lists, lead-lag, time augmentation, done with
    the caller's array library) equal the CPU's, run here with torch on the CPU."""
    torch = pytest.importorskip("torch")
    from sksigkernel import transforms
    from sksigkernel._input import as_paths
    xb = cuda._Torch.__new__(cuda._Torch)
    xb.torch, xb.device = torch, torch.device("cpu")
    paths = [brownian(rng, 1, L, 3)[0] for L in (4, 9, 2)]
    batch = cuda._Batch([torch.as_tensor(p) for p in paths], "path1", xb)
    got, lengths = batch.transformed(xb, options.get("time_aug", False),
                                     options.get("lead_lag", False),
                                     options.get("end_time", 1.0))
    ref = as_paths(paths, "path1")
    want, want_lengths = transforms.apply(ref.data, ref.lengths, options.get("time_aug", False),
                                          options.get("lead_lag", False),
                                          options.get("end_time", 1.0))
    np.testing.assert_array_equal(got.numpy(), want)
    np.testing.assert_array_equal(lengths, want_lengths)
    single = cuda._Batch(torch.as_tensor(paths[1], dtype=torch.float32), "path1", xb)
    assert single.single and single.X.shape == (1, 9, 3) and single.dtype == np.float32
