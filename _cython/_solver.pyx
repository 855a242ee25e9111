# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""Signature-kernel PDE solvers: forward and adjoint, for lists of pairs of paths.

Work is split into blocks of ``LANES`` pairs. The pairs of a block are the lanes of every
inner loop (no dependency between lanes), so the compiler turns those loops into SIMD
instructions; blocks are shared between OpenMP threads with dynamic scheduling. Each thread
owns its workspace, sized for one block, so memory does not grow with the number of pairs.

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

cdef enum:
    W = 32    # pairs per block: the SIMD lanes

# Static kernel codes; keep in step with sksigkernel/static_kernels.py.
cdef enum:
    LINEAR = 0
    RBF = 1
    MATERN12 = 2
    MATERN32 = 3
    MATERN52 = 4
    POLYNOMIAL = 5
    RATIONAL_QUADRATIC = 6

LANES = W

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
        for t in range(L2 * W):
            row[t] = <floating>point_value(sk, row[t])
    return row


cdef void static_row(Static sk, const floating* xs, const floating* ys, Py_ssize_t i,
                     Py_ssize_t L2, Py_ssize_t d, floating* Grow, floating* work,
                     Py_ssize_t* tags) noexcept nogil:
    """Row i of G: kappa(x_{i+1}, y_{j+1}) - kappa(x_{i+1}, y_j) - kappa(x_i, y_{j+1}) + kappa(x_i, y_j).

    ``work`` must have been set up by static_prepare for the same block.
    """
    cdef Py_ssize_t j, k, l, t, n2 = L2 - 1
    cdef floating acc[W]
    cdef floating* dy = work
    cdef floating* dx = work + n2 * d * W
    cdef floating* prow
    cdef floating* crow
    if sk.kind == LINEAR:
        for t in range(d * W):
            dx[t] = <floating>sk.p0 * (xs[(i + 1) * d * W + t] - xs[i * d * W + t])
        for j in range(n2):
            for l in range(W):
                acc[l] = 0
            for k in range(d):
                for l in range(W):
                    acc[l] += dx[k * W + l] * dy[(j * d + k) * W + l]
            for l in range(W):
                Grow[j * W + l] = acc[l]
        return
    prow = kappa_row(sk, xs, ys, i, L2, d, work, tags)
    crow = kappa_row(sk, xs, ys, i + 1, L2, d, work, tags)
    for t in range(n2 * W):
        Grow[t] = (crow[t + W] - crow[t]) - (prow[t + W] - prow[t])


cdef void static_forward(Static sk, const floating* xs, const floating* ys, Py_ssize_t L1,
                         Py_ssize_t L2, Py_ssize_t d, floating* G, floating* work,
                         Py_ssize_t* tags) noexcept nogil:
    """The whole of G, row after row."""
    cdef Py_ssize_t i
    static_prepare(sk, ys, L2, d, work, tags)
    for i in range(L1 - 1):
        static_row(sk, xs, ys, i, L2, d, G + i * (L2 - 1) * W, work, tags)


