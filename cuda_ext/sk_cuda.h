/* The CUDA solvers' C interface: raw device pointers, shapes, a dtype and a stream, so that
 * the extension depends on neither torch nor CuPy (see sksigkernel/cuda.py). */
#ifndef SK_CUDA_H
#define SK_CUDA_H
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The static kernels, numbered as the CPU solver numbers them (_cython/lanes.h). */
enum sk_cuda_static { SKC_LINEAR, SKC_RBF, SKC_MATERN12, SKC_MATERN32, SKC_MATERN52,
                      SKC_POLYNOMIAL, SKC_RATIONAL_QUADRATIC };

/* Signature kernels by the finite-difference scheme, one warp a pair, into out[npairs].
 * X (B1, L1, channels) and Y (B2, L2, channels), C-contiguous on the device, float32
 * (itemsize 4) or float64 (8); len1, len2 (int64, device, or NULL): true lengths of paths
 * padded by repeating their last point. Pairs: with gram, pair p is (p / B2, p % B2), else
 * (p, p). scratch (device, or NULL when every pair's fine columns fit one panel:
 * sk_cuda_scratch) holds the panels' boundary columns. Launched on stream (a cudaStream_t);
 * returns a cudaError_t (0: launched). Nothing waits for the kernel. */
int sk_cuda_forward(int itemsize, const void *X, const void *Y, int64_t B1, int64_t B2,
                    int64_t L1, int64_t L2, int64_t channels, const int64_t *len1,
                    const int64_t *len2, int gram, int64_t npairs, int d1, int d2, int kind,
                    double p0, double p1, double p2, void *out, void *scratch,
                    uintptr_t stream);

/* Numbers of the forward's scratch (of its itemsize) for pairs of L1 x L2 points: 0 when one
 * panel holds every fine column. */
int64_t sk_cuda_scratch(int64_t npairs, int64_t L1, int64_t L2, int d1, int d2);

/* CUDA devices visible to this process (0 when there are none or no driver), and the
 * message of an error code. */
int sk_cuda_device_count(void);
const char *sk_cuda_error_string(int code);

#ifdef __cplusplus
}
#endif
#endif
