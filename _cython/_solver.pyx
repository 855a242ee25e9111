# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Signature-kernel PDE solvers: forward and adjoint, for lists of pairs of paths.

The engine in one page
----------------------
The scheme (DESIGN.md section 1): on a fine grid of (L1-1) 2^d1 x (L2-1) 2^d2 cells, with
K = 1 on the left and bottom edges, K[r+1][c+1] = (K[r+1][c] + K[r][c+1]) A - K[r][c] B,
A = 1 + D/2 + D^2/12, B = 1 - D^2/12, D = G[i][j] 2^-(d1+d2) for the coarse cell (i, j)
of the fine cell, G the static kernel's second differences.

Lanes. Work goes in blocks of LANES (32) lanes. Every inner loop runs over the lanes, which
hold different pairs, so there is no dependency between them and the loops are SIMD
(lanes.h writes them on vector types as wide as the target's registers). Layouts, l the
lane: points [i][k][l], G[i][j][l], grid rows [c][l]. Blocks are shared between OpenMP
threads with dynamic scheduling; each thread has one block's workspace.

Strips. With too few pairs to fill every thread's lanes, or rows too long for the L1 cache,
each pair's grid is cut into `strips` strips of columns, one lane each (_planning.strips
chooses). Strip s runs s coarse rows behind strip s-1 and takes its left edge from that
strip's right edge 2^d1 fine rows earlier (left_boundary); the extra rows at the bottom see
the first point again (G = 0, K = 1), so values are unchanged, bit for bit.

