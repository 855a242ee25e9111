/* The finite-difference forward on NVIDIA GPUs: one warp a pair.
 *
 * A pair's fine grid has R = (n1 << d1) rows and C = (n2 << d2) columns of cells. Its
 * columns are cut into panels of 32 strips, one strip of w <= SK_STRIP fine columns a lane
 * (w = ceil(C / 32), so that short paths still use every lane). Within a panel the lanes
 * sweep the rows as a wavefront: at step s, lane l computes fine row s - l + 1 of its strip,
 * from the row below (its registers) and its left boundary, which lane l - 1 computed one
 * step before and passes by a shuffle. Lane 0 of a panel takes its left boundary from the
 * panel before (a column of the scratch, written by that panel's lane 31), or the grid's
 * edge (1). No grid is kept: a lane holds one row of its strip.
 *
 * The scheme is the CPU's (DESIGN.md): K[r+1][c+1] = (K[r+1][c] + K[r][c+1]) A - K[r][c] B,
 * A = 1 + D/2 + D^2/12, B = 1 - D^2/12, D = G 2^-(d1+d2), computed as the CPU's float32 does
 * (_cython/lanes_rows.h): each row carries its increments over the row below, v[c+1] =
 * v[c] + v[c] (A - 1) + K[r][c] (A - B) + K[r][c+1] (A - 1), K[r+1][c+1] = K[r][c+1] + v[c+1], so that
 * float32 does not drift as the grid is refined. The increments pass between strips with
 * the values.
 *
 * G comes from the points on the fly, once per coarse row for each cell of a strip: the
 * linear kernel from the increments' inner product (no cancellation for paths far from the
 * origin), the others from kappa at the cell's four corners.
 */
#include <cuda_runtime.h>
#include <math.h>
#include "sk_cuda.h"

