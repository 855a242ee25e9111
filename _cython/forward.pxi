# The Goursat PDE forward on the fine grid: coefficients, rows, strips' left edges.
# (included by _solver.pyx, whose header declares what these use)

cdef inline void row_coeffs(const floating* Grow, Py_ssize_t n2, floating inv, floating* A,
                            floating* B) noexcept nogil:
    """A = 1 + D/2 + D^2/12, B = 1 - D^2/12 (a product by 1/12: a division does not vectorise
    as cheaply, and the result differs by rounding only); for float, A - 1 and A - B, the
    small parts that sk_pde_row's increments take (lanes_rows.h)."""
    cdef Py_ssize_t t
    cdef floating D, twelfth = <floating>(1.0 / 12.0), sixth = <floating>(1.0 / 6.0)
    for t in range(n2 * W):
        D = Grow[t] * inv
        if floating is float:
            A[t] = D * (<floating>0.5 + D * twelfth)
            B[t] = D * (<floating>0.5 + D * sixth)
        else:
            A[t] = 1 + D * (<floating>0.5 + D * twelfth)
            B[t] = 1 - D * D * twelfth


cdef inline void pde_row(const floating* prev, floating* cur, const floating* A,
                         const floating* B, Py_ssize_t n2, Py_ssize_t M2,
                         const floating* vprev, Py_ssize_t strips,
                         floating* vout) noexcept nogil:
    """One fine row: cur[c+1] = cur[c] A + (prev[c+1] A - prev[c] B), from the left boundary
    value the caller has put in cur[0]; float carries the row's increments over prev, from
    vprev's at the strips' left edges, into vout's at their right edges (lanes_rows.h)."""
    if floating is double:
        sk_pde_row_d(prev, cur, A, B, n2, M2, vprev, strips, vout)
    else:
        sk_pde_row_f(prev, cur, A, B, n2, M2, vprev, strips, vout)


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


cdef inline void rescale(floating* row, Py_ssize_t n, Py_ssize_t* ex) noexcept nogil:
    """A row of n numbers of each lane whose largest exceeds 2^SCALE_AT, times 2^-SCALE_BY
    (exact: a power of two), counted in the lane's exponent ex[l]."""
    cdef Py_ssize_t c, l
    cdef floating big[W]
    cdef floating at = <floating>ldexp(1.0, SCALE_AT if floating is double else SCALE_AT32)
    cdef int by = SCALE_BY if floating is double else SCALE_BY32
    for l in range(W):
        big[l] = 0
    for c in range(n):
        for l in range(W):
            big[l] = fabs(row[c * W + l]) if fabs(row[c * W + l]) > big[l] else big[l]
    for l in range(W):
        if big[l] > at:
            for c in range(n):
                row[c * W + l] = <floating>ldexp(row[c * W + l], -by)
            ex[l] += by


