# Blocks of pairs: which pair and strip each lane holds, gathering points, scattering gradients.
# (included by _solver.pyx, whose header declares what these use)

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
