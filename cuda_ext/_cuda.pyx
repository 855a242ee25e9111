# cython: language_level=3
"""The CUDA solvers' thin Python face: device pointers (ints) in, errors out.

Nothing here knows torch or CuPy; sksigkernel.cuda fills the pointers, shapes and stream
from whichever the caller's arrays are.
"""
from libc.stdint cimport int64_t, uintptr_t

cdef extern from "sk_cuda.h" nogil:
    int sk_cuda_forward(int itemsize, const void* X, const void* Y, int64_t B1, int64_t B2,
                        int64_t L1, int64_t L2, int64_t channels, const int64_t* len1,
                        const int64_t* len2, int gram, int64_t npairs, int d1, int d2,
                        int kind, double p0, double p1, double p2, void* out, void* scratch,
                        uintptr_t stream)
    int64_t sk_cuda_scratch(int64_t npairs, int64_t L1, int64_t L2, int d1, int d2)
    int sk_cuda_device_count()
    const char* sk_cuda_error_string(int code)


def device_count():
    """CUDA devices visible to this process (0 without a driver or a device)."""
    return sk_cuda_device_count()


def scratch_size(int64_t npairs, int64_t L1, int64_t L2, int d1, int d2):
    """Numbers of scratch the forward needs (0: none)."""
    return sk_cuda_scratch(npairs, L1, L2, d1, d2)


def forward(int itemsize, uintptr_t X, uintptr_t Y, int64_t B1, int64_t B2, int64_t L1,
            int64_t L2, int64_t channels, uintptr_t len1, uintptr_t len2, bint gram,
            int64_t npairs, int d1, int d2, int kind, double p0, double p1, double p2,
            uintptr_t out, uintptr_t scratch, uintptr_t stream):
    """Launch the forward (sk_cuda.h) on ``stream``; RuntimeError if the launch fails."""
    cdef int err
    with nogil:
        err = sk_cuda_forward(itemsize, <const void*>X, <const void*>Y, B1, B2, L1, L2,
                              channels, <const int64_t*>len1, <const int64_t*>len2, gram,
                              npairs, d1, d2, kind, p0, p1, p2, <void*>out, <void*>scratch,
                              stream)
    if err:
        raise RuntimeError(f"the CUDA forward failed: "
                           f"{sk_cuda_error_string(err).decode(errors='replace')}")