Ragged batches. Paths padded with their last point add cells that only repeat values; a
block stops at its longest paths, and a pair's kernel is read at its own last row
(pde_forward's ends/finals), so it equals the pair computed alone.

Forward (forward, below): rows of G a chunk at a time (static.pxi), then fine rows (pde_row
in lanes.h), two rows kept. Wide paths (many channels: given wide1, wide2, the paths'
increments for the linear kernel, else their points) get each pair's G from BLAS products
first (wide_block), which the rows of G then read (wide_rows); the backward returns dF/dG
the same way for the chain rule by more products (wide_chain_rule).

Backward (backward, below): the exact reverse mode of the scheme. Kbar[p][q] =
A(p-1, q) Kbar[p][q+1] + A(p, q-1) Kbar[p+1][q] - B(p, q) Kbar[p+1][q+1], from the seed at
the top right corner; each fine cell adds Kbar (dA (K[p][q-1] + K[p-1][q]) - dB K[p-1][q-1])
to dF/dG of its coarse cell (dA = 1/2 + D/6, dB = -D/6, times 2^-(d1+d2)), and the static
kernel's chain rule takes dF/dG to the points (static.pxi), the transforms' adjoints to the
caller's points (Python). The forward grid the adjoint reads is
- given (k_grid): copied in;
- kept whole when a block's grid fits (_planning.segment_rows returns 0): at d1 >= 2 one
  SIMD vector of lanes at a time (forward_lanes, adjoint_lanes), else for all lanes;
- else recomputed segment by segment from checkpoint rows, from the top down.
The adjoint's rows go one at a time at d1 = 0, two (adjoint_pair) at d1 = 1, four
(adjoint_quad) at d1 >= 2, within one coarse row so that they share its coefficients.
A gram row's block shares one path of x, whose gradient is summed over pairs and strips in
registers (scatter_x, sk_diag_sums); other blocks scatter pair by pair (scatter_add).

Files: static.pxi (static kernels), forward.pxi and adjoint.pxi (the sweeps), backward.pxi
(a block of the backward: its three ways to the forward grid, and its adjoint), blocks.pxi
(lanes, gathering and scattering), grid_adjoint.pxi (derivatives seeded at every node,
plain), lanes.h (the SIMD rows).
"""
from cython.parallel cimport prange, parallel, threadid
from libc.stdlib cimport malloc, calloc, free
from libc.string cimport memset, memcpy
from libc.math cimport exp, sqrt, pow, floor, ceil, fabs, ldexp, log, log2, log10, lgamma, INFINITY
from scipy.linalg.cython_blas cimport dgemm, sgemm

ctypedef fused floating:
    float
    double

cdef extern from "lanes.h" nogil:
    enum: SK_LANES
    enum: SK_LINEAR, SK_RBF, SK_MATERN12, SK_MATERN32, SK_MATERN52, SK_POLYNOMIAL
    enum: SK_RATIONAL_QUADRATIC
    void sk_pde_row_d(const double*, double*, const double*, const double*, Py_ssize_t,
                      Py_ssize_t, const double*, Py_ssize_t, double*)
    void sk_pde_row_f(const float*, float*, const float*, const float*, Py_ssize_t, Py_ssize_t,
                      const float*, Py_ssize_t, float*)
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
                       Py_ssize_t, Py_ssize_t, const double*, Py_ssize_t, double*, Py_ssize_t)
    void sk_pde_quad_f(const float*, float*, Py_ssize_t, const float*, const float*,
                       Py_ssize_t, Py_ssize_t, const float*, Py_ssize_t, float*, Py_ssize_t)
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

cdef extern from "gemm_nt.h" nogil:
    int sk_gemm_nt_d(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, double alpha, const double* A,
                     Py_ssize_t lda, const double* B, Py_ssize_t ldb, double* C, Py_ssize_t ldc)
    int sk_gemm_nt_f(Py_ssize_t m, Py_ssize_t n, Py_ssize_t k, float alpha, const float* A,
                     Py_ssize_t lda, const float* B, Py_ssize_t ldb, float* C, Py_ssize_t ldc)

cdef extern from "poly_lanes.h" nogil:
    enum: SK_PL
    Py_ssize_t sk_pl_edge(int N)
    void sk_pl_row(const double* g, double h, const double* Brow, double* Trow, double* Lrow,
                   const double* H, int N, Py_ssize_t C, int d2)
    void sk_pl_adjoint_row(const double* g, const double* Brow, const double* Lrow, double* tb,
                           double* rb, const double* H, int N, Py_ssize_t C, int d2, double h,
                           double* Gb, const Py_ssize_t* seed_at, const double* seed, int add)
    void sk_pl_linear_chain(const double* gb, Py_ssize_t ldg, Py_ssize_t n1, Py_ssize_t n2,
                            Py_ssize_t d, const double* dx, const double* dy, double* ax,
                            double* ay)

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
    a misaligned workspace is markedly slower). Every array cut from a workspace is a
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
LANES = W           # pairs a block of the finite-difference solver
POLY_LANES = SK_PL  # of the polynomial method


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


cdef int allocated(int failed, size_t nbytes) except -1:
    """After a parallel region: MemoryError if a thread's workspace (nbytes; 0: of a size
    that varied) failed."""
    if failed:
        raise MemoryError(f"could not allocate the solver's workspace" + (
            f": {nbytes / 2.0 ** 20:.1f} MiB per thread" if nbytes else ""))
    return 0

# A thread's workspace is one allocation cut into arrays; a layout holds their offsets (in
# numbers) and the total, counted in double precision so that it cannot wrap around. Every
# array is a multiple of W numbers long, so that all keep the allocation's alignment.
ctypedef struct ForwardLayout:
    Py_ssize_t xs, ys, AB, work, G, dxs, edge, rows, finals, wide
    double size

ctypedef struct BackwardLayout:
    Py_ssize_t seed, xs, ys, xbar, ybar, G, Gb, AB, work, dybar, dxs, sums, srow, kb, seg
    Py_ssize_t check, fedge, aedge, wide
    double size


cdef inline Py_ssize_t carve(double* size, double n) noexcept nogil:
    """The offset of the next n numbers of a workspace of ``size`` numbers so far."""
    cdef Py_ssize_t at = <Py_ssize_t>size[0] if size[0] < 2.0 ** 62 else 0
    size[0] += n
    return at


cdef ForwardLayout forward_layout(Py_ssize_t Lx, Py_ssize_t L2, Py_ssize_t d, Py_ssize_t n2,
                                  Py_ssize_t gcap, Py_ssize_t nedge, double nrows,
                                  double nwide) noexcept nogil:
    """The forward's workspace: the block's points (x as the lanes see them: Lx), A and B
    of a coarse row, the static kernel's own (static_work), gcap numbers of rows of G, x's
    increments, the strips' edges (nedge), the fine rows (nrows numbers), each lane's
    kernel, the pairs' G of wide paths with their workspace (nwide)."""
    cdef ForwardLayout o
    o.size = 0
    o.xs = carve(&o.size, <double>Lx * d * W)
    o.ys = carve(&o.size, <double>L2 * d * W)
    o.AB = carve(&o.size, 2. * n2 * W)
    o.work = carve(&o.size, static_work(L2, d))
    o.G = carve(&o.size, gcap)
    o.dxs = carve(&o.size, <double>Lx * d * W)
    o.edge = carve(&o.size, nedge)
    o.rows = carve(&o.size, nrows)
    o.finals = carve(&o.size, W)
    o.wide = carve(&o.size, nwide)
    return o


