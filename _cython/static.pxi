# Static kernels on the points of a block: rows of G, and their chain rule back to points.
# (included by _solver.pyx, whose header declares what these use)

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
    if sk.g != NULL:
        wide_rows(sk, G, i0, i1, n2, tags, False, 0)
    elif sk.kind == LINEAR:     # all rows at once: dy[j] is read once for all of them
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



cdef inline Py_ssize_t wide_work(Py_ssize_t L1, Py_ssize_t L2, Py_ssize_t d) noexcept nogil:
    """Numbers of workspace of wide_g and wide_g_backward for paths of up to L1 and L2 points:
    the static kernel's arguments (L1 x L2), the points, their squared norms, a gradient."""
    return L1 * L2 + (L1 + L2) * d + L1 + L2 + max(L1, L2) * d


cdef void pair_arguments(Static sk, const floating* x, const floating* y, Py_ssize_t L1,
                         Py_ssize_t L2, Py_ssize_t d, floating* tmp) noexcept nogil:
    """Wide paths, static kernels other than the linear one: their arguments s[i][j] for the
    points x (L1) and y (L2) into tmp (L1 x L2) by one matrix product: |x_i - y_j|^2 for
    the distance kernels, <x_i, y_j> for the polynomial one. After them in tmp: the points
    (shifted by x_0 for the distance kernels, so that the product's terms stay of the size
    of the distances), then their squared norms."""
    cdef Py_ssize_t i, j, k
    cdef bint dist = uses_distance(sk.kind)
    cdef floating* xs = tmp + L1 * L2
    cdef floating* ys = xs + L1 * d
    cdef floating* sq = ys + L2 * d
    cdef floating v
    for i in range(L1):
        for k in range(d):
            xs[i * d + k] = x[i * d + k] - x[k] if dist else x[i * d + k]
    for j in range(L2):
        for k in range(d):
            ys[j * d + k] = y[j * d + k] - x[k] if dist else y[j * d + k]
    gemm(False, True, L1, L2, d, -2 if dist else 1, xs, d, ys, d, 0, tmp, L2)
    if not dist:
        return
    for i in range(L1 + L2):
        v = 0
        for k in range(d):
            v = v + xs[i * d + k] * xs[i * d + k]       # xs then ys: one array
        sq[i] = v
    for i in range(L1):
        for j in range(L2):
            v = tmp[i * L2 + j] + sq[i] + sq[L1 + j]
            if v < <floating>1e-4 * (sq[i] + sq[L1 + j]):
                # the expansion's rounding, about 1e-16 of the norms, would show (in the
                # square root of the Matern kernels most): summed directly
                v = 0
                for k in range(d):
                    v = v + (xs[i * d + k] - ys[j * d + k]) * (xs[i * d + k] - ys[j * d + k])
            tmp[i * L2 + j] = v


cdef void wide_g(Static sk, const floating* w1, const floating* w2, Py_ssize_t L1,
                 Py_ssize_t L2, Py_ssize_t d, floating* tmp, floating* g,
                 Py_ssize_t ldg) noexcept nogil:
    """Wide paths: G of a pair of paths of L1 and L2 points into g (L1 - 1 rows of ldg
    numbers) by matrix products of the pair's own shape, so that its value is the pair's
    alone. w1, w2: the paths' increments for the linear kernel (G = scale dx dy^T), else
    their points (kappa of pair_arguments, then its second differences). tmp: wide_work."""
    cdef Py_ssize_t i, j
    if L1 < 2 or L2 < 2:
        return
    if sk.kind == LINEAR:
        gemm(False, True, L1 - 1, L2 - 1, d, <floating>sk.p0, w1, d, w2, d, 0, g, ldg)
        return
    pair_arguments(sk, w1, w2, L1, L2, d, tmp)
    point_values(sk, tmp, L1 * L2, True)
    for i in range(L1 - 1):
        for j in range(L2 - 1):
            g[i * ldg + j] = (tmp[(i + 1) * L2 + j + 1] - tmp[(i + 1) * L2 + j]) \
                - (tmp[i * L2 + j + 1] - tmp[i * L2 + j])


