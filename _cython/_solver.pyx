# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Signature-kernel PDE solvers: forward and adjoint, for lists of pairs of paths.

Work is split into blocks of ``LANES`` pairs. The pairs of a block are the lanes of every
inner loop (no dependency between lanes), so the compiler turns those loops into SIMD
instructions; blocks are shared between OpenMP threads with dynamic scheduling. Each thread
owns its workspace, sized for one block, so memory does not grow with the number of pairs.
When there are too few pairs, a block holds fewer pairs, each cut into strips of columns
(``strips`` lanes a pair; see forward).

Layouts (``l`` = lane): points ``[i][k][l]``, static second differences ``G[i][j][l]``,
PDE rows ``[c][l]``. The discretisation is the one of DESIGN.md section 1.
"""
from cython.parallel cimport prange, parallel, threadid
from libc.stdlib cimport malloc, free
from libc.string cimport memset, memcpy
from libc.math cimport exp, sqrt, pow, floor

ctypedef fused floating:
    float
    double

cdef extern from "lanes.h" nogil:
    enum: SK_LANES
    enum: SK_LINEAR, SK_RBF, SK_MATERN12, SK_MATERN32, SK_MATERN52, SK_POLYNOMIAL
    enum: SK_RATIONAL_QUADRATIC
    void sk_pde_row_d(const double*, double*, const double*, const double*, Py_ssize_t,
                      Py_ssize_t)
    void sk_pde_row_f(const float*, float*, const float*, const float*, Py_ssize_t, Py_ssize_t)
    void sk_adjoint_row_d(double*, const double*, const double*, const double*, const double*,
                          const double*, double, double*, Py_ssize_t, Py_ssize_t, const double*,
                          const double*, int)
    void sk_adjoint_row_f(float*, const float*, const float*, const float*, const float*,
                          const float*, float, float*, Py_ssize_t, Py_ssize_t, const float*,
                          const float*, int)
    void sk_adjoint_pair_d(double*, double*, const double*, const double*, const double*,
                           const double*, const double*, const double*, double, double*,
                           Py_ssize_t, Py_ssize_t, const double*, const double*, const double*,
                           int)
    void sk_adjoint_pair_f(float*, float*, const float*, const float*, const float*,
                           const float*, const float*, const float*, float, float*, Py_ssize_t,
                           Py_ssize_t, const float*, const float*, const float*, int)
    void sk_adjoint_quad_d(double*, double*, double*, double*, const double*, const double*,
                           Py_ssize_t, const double*, const double*, double, double*,
                           Py_ssize_t, Py_ssize_t, const double*, const double*, int)
    void sk_adjoint_quad_f(float*, float*, float*, float*, const float*, const float*,
                           Py_ssize_t, const float*, const float*, float, float*, Py_ssize_t,
                           Py_ssize_t, const float*, const float*, int)
    void sk_adjoint_quad_lanes_d(double*, double*, double*, double*, const double*,
                                 const double*, Py_ssize_t, Py_ssize_t, const double*,
                                 const double*, double, double*, Py_ssize_t, Py_ssize_t,
                                 const double*, const double*, int, Py_ssize_t, double*,
                                 Py_ssize_t)
    void sk_adjoint_quad_lanes_f(float*, float*, float*, float*, const float*, const float*,
                                 Py_ssize_t, Py_ssize_t, const float*, const float*, float,
                                 float*, Py_ssize_t, Py_ssize_t, const float*, const float*,
                                 int, Py_ssize_t, float*, Py_ssize_t)
    void sk_quad_coeffs_d(const double*, Py_ssize_t, double, double*, double*)
    void sk_quad_coeffs_f(const float*, Py_ssize_t, float, float*, float*)
    void sk_pde_quad_d(const double*, double*, Py_ssize_t, const double*, const double*,
                       Py_ssize_t, Py_ssize_t)
    void sk_pde_quad_f(const float*, float*, Py_ssize_t, const float*, const float*,
                       Py_ssize_t, Py_ssize_t)
    void sk_linear_g_rows_d(const double*, const double*, double*, Py_ssize_t, Py_ssize_t,
                            Py_ssize_t)
    void sk_linear_g_rows_f(const float*, const float*, float*, Py_ssize_t, Py_ssize_t,
                            Py_ssize_t)
    void sk_linear_rows_d(const double*, const double*, const double*, double*, double*,
                          Py_ssize_t, Py_ssize_t, Py_ssize_t)
    void sk_linear_rows_f(const float*, const float*, const float*, float*, float*, Py_ssize_t,
                          Py_ssize_t, Py_ssize_t)
    enum: SK_VL_d
    enum: SK_VL_f
    void sk_diag_sums_d(double*, Py_ssize_t, Py_ssize_t, Py_ssize_t)
    void sk_diag_sums_f(float*, Py_ssize_t, Py_ssize_t, Py_ssize_t)
    int sk_distance_kernel_d(int kind, double p0, double* s, Py_ssize_t n, int values)

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int sk_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int sk_max_threads(void) { return 1; }
    #endif
    """
    int sk_max_threads() nogil


def max_threads():
    """The threads an OpenMP parallel region of this module may use (OMP_NUM_THREADS and
    threadpoolctl limits apply); 1 in a build without OpenMP."""
    return sk_max_threads()


cdef enum:
    W = SK_LANES    # pairs per block: the SIMD lanes
    ALIGN = 64      # bytes: one SIMD vector, one cache line


cdef inline void* cache_aligned(void* raw) noexcept nogil:
    """The first multiple of ALIGN at or after raw, in a block malloc'ed ALIGN bytes longer:
    a workspace's vectors must not straddle cache lines (malloc only promises 16 bytes, and
    a misaligned workspace measured 15-20% slower). Every array cut from a workspace is a
    multiple of W numbers long, so they all keep the alignment."""
    return <void*>((<size_t>raw + ALIGN - 1) & ~(<size_t>(ALIGN - 1)))

# The static kernels' codes, from lanes.h; sksigkernel.static_kernels reads STATIC_CODES.
cdef enum:
    LINEAR = SK_LINEAR
    RBF = SK_RBF
    MATERN12 = SK_MATERN12
    MATERN32 = SK_MATERN32
    MATERN52 = SK_MATERN52
    POLYNOMIAL = SK_POLYNOMIAL
    RATIONAL_QUADRATIC = SK_RATIONAL_QUADRATIC

STATIC_CODES = {"linear": LINEAR, "rbf": RBF, "matern12": MATERN12, "matern32": MATERN32,
                "matern52": MATERN52, "polynomial": POLYNOMIAL,
                "rational_quadratic": RATIONAL_QUADRATIC}
LANES = W


cdef size_t checked_size(size_t itemsize, double numbers) except 0:
    """A workspace of ``numbers`` values (counted in double precision, so that the count
    cannot wrap around), with room for alignment, in values; MemoryError beyond 2^48 bytes."""
    if not numbers * itemsize < 2.0 ** 48:
        raise MemoryError(f"the solver's workspace would take {numbers * itemsize / 2.0 ** 30:.3g}"
                          f" GiB per thread")
    return <size_t>numbers + ALIGN // itemsize


cdef void* workspace(size_t nbytes, int* failed) noexcept nogil:
    """malloc, recording a failure in ``failed`` (shared between threads: the caller raises
    MemoryError after the parallel region, whose work is skipped)."""
    cdef void* p = malloc(nbytes)
    if p == NULL:
        failed[0] = 1
    return p

ctypedef struct Static:
    int kind
    double p0, p1, p2


# ---------------------------------------------------------------------------------------
# Static kernels on the points of a block
# ---------------------------------------------------------------------------------------

cdef inline bint uses_distance(int kind) noexcept nogil:
    return kind != LINEAR and kind != POLYNOMIAL


cdef inline double poly_base(Static sk, double s) noexcept nogil:
    cdef double base = s + sk.p1
    if base < 0 and sk.p0 != floor(sk.p0):
        return 0.0
    return base


cdef inline double point_value(Static sk, double s) noexcept nogil:
    """kappa as a function of s = |x-y|^2 (distance kernels) or s = <x, y> (polynomial)."""
    cdef double u
    if sk.kind == RBF:
        return exp(-s * sk.p0)
    if sk.kind == MATERN12:
        return exp(-sqrt(s) * sk.p0)
    if sk.kind == MATERN32:
        u = sqrt(s) * sk.p0
        return (1.0 + u) * exp(-u)
    if sk.kind == MATERN52:
        u = sqrt(s) * sk.p0
        return (1.0 + u + u * u / 3.0) * exp(-u)
    if sk.kind == POLYNOMIAL:
        return sk.p2 * pow(poly_base(sk, s), sk.p0)
    return pow(1.0 + s * sk.p1, -sk.p0)   # RATIONAL_QUADRATIC


