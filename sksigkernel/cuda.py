"""Signature kernels on NVIDIA GPUs: the CUDA extension (``cuda_ext/``) and its routing.

The extension is built only on request (``pip install -Csetup-args=-Dcuda=enabled .``, with
nvcc). It takes raw device pointers and a stream; this module fills them from the caller's
arrays, torch CUDA tensors or CuPy arrays (``__cuda_array_interface__``), and launches on the
caller's current stream, so nothing waits for the GPU unless numpy results are asked for.

:func:`sksigkernel.sig_kernel` and :func:`sksigkernel.sig_kernel_gram` come here when their
paths live on a GPU, or with ``device="cuda"`` (numpy paths are copied over and the result
back). Done so far: the finite-difference forward (every static kernel, ``time_aug``,
``lead_lag``, ``end_time``, dyadic pairs, ragged lists, float32/float64, ``normalize``).
Not yet: gradients, the polynomial method, ``return_grid``. On the GPU, NaN or infinite
points are not looked for (that would wait for the GPU) and give NaN kernels.

Examples
--------
>>> from sksigkernel import cuda
>>> isinstance(cuda.is_available(), bool)
True
"""
import math
import sys

import numpy as np

from . import transforms
from ._input import check_flag, parse_dyadic_order
from .static_kernels import check_static_kernel

__all__ = ["is_available"]

_BUILD = "pip install -Csetup-args=-Dcuda=enabled . (nvcc needed)"


def _extension():
    """The compiled module, or None when this install was built without it."""
    try:
        from . import _cuda
    except ImportError:
        return None
    return _cuda


def is_available():
    """Whether this install has the CUDA extension and a CUDA GPU is visible.

    Returns
    -------
    bool
    """
    ext = _extension()
    return ext is not None and ext.device_count() > 0


def _require():
    ext = _extension()
    if ext is None:
        raise RuntimeError(f"a CUDA computation was asked for, but this install of sksigkernel "
                           f"was built without its CUDA extension; build it with {_BUILD}")
    if ext.device_count() == 0:
        raise RuntimeError("a CUDA computation was asked for, but no CUDA GPU is visible to "
                           "this process (driver missing, or CUDA_VISIBLE_DEVICES empty)")
    return ext


def _on_gpu(obj):
    """Whether obj (an array, or a list of them) lives on a CUDA device."""
    if isinstance(obj, (list, tuple)) and obj:
        return _on_gpu(obj[0])
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        return obj.is_cuda
    return hasattr(obj, "__cuda_array_interface__")


def _check_device(device):
    """None, or "cuda" (any of its spellings): whether the caller asked for the GPU."""
    if device is None:
        return False
    name = str(device)
    if name == "cpu":
        return False
    if name == "cuda" or name.startswith("cuda:"):
        return True
    raise ValueError(f"device must be None, 'cpu' or 'cuda' (or 'cuda:N'), got {device!r}")


def wanted(path1, path2, device):
    """Whether a forward call goes to the GPU: its paths live there or device asks for it."""
    gpu = _check_device(device)
    if path2 is not None and _on_gpu(path1) != _on_gpu(path2):
        raise TypeError("path1 and path2 must both be on the GPU or both on the CPU")
    if _on_gpu(path1):
        if device is not None and not gpu:
            raise ValueError("device='cpu' was given for paths that live on the GPU; move "
                             "them with .cpu() or leave device out")
        return True
    return gpu


def refuse_gradients(*paths):
    """The backprops on GPU paths: not built yet, said plainly."""
    if any(p is not None and _on_gpu(p) for p in paths):
        raise NotImplementedError("gradients on the GPU are not built yet (the CUDA extension "
                                  "has the forward only); pass the paths with .cpu()")