cdef BackwardLayout backward_layout(Py_ssize_t Lx, Py_ssize_t L2, Py_ssize_t d,
                                    Py_ssize_t n2, Py_ssize_t nb, Py_ssize_t rowlen,
                                    Py_ssize_t nseg, Py_ssize_t ncheck,
                                    Py_ssize_t nedge, double nwide) noexcept nogil:
    """The backward's workspace: the seed row, the block's points and their gradients (xbar
    right before ybar: they are cleared together), nb coarse rows of G and of dF/dG, A and
    B, the static kernel's own, y's increments' gradients, nb rows of x's increments, a
    channel's sums, a row of slopes, five adjoint rows, nseg forward rows (a segment's),
    ncheck checkpoint rows, the strips' edges of the forward and the adjoint, and the pairs'
    G and dF/dG of wide paths with their workspace (nwide numbers)."""
    cdef BackwardLayout o
    o.size = 0
    o.seed = carve(&o.size, W)
    o.xs = carve(&o.size, <double>Lx * d * W)
    o.ys = carve(&o.size, <double>L2 * d * W)
    o.xbar = carve(&o.size, <double>Lx * d * W)
    o.ybar = carve(&o.size, <double>L2 * d * W)
    o.G = carve(&o.size, <double>nb * n2 * W)
    o.Gb = carve(&o.size, <double>nb * n2 * W)
    o.AB = carve(&o.size, 2. * n2 * W)
    o.work = carve(&o.size, static_work(L2, d))
    o.dybar = carve(&o.size, <double>n2 * d * W)
    o.dxs = carve(&o.size, <double>nb * d * W)
    o.sums = carve(&o.size, <double>d * W)
    o.srow = carve(&o.size, <double>L2 * W)
    o.kb = carve(&o.size, 5. * rowlen)
    o.seg = carve(&o.size, <double>nseg * rowlen)
    o.check = carve(&o.size, <double>ncheck * rowlen)
    o.fedge = carve(&o.size, 2. * nedge)    # values and increments (pde_forward)
    o.aedge = carve(&o.size, nedge)
    o.wide = carve(&o.size, nwide)
    return o


ctypedef struct Static:
    int kind
    double p0, p1, p2
    # G given as a table, else NULL: for wide paths (many channels: sksigkernel._wide), a
    # block's pairs' G computed by matrix products (wide_block) into g, rows of ldg numbers,
    # and read from there (wide_rows); the backward puts dF/dG in gbar (the same layout) for
    # the chain rule's products (wide_chain_rule). gn1, gn2: the padded paths' increments.
    void* g
    void* gbar
    Py_ssize_t ldg, gn1, gn2


cdef Static static_kernel(int kind, double p0, double p1, double p2) noexcept nogil:
    cdef Static sk
    sk.kind, sk.p0, sk.p1, sk.p2 = kind, p0, p1, p2
    sk.g = sk.gbar = NULL
    sk.ldg = sk.gn1 = sk.gn2 = 0
    return sk