cdef inline double point_slope(Static sk, double s) noexcept nogil:
    """d kappa / d s."""
    cdef double u, base
    if sk.kind == RBF:
        return -sk.p0 * exp(-s * sk.p0)
    if sk.kind == MATERN12:
        u = sqrt(s)
        if u == 0.0:
            return 0.0          # |x - y| is not differentiable at 0: take the zero subgradient
        return -sk.p0 * exp(-u * sk.p0) / (2.0 * u)
    if sk.kind == MATERN32:
        u = sqrt(s) * sk.p0
        return -0.5 * sk.p0 * sk.p0 * exp(-u)
    if sk.kind == MATERN52:
        u = sqrt(s) * sk.p0
        return -sk.p0 * sk.p0 / 6.0 * (1.0 + u) * exp(-u)
    if sk.kind == POLYNOMIAL:
        if sk.p0 == 0.0:
            return 0.0
        base = poly_base(sk, s)
        if base == 0.0 and s + sk.p1 < 0:
            return 0.0
        return sk.p2 * sk.p0 * pow(base, sk.p0 - 1.0)
    return -sk.p0 * sk.p1 * pow(1.0 + s * sk.p1, -sk.p0 - 1.0)


cdef inline void point_args(Static sk, const floating* x, const floating* ys, Py_ssize_t L2,
                            Py_ssize_t d, floating* s) noexcept nogil:
    """s[j][l] for one point x[k][l] against all points ys[j][k][l]."""
    cdef Py_ssize_t j, k, l
    cdef floating acc[W]
    cdef floating t
    cdef bint dist = uses_distance(sk.kind)
    for j in range(L2):
        for l in range(W):
            acc[l] = 0
        for k in range(d):
            if dist:
                for l in range(W):
                    t = x[k * W + l] - ys[(j * d + k) * W + l]
                    acc[l] += t * t
            else:
                for l in range(W):
                    acc[l] += x[k * W + l] * ys[(j * d + k) * W + l]
        for l in range(W):
            s[j * W + l] = acc[l]


cdef void static_prepare(Static sk, const floating* ys, Py_ssize_t L2, Py_ssize_t d,
                         floating* work, Py_ssize_t* tags) noexcept nogil:
    """Work shared by every row of G: the increments of y (linear), or an empty row cache."""
    cdef Py_ssize_t t
    if sk.kind == LINEAR:
        for t in range((L2 - 1) * d * W):
            work[t] = ys[t + d * W] - ys[t]
    tags[0] = -1
    tags[1] = -1


cdef inline floating* kappa_row(Static sk, const floating* xs, const floating* ys, Py_ssize_t i,
                                Py_ssize_t L2, Py_ssize_t d, floating* work,
                                Py_ssize_t* tags) noexcept nogil:
    """kappa(x_i, y_j) for all j, cached in one of two slots."""
    cdef Py_ssize_t t, slot = i & 1
    cdef floating* row = work + slot * L2 * W
    if tags[slot] != i:
        tags[slot] = i
        point_args(sk, xs + i * d * W, ys, L2, d, row)
        point_values(sk, row, L2 * W, True)
    return row


cdef inline void point_values(Static sk, floating* s, Py_ssize_t n, bint values) noexcept nogil:
    """kappa (values) or d kappa / d s of the n arguments s, in place: the distance kernels
    through lanes.h's vectorised exp (float32 by way of a double buffer), the others one by
    one."""
    cdef Py_ssize_t t, t0, m
    cdef double buf[256]
    if floating is double:
        if sk_distance_kernel_d(sk.kind, sk.p0, s, n, values):
            return
    else:
        if sk.kind == RBF or sk.kind == MATERN12 or sk.kind == MATERN32 or sk.kind == MATERN52:
            for t0 in range(0, n, 256):
                m = n - t0 if n - t0 < 256 else 256
                for t in range(m):
                    buf[t] = s[t0 + t]
                sk_distance_kernel_d(sk.kind, sk.p0, buf, m, values)
                for t in range(m):
                    s[t0 + t] = <float>buf[t]
            return
    for t in range(n):
        s[t] = <floating>(point_value(sk, s[t]) if values else point_slope(sk, s[t]))


cdef void static_row(Static sk, const floating* xs, const floating* ys, Py_ssize_t i,
                     Py_ssize_t L2, Py_ssize_t d, floating* Grow, floating* work,
                     Py_ssize_t* tags) noexcept nogil:
    """Row i of G for a kernel other than the linear one:
    kappa(x_{i+1}, y_{j+1}) - kappa(x_{i+1}, y_j) - kappa(x_i, y_{j+1}) + kappa(x_i, y_j)."""
    cdef Py_ssize_t t, n2 = L2 - 1
    cdef floating* prow = kappa_row(sk, xs, ys, i, L2, d, work, tags)
    cdef floating* crow = kappa_row(sk, xs, ys, i + 1, L2, d, work, tags)
    for t in range(n2 * W):
        Grow[t] = (crow[t + W] - crow[t]) - (prow[t + W] - prow[t])


cdef void g_rows(Static sk, const floating* xs, const floating* ys, Py_ssize_t i0,
                 Py_ssize_t i1, Py_ssize_t L2, Py_ssize_t d, floating* G, floating* work,
                 Py_ssize_t* tags, floating* dxs) noexcept nogil:
    """Rows i0 .. i1-1 of G, row i at G + (i - i0) (L2-1) W. ``work`` must have been set up by
    static_prepare for the same block; dxs holds (i1 - i0) d W numbers (linear kernel)."""
    cdef Py_ssize_t i, n2 = L2 - 1
    if sk.kind == LINEAR:     # all rows at once: dy[j] is read once for all of them
        linear_increments(sk.p0, xs, i0, i1 - i0, d, dxs)
        linear_g_rows(dxs, work, G, i1 - i0, n2, d)
    else:
        for i in range(i0, i1):
            static_row(sk, xs, ys, i, L2, d, G + (i - i0) * n2 * W, work, tags)


cdef inline void linear_g_rows(const floating* dx, const floating* dy, floating* G,
                              Py_ssize_t nrows, Py_ssize_t n2, Py_ssize_t d) noexcept nogil:
    """Rows of G of the linear static kernel from the scaled increments dx of their rows of x
    and the increments dy of y (lanes.h)."""
    if floating is double:
        sk_linear_g_rows_d(dx, dy, G, nrows, n2, d)
    else:
        sk_linear_g_rows_f(dx, dy, G, nrows, n2, d)


cdef void linear_increments(double p0, const floating* xs, Py_ssize_t i0, Py_ssize_t nrows,
                            Py_ssize_t d, floating* dx) noexcept nogil:
    """dx[r] = p0 (x[i0 + r + 1] - x[i0 + r]), r < nrows."""
    cdef Py_ssize_t t
    for t in range(nrows * d * W):
        dx[t] = <floating>p0 * (xs[i0 * d * W + t + d * W] - xs[i0 * d * W + t])


cdef inline void linear_backward_rows(Py_ssize_t nrows, Py_ssize_t n2, Py_ssize_t d,
                                      const floating* gb, const floating* dy,
                                      const floating* dx, floating* dxbar,
                                      floating* dybar) noexcept nogil:
    """Linear static kernel: the derivatives of sum(gb * G) over nrows rows of G with respect
    to the increments of x at those rows (written to dxbar, nrows rows of d * W) and of y
    (added to dybar); dx and dy as for linear_g_rows. The rows go from the top down, as the
    segments finish them (lanes.h)."""
    if floating is double:
        sk_linear_rows_d(gb, dy, dx, dxbar, dybar, nrows, n2, d)
    else:
        sk_linear_rows_f(gb, dy, dx, dxbar, dybar, nrows, n2, d)


cdef void point_backward(Static sk, floating scale, const floating* xs, const floating* ys,
                         Py_ssize_t i, Py_ssize_t L2, Py_ssize_t d, const floating* below,
                         const floating* above, floating* xbar, floating* ybar,
                         floating* srow) noexcept nogil:
    """Other static kernels: adds the derivatives with respect to the point x_i and the points
    of y of sum(scale * Gb * G), through kappa(x_i, y_j), which enters rows i-1 (below, the
    row of Gb, NULL when i = 0) and i (above, NULL past the last row)."""
    cdef Py_ssize_t j, k, l, n2 = L2 - 1
    cdef floating w[W]
    cdef floating acc[W]
    cdef floating diff
    point_args(sk, xs + i * d * W, ys, L2, d, srow)
    point_values(sk, srow, L2 * W, False)          # now the slopes d kappa / d s
    for j in range(L2 * W):
        srow[j] = srow[j] * scale
    for j in range(L2):
        for l in range(W):
            acc[l] = 0
        if below != NULL and j > 0:
            for l in range(W):
                acc[l] += below[(j - 1) * W + l]
        if below != NULL and j < n2:
            for l in range(W):
                acc[l] -= below[j * W + l]
        if above != NULL and j > 0:
            for l in range(W):
                acc[l] -= above[(j - 1) * W + l]
        if above != NULL and j < n2:
            for l in range(W):
                acc[l] += above[j * W + l]
        for l in range(W):
            w[l] = acc[l] * srow[j * W + l]
        if uses_distance(sk.kind):
            for k in range(d):
                for l in range(W):
                    diff = 2 * w[l] * (xs[(i * d + k) * W + l] - ys[(j * d + k) * W + l])
                    xbar[(i * d + k) * W + l] += diff
                    ybar[(j * d + k) * W + l] -= diff
        else:
            for k in range(d):
                for l in range(W):
                    xbar[(i * d + k) * W + l] += w[l] * ys[(j * d + k) * W + l]
                    ybar[(j * d + k) * W + l] += w[l] * xs[(i * d + k) * W + l]


# ---------------------------------------------------------------------------------------
# The Goursat PDE on the fine grid
# ---------------------------------------------------------------------------------------