cdef void pde_forward(const floating* G, Py_ssize_t g0, Py_ssize_t n2, int d1, int d2,
                      floating* rows, Py_ssize_t base, Py_ssize_t nstore, Py_ssize_t r_from,
                      Py_ssize_t r_to, floating* AB, Py_ssize_t strips, floating* edge,
                      const Py_ssize_t* ends, floating* finals, Py_ssize_t* ex=NULL,
                      Py_ssize_t* fex=NULL, Py_ssize_t* eedge=NULL) noexcept nogil:
    """Fine rows r_from+1 .. r_to from row r_from; row r lives at slot (r - base) % nstore.
    G holds the coarse rows these fine rows need, from coarse row g0 on.

    With ends (not NULL), finals[l] takes lane l's last column at fine row ends[l]: the
    kernel of a pair whose path of x is shorter than the block's. The rows above it would
    only repeat it, but by arithmetic (a + (b - a)) that is exact only for values of one
    sign within a factor 2, and which rows a block has depends on its other pairs.

    With strips > 1 the lanes are strips of columns of fewer pairs (see forward): the left
    boundary of a strip other than the first at row r is the right edge of the strip before
    it 2^d1 rows earlier, kept in edge[r] (recorded here: at edge + 2 r W, the values of a
    vector of lanes, then their increments over the row below, which float's rows carry:
    pde_row).

    With ex (not NULL), a lane's rows are scaled down as they grow (rescale, each row), the
    grid being 2^ex[l] times its values, so that kernels beyond the floating range keep a
    mantissa; fex[l] takes ex[l] with finals[l]. With strips, each edge is recorded with its
    lane's exponent (eedge, a row of W a fine row), and the strip after it takes it in its
    own scale.
    """
    cdef Py_ssize_t r, i, l, rowlen = ((n2 << d2) + 1) * W
    cdef floating inv = <floating>1.0 / (1 << (d1 + d2))
    cdef Py_ssize_t M1 = 1 << d1, C = n2 << d2
    cdef floating* cur
    cdef floating* before
    cdef floating scaled[2 * W]         # an edge in the scales of the lanes that take it
    cdef int shift
    for r in range(r_from, r_to):
        if r == r_from or (r & (M1 - 1)) == 0:
            i = r >> d1
            row_coeffs(G + (i - g0) * n2 * W, n2, inv, AB, AB + n2 * W)
        if ex != NULL:
            rescale(rows + ((r - base) % nstore) * rowlen, C + 1, ex)
        cur = rows + ((r + 1 - base) % nstore) * rowlen
        before = edge + (r + 1 - M1) * 2 * W if strips > 1 and r + 1 > M1 else NULL
        if ex != NULL and before != NULL:
            for l in range(1, W):
                shift = <int>(eedge[(r + 1 - M1) * W + l - 1] - ex[l])
                scaled[l - 1] = <floating>ldexp(before[l - 1], shift)
                scaled[W + l - 1] = <floating>ldexp(before[W + l - 1], shift)
            before = scaled
        left_boundary(cur, before, W, strips)
        if ex != NULL:
            for l in range(W // strips):        # a pair's first strip: the boundary, 1
                cur[l * strips] = <floating>ldexp(1.0, -ex[l * strips])
        pde_row(rows + ((r - base) % nstore) * rowlen, cur, AB, AB + n2 * W, n2, 1 << d2,
                before + W if before != NULL else NULL, strips,
                edge + (r + 1) * 2 * W + W if strips > 1 else NULL)
        if strips > 1:
            memcpy(edge + (r + 1) * 2 * W, cur + C * W, sizeof(floating) * W)
            if ex != NULL:
                memcpy(eedge + (r + 1) * W, ex, sizeof(Py_ssize_t) * W)
        if ends != NULL:
            for l in range(W):
                if ends[l] == r + 1:
                    finals[l] = cur[C * W + l]
                    if fex != NULL:
                        fex[l] = ex[l]


cdef void forward_coarse_rows(Static sk, const floating* xs, const floating* ys, Py_ssize_t i0,
                              Py_ssize_t i1, Py_ssize_t L2, Py_ssize_t d, Py_ssize_t CH,
                              bint keep_g, floating* G, floating* work, Py_ssize_t* tags,
                              floating* dxs, int d1, int d2, floating* rows, Py_ssize_t base,
                              Py_ssize_t nstore, floating* AB, Py_ssize_t strips,
                              floating* edge, const Py_ssize_t* ends,
                              floating* finals, Py_ssize_t* ex=NULL,
                              Py_ssize_t* fex=NULL, Py_ssize_t* eedge=NULL) noexcept nogil:
    """The fine rows of coarse rows i0 .. i1-1 (pde_forward: rows, base, nstore, ends,
    finals), their rows of G computed CH at a time, so that each chunk is read while in
    cache. With keep_g, G and dxs keep every row (row i at G + (i - i0) (L2 - 1) W, for the
    adjoint); else each chunk takes the place of the one before. ex, fex, eedge: as for
    pde_forward."""
    cdef Py_ssize_t c0 = i0, c1, g0, n2 = L2 - 1
    while c0 < i1:
        c1 = c0 + CH if c0 + CH < i1 else i1
        g0 = i0 if keep_g else c0
        g_rows(sk, xs, ys, c0, c1, L2, d, G + (c0 - g0) * n2 * W, work, tags,
               dxs + (c0 - g0) * d * W)
        pde_forward(G, g0, n2, d1, d2, rows, base, nstore, c0 << d1, c1 << d1, AB, strips, edge,
                    ends, finals, ex, fex, eedge)
        c0 = c1


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
    cdef floating* vprev
    cdef floating* vout
    for t in range(rs):
        K[t] = 1
    for r in range(0, R, 4):
        if (r & (M1 - 1)) == 0:     # row_coeffs, for these lanes
            if floating is double:
                sk_quad_coeffs_d(G + (r >> d1) * n2 * W + o0, n2, inv, AB, AB + n2 * V)
            else:
                sk_quad_coeffs_f(G + (r >> d1) * n2 * W + o0, n2, inv, AB, AB + n2 * V)
        for t in range(r + 1, r + 5):
            left_boundary(K + t * rs,
                          edge + (t - M1) * 2 * W + o0 if strips > 1 and t > M1 else NULL,
                          V, strips)
        # the increments of the four rows' left edges (r >= M1: all four have them, M1 >= 4)
        vprev = edge + (r + 1 - M1) * 2 * W + W + o0 if strips > 1 and r >= M1 else NULL
        vout = edge + (r + 1) * 2 * W + W + o0 if strips > 1 else NULL
        if floating is double:
            sk_pde_quad_d(K + r * rs, K + (r + 1) * rs, rs, AB, AB + n2 * V, n2, 1 << d2,
                          vprev, strips, vout, 2 * W)
        else:
            sk_pde_quad_f(K + r * rs, K + (r + 1) * rs, rs, AB, AB + n2 * V, n2, 1 << d2,
                          vprev, strips, vout, 2 * W)
        if strips > 1:
            for t in range(r + 1, r + 5):
                memcpy(edge + t * 2 * W + o0, K + t * rs + C * V, sizeof(floating) * V)