cdef inline Static wide_static(Static sk, void* g, void* gbar, Py_ssize_t n1, Py_ssize_t n2,
                               Py_ssize_t ldg) noexcept nogil:
    """sk with G of pairs of paths of n1 and n2 increments at g (rows of ldg numbers) and
    dF/dG at gbar (a value: a prange body must assign it whole to keep it private)."""
    sk.g, sk.gbar, sk.ldg, sk.gn1, sk.gn2 = g, gbar, ldg, n1, n2
    return sk


# Products A B^T of up to this many columns (the channels: wide paths' G and static-kernel
# arguments) run in gemm_nt.h, which beats BLAS on these shapes (a pair's, about 100 x 100;
# one core, AVX-512, in us: 7.6 / 11.3 at 16 channels, 23.5 / 34.8 at 64, 100 / 123 at 256,
# but 548 / 514 at 1024).
DEF GEMM_NT_MAX_K = 256


cdef inline void gemm(bint ta, bint tb, Py_ssize_t m, Py_ssize_t n, Py_ssize_t k,
                      floating alpha, const floating* A, Py_ssize_t lda, const floating* B,
                      Py_ssize_t ldb, floating beta, floating* C, Py_ssize_t ldc) noexcept nogil:
    """C = alpha op(A) op(B) + beta C, row-major: C m x n, op(A) m x k (A^T when ta), op(B)
    k x n (B^T when tb), rows of lda, ldb, ldc numbers (BLAS, column-major, computes C^T =
    op(B)^T op(A)^T; A B^T of few columns by gemm_nt.h)."""
    cdef char* opa = 'T' if tb else 'N'
    cdef char* opb = 'T' if ta else 'N'
    cdef int M = <int>n, N = <int>m, K = <int>k, la = <int>ldb, lb = <int>lda, lc = <int>ldc
    if not ta and tb and beta == 0 and k <= GEMM_NT_MAX_K:
        if floating is double:
            if sk_gemm_nt_d(m, n, k, alpha, A, lda, B, ldb, C, ldc) == 0:
                return
        elif sk_gemm_nt_f(m, n, k, alpha, A, lda, B, ldb, C, ldc) == 0:
            return
    if floating is double:
        dgemm(opa, opb, &M, &N, &K, &alpha, <double*>B, &la, <double*>A, &lb, &beta, C, &lc)
    else:
        sgemm(opa, opb, &M, &N, &K, &alpha, <float*>B, &la, <float*>A, &lb, &beta, C, &lc)


# Rows whose values grow past 2^SCALE_AT are scaled by 2^-SCALE_BY (exactly: a power of
# two) when the caller keeps a scale exponent, so that kernels beyond the floating range still
# have a mantissa (normalize=True divides exponents, not infinities); float: the *32 ones.
DEF SCALE_AT = 600
DEF SCALE_BY = 600
DEF SCALE_AT32 = 60
DEF SCALE_BY32 = 60


include "static.pxi"
include "forward.pxi"
include "adjoint.pxi"
include "blocks.pxi"
include "backward.pxi"
include "grid_adjoint.pxi"
include "polynomial.pxi"


cdef int check_wide(int kind, object wide1, object wide2, object X, object Y) except -1:
    """wide1 and wide2 are X's and Y's increments (linear kernel) or points (the others)."""
    cdef int cut = 1 if kind == LINEAR else 0
    if wide2 is None or tuple(wide1.shape[:3]) != (X.shape[0], X.shape[1] - cut, X.shape[2]) \
            or tuple(wide2.shape[:3]) != (Y.shape[0], Y.shape[1] - cut, Y.shape[2]):
        raise ValueError("wide1 and wide2 must be X's and Y's increments (linear kernel) or "
                         "points (the others)")
    return 0