cdef void wide_g_backward(Static sk, const floating* w1, const floating* w2, Py_ssize_t L1,
                          Py_ssize_t L2, Py_ssize_t d, const floating* gbar, Py_ssize_t ldg,
                          floating* tmp, floating* dx, floating* dy) noexcept nogil:
    """The reverse of wide_g: adds the gradients of sum(gbar * G) with respect to the two
    paths' points to dx and dy (either NULL: not wanted)."""
    cdef Py_ssize_t i, j, k, n1 = L1 - 1, n2 = L2 - 1
    cdef floating* xs = tmp + L1 * L2
    cdef floating* ys = xs + L1 * d
    cdef floating* sq = ys + L2 * d
    cdef floating* grad = sq + L1 + L2
    cdef floating w
    if L1 < 2 or L2 < 2:
        return
    if sk.kind == LINEAR:       # to the increments, then to the points
        if dx != NULL:
            gemm(False, False, n1, d, n2, <floating>sk.p0, gbar, ldg, w2, d, 0, grad, d)
            increments_add(grad, n1, d, dx)
        if dy != NULL:
            gemm(True, False, n2, d, n1, <floating>sk.p0, gbar, ldg, w1, d, 0, grad, d)
            increments_add(grad, n2, d, dy)
        return
    pair_arguments(sk, w1, w2, L1, L2, d, tmp)
    point_values(sk, tmp, L1 * L2, False)           # now the slopes d kappa / d s
    for i in range(L1):             # times dF/dkappa: kappa(x_i, y_j) enters four cells of G
        for j in range(L2):
            w = 0
            if i > 0 and j > 0:
                w = w + gbar[(i - 1) * ldg + j - 1]
            if i > 0 and j < n2:
                w = w - gbar[(i - 1) * ldg + j]
            if i < n1 and j > 0:
                w = w - gbar[i * ldg + j - 1]
            if i < n1 and j < n2:
                w = w + gbar[i * ldg + j]
            tmp[i * L2 + j] = tmp[i * L2 + j] * w
    if not uses_distance(sk.kind):  # s = <x_i, y_j>
        if dx != NULL:
            gemm(False, False, L1, d, L2, 1, tmp, L2, ys, d, 1, dx, d)
        if dy != NULL:
            gemm(True, False, L2, d, L1, 1, tmp, L2, xs, d, 1, dy, d)
        return
    # s = |x_i - y_j|^2: dx_i = 2 sum_j w_ij (x_i - y_j), dy_j = -2 sum_i w_ij (x_i - y_j)
    for i in range(L1 + L2):
        sq[i] = 0
    for i in range(L1):
        for j in range(L2):
            sq[i] = sq[i] + tmp[i * L2 + j]
            sq[L1 + j] = sq[L1 + j] + tmp[i * L2 + j]
    if dx != NULL:
        for i in range(L1):
            for k in range(d):
                dx[i * d + k] += 2 * sq[i] * xs[i * d + k]
        gemm(False, False, L1, d, L2, -2, tmp, L2, ys, d, 1, dx, d)
    if dy != NULL:
        for j in range(L2):
            for k in range(d):
                dy[j * d + k] += 2 * sq[L1 + j] * ys[j * d + k]
        gemm(True, False, L2, d, L1, -2, tmp, L2, xs, d, 1, dy, d)


cdef inline void increments_add(const floating* ginc, Py_ssize_t n, Py_ssize_t d,
                                floating* pts) noexcept nogil:
    """Adds the gradients of n increments (rows of d numbers) to those of their points."""
    cdef Py_ssize_t i, k
    for i in range(n):
        for k in range(d):
            pts[(i + 1) * d + k] += ginc[i * d + k]
            pts[i * d + k] -= ginc[i * d + k]