cdef void static_backward(Static sk, const floating* xs, const floating* ys, Py_ssize_t L1,
                          Py_ssize_t L2, Py_ssize_t d, const floating* Gb, floating* xbar,
                          floating* ybar, floating* work) noexcept nogil:
    """Adds the derivatives of sum(Gb * G) with respect to the points to xbar and ybar."""
    cdef Py_ssize_t i, j, k, l, t, n1 = L1 - 1, n2 = L2 - 1
    cdef floating w[W]
    cdef floating acc[W]
    cdef floating diff, gb
    cdef floating* dy
    cdef floating* dx
    cdef floating* dxbar
    cdef floating* dybar
    cdef floating* srow
    cdef bint dist
    if sk.kind == LINEAR:
        dy = work
        dybar = work + n2 * d * W
        dx = dybar + n2 * d * W
        dxbar = dx + d * W
        for t in range(n2 * d * W):
            dy[t] = ys[t + d * W] - ys[t]
            dybar[t] = 0
        for i in range(n1):
            for t in range(d * W):
                dx[t] = <floating>sk.p0 * (xs[(i + 1) * d * W + t] - xs[i * d * W + t])
                dxbar[t] = 0
            for j in range(n2):
                for k in range(d):
                    for l in range(W):
                        gb = Gb[(i * n2 + j) * W + l]
                        dxbar[k * W + l] += gb * dy[(j * d + k) * W + l]
                        dybar[(j * d + k) * W + l] += gb * dx[k * W + l]
            for t in range(d * W):
                xbar[(i + 1) * d * W + t] += <floating>sk.p0 * dxbar[t]
                xbar[i * d * W + t] -= <floating>sk.p0 * dxbar[t]
        for t in range(n2 * d * W):
            ybar[t + d * W] += dybar[t]
            ybar[t] -= dybar[t]
        return
    dist = uses_distance(sk.kind)
    srow = work
    for i in range(L1):
        point_args(sk, xs + i * d * W, ys, L2, d, srow)
        for j in range(L2):
            for l in range(W):
                acc[l] = 0
            if i > 0 and j > 0:
                for l in range(W):
                    acc[l] += Gb[((i - 1) * n2 + j - 1) * W + l]
            if i > 0 and j < n2:
                for l in range(W):
                    acc[l] -= Gb[((i - 1) * n2 + j) * W + l]
            if i < n1 and j > 0:
                for l in range(W):
                    acc[l] -= Gb[(i * n2 + j - 1) * W + l]
            if i < n1 and j < n2:
                for l in range(W):
                    acc[l] += Gb[(i * n2 + j) * W + l]
            for l in range(W):
                w[l] = acc[l] * <floating>point_slope(sk, srow[j * W + l])
            for k in range(d):
                for l in range(W):
                    if dist:
                        diff = 2 * w[l] * (xs[(i * d + k) * W + l] - ys[(j * d + k) * W + l])
                        xbar[(i * d + k) * W + l] += diff
                        ybar[(j * d + k) * W + l] -= diff
                    else:
                        xbar[(i * d + k) * W + l] += w[l] * ys[(j * d + k) * W + l]
                        ybar[(j * d + k) * W + l] += w[l] * xs[(i * d + k) * W + l]


# ---------------------------------------------------------------------------------------
# The Goursat PDE on the fine grid
# ---------------------------------------------------------------------------------------

cdef inline void row_coeffs(const floating* Grow, Py_ssize_t n2, floating inv, floating* A,
                            floating* B) noexcept nogil:
    cdef Py_ssize_t t
    cdef floating D
    for t in range(n2 * W):
        D = Grow[t] * inv
        A[t] = 1 + D * (<floating>0.5 + D / 12)
        B[t] = 1 - D * D / 12


cdef inline void pde_row(const floating* prev, floating* cur, const floating* A,
                         const floating* B, Py_ssize_t n2, Py_ssize_t M2) noexcept nogil:
    """One fine row: cur[c+1] = cur[c] A + (prev[c+1] A - prev[c] B).

    The running values live in small local arrays (registers), so that the dependency
    on cur[c] is one multiply-add and nothing is reloaded from memory.
    """
    cdef Py_ssize_t j, m, l, c = 0
    cdef floating run[W]
    cdef floating lo[W]
    cdef floating hi[W]
    cdef floating a[W]
    cdef floating b[W]
    for l in range(W):
        run[l] = 1
        lo[l] = prev[l]
        cur[l] = 1
    for j in range(n2):
        for l in range(W):
            a[l] = A[j * W + l]
            b[l] = B[j * W + l]
        for m in range(M2):
            c += 1
            for l in range(W):
                hi[l] = prev[c * W + l]
                run[l] = run[l] * a[l] + (hi[l] * a[l] - lo[l] * b[l])
                cur[c * W + l] = run[l]
                lo[l] = hi[l]