cdef inline void row_coeffs(const floating* Grow, Py_ssize_t n2, floating inv, floating* A,
                            floating* B) noexcept nogil:
    """A = 1 + D/2 + D^2/12, B = 1 - D^2/12 (a product by 1/12: a division does not vectorise
    as cheaply, and the result differs by rounding only)."""
    cdef Py_ssize_t t
    cdef floating D, twelfth = <floating>(1.0 / 12.0)
    for t in range(n2 * W):
        D = Grow[t] * inv
        A[t] = 1 + D * (<floating>0.5 + D * twelfth)
        B[t] = 1 - D * D * twelfth


cdef inline void pde_row(const floating* prev, floating* cur, const floating* A,
                         const floating* B, Py_ssize_t n2, Py_ssize_t M2) noexcept nogil:
    """One fine row: cur[c+1] = cur[c] A + (prev[c+1] A - prev[c] B), from the left boundary
    value the caller has put in cur[0] (lanes.h)."""
    if floating is double:
        sk_pde_row_d(prev, cur, A, B, n2, M2)
    else:
        sk_pde_row_f(prev, cur, A, B, n2, M2)


cdef inline void left_boundary(floating* cur, const floating* edge, Py_ssize_t n,
                               Py_ssize_t strips) noexcept nogil:
    """Column 0 of a fine row of n lanes (whole pairs): 1 in each pair's first strip, and in
    the others the right edge of the strip before, recorded 2^d1 rows earlier (edge: those
    lanes' values, lane l - 1's for lane l); all 1 where edge is NULL (no strips, or the
    first 2^d1 rows)."""
    cdef Py_ssize_t l
    if edge == NULL:
        for l in range(n):
            cur[l] = 1
    else:
        memcpy(cur + 1, edge, sizeof(floating) * (n - 1))
        for l in range(n // strips):
            cur[l * strips] = 1


cdef void pde_forward(const floating* G, Py_ssize_t g0, Py_ssize_t n2, int d1, int d2,
                      floating* rows, Py_ssize_t base, Py_ssize_t nstore, Py_ssize_t r_from,
                      Py_ssize_t r_to, floating* AB, Py_ssize_t strips, floating* edge,
                      const Py_ssize_t* ends, floating* finals) noexcept nogil:
    """Fine rows r_from+1 .. r_to from row r_from; row r lives at slot (r - base) % nstore.
    G holds the coarse rows these fine rows need, from coarse row g0 on.

    With ends (not NULL), finals[l] takes lane l's last column at fine row ends[l]: the
    kernel of a pair whose path of x is shorter than the block's. The rows above it would
    only repeat it, but by arithmetic (a + (b - a)) that is exact only for values of one
    sign within a factor 2, and which rows a block has depends on its other pairs.

    With strips > 1 the lanes are strips of columns of fewer pairs (see forward): the left
    boundary of a strip other than the first at row r is the right edge of the strip before
    it 2^d1 rows earlier, kept in edge[r] (one vector of lanes per row, recorded here).
    """
    cdef Py_ssize_t r, i, l, rowlen = ((n2 << d2) + 1) * W
    cdef floating inv = <floating>1.0 / (1 << (d1 + d2))
    cdef Py_ssize_t M1 = 1 << d1, C = n2 << d2
    cdef floating* cur
    for r in range(r_from, r_to):
        if r == r_from or (r & (M1 - 1)) == 0:
            i = r >> d1
            row_coeffs(G + (i - g0) * n2 * W, n2, inv, AB, AB + n2 * W)
        cur = rows + ((r + 1 - base) % nstore) * rowlen
        left_boundary(cur, edge + (r + 1 - M1) * W if strips > 1 and r + 1 > M1 else NULL, W,
                      strips)
        pde_row(rows + ((r - base) % nstore) * rowlen, cur, AB, AB + n2 * W, n2, 1 << d2)
        if strips > 1:
            memcpy(edge + (r + 1) * W, cur + C * W, sizeof(floating) * W)
        if ends != NULL:
            for l in range(W):
                if ends[l] == r + 1:
                    finals[l] = cur[C * W + l]


cdef void forward_coarse_rows(Static sk, const floating* xs, const floating* ys, Py_ssize_t i0,
                              Py_ssize_t i1, Py_ssize_t L2, Py_ssize_t d, Py_ssize_t CH,
                              bint keep_g, floating* G, floating* work, Py_ssize_t* tags,
                              floating* dxs, int d1, int d2, floating* rows, Py_ssize_t base,
                              Py_ssize_t nstore, floating* AB, Py_ssize_t strips,
                              floating* edge, const Py_ssize_t* ends,
                              floating* finals) noexcept nogil:
    """The fine rows of coarse rows i0 .. i1-1 (pde_forward: rows, base, nstore, ends,
    finals), their rows of G computed CH at a time, so that each chunk is read while in
    cache. With keep_g, G and dxs keep every row (row i at G + (i - i0) (L2 - 1) W, for the
    adjoint); else each chunk takes the place of the one before."""
    cdef Py_ssize_t c0 = i0, c1, g0, n2 = L2 - 1
    while c0 < i1:
        c1 = c0 + CH if c0 + CH < i1 else i1
        g0 = i0 if keep_g else c0
        g_rows(sk, xs, ys, c0, c1, L2, d, G + (c0 - g0) * n2 * W, work, tags,
               dxs + (c0 - g0) * d * W)
        pde_forward(G, g0, n2, d1, d2, rows, base, nstore, c0 << d1, c1 << d1, AB, strips, edge,
                    ends, finals)
        c0 = c1


cdef inline void adjoint_row(floating* out, const floating* nxt, const floating* Kp,
                             const floating* Km, const floating* dg, const floating* dh,
                             floating s6, floating* gb, Py_ssize_t n2, Py_ssize_t M2,
                             const floating* seed, const floating* right,
                             bint add) noexcept nogil:
    """Adjoint row p from row p+1 (nxt), and dF/dG of the cells of fine row p-1 into gb.

    Kbar[p][q] = A(p-1, q) Kbar[p][q+1] + A(p, q-1) Kbar[p+1][q] - B(p, q) Kbar[p+1][q+1];
    dg is the row of G of the coarse row of fine row p-1, dh that of fine row p, from which
    the loop computes A, B and Delta/6 (s6 = 2^-(d1+d2) / 6); Kp and Km are the forward rows
    p and p-1. seed != NULL marks the top row; right != NULL is added to the last column
    (the part of a strip's right edge that the next strip computes). gb is overwritten, or
    added to with ``add``. The loop is in lanes.h.
    """
    if floating is double:
        sk_adjoint_row_d(out, nxt, Kp, Km, dg, dh, s6, gb, n2, M2, seed, right, add)
    else:
        sk_adjoint_row_f(out, nxt, Kp, Km, dg, dh, s6, gb, n2, M2, seed, right, add)


cdef inline void adjoint_pair(floating* out1, floating* out2, const floating* nxt,
                              const floating* K0, const floating* K1, const floating* K2,
                              const floating* dg, const floating* dh, floating s6,
                              floating* gb, Py_ssize_t n2, Py_ssize_t M2, const floating* seed,
                              const floating* right1, const floating* right2,
                              bint add) noexcept nogil:
    """Adjoint rows p (out1) and p-1 (out2) in one sweep, p even at dyadic order d1 >= 1: both
    lie in the coarse row of dg, whose coefficients and row of dF/dG (gb) they share. K0, K1,
    K2 are the forward rows p, p-1, p-2; dh, s6, seed, add as for adjoint_row (row p);
    right1, right2 are the right edges of the two rows (lanes.h)."""
    if floating is double:
        sk_adjoint_pair_d(out1, out2, nxt, K0, K1, K2, dg, dh, s6, gb, n2, M2, seed, right1,
                          right2, add)
    else:
        sk_adjoint_pair_f(out1, out2, nxt, K0, K1, K2, dg, dh, s6, gb, n2, M2, seed, right1,
                          right2, add)


cdef inline void adjoint_quad(floating* out1, floating* out2, floating* out3, floating* out4,
                              const floating* nxt, const floating* K, Py_ssize_t ks,
                              const floating* dg, const floating* dh, floating s6,
                              floating* gb, Py_ssize_t n2, Py_ssize_t M2, const floating* seed,
                              const floating* right, bint add) noexcept nogil:
    """Adjoint rows p .. p-3 (out1 .. out4) in one sweep, p a multiple of 4 at dyadic order
    d1 >= 2: all four lie in the coarse row of dg. K is the forward row p, K - t ks row p-t;
    right (or NULL) the right edges of rows p-t at right - t W; dh, s6, seed, add as for
    adjoint_pair (lanes.h)."""
    if floating is double:
        sk_adjoint_quad_d(out1, out2, out3, out4, nxt, K, ks, dg, dh, s6, gb, n2, M2, seed,
                          right, add)
    else:
        sk_adjoint_quad_f(out1, out2, out3, out4, nxt, K, ks, dg, dh, s6, gb, n2, M2, seed,
                          right, add)


cdef inline void adjoint_quad_lanes(floating* out1, floating* out2, floating* out3,
                                    floating* out4, const floating* nxt, const floating* K,
                                    Py_ssize_t ks, Py_ssize_t kc, const floating* dg,
                                    const floating* dh, floating s6, floating* gb,
                                    Py_ssize_t n2, Py_ssize_t M2, const floating* seed,
                                    const floating* right, bint add, Py_ssize_t o0,
                                    floating* edge, Py_ssize_t strips) noexcept nogil:
    """adjoint_quad on the one vector of lanes from lane o0, whose forward rows K has column
    c at K + c kc; with edge, also the strips' edges of rows p .. p-3 (strip_edge) at
    edge - t W (lanes.h)."""
    if floating is double:
        sk_adjoint_quad_lanes_d(out1, out2, out3, out4, nxt, K, ks, kc, dg, dh, s6, gb, n2, M2,
                                seed, right, add, o0, edge, strips)
    else:
        sk_adjoint_quad_lanes_f(out1, out2, out3, out4, nxt, K, ks, kc, dg, dh, s6, gb, n2, M2,
                                seed, right, add, o0, edge, strips)


cdef inline void strip_edge(floating* edge, const floating* out, const floating* nxt,
                            const floating* dg, const floating* dh, floating s6,
                            Py_ssize_t strips) noexcept nogil:
    """With strips (see pde_forward): Kbar[p][0] = A(p-1, 0) Kbar[p][1] - B(p, 0) Kbar[p+1][1]
    + (the strip before's cell), from row p (out) and p+1 (nxt), stored at lane l - 1 for the
    strip before; nothing for a first strip, whose left boundary is fixed. A and B from the
    rows of G dg and dh as in lanes.h (SK_A, SK_B)."""
    cdef Py_ssize_t l
    cdef floating g, h, c12 = 3 * s6 * s6
    for l in range(W - 1):
        g = dg[l + 1]
        h = dh[l + 1]
        edge[l] = (1 + g * (3 * s6 + g * c12)) * out[W + l + 1] \
            - (1 - h * h * c12) * nxt[W + l + 1]
    for l in range(W // strips):
        edge[l * strips + strips - 1] = 0


cdef void pde_adjoint(const floating* G, Py_ssize_t g0, floating* Gb,
                      Py_ssize_t n1, Py_ssize_t n2, int d1, int d2, const floating* seed,
                      const floating* rows, Py_ssize_t r0, Py_ssize_t r1, floating* kb,
                      Py_ssize_t strips, floating* edge) noexcept nogil:
    """Adjoint over fine rows r1 down to r0+1; rows holds K rows r0..r1 at slots 0..r1-r0.

    G holds the coarse rows from g0 on, from which the adjoint rows compute the coefficients
    A, B and Delta/6. kb holds the adjoint rows in five slots (row p at slot p % 5); on entry
    the slot of row r1+1 must hold that row unless r1 is the top row.
    dF/dG of each coarse cell of row i (not yet multiplied by 2^-(d1+d2)) goes to row i - g0
    of Gb: the top fine row of a coarse row writes it, the others add to it, so Gb needs no
    clearing. At d1 = 1 the rows go two at a time (adjoint_pair), at d1 >= 2 four at a time
    (adjoint_quad; r0 and r1 are whole coarse rows, so multiples of 2 and 4). With strips > 1
    (see pde_forward), edge[p] receives the part of the adjoint at a strip's left boundary
    that its own cells give, which the strip before it adds to its right edge 2^d1 rows
    lower.
    """
    cdef Py_ssize_t R = n1 << d1, C = n2 << d2, rowlen = (C + 1) * W, M1 = 1 << d1
    cdef Py_ssize_t p, t, i
    cdef floating s6 = <floating>1.0 / (6 << (d1 + d2))     # Delta/6 = G s6
    cdef const floating* dg
    cdef const floating* dh
    cdef floating* out
    cdef floating* out2
    cdef floating* nxt
    if r1 == R:     # above the top row the adjoint is zero
        for t in range(rowlen):
            kb[((R + 1) % 5) * rowlen + t] = 0
    p = r1
    while p > r0:
        i = (p - 1) >> d1
        dg = G + (i - g0) * n2 * W
        dh = G + ((p >> d1) - g0) * n2 * W if p < R else dg
        out = kb + (p % 5) * rowlen
        nxt = kb + ((p + 1) % 5) * rowlen
        # edge[p + M1][l] holds what lane l + 1 gave at row p + M1 (strip_edge)
        if d1 == 0:
            adjoint_row(out, nxt, rows + (p - r0) * rowlen, rows + (p - 1 - r0) * rowlen, dg,
                        dh, s6, Gb + (i - g0) * n2 * W, n2, 1 << d2, seed if p == R else NULL,
                        edge + (p + M1) * W if strips > 1 and p + M1 <= R else NULL, False)
            if strips > 1:
                strip_edge(edge + p * W, out, nxt, dg, dh, s6, strips)
            p -= 1
        elif d1 == 1:
            out2 = kb + ((p - 1) % 5) * rowlen
            adjoint_pair(out, out2, nxt, rows + (p - r0) * rowlen,
                         rows + (p - 1 - r0) * rowlen, rows + (p - 2 - r0) * rowlen, dg, dh,
                         s6, Gb + (i - g0) * n2 * W, n2, 1 << d2, seed if p == R else NULL,
                         edge + (p + M1) * W if strips > 1 and p + M1 <= R else NULL,
                         edge + (p - 1 + M1) * W if strips > 1 and p - 1 + M1 <= R else NULL,
                         p != (i + 1) << d1)
            if strips > 1:
                strip_edge(edge + p * W, out, nxt, dg, dh, s6, strips)
                strip_edge(edge + (p - 1) * W, out2, out, dg, dg, s6, strips)
            p -= 2
        else:
            adjoint_quad(out, kb + ((p - 1) % 5) * rowlen, kb + ((p - 2) % 5) * rowlen,
                         kb + ((p - 3) % 5) * rowlen, nxt, rows + (p - r0) * rowlen, rowlen,
                         dg, dh, s6, Gb + (i - g0) * n2 * W, n2, 1 << d2,
                         seed if p == R else NULL,
                         edge + (p + M1) * W if strips > 1 and p + M1 <= R else NULL,
                         p != (i + 1) << d1)
            if strips > 1:
                strip_edge(edge + p * W, out, nxt, dg, dh, s6, strips)
                for t in range(1, 4):
                    strip_edge(edge + (p - t) * W, kb + ((p - t) % 5) * rowlen,
                               kb + ((p - t + 1) % 5) * rowlen, dg, dg, s6, strips)
            p -= 4


cdef void forward_lanes(const floating* G, Py_ssize_t n1, Py_ssize_t n2, int d1, int d2,
                        floating* K, floating* AB, Py_ssize_t strips, floating* edge,
                        Py_ssize_t o0) noexcept nogil:
    """pde_forward's rows 0 .. n1 2^d1 (d1 >= 2) for the one vector of lanes from lane o0
    alone, four fine rows at a time (lanes.h, sk_pde_quad), into K: row r at K + r (C+1) V, V
    the lanes of a vector. G holds all the block's coarse rows; AB takes a coarse row's
    coefficients of these lanes. The lanes hold whole pairs (strips divide V), so that
    their strips' edges (edge, as in pde_forward) come from these lanes alone."""
    cdef Py_ssize_t V = SK_VL_d if floating is double else SK_VL_f
    cdef Py_ssize_t C = n2 << d2, rs = (C + 1) * V, M1 = 1 << d1, R = n1 << d1
    cdef Py_ssize_t r, t
    cdef floating inv = <floating>1.0 / (1 << (d1 + d2))
    for t in range(rs):
        K[t] = 1
    for r in range(0, R, 4):
        if (r & (M1 - 1)) == 0:     # row_coeffs, for these lanes
            if floating is double:
                sk_quad_coeffs_d(G + (r >> d1) * n2 * W + o0, n2, inv, AB, AB + n2 * V)
            else:
                sk_quad_coeffs_f(G + (r >> d1) * n2 * W + o0, n2, inv, AB, AB + n2 * V)
        for t in range(r + 1, r + 5):
            left_boundary(K + t * rs, edge + (t - M1) * W + o0 if strips > 1 and t > M1 else NULL,
                          V, strips)
        if floating is double:
            sk_pde_quad_d(K + r * rs, K + (r + 1) * rs, rs, AB, AB + n2 * V, n2, 1 << d2)
        else:
            sk_pde_quad_f(K + r * rs, K + (r + 1) * rs, rs, AB, AB + n2 * V, n2, 1 << d2)
        if strips > 1:
            for t in range(r + 1, r + 5):
                memcpy(edge + t * W + o0, K + t * rs + C * V, sizeof(floating) * V)


cdef void adjoint_lanes(const floating* G, floating* Gb, Py_ssize_t n1, Py_ssize_t n2, int d1,
                        int d2, const floating* seed, const floating* K, floating* kb,
                        Py_ssize_t strips, floating* edge, Py_ssize_t o0) noexcept nogil:
    """pde_adjoint over all the fine rows (d1 >= 2) for the one vector of lanes from lane o0
    alone, from their forward grid K as forward_lanes wrote it. G and Gb hold all the block's
    coarse rows; kb and edge as for pde_adjoint, of which these lanes' parts are used."""
    cdef Py_ssize_t V = SK_VL_d if floating is double else SK_VL_f
    cdef Py_ssize_t R = n1 << d1, C = n2 << d2, rowlen = (C + 1) * W, rs = (C + 1) * V
    cdef Py_ssize_t M1 = 1 << d1, p, t, i
    cdef floating s6 = <floating>1.0 / (6 << (d1 + d2))
    cdef const floating* dg
    cdef const floating* dh
    for t in range(C + 1):      # above the top row the adjoint is zero
        memset(kb + ((R + 1) % 5) * rowlen + t * W + o0, 0, sizeof(floating) * V)
    p = R
    while p > 0:
        i = (p - 1) >> d1
        dg = G + i * n2 * W
        dh = G + (p >> d1) * n2 * W if p < R else dg
        adjoint_quad_lanes(
            kb + (p % 5) * rowlen, kb + ((p - 1) % 5) * rowlen, kb + ((p - 2) % 5) * rowlen,
            kb + ((p - 3) % 5) * rowlen, kb + ((p + 1) % 5) * rowlen, K + p * rs, rs, V, dg, dh,
            s6, Gb + i * n2 * W, n2, 1 << d2, seed if p == R else NULL,
            edge + (p + M1) * W if strips > 1 and p + M1 <= R else NULL, p != (i + 1) << d1, o0,
            edge + p * W if strips > 1 else NULL, strips)
        p -= 4


# ---------------------------------------------------------------------------------------
# Blocks of pairs
# ---------------------------------------------------------------------------------------

cdef inline Py_ssize_t block_lanes(const Py_ssize_t* pa, const Py_ssize_t* pb, Py_ssize_t start,
                                   Py_ssize_t npairs, Py_ssize_t strips, Py_ssize_t* ia,
                                   Py_ssize_t* ib) noexcept nogil:
    """Path indices of the block's lanes: lane l holds strip l % strips of pair
    start + l // strips (lanes past the last pair repeat the first); returns the number of
    pairs."""
    cdef Py_ssize_t l, q, n = npairs - start
    if n > W // strips:
        n = W // strips
    for l in range(W):
        q = start + l // strips if l // strips < n else start
        ia[l] = pa[q]
        ib[l] = pb[q]
    return n


cdef inline Py_ssize_t block_length(const Py_ssize_t* lengths, const Py_ssize_t* idx,
                                    Py_ssize_t least) noexcept nogil:
    """The longest true length among the block's paths idx[0 .. W-1], at least ``least``."""
    cdef Py_ssize_t l, L = least
    for l in range(W):
        if lengths[idx[l]] > L:
            L = lengths[idx[l]]
    return L


cdef inline Py_ssize_t block_width(Py_ssize_t L2, const Py_ssize_t* len2, Py_ssize_t least,
                                   Py_ssize_t strips, const Py_ssize_t* ib) noexcept nogil:
    """The coarse columns of a strip of the block's grid: up to its longest path of y (true
    lengths len2, or NULL for the padded length L2; at least ``least`` points). A value, not
    an out-parameter: what a prange body assigns is private to its thread, while a variable
    it only passes by address is shared between threads (the race behind wrong kernels of
    ragged batches in parallel)."""
    return ((block_length(len2, ib, least) if len2 != NULL else L2) - 1 + strips - 1) // strips


cdef inline Py_ssize_t load_block(const floating* X, const floating* Y, Py_ssize_t L1,
                                  Py_ssize_t L2, Py_ssize_t d, const Py_ssize_t* len1,
                                  Py_ssize_t least, Py_ssize_t strips, const Py_ssize_t* ia,
                                  const Py_ssize_t* ib, Py_ssize_t w, floating* xs,
                                  floating* ys) noexcept nogil:
    """The block's grid: up to its longest paths of x (true lengths len1, or NULL for the
    padded length L1; at least ``least`` points), rows skewed and columns cut into strips of
    w coarse columns (block_width; see forward). Gathers the lanes' points into xs and ys;
    returns the coarse rows."""
    cdef Py_ssize_t n1 = (block_length(len1, ia, least) if len1 != NULL else L1) - 1 + strips - 1
    gather(X, L1, d, ia, n1 + 1, True, strips, w, xs)
    gather(Y, L2, d, ib, w + 1, False, strips, w, ys)
    return n1


cdef inline Py_ssize_t x_point(Py_ssize_t i, Py_ssize_t l, Py_ssize_t strips,
                               Py_ssize_t L) noexcept nogil:
    """The point of a path of x (L points) that lane l sees as its point i: strip s = l % strips
    runs s coarse rows behind, so it sees the first point s more times (and the last one
    fewer), which changes no kernel value."""
    i -= l & (strips - 1)       # l % strips: strips is a power of two
    return 0 if i < 0 else (L - 1 if i >= L else i)


cdef inline Py_ssize_t y_point(Py_ssize_t j, Py_ssize_t l, Py_ssize_t strips, Py_ssize_t w,
                               Py_ssize_t L) noexcept nogil:
    """The point of a path of y (L points) that lane l sees as its point j: strip s = l % strips
    holds the coarse columns s w .. (s + 1) w (past the last point: the last point again)."""
    j += (l & (strips - 1)) * w
    return L - 1 if j >= L else j


cdef inline Py_ssize_t lane_point(const Py_ssize_t* idx, Py_ssize_t i, Py_ssize_t l, bint rows,
                                  Py_ssize_t strips, Py_ssize_t w, Py_ssize_t L,
                                  Py_ssize_t d) noexcept nogil:
    """Offset, in a batch of paths of L points of d channels, of the point that lane l sees as
    its point i (of its path idx[l]: x_point when ``rows``, else y_point)."""
    return (idx[l] * L + (x_point(i, l, strips, L) if rows else y_point(i, l, strips, w, L))) * d


cdef inline void gather(const floating* P, Py_ssize_t L, Py_ssize_t d, const Py_ssize_t* idx,
                        Py_ssize_t npts, bint rows, Py_ssize_t strips, Py_ssize_t w,
                        floating* out) noexcept nogil:
    """Points 0 .. npts-1 of the lanes' paths (of x when ``rows``, else of y, as lanes see
    them: lane_point) into out[i][k][l]."""
    cdef Py_ssize_t i, k, l, b
    cdef const floating* path
    cdef const floating* src
    cdef floating* row
    if rows and strips > 1:
        # lane s of a pair sees at its point i what lane s - 1 saw at point i - 1: each row
        # of a pair's lanes is the row below moved up one lane, with the next point at lane 0
        for b in range(W // strips):
            path = P + idx[b * strips] * L * d
            for k in range(d):
                for l in range(strips):
                    out[k * W + b * strips + l] = path[k]
            for i in range(1, npts):
                for k in range(d):
                    row = out + (i * d + k) * W + b * strips
                    if strips > 8:
                        memcpy(row + 1, row - d * W, sizeof(floating) * (strips - 1))
                    else:   # a few numbers: a call costs more than the copy
                        for l in range(1, strips):
                            row[l] = row[l - 1 - d * W]
                    row[0] = path[x_point(i, 0, strips, L) * d + k]
        return
    for l in range(W):
        for i in range(npts):
            src = P + lane_point(idx, i, l, rows, strips, w, L, d)
            for k in range(d):
                out[(i * d + k) * W + l] = src[k]


cdef inline void scatter_add(const floating* src, Py_ssize_t L, Py_ssize_t d,
                             const Py_ssize_t* idx, Py_ssize_t nlanes, Py_ssize_t npts,
                             bint rows, Py_ssize_t strips, Py_ssize_t w, floating* acc,
                             floating* R) noexcept nogil:
    """The reverse of gather, for the first nlanes lanes: adds src[i][k][l] to the point that
    lane l sees as its point i. R: d * strips numbers of workspace."""
    cdef Py_ssize_t i, k, l, b
    cdef floating* dst
    cdef floating* path
    cdef floating* Rk
    cdef const floating* row
    if rows and strips > 1:
        # point p of a pair's path gets src[p + s][k][lane s] from each lane s (x_point).
        # Down the rows, R[k][s] sums src[i + t][k][lane s + t] over t, so that R[k][0] is
        # what point i gets; what is left in R at the bottom belongs to point 0. (The d
        # channels' sums are independent: the loop over them is inside.)
        for b in range(nlanes // strips):
            path = acc + idx[b * strips] * L * d
            for l in range(d * strips):
                R[l] = 0
            for i in range(npts - 1, -1, -1):
                dst = path + x_point(i, 0, strips, L) * d
                for k in range(d):
                    row = src + (i * d + k) * W + b * strips
                    Rk = R + k * strips
                    for l in range(strips - 1):
                        Rk[l] = Rk[l + 1] + row[l]
                    Rk[strips - 1] = row[strips - 1]
                    dst[k] += Rk[0]
            for k in range(d):
                for l in range(1, strips):
                    path[k] += R[k * strips + l]
        return
    for l in range(nlanes):
        for i in range(npts):
            dst = acc + lane_point(idx, i, l, rows, strips, w, L, d)
            for k in range(d):
                dst[k] += src[(i * d + k) * W + l]


cdef void increments_to_points(const floating* inc, floating* pts, Py_ssize_t n,
                               Py_ssize_t nd, floating scale) noexcept nogil:
    """Gradients of increments 0 .. n-1 (rows of nd numbers) to those of points 0 .. n: point
    i gets scale (increment i-1's minus increment i's). From the top down, so that pts may be
    inc itself."""
    cdef Py_ssize_t i, t
    for t in range(nd):
        pts[n * nd + t] = scale * inc[(n - 1) * nd + t]
    for i in range(n - 1, 0, -1):
        for t in range(nd):
            pts[i * nd + t] = scale * (inc[(i - 1) * nd + t] - inc[i * nd + t])
    for t in range(nd):
        pts[t] = -(scale * inc[t])


cdef inline bint shared_path(const Py_ssize_t* idx, Py_ssize_t strips) noexcept nogil:
    """Whether all pairs of a block have the same path (idx: the lanes' paths)."""
    cdef Py_ssize_t b
    for b in range(1, W // strips):
        if idx[b * strips] != idx[0]:
            return False
    return True


cdef void scatter_x(floating* xbar, Py_ssize_t L, Py_ssize_t d, const Py_ssize_t* idx,
                    Py_ssize_t nlanes, Py_ssize_t nrows, bint increments, floating scale,
                    Py_ssize_t strips, floating* acc, floating* R) noexcept nogil:
    """Adds a block's gradients with respect to x to acc, the points of the lanes' paths:
    xbar[i][k][l], i < nrows, is the gradient of what lane l sees as its point i (x_point),
    or with ``increments``, of its increment from there to point i + 1, times ``scale``.
    xbar is overwritten; it has a row more than nrows. When all pairs share one path (a row
    of a gram), the sums over pairs and strips go together (sk_diag_sums), else pair by pair
    (scatter_add, on points)."""
    cdef Py_ssize_t i, k, t, nd = d * W
    cdef Py_ssize_t wv = max(strips, <Py_ssize_t>(SK_VL_d if floating is double else SK_VL_f))
    cdef floating v
    cdef floating* path
    if not shared_path(idx, strips):
        if increments:
            increments_to_points(xbar, xbar, nrows, nd, scale)
            nrows += 1
        scatter_add(xbar, L, d, idx, nlanes, nrows, True, strips, 0, acc, R)
        return
    if floating is double:
        sk_diag_sums_d(xbar, nrows, d, strips)
    else:
        sk_diag_sums_f(xbar, nrows, d, strips)
    path = acc + idx[0] * L * d
    for i in range(nrows):
        for k in range(d):
            v = 0
            for t in range(wv // strips):
                v += xbar[i * nd + k * W + t * strips]
            if not increments:
                path[(i if i < L else L - 1) * d + k] += v
            elif i < L - 1:     # past the last point, increments are zero
                path[(i + 1) * d + k] += scale * v
                path[i * d + k] -= scale * v
    if not increments:      # what lanes t > 0 saw before the first point
        for k in range(d):
            for t in range(wv):
                if t % strips:
                    path[k] += xbar[k * W + t]


cdef inline Py_ssize_t static_work(Py_ssize_t L2, Py_ssize_t d) noexcept nogil:
    """Size of static_prepare's workspace: the increments of y (linear kernel) or two rows of
    kappa (kappa_row's cache)."""
    return max((L2 - 1) * d, 2 * L2) * W


def forward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
            const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb,
            int kind, double p0, double p1, double p2, int d1, int d2,
            floating[::1] out, floating[:, :, ::1] grid=None, int nthreads=1,
            const Py_ssize_t[::1] len1=None, const Py_ssize_t[::1] len2=None,
            Py_ssize_t strips=1):
    """Kernels of the pairs (X[pa[n]], Y[pb[n]]) into out[n]; the fine grids into grid[n].

    len1, len2: the true lengths of paths padded by repeating their last point (not with
    ``grid``). A block then stops at its longest paths: the cells past them only repeat
    values, so skipping them changes nothing.

    strips (a power of two dividing LANES; 1 with ``grid``): the lanes of a block are
    LANES // strips pairs, each cut into ``strips`` strips of columns, so that few pairs
    still fill the lanes. A strip needs the right edge of the strip before it as its left
    boundary, so strip s runs s coarse rows behind: it sees the first point of x s more
    times (the padding the first rows of every grid already hold, G = 0, K = 1) and gets
    that edge 2^d1 fine rows after it was computed (pde_forward).
    """
    cdef Static sk = Static(kind, p0, p1, p2)
    cdef Py_ssize_t P = W // strips, npairs = pa.shape[0], nblocks = (npairs + P - 1) // P
    cdef Py_ssize_t L1 = X.shape[1], L2 = Y.shape[1], d = X.shape[2]
    cdef Py_ssize_t n1 = L1 - 1, n2 = L2 - 1, R = n1 << d1, C = n2 << d2
    cdef Py_ssize_t Lx = L1 + strips - 1       # points of x as the lanes see them, at most
    cdef Py_ssize_t rowlen = (C + 1) * W
    cdef bint keep = grid is not None
    cdef Py_ssize_t nstore = R + 1 if keep else 2
    # rows of G computed together: about 256 KiB of them, so they stay in cache
    cdef Py_ssize_t gcap = max(n2 * W, (256 << 10) // <Py_ssize_t>sizeof(floating))
    cdef Py_ssize_t nedge = (((Lx - 1) << d1) + 1) * W if strips > 1 else 0
    cdef Py_ssize_t blk, n, b, l, r, c, t, w, n1b, Rb, Cb, rowlen_b
    # true lengths (NULL: the padded ones)
    cdef const Py_ssize_t* lens1 = &len1[0] if len1 is not None and not keep else NULL
    cdef const Py_ssize_t* lens2 = &len2[0] if len2 is not None and not keep else NULL
    cdef Py_ssize_t* ia
    cdef Py_ssize_t* ib
    cdef Py_ssize_t* tags
    cdef Py_ssize_t* ends
    cdef void* raw
    cdef floating* ws
    cdef floating* xs
    cdef floating* ys
    cdef floating* AB
    cdef floating* work
    cdef floating* G
    cdef floating* dxs
    cdef floating* edge
    cdef floating* rows
    cdef floating* top
    cdef floating* finals
    if npairs == 0:
        return
    if strips < 1 or W % strips or strips & (strips - 1) or (keep and strips != 1):
        raise ValueError(f"strips must be a power of two dividing {W} (and 1 with grid), "
                         f"got {strips}")
    cdef size_t nwork = checked_size(sizeof(floating), (
        (Lx + L2) * d * W + 2. * n2 * W + static_work(L2, d) + gcap + Lx * d * W + nedge
        + nstore * <double>rowlen + W))
    cdef int failed = 0
    with nogil, parallel(num_threads=nthreads):
        raw = workspace(nwork * sizeof(floating), &failed)
        ia = <Py_ssize_t*>workspace(sizeof(Py_ssize_t) * (3 * W + 2), &failed)
        ws = <floating*>cache_aligned(raw)
        xs = ws
        ys = xs + Lx * d * W
        AB = ys + L2 * d * W
        work = AB + 2 * n2 * W
        G = work + static_work(L2, d)
        dxs = G + gcap
        edge = dxs + Lx * d * W
        rows = edge + nedge
        finals = rows + nstore * rowlen
        ib = ia + W
        tags = ib + W
        ends = tags + 2
        for blk in prange(nblocks, schedule='dynamic'):
            if raw == NULL or ia == NULL:
                continue
            n = block_lanes(&pa[0], &pb[0], blk * P, npairs, strips, ia, ib)
            w = block_width(L2, lens2, 1, strips, ib)
            n1b = load_block(&X[0, 0, 0], &Y[0, 0, 0], L1, L2, d, lens1, 1, strips, ia, ib, w,
                             xs, ys)
            Rb = n1b << d1
            Cb = w << d2
            rowlen_b = (Cb + 1) * W
            static_prepare(sk, ys, w + 1, d, work, tags)
            for t in range(rowlen_b):
                rows[t] = 1
            # a pair's kernel: the top right corner of its last strip, at the top of the
            # block's grid, or with true lengths at the top of its own (see pde_forward)
            for l in range(W):
                ends[l] = -1
                finals[l] = 1
            if lens1 != NULL:
                for b in range(n):
                    ends[b * strips + strips - 1] = lens1[ia[b * strips]] + strips - 2 << d1
            forward_coarse_rows(sk, xs, ys, 0, n1b, w + 1, d,
                                max(1, min(n1b, gcap // max(1, w * W))), False, G, work, tags,
                                dxs, d1, d2, rows, 0, nstore, AB, strips, edge,
                                ends if lens1 != NULL else NULL, finals)
            top = rows + (Rb % nstore) * rowlen_b
            for b in range(n):
                out[blk * P + b] = finals[b * strips + strips - 1] if lens1 != NULL \
                    else top[Cb * W + b * strips + strips - 1]
            if keep:
                for l in range(n):
                    for r in range(R + 1):
                        for c in range(C + 1):
                            grid[blk * W + l, r, c] = rows[(r * (C + 1) + c) * W + l]
        free(raw)
        free(ia)
    if failed:
        raise MemoryError(f"could not allocate the solver's workspace: "
                          f"{nwork * sizeof(floating) / 2.0 ** 20:.1f} MiB per thread")


def backward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
             const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb, const floating[::1] derivs,
             int kind, double p0, double p1, double p2, int d1, int d2,
             floating[:, :, :, ::1] dX, floating[:, :, :, ::1] dY,
             const floating[:, :, ::1] grid=None, Py_ssize_t seg_rows=0, int nthreads=1,
             const Py_ssize_t[::1] len1=None, const Py_ssize_t[::1] len2=None,
             Py_ssize_t strips=1):
    """Adds derivs[n] * d k(X[pa[n]], Y[pb[n]]) / d points to dX[thread, pa[n]], dY[thread, pb[n]].

    dX and dY carry one slice per thread (summed by the caller), so no two threads write the
    same memory. The forward grid is read from ``grid[n]`` when given, else recomputed from
    checkpoints every ``seg_rows`` fine rows (rounded up to whole coarse rows; 0: keep the
    whole grid of a block). Segment by segment, from the top: the rows of G the segment
    needs, its forward rows, its adjoint, then the chain rule of its finished rows of dF/dG
    back to the points, so that neither G nor dF/dG is ever held whole. len1, len2, strips:
    as for forward (not with ``grid``); a block stops at its longest paths, and seg_rows
    counts the rows of a block's grid of strips.
    """
    cdef Static sk = Static(kind, p0, p1, p2)
    cdef Py_ssize_t P = W // strips, npairs = pa.shape[0], nblocks = (npairs + P - 1) // P
    cdef Py_ssize_t L1 = X.shape[1], L2 = Y.shape[1], d = X.shape[2]
    cdef Py_ssize_t R = L1 - 1 << d1, C = L2 - 1 << d2, M1 = 1 << d1
    # the largest grid of a block of strips: n1 rows (skewed), n2 columns
    cdef Py_ssize_t Lx = L1 + strips - 1
    cdef Py_ssize_t n1 = Lx - 1, n2 = (L2 - 1 + strips - 1) // strips
    cdef Py_ssize_t Rl = n1 << d1, rowlen = ((n2 << d2) + 1) * W
    cdef Py_ssize_t nedge = (Rl + 1) * W if strips > 1 else 0
    cdef bint given = grid is not None
    cdef Py_ssize_t S = Rl if seg_rows <= 0 or seg_rows >= Rl or given else \
        (seg_rows + M1 - 1) // M1 * M1
    cdef Py_ssize_t nseg = (Rl + S - 1) // S if S > 0 else 0
    cdef Py_ssize_t ncheck = nseg if nseg > 1 else 0
    cdef Py_ssize_t nb = S // M1 + 1      # rows of G and of dF/dG held: a segment's, one more
    # At d1 >= 2 with the whole grid kept, one vector of lanes at a time: its forward grid
    # (forward_lanes), then its adjoint (adjoint_lanes), so that a quarter of the block's grid
    # is written and read back at a time (1.1 MiB in bench_engine.py's order-2 gram, not
    # 4.4), and the chain rule after the last. The lanes of a vector must hold whole pairs.
    cdef Py_ssize_t V = SK_VL_d if floating is double else SK_VL_f
    cdef bint grouped = d1 >= 2 and not given and nseg <= 1 and strips <= V
    # coarse rows of G computed together (about 256 KiB), and of the adjoint per step of the
    # chain rule (about 128 KiB of dF/dG), so that each is read from cache
    cdef Py_ssize_t CH = max(1, (256 << 10) // max(1, n2 * W * <Py_ssize_t>sizeof(floating)))
    cdef Py_ssize_t CB = max(4, (128 << 10) // max(1, n2 * W * <Py_ssize_t>sizeof(floating)))
    cdef bint linear = kind == LINEAR
    cdef const Py_ssize_t* lens1 = &len1[0] if len1 is not None and not given else NULL
    cdef const Py_ssize_t* lens2 = &len2[0] if len2 is not None and not given else NULL
    cdef Py_ssize_t bL2, bn1, bn2, bR, bC, browlen, bnseg
    cdef Py_ssize_t blk, n, l, r, c, t, s, r0, r1, i, i0, i1, ig, ia_, ib_, tid
    cdef Py_ssize_t* ia
    cdef Py_ssize_t* ib
    cdef Py_ssize_t* ptags
    cdef floating* seed
    cdef bint want_x = dX is not None, want_y = dY is not None
    cdef floating inv = <floating>1.0 / (1 << (d1 + d2))
    cdef void* raw
    cdef floating* ws
    cdef floating* xs
    cdef floating* ys
    cdef floating* G
    cdef floating* Gb
    cdef floating* AB
    cdef floating* work
    cdef floating* xbar
    cdef floating* ybar
    cdef floating* dybar
    cdef floating* dxs
    cdef floating* sums
    cdef floating* srow
    cdef floating* kb
    cdef floating* seg
    cdef floating* check
    cdef floating* fedge
    cdef floating* aedge
    if npairs == 0 or R == 0 or C == 0:
        return
    if strips < 1 or W % strips or strips & (strips - 1) or (given and strips != 1):
        raise ValueError(f"strips must be a power of two dividing {W} (and 1 with grid), "
                         f"got {strips}")
    cdef size_t nwork = checked_size(sizeof(floating), (
        2. * (Lx + L2) * d * W + 2. * nb * n2 * W + 2. * n2 * W + static_work(L2, d)
        + n2 * d * W + nb * d * W + d * W + L2 * W
        + 5. * rowlen + (S + 1.) * rowlen + ncheck * <double>rowlen + W + 2. * nedge))
    cdef int failed = 0
    with nogil, parallel(num_threads=nthreads):
        raw = workspace(nwork * sizeof(floating), &failed)
        ws = <floating*>cache_aligned(raw)
        ia = <Py_ssize_t*>workspace(sizeof(Py_ssize_t) * (2 * W + 2), &failed)
        ib = ia + W
        ptags = ib + W
        seed = ws
        xs = seed + W
        ys = xs + Lx * d * W
        xbar = ys + L2 * d * W
        ybar = xbar + Lx * d * W
        G = ybar + L2 * d * W
        Gb = G + nb * n2 * W
        AB = Gb + nb * n2 * W
        work = AB + 2 * n2 * W
        dybar = work + static_work(L2, d)
        dxs = dybar + n2 * d * W
        sums = dxs + nb * d * W
        srow = sums + d * W
        kb = srow + L2 * W
        seg = kb + 5 * rowlen
        check = seg + (S + 1) * rowlen
        fedge = check + ncheck * rowlen
        aedge = fedge + nedge
        for blk in prange(nblocks, schedule='dynamic'):
            if raw == NULL or ia == NULL:
                continue
            tid = threadid()
            n = block_lanes(&pa[0], &pb[0], blk * P, npairs, strips, ia, ib)
            for l in range(W):      # the seed enters at the top right corner of a last strip
                seed[l] = derivs[blk * P + l // strips] \
                    if l // strips < n and l & (strips - 1) == strips - 1 else 0
            # the block's own grid (at least 2 points a path)
            bn2 = block_width(L2, lens2, 2, strips, ib)
            bn1 = load_block(&X[0, 0, 0], &Y[0, 0, 0], L1, L2, d, lens1, 2, strips, ia, ib, bn2,
                             xs, ys)
            bL2 = bn2 + 1
            bR = bn1 << d1
            bC = bn2 << d2
            browlen = (bC + 1) * W
            bnseg = (bR + S - 1) // S
            static_prepare(sk, ys, bL2, d, work, ptags)
            if not linear:  # the linear kernel writes xbar (increments) and ybar whole
                memset(xbar, 0, sizeof(floating) * (Lx + L2) * d * W)
            memset(dybar, 0, sizeof(floating) * n2 * d * W)
            if bnseg > 1:    # checkpoint pass: rows 0, S, 2S, ... ; seg's first two rows as a ring
                for t in range(browlen):
                    check[t] = 1
                for s in range(bnseg - 1):   # the top segment is computed below, once
                    r0 = s * S
                    r1 = r0 + S if r0 + S < bR else bR
                    memcpy(seg, check + s * browlen, sizeof(floating) * browlen)
                    forward_coarse_rows(sk, xs, ys, r0 // M1, r1 // M1, bL2, d, CH, False, G,
                                        work, ptags, dxs, d1, d2, seg, r0, 2, AB, strips, fedge,
                                        NULL, NULL)
                    memcpy(check + (s + 1) * browlen, seg + ((r1 - r0) % 2) * browlen,
                           sizeof(floating) * browlen)
            for s in range(bnseg - 1, -1, -1):
                r0 = s * S
                r1 = r0 + S if r0 + S < bR else bR
                i0 = r0 // M1
                i1 = r1 // M1       # the segment's coarse rows: i0 .. i1-1; G also needs row i1
                ig = i1 + 1 if i1 < bn1 else bn1
                if given:
                    g_rows(sk, xs, ys, i0, ig, bL2, d, G, work, ptags, dxs)
                    for l in range(W):
                        for r in range(r0, r1 + 1):
                            for c in range(C + 1):
                                seg[((r - r0) * (C + 1) + c) * W + l] = \
                                    grid[blk * P + (l if l < n else 0), r, c]
                elif grouped:
                    g_rows(sk, xs, ys, i0, i1, bL2, d, G, work, ptags, dxs)
                    for t in range(W // V):
                        forward_lanes(G, bn1, bn2, d1, d2, seg, AB, strips, fedge, t * V)
                        adjoint_lanes(G, Gb, bn1, bn2, d1, d2, seed, seg, kb, strips, aedge,
                                      t * V)
                else:
                    if bnseg > 1:
                        memcpy(seg, check + s * browlen, sizeof(floating) * browlen)
                    else:
                        for t in range(browlen):
                            seg[t] = 1
                    # every row of G kept: the adjoint needs them, and row i1 too
                    forward_coarse_rows(sk, xs, ys, i0, i1, bL2, d, CH, True, G, work, ptags,
                                        dxs, d1, d2, seg, r0, S + 1, AB, strips, fedge, NULL,
                                        NULL)
                    g_rows(sk, xs, ys, i1, ig, bL2, d, G + (i1 - i0) * bn2 * W, work, ptags,
                           dxs + (i1 - i0) * d * W)
                # Gb holds rows i0 .. i1: the segment's (which the adjoint writes), and row i1,
                # the lowest of the segment above (as the point kernels need it), moved to its
                # place
                if i1 < bn1:
                    memcpy(Gb + (i1 - i0) * bn2 * W, Gb, sizeof(floating) * bn2 * W)
                # the adjoint and the chain rule, CB coarse rows at a time from the top, so
                # that the chain rule reads rows of dF/dG the adjoint has just written
                ib_ = i1
                while ib_ > i0:
                    ia_ = ib_ - CB if ib_ - CB > i0 else i0
                    if not grouped:
                        pde_adjoint(G, i0, Gb, bn1, bn2, d1, d2, seed,
                                    seg + ((ia_ << d1) - r0) * browlen, ia_ << d1, ib_ << d1,
                                    kb, strips, aedge)
                    if linear:
                        linear_backward_rows(ib_ - ia_, bn2, d, Gb + (ia_ - i0) * bn2 * W,
                                             work, dxs + (ia_ - i0) * d * W,
                                             xbar + ia_ * d * W, dybar)
                    else:
                        for i in range(ib_ - 1, ia_ - 1, -1):
                            point_backward(sk, inv, xs, ys, i + 1, bL2, d,
                                           Gb + (i - i0) * bn2 * W,
                                           Gb + (i + 1 - i0) * bn2 * W if i + 1 < bn1 else NULL,
                                           xbar, ybar, srow)
                    ib_ = ia_
            if linear:
                increments_to_points(dybar, ybar, bn2, d * W, inv)
            else:
                point_backward(sk, inv, xs, ys, 0, bL2, d, NULL, Gb, xbar, ybar, srow)
            if want_x:
                scatter_x(xbar, L1, d, ia, n * strips, bn1 if linear else bn1 + 1, linear,
                          <floating>(sk.p0 * inv), strips, &dX[tid, 0, 0, 0], sums)
            if want_y:
                scatter_add(ybar, L2, d, ib, n * strips, bL2, False, strips, bn2,
                            &dY[tid, 0, 0, 0], sums)
        free(raw)
        free(ia)
    if failed:
        raise MemoryError(f"could not allocate the solver's workspace: "
                          f"{nwork * sizeof(floating) / 2.0 ** 20:.1f} MiB per thread")


# ---------------------------------------------------------------------------------------
# The adjoint seeded at every node of the grid (return_grid=True in the backprops)
# ---------------------------------------------------------------------------------------

cdef inline double point_kappa(Static sk, const floating* x, const floating* y,
                               Py_ssize_t d) noexcept nogil:
    """kappa(x, y) of two points."""
    cdef Py_ssize_t k
    cdef double s = 0, t
    for k in range(d):
        t = (x[k] - y[k]) if uses_distance(sk.kind) else x[k] * y[k]
        s += t * t if uses_distance(sk.kind) else t
    return sk.p0 * s if sk.kind == LINEAR else point_value(sk, s)


cdef void grid_pair_backward(Static sk, const floating* x, const floating* y, Py_ssize_t L1,
                             Py_ssize_t L2, Py_ssize_t d, int d1, int d2, const floating* K,
                             const floating* seeds, double* kappa, double* Gb, double* kb,
                             floating* dx, floating* dy) noexcept nogil:
    """One pair, plainly: the gradient of F = sum(seeds * K) over the fine grid K (rows
    (L1-1) 2^d1 + 1, columns (L2-1) 2^d2 + 1) added to dx (L1 points) and dy (L2 points).

    The adjoint of K[r][c] = (K[r][c-1] + K[r-1][c]) A - K[r-1][c-1] B is swept from the top
    right: Kbar[r][c] (its seed plus what the cells above and to the right gave) passes A
    Kbar to K[r][c-1] and K[r-1][c] and -B Kbar to K[r-1][c-1], and adds to dF/dG of the
    cell's coarse cell (dA/dG = (1/2 + D/6) h, dB/dG = -(D/6) h, D = G h, h = 2^-(d1+d2)).
    Then kappa's chain rule: kappa(x_a, y_b) enters four cells of G with signs +, -, -, +.
    Workspace: kappa and Gb L1 L2 numbers, kb the grid's."""
    cdef Py_ssize_t n1 = L1 - 1, n2 = L2 - 1, R = n1 << d1, C = n2 << d2, cols = C + 1
    cdef Py_ssize_t a, b, i, j, r, c, k
    cdef double h = 1.0 / (1 << (d1 + d2)), g, D, A, B, v, w, s, t
    for a in range(L1):
        for b in range(L2):
            kappa[a * L2 + b] = point_kappa(sk, x + a * d, y + b * d, d)
    for i in range(n1 * n2):
        Gb[i] = 0
    for i in range((R + 1) * cols):
        kb[i] = seeds[i]
    for r in range(R, 0, -1):
        i = (r - 1) >> d1
        for c in range(C, 0, -1):
            j = (c - 1) >> d2
            g = kappa[(i + 1) * L2 + j + 1] - kappa[(i + 1) * L2 + j] \
                - kappa[i * L2 + j + 1] + kappa[i * L2 + j]
            D = g * h
            A = 1 + D * (0.5 + D / 12)
            B = 1 - D * D / 12
            v = kb[r * cols + c]
            kb[r * cols + c - 1] += A * v
            kb[(r - 1) * cols + c] += A * v
            kb[(r - 1) * cols + c - 1] -= B * v
            Gb[i * n2 + j] += v * h * ((K[r * cols + c - 1] + K[(r - 1) * cols + c])
                                       * (0.5 + D / 6) + K[(r - 1) * cols + c - 1] * (D / 6))
    for a in range(L1):
        for b in range(L2):
            w = 0       # dF/dkappa(x_a, y_b)
            if a > 0 and b > 0:
                w += Gb[(a - 1) * n2 + b - 1]
            if a > 0 and b < n2:
                w -= Gb[(a - 1) * n2 + b]
            if a < n1 and b > 0:
                w -= Gb[a * n2 + b - 1]
            if a < n1 and b < n2:
                w += Gb[a * n2 + b]
            if w == 0:
                continue
            if sk.kind == LINEAR:
                w *= sk.p0
            else:
                s = 0
                for k in range(d):
                    t = (x[a * d + k] - y[b * d + k]) if uses_distance(sk.kind) \
                        else x[a * d + k] * y[b * d + k]
                    s += t * t if uses_distance(sk.kind) else t
                w *= point_slope(sk, s)
            for k in range(d):
                if uses_distance(sk.kind):
                    t = 2 * w * (x[a * d + k] - y[b * d + k])
                    dx[a * d + k] += <floating>t
                    dy[b * d + k] -= <floating>t
                else:
                    dx[a * d + k] += <floating>(w * y[b * d + k])
                    dy[b * d + k] += <floating>(w * x[a * d + k])


def grid_backward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
                  const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb,
                  const floating[:, :, ::1] grid, const floating[:, :, ::1] seeds,
                  int kind, double p0, double p1, double p2, int d1, int d2,
                  floating[:, :, :, ::1] dX, floating[:, :, :, ::1] dY, int nthreads=1):
    """Adds the gradients of F = sum(seeds[n] * grid[n]) over the fine grids of the pairs
    (X[pa[n]], Y[pb[n]]) to dX[thread], dY[thread] (one slice per thread, as backward).
    grid[n] is the pair's forward grid; the sweep is plain, a pair at a time
    (grid_pair_backward): this serves losses on the whole grid, not speed."""
    cdef Static sk = Static(kind, p0, p1, p2)
    cdef Py_ssize_t n, tid, N = pa.shape[0], L1 = X.shape[1], L2 = Y.shape[1], d = X.shape[2]
    cdef Py_ssize_t cells = grid.shape[1] * grid.shape[2]
    cdef size_t nwork = checked_size(sizeof(double), 2. * L1 * L2 + <double>cells)
    cdef int failed = 0
    cdef double* ws
    if N == 0:
        return
    if grid.shape[1] != ((L1 - 1) << d1) + 1 or grid.shape[2] != ((L2 - 1) << d2) + 1:
        raise ValueError("grid does not match the paths and dyadic orders")
    with nogil, parallel(num_threads=nthreads):
        ws = <double*>workspace(nwork * sizeof(double), &failed)
        for n in prange(N, schedule='dynamic'):
            if ws == NULL:
                continue
            tid = threadid()
            grid_pair_backward(sk, &X[pa[n], 0, 0], &Y[pb[n], 0, 0], L1, L2, d, d1, d2,
                               &grid[n, 0, 0], &seeds[n, 0, 0], ws, ws + L1 * L2,
                               ws + 2 * L1 * L2, &dX[tid, pa[n], 0, 0], &dY[tid, pb[n], 0, 0])
        free(ws)
    if failed:
        raise MemoryError(f"could not allocate the solver's workspace: "
                          f"{nwork * sizeof(double) / 2.0 ** 20:.1f} MiB per thread")