def forward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
            const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb,
            int kind, double p0, double p1, double p2, int d1, int d2,
            floating[::1] out, floating[:, :, ::1] grid=None, int nthreads=1,
            const Py_ssize_t[::1] len1=None, const Py_ssize_t[::1] len2=None,
            Py_ssize_t strips=1, const floating[:, :, ::1] wide1=None,
            const floating[:, :, ::1] wide2=None, long[::1] exponents=None):
    """Kernels of the pairs (X[pa[n]], Y[pb[n]]) into out[n]; the fine grids into grid[n].

    exponents (no grid): the kernels are out[n] 2^exponents[n], each pair's grid scaled
    down as it grows (pde_forward), so that they stay finite beyond the floating range.

    wide1, wide2 (wide paths): what G's matrix products read (wide_g): X's and Y's increments
    for the linear kernel, X and Y themselves for the others; no points are then gathered.

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
    cdef Static sk = static_kernel(kind, p0, p1, p2)
    cdef Py_ssize_t P = W // strips, npairs = pa.shape[0], nblocks = (npairs + P - 1) // P
    cdef Py_ssize_t L1 = X.shape[1], L2 = Y.shape[1], d = X.shape[2]
    cdef Py_ssize_t n1 = L1 - 1, n2 = L2 - 1, R = n1 << d1, C = n2 << d2
    cdef bint wide = wide1 is not None
    cdef Py_ssize_t dw = d          # the channels of the wide data; d: those of points gathered
    cdef Static skb = sk
    if wide:
        check_wide(kind, wide1, wide2, X, Y)
        d = 0
    cdef Py_ssize_t Lx = L1 + strips - 1       # points of x as the lanes see them, at most
    cdef Py_ssize_t rowlen = (C + 1) * W
    cdef bint keep = grid is not None
    cdef Py_ssize_t nstore = R + 1 if keep else 2
    # rows of G computed together: about 256 KiB of them, so they stay in cache
    cdef Py_ssize_t gcap = max(n2 * W, (256 << 10) // <Py_ssize_t>sizeof(floating))
    cdef Py_ssize_t nedge = 2 * (((Lx - 1) << d1) + 1) * W if strips > 1 else 0
    cdef Py_ssize_t blk, n, b, l, r, c, t, w, n1b, Rb, Cb, rowlen_b
    # true lengths (NULL: the padded ones)
    cdef const Py_ssize_t* lens1 = &len1[0] if len1 is not None and not keep else NULL
    cdef const Py_ssize_t* lens2 = &len2[0] if len2 is not None and not keep else NULL
    cdef Py_ssize_t* ia
    cdef Py_ssize_t* ib
    cdef Py_ssize_t* tags
    cdef Py_ssize_t* ends
    cdef Py_ssize_t* ex
    cdef Py_ssize_t* fex
    cdef Py_ssize_t* eedge
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
    if exponents is not None and (keep or exponents.shape[0] < npairs):
        raise ValueError("exponents need no grid, and a number per pair")
    # the strips' edges' exponents (pde_forward's eedge)
    cdef Py_ssize_t needge = nedge // 2 if exponents is not None else 0
    cdef ForwardLayout lay = forward_layout(Lx, L2, d, n2, gcap, nedge, nstore * rowlen,
                                            <double>P * n1 * n2 + wide_work(L1, L2, dw)
                                            if wide else 0)
    cdef size_t nwork = checked_size(sizeof(floating), lay.size)
    cdef int failed = 0
    with nogil, parallel(num_threads=nthreads):
        raw = workspace(nwork * sizeof(floating), &failed)
        ia = <Py_ssize_t*>workspace(sizeof(Py_ssize_t) * (6 * W + 3 + needge), &failed)
        ws = <floating*>cache_aligned(raw)
        xs = ws + lay.xs
        ys = ws + lay.ys
        AB = ws + lay.AB
        work = ws + lay.work
        G = ws + lay.G
        dxs = ws + lay.dxs
        edge = ws + lay.edge
        rows = ws + lay.rows
        finals = ws + lay.finals
        ib = ia + W
        tags = ib + W
        ends = tags + W + 3
        ex = ends + W
        fex = ex + W
        eedge = fex + W
        for blk in prange(nblocks, schedule='dynamic'):
            if raw == NULL or ia == NULL:
                continue
            n = block_lanes(&pa[0], &pb[0], blk * P, npairs, strips, ia, ib)
            skb = sk
            if wide:
                skb = wide_static(sk, ws + lay.wide, NULL, n1, n2, n2)
                wide_block(skb, &wide1[0, 0, 0], &wide2[0, 0, 0], wide1.shape[1] * dw,
                           wide2.shape[1] * dw, dw, &pa[0], &pb[0], blk * P, n, strips, lens1,
                           lens2, ws + lay.wide + P * n1 * n2, tags)
            w = block_width(L2, lens2, 1, strips, ib)
            n1b = load_block(&X[0, 0, 0], &Y[0, 0, 0], L1, L2, d, lens1, 1, strips, ia, ib, w,
                             xs, ys)
            Rb = n1b << d1
            Cb = w << d2
            rowlen_b = (Cb + 1) * W
            static_prepare(skb, ys, w + 1, d, work, tags)
            for t in range(rowlen_b):
                rows[t] = 1
            # a pair's kernel: the top right corner of its last strip, at the top of the
            # block's grid, or with true lengths at the top of its own (see pde_forward)
            for l in range(W):
                ends[l] = -1
                finals[l] = 1
                ex[l] = 0
                fex[l] = 0
            if lens1 != NULL:
                for b in range(n):
                    ends[b * strips + strips - 1] = lens1[ia[b * strips]] + strips - 2 << d1
            forward_coarse_rows(skb, xs, ys, 0, n1b, w + 1, d,
                                max(1, min(n1b, gcap // max(1, w * W))), False, G, work, tags,
                                dxs, d1, d2, rows, 0, nstore, AB, strips, edge,
                                ends if lens1 != NULL else NULL, finals,
                                ex if exponents is not None else NULL,
                                fex if exponents is not None else NULL,
                                eedge if exponents is not None and strips > 1 else NULL)
            top = rows + (Rb % nstore) * rowlen_b
            for b in range(n):
                out[blk * P + b] = finals[b * strips + strips - 1] if lens1 != NULL \
                    else top[Cb * W + b * strips + strips - 1]
                if exponents is not None:
                    exponents[blk * P + b] = fex[b * strips + strips - 1] if lens1 != NULL \
                        else ex[b * strips + strips - 1]
            if keep:
                for l in range(n):
                    for r in range(R + 1):
                        for c in range(C + 1):
                            grid[blk * W + l, r, c] = rows[(r * (C + 1) + c) * W + l]
        free(raw)
        free(ia)
    allocated(failed, nwork * sizeof(floating))


def backward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
             const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb, const floating[::1] derivs,
             int kind, double p0, double p1, double p2, int d1, int d2,
             floating[:, :, :, ::1] dX, floating[:, :, :, ::1] dY,
             const floating[:, :, ::1] grid=None, Py_ssize_t seg_rows=0, int nthreads=1,
             const Py_ssize_t[::1] len1=None, const Py_ssize_t[::1] len2=None,
             Py_ssize_t strips=1, const floating[:, :, ::1] wide1=None,
             const floating[:, :, ::1] wide2=None):
    """Adds derivs[n] * d k(X[pa[n]], Y[pb[n]]) / d points to dX[thread, pa[n]], dY[thread, pb[n]].

    wide1, wide2: as for forward (wide paths).

    dX and dY carry one slice per thread (summed by the caller), so no two threads write the
    same memory. The forward grid is read from ``grid[n]`` when given, else recomputed from
    checkpoints every ``seg_rows`` fine rows (rounded up to whole coarse rows; 0: keep the
    whole grid of a block). Segment by segment, from the top: the rows of G the segment
    needs, its forward rows, its adjoint, then the chain rule of its finished rows of dF/dG
    back to the points, so that neither G nor dF/dG is ever held whole. len1, len2, strips:
    as for forward (not with ``grid``); a block stops at its longest paths, and seg_rows
    counts the rows of a block's grid of strips.
    """
    cdef Static sk = static_kernel(kind, p0, p1, p2)
    cdef Py_ssize_t P = W // strips, npairs = pa.shape[0], nblocks = (npairs + P - 1) // P
    cdef Py_ssize_t L1 = X.shape[1], L2 = Y.shape[1], d = X.shape[2]
    cdef Py_ssize_t R = L1 - 1 << d1, C = L2 - 1 << d2, M1 = 1 << d1
    cdef bint wide = wide1 is not None
    cdef Py_ssize_t dw = d          # the channels of the wide data; d: those of points gathered
    cdef Static skb = sk
    cdef Py_ssize_t gsize = (L1 - 1) * (L2 - 1)
    if wide:
        check_wide(kind, wide1, wide2, X, Y)
        d = 0
    # the largest grid of a block of strips: n1 rows (skewed), n2 columns
    cdef Py_ssize_t Lx = L1 + strips - 1
    cdef Py_ssize_t n1 = Lx - 1, n2 = (L2 - 1 + strips - 1) // strips
    cdef Py_ssize_t Rl = n1 << d1, rowlen = ((n2 << d2) + 1) * W
    cdef Py_ssize_t nedge = (Rl + 1) * W if strips > 1 else 0
    cdef bint from_grid = grid is not None
    cdef Py_ssize_t S = Rl if seg_rows <= 0 or seg_rows >= Rl or from_grid else \
        (seg_rows + M1 - 1) // M1 * M1
    cdef Py_ssize_t nseg = (Rl + S - 1) // S if S > 0 else 0
    cdef Py_ssize_t ncheck = nseg if nseg > 1 else 0
    cdef Py_ssize_t nb = S // M1 + 1      # rows of G and of dF/dG held: a segment's, one more
    # at d1 >= 2 with the whole grid kept, a vector of lanes at a time (whole_grid_by_vectors):
    # the lanes of a vector must hold whole pairs
    cdef Py_ssize_t V = SK_VL_d if floating is double else SK_VL_f
    cdef bint grouped = d1 >= 2 and not from_grid and nseg <= 1 and strips <= V
    # coarse rows of G computed together (about 256 KiB), and of the adjoint per step of the
    # chain rule (about 128 KiB of dF/dG), so that each is read from cache
    cdef Py_ssize_t CH = max(1, (256 << 10) // max(1, n2 * W * <Py_ssize_t>sizeof(floating)))
    cdef Py_ssize_t CB = max(4, (128 << 10) // max(1, n2 * W * <Py_ssize_t>sizeof(floating)))
    cdef bint linear = kind == LINEAR
    cdef const Py_ssize_t* lens1 = &len1[0] if len1 is not None and not from_grid else NULL
    cdef const Py_ssize_t* lens2 = &len2[0] if len2 is not None and not from_grid else NULL
    cdef Py_ssize_t bn1, bn2
    cdef Py_ssize_t blk, n, l, s, r0, r1, i0, i1, ig, tid
    cdef BlockPlan plan
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
    cdef floating* Gb
    cdef floating* work
    cdef floating* xbar
    cdef floating* ybar
    cdef floating* dybar
    cdef floating* sums
    cdef floating* srow
    if npairs == 0 or R == 0 or C == 0:
        return
    if strips < 1 or W % strips or strips & (strips - 1) or (from_grid and strips != 1):
        raise ValueError(f"strips must be a power of two dividing {W} (and 1 with grid), "
                         f"got {strips}")
    cdef BackwardLayout lay = backward_layout(Lx, L2, d, n2, nb, rowlen, S + 1, ncheck, nedge,
                                              2. * P * gsize + wide_work(L1, L2, dw)
                                              if wide else 0)
    cdef size_t nwork = checked_size(sizeof(floating), lay.size)
    cdef int failed = 0
    with nogil, parallel(num_threads=nthreads):
        raw = workspace(nwork * sizeof(floating), &failed)
        ws = <floating*>cache_aligned(raw)
        ia = <Py_ssize_t*>workspace(sizeof(Py_ssize_t) * (3 * W + 3), &failed)
        ib = ia + W
        ptags = ib + W
        seed = ws + lay.seed
        xs = ws + lay.xs
        ys = ws + lay.ys
        xbar = ws + lay.xbar
        ybar = ws + lay.ybar
        Gb = ws + lay.Gb
        work = ws + lay.work
        dybar = ws + lay.dybar
        sums = ws + lay.sums
        srow = ws + lay.srow
        for blk in prange(nblocks, schedule='dynamic'):
            if raw == NULL or ia == NULL:
                continue
            tid = threadid()
            n = block_lanes(&pa[0], &pb[0], blk * P, npairs, strips, ia, ib)
            skb = sk
            if wide:
                skb = wide_static(sk, ws + lay.wide, ws + lay.wide + P * gsize, L1 - 1, L2 - 1,
                                  L2 - 1)
                wide_block(skb, &wide1[0, 0, 0], &wide2[0, 0, 0], wide1.shape[1] * dw,
                           wide2.shape[1] * dw, dw, &pa[0], &pb[0], blk * P, n, strips, lens1,
                           lens2, ws + lay.wide + 2 * P * gsize, ptags)
                memset(skb.gbar, 0, sizeof(floating) * n * gsize)
            for l in range(W):      # the seed enters at the top right corner of a last strip
                seed[l] = derivs[blk * P + l // strips] \
                    if l // strips < n and l & (strips - 1) == strips - 1 else 0
            # the block's own grid (at least 2 points a path)
            bn2 = block_width(L2, lens2, 2, strips, ib)
            bn1 = load_block(&X[0, 0, 0], &Y[0, 0, 0], L1, L2, d, lens1, 2, strips, ia, ib, bn2,
                             xs, ys)
            plan = block_plan(skb, d1, d2, d, strips, CH, CB, bn1, bn2, S, ptags)
            static_prepare(skb, ys, bn2 + 1, d, work, ptags)
            if not linear:  # the linear kernel writes xbar (increments) and ybar whole
                memset(xbar, 0, sizeof(floating) * (Lx + L2) * d * W)
            memset(dybar, 0, sizeof(floating) * n2 * d * W)
            if grouped:
                whole_grid_by_vectors(&plan, ws, &lay, ptags)
                adjoint_and_chain_rule(&plan, ws, &lay, 0, 0, bn1, False, inv)
            else:
                if plan.nseg > 1:
                    checkpoint_rows(&plan, ws, &lay, ptags)
                for s in range(plan.nseg - 1, -1, -1):     # segments from the top
                    r0 = s * S
                    r1 = r0 + S if r0 + S < plan.R else plan.R
                    i0 = r0 // M1
                    i1 = r1 // M1       # its coarse rows: i0 .. i1-1; G also needs row i1
                    ig = i1 + 1 if i1 < bn1 else bn1
                    if from_grid:
                        segment_from_grid(&plan, ws, &lay, ptags, r0, r1, i0, ig, &grid[0, 0, 0],
                                          blk * P, n)
                    else:
                        segment_recomputed(&plan, ws, &lay, ptags, s, i0, i1, ig)
                    adjoint_and_chain_rule(&plan, ws, &lay, r0, i0, i1, True, inv)
            if wide:
                wide_chain_rule(skb, &wide1[0, 0, 0], &wide2[0, 0, 0], wide1.shape[1] * dw,
                                wide2.shape[1] * dw, dw, &pa[0], &pb[0], blk * P, n, lens1,
                                lens2, ws + lay.wide + 2 * P * gsize,
                                &dX[tid, 0, 0, 0] if dX is not None else NULL,
                                &dY[tid, 0, 0, 0] if dY is not None else NULL)
            elif linear:
                increments_to_points(dybar, ybar, bn2, d * W, inv)
            else:
                point_backward(sk, inv, xs, ys, 0, bn2 + 1, d, NULL, Gb, xbar, ybar, srow)
            if want_x and not wide:
                scatter_x(xbar, L1, d, ia, n * strips, bn1 if linear else bn1 + 1, linear,
                          <floating>(sk.p0 * inv), strips, &dX[tid, 0, 0, 0], sums)
            if want_y and not wide:
                scatter_add(ybar, L2, d, ib, n * strips, bn2 + 1, False, strips, bn2,
                            &dY[tid, 0, 0, 0], sums)
        free(raw)
        free(ia)
    allocated(failed, nwork * sizeof(floating))