cdef void wide_block(Static sk, const floating* w1, const floating* w2, Py_ssize_t s1,
                     Py_ssize_t s2, Py_ssize_t d, const Py_ssize_t* pa, const Py_ssize_t* pb,
                     Py_ssize_t start, Py_ssize_t n, Py_ssize_t strips, const Py_ssize_t* len1,
                     const Py_ssize_t* len2, floating* tmp, Py_ssize_t* tags) noexcept nogil:
    """Wide paths: G of the block's n pairs (from pair ``start`` of pa, pb; wide_g's w1, w2
    of the paths, s1 and s2 numbers a path; true lengths len1, len2 or NULL) into Static.g,
    pair b's at b gn1 gn2 (zero past its paths' ends); where each lane's pair's G starts in
    tags[2 + l] (-1 past the n pairs), and strips in tags[2 + W] (wide_rows)."""
    cdef Py_ssize_t b, l, i, j, m, k, size = sk.gn1 * sk.gn2
    cdef floating* g
    for b in range(n):
        g = <floating*>sk.g + b * size
        m = len1[pa[start + b]] if len1 != NULL else sk.gn1 + 1
        k = len2[pb[start + b]] if len2 != NULL else sk.gn2 + 1
        wide_g(sk, w1 + pa[start + b] * s1, w2 + pb[start + b] * s2, m, k, d, tmp, g, sk.gn2)
        for i in range(sk.gn1):
            for j in range(k - 1 if i < m - 1 else 0, sk.gn2):
                g[i * sk.gn2 + j] = 0
    for l in range(W):
        tags[2 + l] = (l // strips) * size if l // strips < n else -1
    tags[2 + W] = strips


cdef void wide_chain_rule(Static sk, const floating* w1, const floating* w2, Py_ssize_t s1,
                          Py_ssize_t s2, Py_ssize_t d, const Py_ssize_t* pa,
                          const Py_ssize_t* pb, Py_ssize_t start, Py_ssize_t n,
                          const Py_ssize_t* len1, const Py_ssize_t* len2, floating* tmp,
                          floating* dX, floating* dY) noexcept nogil:
    """Wide paths: wide_g_backward for the block's n pairs, whose dF/dG Static.gbar holds as
    wide_block lays out G, into the gradients of the paths' points dX and dY (this thread's,
    paths of gn1 + 1 and gn2 + 1 points; NULL: not wanted)."""
    cdef Py_ssize_t b, a, c, size = sk.gn1 * sk.gn2
    for b in range(n):
        a = pa[start + b]
        c = pb[start + b]
        wide_g_backward(sk, w1 + a * s1, w2 + c * s2,
                        len1[a] if len1 != NULL else sk.gn1 + 1,
                        len2[c] if len2 != NULL else sk.gn2 + 1, d,
                        <const floating*>sk.gbar + b * size, sk.gn2, tmp,
                        dX + a * (sk.gn1 + 1) * d if dX != NULL else NULL,
                        dY + c * (sk.gn2 + 1) * d if dY != NULL else NULL)


cdef void wide_rows(Static sk, floating* G, Py_ssize_t i0, Py_ssize_t i1, Py_ssize_t n2,
                     const Py_ssize_t* tags, bint bar, floating scale) noexcept nogil:
    """Rows i0 .. i1-1 of the block's G (from G on) read from Static.g: lane l, strip s of
    its pair, sees the pair's G[i - s][s n2 + j] (wide_block), and zero outside it (the
    padding that x_point and y_point repeat). With ``bar``, the other way: scale times the
    rows of dF/dG in G are written to Static.gbar at those places."""
    cdef Py_ssize_t i, j, l, s, r, c0, m, strips = tags[2 + W]
    cdef const floating* src
    cdef floating* dst
    for i in range(i0, i1):
        for l in range(W):
            s = l & (strips - 1)
            r = i - s
            c0 = s * n2
            m = 0                   # the columns inside the pair's G
            if tags[2 + l] >= 0 and 0 <= r < sk.gn1 and c0 < sk.gn2:
                m = n2 if n2 < sk.gn2 - c0 else sk.gn2 - c0
            if bar:
                dst = <floating*>sk.gbar + tags[2 + l] + r * sk.ldg + c0
                for j in range(m):
                    dst[j] = scale * G[((i - i0) * n2 + j) * W + l]
            else:
                src = <const floating*>sk.g + tags[2 + l] + r * sk.ldg + c0
                for j in range(m):
                    G[((i - i0) * n2 + j) * W + l] = src[j]
                for j in range(m, n2):
                    G[((i - i0) * n2 + j) * W + l] = 0


cdef inline Py_ssize_t static_work(Py_ssize_t L2, Py_ssize_t d) noexcept nogil:
    """Size of static_prepare's workspace: the increments of y (linear kernel) or two rows of
    kappa (kappa_row's cache)."""
    return max((L2 - 1) * d, 2 * L2) * W