class _Torch:
    """torch CUDA tensors: the array operations the GPU path needs."""

    def __init__(self, device):
        import torch
        self.torch, self.device = torch, torch.device(device)
        if self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())

    def asarray(self, x, dtype=None):
        t = self.torch.as_tensor(x, device=self.device)
        return t if dtype is None else t.to(getattr(self.torch, np.dtype(dtype).name))

    def dtype(self, x):
        return np.dtype(str(x.dtype).replace("torch.", ""))

    def empty(self, shape, dtype):
        return self.torch.empty(shape, dtype=getattr(self.torch, np.dtype(dtype).name),
                                device=self.device)

    def concat(self, arrays, axis):
        return self.torch.cat(arrays, dim=axis)

    def contiguous(self, x):
        return x.detach().contiguous()

    def ptr(self, x):
        return 0 if x is None else x.data_ptr()

    def stream(self):
        return self.torch.cuda.current_stream(self.device).cuda_stream

    def context(self):
        return self.torch.cuda.device(self.device)

    def to_numpy(self, x):
        return x.cpu().numpy()


class _CuPy(_Torch):
    """CuPy arrays (or anything with __cuda_array_interface__, through CuPy)."""

    def __init__(self, device=None):
        import cupy
        self.cupy = cupy
        self.device = cupy.cuda.Device(device)

    def asarray(self, x, dtype=None):
        with self.device:
            return self.cupy.asarray(x, dtype=dtype)

    def dtype(self, x):
        return np.dtype(x.dtype)

    def empty(self, shape, dtype):
        with self.device:
            return self.cupy.empty(shape, dtype=dtype)

    def concat(self, arrays, axis):
        return self.cupy.concatenate(arrays, axis=axis)

    def contiguous(self, x):
        return self.cupy.ascontiguousarray(x)

    def ptr(self, x):
        return 0 if x is None else x.data.ptr

    def stream(self):
        return self.cupy.cuda.get_current_stream().ptr

    def context(self):
        return self.device

    def to_numpy(self, x):
        return self.cupy.asnumpy(x)


def _backend(path, device):
    """The array library of the GPU paths (numpy paths: torch if installed, else CuPy)."""
    first = path[0] if isinstance(path, (list, tuple)) and path else path
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(first, torch.Tensor):
        return _Torch(first.device if first.is_cuda else (device or "cuda"))
    if hasattr(first, "__cuda_array_interface__"):
        return _CuPy(getattr(getattr(first, "device", None), "id", None))
    try:
        return _Torch(device or "cuda")
    except ImportError:
        pass
    try:
        return _CuPy(None if str(device) == "cuda" else int(str(device).split(":")[1]))
    except ImportError:
        raise RuntimeError("device='cuda' with numpy paths needs torch or CuPy to hold them "
                           "on the GPU") from None


class _Batch:
    """One side's paths on the device: (n, L, channels), padded by repeating last points."""

    def __init__(self, paths, name, xb):
        items = list(paths) if isinstance(paths, (list, tuple)) else None
        arrays = items if items is not None else [paths]
        arrays = [xb.asarray(a) for a in arrays]
        dtypes = {xb.dtype(a) for a in arrays}
        dtype = np.result_type(*dtypes)
        if dtype.kind in "iub":
            dtype = np.dtype(np.float64)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"{name} must hold real numbers, got dtype {dtype}")
        if items is None:
            X = arrays[0]
            if X.ndim not in (2, 3):
                raise ValueError(f"{name} must have shape (length, channels) or (n_paths, "
                                 f"length, channels), got {tuple(X.shape)}")
            self.single = X.ndim == 2
            X = X[None] if self.single else X
            self.lengths = None
        else:
            if not items:
                raise ValueError(f"{name} is an empty list")
            if any(a.ndim != 2 for a in arrays):
                raise ValueError(f"each path of the list {name} must have shape "
                                 f"(length, channels)")
            L = max(a.shape[0] for a in arrays)
            X = xb.concat([xb.concat([a] + [a[-1:]] * (L - a.shape[0]), 0)[None]
                           for a in arrays], 0)
            self.single = False
            self.lengths = np.array([a.shape[0] for a in arrays], dtype=np.int64)
        if X.shape[1] < 1:
            raise ValueError(f"{name} must have at least one point")
        self.X = xb.contiguous(xb.asarray(X, dtype))
        self.dtype = dtype

    def transformed(self, xb, time_aug, lead_lag, end_time):
        """The batch after lead-lag then time augmentation, and its true lengths."""
        X, lengths = self.X, self.lengths
        n, L, _ = X.shape
        if lead_lag:
            lag, lead = transforms._lead_lag_points(L)
            X = xb.concat([X[:, xb.asarray(lag)], X[:, xb.asarray(lead)]], 2)
            lengths = None if lengths is None else 2 * lengths - 1
            L = 2 * L - 1
        if time_aug:
            t = transforms._time_channel(n, L, end_time, lengths)
            X = xb.concat([X, xb.asarray(t[:, :, None], dtype=self.dtype)], 2)
        return xb.contiguous(X), lengths