cdef void pde_forward(const floating* G, Py_ssize_t n2, int d1, int d2, floating* rows,
                      Py_ssize_t base, Py_ssize_t nstore, Py_ssize_t r_from, Py_ssize_t r_to,
                      floating* AB, Static sk, const floating* xs, const floating* ys,
                      Py_ssize_t d, floating* work, Py_ssize_t* tags) noexcept nogil:
    """Fine rows r_from+1 .. r_to from row r_from; row r lives at slot (r - base) % nstore.

    G holds all coarse rows, or is NULL: then each row is computed when it is needed from
    the points (static_row), so that G never leaves the cache.
    """
    cdef Py_ssize_t r, i, rowlen = ((n2 << d2) + 1) * W
    cdef floating inv = <floating>1.0 / (1 << (d1 + d2))
    cdef Py_ssize_t M1 = 1 << d1
    cdef floating* Grow = AB + 2 * n2 * W
    for r in range(r_from, r_to):
        if r == r_from or (r & (M1 - 1)) == 0:
            i = r >> d1
            if G != NULL:
                row_coeffs(G + i * n2 * W, n2, inv, AB, AB + n2 * W)
            else:
                static_row(sk, xs, ys, i, n2 + 1, d, Grow, work, tags)
                row_coeffs(Grow, n2, inv, AB, AB + n2 * W)
        pde_row(rows + ((r - base) % nstore) * rowlen, rows + ((r + 1 - base) % nstore) * rowlen,
                AB, AB + n2 * W, n2, 1 << d2)


cdef inline floating* adjoint_coeffs(const floating* G, Py_ssize_t i, Py_ssize_t n2,
                                     floating inv, floating* coef, Py_ssize_t* tags) noexcept nogil:
    """A, B, dA/dDelta, dB/dDelta of coarse row i, cached in one of two slots."""
    cdef Py_ssize_t t, slot = i & 1
    cdef floating* c = coef + slot * 4 * n2 * W
    cdef floating D
    if tags[slot] != i:
        tags[slot] = i
        for t in range(n2 * W):
            D = G[i * n2 * W + t] * inv
            c[t] = 1 + D * (<floating>0.5 + D / 12)
            c[n2 * W + t] = 1 - D * D / 12
            c[2 * n2 * W + t] = <floating>0.5 + D / 6
            c[3 * n2 * W + t] = -D / 6
    return c


cdef inline void load(floating* dst, const floating* src) noexcept nogil:
    cdef Py_ssize_t l
    for l in range(W):
        dst[l] = src[l]