namespace {

constexpr int WARP = 32;
constexpr int SK_STRIP = 8;               // fine columns a lane holds, at most
constexpr int WARPS_PER_BLOCK = 4;
constexpr unsigned FULL = 0xffffffffu;

struct Static {
    int kind;
    double p0, p1, p2;
};

template <typename T>
__device__ T point_value(const Static &s, T dot, T sq)
{
    T u;
    switch (s.kind) {
    case SKC_RBF:
        return exp(-sq * (T)s.p0);
    case SKC_MATERN12:
        return exp(-sqrt(sq) * (T)s.p0);
    case SKC_MATERN32:
        u = sqrt(sq) * (T)s.p0;
        return (1 + u) * exp(-u);
    case SKC_MATERN52:
        u = sqrt(sq) * (T)s.p0;
        return (1 + u + u * u / 3) * exp(-u);
    case SKC_POLYNOMIAL: {
        T base = dot + (T)s.p1;
        if (base < 0 && s.p0 != floor(s.p0))
            base = 0;
        return (T)s.p2 * pow(base, (T)s.p0);
    }
    default:                                // SKC_RATIONAL_QUADRATIC
        return pow(1 + sq * (T)s.p1, -(T)s.p0);
    }
}

/* kappa(x, y) of two points of d channels. */
template <typename T>
__device__ T kappa(const Static &s, const T *x, const T *y, int64_t d)
{
    T dot = 0, sq = 0;
    for (int64_t k = 0; k < d; k++) {
        const T e = x[k] - y[k];
        dot += x[k] * y[k];
        sq += e * e;
    }
    return point_value(s, dot, sq);
}

/* G of coarse cell (i, j): x, y the pair's points. */
template <typename T>
__device__ T cell_g(const Static &s, const T *x, const T *y, int64_t i, int64_t j, int64_t d)
{
    const T *x0 = x + i * d, *x1 = x0 + d, *y0 = y + j * d, *y1 = y0 + d;
    if (s.kind == SKC_LINEAR) {
        T g = 0;
        for (int64_t k = 0; k < d; k++)
            g += (x1[k] - x0[k]) * (y1[k] - y0[k]);
        return (T)s.p0 * g;
    }
    return kappa(s, x1, y1, d) - kappa(s, x1, y0, d) - kappa(s, x0, y1, d) + kappa(s, x0, y0, d);
}

/* Fine columns a lane holds for C fine columns. */
__host__ __device__ inline int64_t strip_width(int64_t C)
{
    const int64_t w = (C + WARP - 1) / WARP;
    return w < SK_STRIP ? (w < 1 ? 1 : w) : SK_STRIP;
}

template <typename T>
__global__ void __launch_bounds__(WARP * WARPS_PER_BLOCK)
fd_forward(const T *__restrict__ X, const T *__restrict__ Y, int64_t B2, int64_t L1,
           int64_t L2, int64_t d, const int64_t *__restrict__ len1,
           const int64_t *__restrict__ len2, int gram, int64_t npairs, int d1, int d2,
           Static s, T *__restrict__ out, T *__restrict__ scratch)
{
    const int64_t p = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / WARP;
    const int lane = threadIdx.x % WARP;
    if (p >= npairs)
        return;                             // the whole warp: p is the same for its lanes
    const int64_t a = gram ? p / B2 : p, b = gram ? p % B2 : p;
    const T *x = X + a * L1 * d, *y = Y + b * L2 * d;
    const int64_t n1 = (len1 ? len1[a] : L1) - 1, n2 = (len2 ? len2[b] : L2) - 1;
    if (n1 < 1 || n2 < 1) {                 // a single point: k = 1
        if (lane == 0)
            out[p] = 1;
        return;
    }
    const int64_t R = n1 << d1, C = n2 << d2, w = strip_width(C);
    const int64_t panel = w * WARP;
    const T inv = (T)1 / (T)((int64_t)1 << (d1 + d2));
    const T half = (T)0.5, twelfth = (T)1 / 12, sixth = (T)1 / 6;
    // the panel boundary: values at rows 0..R, then their increments, in the pair's part of
    // the scratch (sized for the longest x: pairs of other lengths must not overlap)
    const int64_t E = ((L1 - 1) << d1) + 1;
    T *edge = scratch ? scratch + p * 2 * E : nullptr;
    for (int64_t c0 = 0; c0 < C; c0 += panel) {
        const int64_t cb = c0 + lane * w;   // the fine column of this lane's left boundary
        const int64_t ncells = cb >= C ? 0 : (C - cb < w ? C - cb : w);
        T row[SK_STRIP], a1[SK_STRIP], ab[SK_STRIP];
        for (int k = 0; k < SK_STRIP; k++)
            row[k] = 1;
        T left = 1, last = 1, lastv = 0;    // K[r][cb]; this lane's right edge and increment
        int64_t coarse = -1;
        for (int64_t step = 0; step < R + WARP - 1; step++) {
            const int64_t r = step - lane;  // this lane computes row r + 1 from row r
            T inK = __shfl_up_sync(FULL, last, 1), inV = __shfl_up_sync(FULL, lastv, 1);
            if (r < 0 || r >= R)
                continue;
            if (lane == 0) {
                inK = c0 == 0 ? (T)1 : edge[r + 1];
                inV = c0 == 0 ? (T)0 : edge[E + r + 1];
            }
            if (r >> d1 != coarse) {        // this coarse row's coefficients, once
                coarse = r >> d1;
                for (int k = 0; k < SK_STRIP; k++) {
                    if (k < ncells) {
                        const T D = cell_g(s, x, y, coarse, (cb + k) >> d2, d) * inv;
                        a1[k] = D * (half + D * twelfth);
                        ab[k] = D * (half + D * sixth);
                    }
                }
            }
            T v = inV, lo = left;
            for (int k = 0; k < SK_STRIP; k++) {
                if (k < ncells) {
                    const T hi = row[k];
                    v = v + (v * a1[k] + (lo * ab[k] + hi * a1[k]));
                    row[k] = hi + v;
                    lo = hi;
                }
            }
            left = inK;
            if (ncells) {
                last = row[ncells - 1];
                lastv = v;
            } else {                        // past the grid: hand the boundary on
                last = inK;
                lastv = inV;
            }
            if (lane == WARP - 1 && edge && c0 + panel < C) {
                edge[r + 1] = last;
                edge[E + r + 1] = lastv;
            }
            if (r + 1 == R && ncells && cb + ncells == C)
                out[p] = last;              // the top right corner
        }
        __syncwarp();                       // the next panel's lane 0 reads this edge
    }
}

template <typename T>
int launch(const void *X, const void *Y, int64_t B2, int64_t L1, int64_t L2, int64_t d,
           const int64_t *len1, const int64_t *len2, int gram, int64_t npairs, int d1, int d2,
           Static s, void *out, void *scratch, cudaStream_t stream)
{
    const int64_t threads = WARP * WARPS_PER_BLOCK;
    const int64_t blocks = (npairs + WARPS_PER_BLOCK - 1) / WARPS_PER_BLOCK;
    if (blocks > 0x7fffffff)
        return cudaErrorInvalidValue;
    fd_forward<T><<<(unsigned)blocks, (unsigned)threads, 0, stream>>>(
        (const T *)X, (const T *)Y, B2, L1, L2, d, len1, len2, gram, npairs, d1, d2, s,
        (T *)out, (T *)scratch);
    return cudaGetLastError();
}

}  // namespace

extern "C" int sk_cuda_forward(int itemsize, const void *X, const void *Y, int64_t B1,
                               int64_t B2, int64_t L1, int64_t L2, int64_t channels,
                               const int64_t *len1, const int64_t *len2, int gram,
                               int64_t npairs, int d1, int d2, int kind, double p0, double p1,
                               double p2, void *out, void *scratch, uintptr_t stream)
{
    (void)B1;
    if (npairs == 0)
        return cudaSuccess;
    if (sk_cuda_scratch(1, L1, L2, d1, d2) > 0 && scratch == nullptr)
        return cudaErrorInvalidValue;
    const Static s = {kind, p0, p1, p2};
    cudaStream_t st = (cudaStream_t)stream;
    if (itemsize == 8)
        return launch<double>(X, Y, B2, L1, L2, channels, len1, len2, gram, npairs, d1, d2, s,
                              out, scratch, st);
    if (itemsize == 4)
        return launch<float>(X, Y, B2, L1, L2, channels, len1, len2, gram, npairs, d1, d2, s,
                             out, scratch, st);
    return cudaErrorInvalidValue;
}

extern "C" int64_t sk_cuda_scratch(int64_t npairs, int64_t L1, int64_t L2, int d1, int d2)
{
    const int64_t R = (L1 - 1) << d1, C = (L2 - 1) << d2;
    if (L1 < 2 || L2 < 2 || C <= strip_width(C) * WARP)
        return 0;
    return npairs * 2 * (R + 1);
}

extern "C" int sk_cuda_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        cudaGetLastError();                 // clear it: no driver or no device is not an error
        return 0;
    }
    return n;
}

extern "C" const char *sk_cuda_error_string(int code)
{
    return cudaGetErrorString((cudaError_t)code);
}