def forward(path1, path2, dyadic_order, *, gram, method, order, tolerance, static_kernel,
            time_aug, lead_lag, end_time, normalize, device):
    """sig_kernel (gram=False) or sig_kernel_gram on the GPU; results in the caller's type."""
    ext = _require()
    if method != "finite_difference" or order is not None or tolerance is not None:
        raise NotImplementedError("on the GPU only method='finite_difference' is built yet")
    d1, d2 = parse_dyadic_order(dyadic_order)
    if d1 == "auto":
        raise NotImplementedError("dyadic_order='auto' (polynomial method) is not on the GPU yet")
    static = check_static_kernel(static_kernel)
    time_aug, lead_lag = check_flag(time_aug, "time_aug"), check_flag(lead_lag, "lead_lag")
    normalize = check_flag(normalize, "normalize")
    if not isinstance(end_time, (int, float, np.number)) or not math.isfinite(end_time):
        raise ValueError(f"end_time must be a finite number, got {end_time!r}")
    numpy_in = not _on_gpu(path1)
    xb = _backend(path1, device)
    with xb.context():
        s1 = _Batch(path1, "path1", xb)
        s2 = s1 if path2 is None or path2 is path1 else _Batch(path2, "path2", xb)
        if s1.X.shape[2] != s2.X.shape[2]:
            raise ValueError(f"path1 and path2 must have the same number of channels, got "
                             f"{s1.X.shape[2]} and {s2.X.shape[2]}")
        dtype = np.result_type(s1.dtype, s2.dtype)
        X1, n1 = s1.transformed(xb, time_aug, lead_lag, float(end_time))
        X2, n2 = (X1, n1) if s2 is s1 else s2.transformed(xb, time_aug, lead_lag,
                                                          float(end_time))
        if dtype != s1.dtype:
            X1 = xb.asarray(X1, dtype)
        if dtype != s2.dtype:
            X2 = xb.asarray(X2, dtype)
        if not gram and (s1.single != s2.single or X1.shape[0] != X2.shape[0]):
            raise ValueError("sig_kernel pairs path1[i] with path2[i]: both must be single "
                             "paths or batches of the same size")

        def run(A, la, B, lb, pairs_gram, e1, e2):
            npairs = A.shape[0] * B.shape[0] if pairs_gram else A.shape[0]
            out = xb.empty((npairs,), dtype)
            size = ext.scratch_size(npairs, A.shape[1], B.shape[1], e1, e2)
            scratch = xb.empty((size,), dtype) if size else None
            lens = [None if n is None else xb.asarray(n) for n in (la, lb)]
            ext.forward(dtype.itemsize, xb.ptr(A), xb.ptr(B), A.shape[0], B.shape[0],
                        A.shape[1], B.shape[1], A.shape[2], xb.ptr(lens[0]), xb.ptr(lens[1]),
                        pairs_gram, npairs, e1, e2, static._code, *static._params(),
                        xb.ptr(out), xb.ptr(scratch), xb.stream())
            return out

        K = run(X1, n1, X2, n2, gram, d1, d2)
        if gram:
            K = K.reshape(X1.shape[0], X2.shape[0])
        if normalize:
            k1 = run(X1, n1, X1, n1, False, d1, d1)
            k2 = k1 if X2 is X1 and d1 == d2 else run(X2, n2, X2, n2, False, d2, d2)
            if bool((k1 <= 0).any()) or bool((k2 <= 0).any()):
                raise ValueError("normalize=True needs k(x, x) > 0 for every path: the PDE "
                                 "scheme is unstable for some; scale the paths down or raise "
                                 "dyadic_order")
            K = K / (k1[:, None] * k2[None, :]) ** 0.5 if gram else K / (k1 * k2) ** 0.5
        if gram:
            K = K[0] if s1.single else K
            K = K[..., 0] if s2.single else K
        elif s1.single:
            K = K[0]
    return xb.to_numpy(K) if numpy_in else K