cdef inline void adjoint_row(floating* out, const floating* nxt, const floating* Kp,
                             const floating* Km, const floating* lo, const floating* hi,
                             floating* gb, Py_ssize_t n2, Py_ssize_t M2,
                             const floating* seed) noexcept nogil:
    """Adjoint row p from row p+1 (nxt), and dF/dG of the cells of fine row p-1 into gb.

    Kbar[p][q] = A(p-1, q) Kbar[p][q+1] + A(p, q-1) Kbar[p+1][q] - B(p, q) Kbar[p+1][q+1];
    lo holds A, B, dA, dB of the coarse row of fine row p-1, hi those of fine row p.
    Running values stay in local arrays, as in pde_row. seed != NULL marks the top row.
    """
    cdef Py_ssize_t j, m, l, q, N = n2 * W, C = n2 * M2
    cdef floating run[W]
    cdef floating nh[W]
    cdef floating kh[W]
    cdef floating acc[W]
    cdef floating acc2[W]
    cdef floating aL[W]
    cdef floating bH[W]
    cdef floating aH[W]
    cdef floating dA[W]
    cdef floating dB[W]
    cdef floating km
    for l in range(W):
        run[l] = seed[l] if seed != NULL else hi[(n2 - 1) * W + l] * nxt[C * W + l]
        out[C * W + l] = run[l]
        nh[l] = nxt[C * W + l]
        kh[l] = Km[C * W + l]
    for j in range(n2 - 1, -1, -1):
        load(aH, hi + j * W)
        load(dA, lo + 2 * N + j * W)
        load(dB, lo + 3 * N + j * W)
        for l in range(W):
            acc[l] = 0
            acc2[l] = 0
        for m in range(M2 - 1, -1, -1):
            q = j * M2 + m + 1
            if q < C:
                if m == M2 - 1 or m == M2 - 2:   # column j+1 at the top of column j, then j
                    load(aL, lo + (q // M2) * W)
                    load(bH, hi + N + (q // M2) * W)
                for l in range(W):
                    run[l] = aL[l] * run[l] + (aH[l] * nxt[q * W + l] - bH[l] * nh[l])
                    out[q * W + l] = run[l]
                    nh[l] = nxt[q * W + l]
            for l in range(W):   # dA, dB are constant over the coarse cell: sum first
                km = Km[(q - 1) * W + l]
                acc[l] += run[l] * (Kp[(q - 1) * W + l] + kh[l])
                acc2[l] += run[l] * km
                kh[l] = km
        for l in range(W):
            gb[j * W + l] += acc[l] * dA[l] - acc2[l] * dB[l]


cdef void pde_adjoint(const floating* G, floating* Gb, Py_ssize_t n1, Py_ssize_t n2, int d1,
                      int d2, const floating* seed, const floating* rows, Py_ssize_t r0,
                      Py_ssize_t r1, floating* kb, floating* coef, Py_ssize_t* tags) noexcept nogil:
    """Adjoint over fine rows r1 down to r0+1; rows holds K rows r0..r1 at slots 0..r1-r0.

    kb holds the adjoint rows in two slots (row p at slot p % 2); on entry the slot of row
    r1+1 must hold that row unless r1 is the top row. dF/dG of each coarse cell (not yet
    multiplied by 2^-(d1+d2)) is added to Gb.
    """
    cdef Py_ssize_t R = n1 << d1, C = n2 << d2, rowlen = (C + 1) * W
    cdef Py_ssize_t p, t
    cdef floating inv = <floating>1.0 / (1 << (d1 + d2))
    cdef floating* lo
    cdef floating* hi
    if r1 == R:     # above the top row the adjoint is zero
        for t in range(rowlen):
            kb[((R + 1) % 2) * rowlen + t] = 0
    for p in range(r1, r0, -1):
        lo = adjoint_coeffs(G, (p - 1) >> d1, n2, inv, coef, tags)
        hi = adjoint_coeffs(G, p >> d1, n2, inv, coef, tags) if p < R else lo
        adjoint_row(kb + (p % 2) * rowlen, kb + ((p + 1) % 2) * rowlen,
                    rows + (p - r0) * rowlen, rows + (p - 1 - r0) * rowlen, lo, hi,
                    Gb + ((p - 1) >> d1) * n2 * W, n2, 1 << d2, seed if p == R else NULL)


# ---------------------------------------------------------------------------------------
# Blocks of pairs
# ---------------------------------------------------------------------------------------

cdef inline Py_ssize_t block_lanes(const Py_ssize_t* pa, const Py_ssize_t* pb, Py_ssize_t start,
                                   Py_ssize_t npairs, Py_ssize_t* ia, Py_ssize_t* ib) noexcept nogil:
    """Path indices of the block's lanes (unused lanes repeat the first pair); returns the count."""
    cdef Py_ssize_t l, n = npairs - start
    if n > W:
        n = W
    for l in range(W):
        ia[l] = pa[start + l] if l < n else pa[start]
        ib[l] = pb[start + l] if l < n else pb[start]
    return n


cdef inline void gather(const floating* P, Py_ssize_t L, Py_ssize_t d, const Py_ssize_t* idx,
                        floating* out) noexcept nogil:
    cdef Py_ssize_t t, l
    for l in range(W):
        for t in range(L * d):
            out[t * W + l] = P[idx[l] * L * d + t]


cdef inline void scatter_add(const floating* src, Py_ssize_t L, Py_ssize_t d, const Py_ssize_t* idx,
                             Py_ssize_t n, floating* acc) noexcept nogil:
    cdef Py_ssize_t t, l
    for l in range(n):
        for t in range(L * d):
            acc[idx[l] * L * d + t] += src[t * W + l]


cdef inline Py_ssize_t static_work(Py_ssize_t L2, Py_ssize_t d) noexcept nogil:
    return 2 * (L2 - 1) * d * W + 2 * d * W + 2 * L2 * W


def forward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
            const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb,
            int kind, double p0, double p1, double p2, int d1, int d2,
            floating[::1] out, floating[:, :, ::1] grid=None, int nthreads=1):
    """Kernels of the pairs (X[pa[n]], Y[pb[n]]) into out[n]; the fine grids into grid[n]."""
    cdef Static sk = Static(kind, p0, p1, p2)
    cdef Py_ssize_t npairs = pa.shape[0], nblocks = (npairs + W - 1) // W
    cdef Py_ssize_t L1 = X.shape[1], L2 = Y.shape[1], d = X.shape[2]
    cdef Py_ssize_t n1 = L1 - 1, n2 = L2 - 1, R = n1 << d1, C = n2 << d2
    cdef Py_ssize_t rowlen = (C + 1) * W
    cdef bint keep = grid is not None
    cdef Py_ssize_t nstore = R + 1 if keep else 2
    cdef Py_ssize_t blk, n, l, r, c, t
    cdef Py_ssize_t* ia
    cdef Py_ssize_t* ib
    cdef Py_ssize_t* tags
    cdef floating* ws
    cdef floating* xs
    cdef floating* ys
    cdef floating* AB
    cdef floating* work
    cdef floating* rows
    cdef floating* top
    if npairs == 0:
        return
    with nogil, parallel(num_threads=nthreads):
        ws = <floating*>malloc(sizeof(floating) * (
            (L1 + L2) * d * W + 3 * n2 * W + static_work(L2, d) + nstore * rowlen))
        xs = ws
        ys = xs + L1 * d * W
        AB = ys + L2 * d * W
        work = AB + 3 * n2 * W
        rows = work + static_work(L2, d)
        ia = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (2 * W + 2))
        ib = ia + W
        tags = ib + W
        for blk in prange(nblocks, schedule='dynamic'):
            n = block_lanes(&pa[0], &pb[0], blk * W, npairs, ia, ib)
            gather(&X[0, 0, 0], L1, d, ia, xs)
            gather(&Y[0, 0, 0], L2, d, ib, ys)
            static_prepare(sk, ys, L2, d, work, tags)
            for t in range(rowlen):
                rows[t] = 1
            pde_forward(NULL, n2, d1, d2, rows, 0, nstore, 0, R, AB, sk, xs, ys, d, work, tags)
            top = rows + (R % nstore) * rowlen
            for l in range(n):
                out[blk * W + l] = top[C * W + l]
            if keep:
                for l in range(n):
                    for r in range(R + 1):
                        for c in range(C + 1):
                            grid[blk * W + l, r, c] = rows[(r * (C + 1) + c) * W + l]
        free(ws)
        free(ia)


def backward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
             const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb, const floating[::1] derivs,
             int kind, double p0, double p1, double p2, int d1, int d2,
             floating[:, :, :, ::1] dX, floating[:, :, :, ::1] dY,
             const floating[:, :, ::1] grid=None, Py_ssize_t seg_rows=0, int nthreads=1):
    """Adds derivs[n] * d k(X[pa[n]], Y[pb[n]]) / d points to dX[thread, pa[n]], dY[thread, pb[n]].

    dX and dY carry one slice per thread (summed by the caller), so no two threads write the
    same memory. The forward grid is read from ``grid[n]`` when given, else recomputed from
    checkpoints every ``seg_rows`` fine rows (0: keep the whole grid of a block).
    """
    cdef Static sk = Static(kind, p0, p1, p2)
    cdef Py_ssize_t npairs = pa.shape[0], nblocks = (npairs + W - 1) // W
    cdef Py_ssize_t L1 = X.shape[1], L2 = Y.shape[1], d = X.shape[2]
    cdef Py_ssize_t n1 = L1 - 1, n2 = L2 - 1, R = n1 << d1, C = n2 << d2
    cdef Py_ssize_t rowlen = (C + 1) * W
    cdef bint given = grid is not None
    cdef Py_ssize_t S = R if seg_rows <= 0 or seg_rows > R or given else seg_rows
    cdef Py_ssize_t nseg = (R + S - 1) // S if S > 0 else 0
    cdef Py_ssize_t ncheck = nseg + 1 if nseg > 1 else 0
    cdef Py_ssize_t blk, n, l, r, c, t, s, r0, r1, tid
    cdef Py_ssize_t* ia
    cdef Py_ssize_t* ib
    cdef Py_ssize_t* tags
    cdef Py_ssize_t* ptags
    cdef floating* seed
    cdef bint want_x = dX is not None, want_y = dY is not None
    cdef floating inv = <floating>1.0 / (1 << (d1 + d2))
    cdef floating* ws
    cdef floating* xs
    cdef floating* ys
    cdef floating* G
    cdef floating* Gb
    cdef floating* AB
    cdef floating* work
    cdef floating* xbar
    cdef floating* ybar
    cdef floating* kb
    cdef floating* coef
    cdef floating* seg
    cdef floating* check
    if npairs == 0 or R == 0 or C == 0:
        return
    with nogil, parallel(num_threads=nthreads):
        ws = <floating*>malloc(sizeof(floating) * (
            2 * (L1 + L2) * d * W + 2 * n1 * n2 * W + 3 * n2 * W + static_work(L2, d)
            + 2 * rowlen + 8 * n2 * W + (S + 1) * rowlen + ncheck * rowlen + W))
        ia = <Py_ssize_t*>malloc(sizeof(Py_ssize_t) * (2 * W + 4))
        ib = ia + W
        tags = ib + W
        ptags = tags + 2
        seed = ws
        xs = seed + W
        ys = xs + L1 * d * W
        xbar = ys + L2 * d * W
        ybar = xbar + L1 * d * W
        G = ybar + L2 * d * W
        Gb = G + n1 * n2 * W
        AB = Gb + n1 * n2 * W
        work = AB + 3 * n2 * W
        kb = work + static_work(L2, d)
        coef = kb + 2 * rowlen
        seg = coef + 8 * n2 * W
        check = seg + (S + 1) * rowlen
        for blk in prange(nblocks, schedule='dynamic'):
            tid = threadid()
            n = block_lanes(&pa[0], &pb[0], blk * W, npairs, ia, ib)
            for l in range(W):
                seed[l] = derivs[blk * W + l] if l < n else 0
            gather(&X[0, 0, 0], L1, d, ia, xs)
            gather(&Y[0, 0, 0], L2, d, ib, ys)
            static_forward(sk, xs, ys, L1, L2, d, G, work, ptags)
            memset(Gb, 0, sizeof(floating) * n1 * n2 * W)
            tags[0] = -1
            tags[1] = -1
            if nseg > 1:    # checkpoint pass: rows 0, S, 2S, ... ; seg's first two rows as a ring
                for t in range(rowlen):
                    check[t] = 1
                for s in range(nseg):
                    r0 = s * S
                    r1 = r0 + S if r0 + S < R else R
                    memcpy(seg, check + s * rowlen, sizeof(floating) * rowlen)
                    pde_forward(G, n2, d1, d2, seg, r0, 2, r0, r1, AB, sk, xs, ys, d, work, ptags)
                    memcpy(check + (s + 1) * rowlen, seg + ((r1 - r0) % 2) * rowlen,
                           sizeof(floating) * rowlen)
            for s in range(nseg - 1, -1, -1):
                r0 = s * S
                r1 = r0 + S if r0 + S < R else R
                if given:
                    for l in range(W):
                        for r in range(r0, r1 + 1):
                            for c in range(C + 1):
                                seg[((r - r0) * (C + 1) + c) * W + l] = \
                                    grid[blk * W + (l if l < n else 0), r, c]
                else:
                    if nseg > 1:
                        memcpy(seg, check + s * rowlen, sizeof(floating) * rowlen)
                    else:
                        for t in range(rowlen):
                            seg[t] = 1
                    pde_forward(G, n2, d1, d2, seg, r0, S + 1, r0, r1, AB, sk, xs, ys, d, work, ptags)
                pde_adjoint(G, Gb, n1, n2, d1, d2, seed, seg, r0, r1, kb, coef, tags)
            for t in range(n1 * n2 * W):
                Gb[t] = Gb[t] * inv
            memset(xbar, 0, sizeof(floating) * (L1 + L2) * d * W)
            static_backward(sk, xs, ys, L1, L2, d, Gb, xbar, ybar, work)
            if want_x:
                scatter_add(xbar, L1, d, ia, n, &dX[tid, 0, 0, 0])
            if want_y:
                scatter_add(ybar, L2, d, ib, n, &dY[tid, 0, 0, 0])
        free(ws)
        free(ia)
