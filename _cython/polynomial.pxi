# The polynomial solver (Cass, Piatti & Pei 2025, "Numerical Schemes for Signature Kernels").
# (included by _solver.pyx, whose header declares what these use)
#
# On one cell, in local coordinates (u, v) in [0, 1]^2, the kernel solves k_uv = rho k with
# rho constant: the static kernel's second difference G of the coarse cell, times
# 2^-(d1+d2) for a dyadic sub-cell. With bottom edge b(u) = sum_p b_p u^p and left edge
# l(v) = sum_q l_q v^q (b_0 = l_0 the corner), k = sum_n rho^n I^n[b(u) + l(v) - b_0], I the
# double integral from the corner, and I^n[u^p] = u^(p+n) v^n p! / ((p+n)! n!). So the top
# edge t(u) = k(u, 1) has
#     t_m = sum_{n=0..m} rho^n b_{m-n} (m-n)! / (m! n!) + (rho^m / m!) sum_{q>=1} l_q q! / (q+m)!
# and the right edge r(v) = k(1, v) the same with b and l exchanged. Coefficients are kept
# scaled, B_p = b_p p! (so T_m = sum_n (rho^n / n!) B_{m-n} + rho^m sum_q L_q / (q+m)!), and
# edges are truncated at degree N. Cells are swept row by row from the bottom left, SK_PL
# pairs at a time (four, eight with AVX-512; one a lane of a vector: poly_lanes.h); the
# kernel is the last cell's right edge at v = 1.


DEF INVFACT = 130      # 1/k! for k <= 2 N, N <= 64 (poly_lanes.h)


cdef int inverse_factorials(double* invfact, int order) except -1:
    """invfact[k] = 1/k! for k < INVFACT, after checking the degree ``order``."""
    cdef int k
    if not 1 <= order <= 64:
        raise ValueError(f"order must be between 1 and 64, got {order}")
    invfact[0] = 1
    for k in range(1, INVFACT):
        invfact[k] = invfact[k - 1] / k
    return 0


cdef void linear_g_table(Static sk, const floating* x, const floating* y, Py_ssize_t L1,
                         Py_ssize_t L2, Py_ssize_t d, double* g, double* work) noexcept nogil:
    """The linear kernel's G of a pair of paths of L1 and L2 points into g ((L1 - 1) x
    (L2 - 1)): y's increments once, channel by channel, then a row of G at a time as sums
    over the channels of rows (four a pass), loops the compiler vectorises. work: L2 d + d
    numbers."""
    cdef Py_ssize_t i, j, k, n2 = L2 - 1
    cdef double* dx = work
    cdef double* dy = work + d
    for k in range(d):
        for j in range(n2):
            dy[k * n2 + j] = y[(j + 1) * d + k] - y[j * d + k]
    for i in range(L1 - 1):
        for k in range(d):
            dx[k] = sk.p0 * (x[(i + 1) * d + k] - x[i * d + k])
        for j in range(n2):
            g[i * n2 + j] = 0
        for k in range(0, d - 3, 4):        # four channels a pass: fewer stores of the row
            for j in range(n2):
                g[i * n2 + j] = g[i * n2 + j] + (
                    (dx[k] * dy[k * n2 + j] + dx[k + 1] * dy[(k + 1) * n2 + j])
                    + (dx[k + 2] * dy[(k + 2) * n2 + j] + dx[k + 3] * dy[(k + 3) * n2 + j]))
        for k in range(d - d % 4, d):
            for j in range(n2):
                g[i * n2 + j] = g[i * n2 + j] + dx[k] * dy[k * n2 + j]


cdef inline void channels_first(const floating* y, Py_ssize_t l2, Py_ssize_t d,
                                double* yt) noexcept nogil:
    """y's l2 points of d channels into yt channel by channel (d x l2), for kappa_arguments."""
    cdef Py_ssize_t k, b
    for k in range(d):
        for b in range(l2):
            yt[k * l2 + b] = y[b * d + k]


cdef inline void kappa_arguments(Static sk, const floating* xa, const double* yt,
                                 Py_ssize_t l2, Py_ssize_t d, double* row) noexcept nogil:
    """kappa's arguments of the point xa against y's l2 points (yt: channels_first) into
    row: |xa - y_b|^2 for the distance kernels, <xa, y_b> for the others, summed over the
    channels in order; the loops read yt in order and the compiler vectorises them, four
    channels a pass over row (fewer loads and stores of row than a pass a channel)."""
    cdef Py_ssize_t k, b, k4 = d - d % 4
    cdef double x0, x1, x2, x3
    cdef const double* y0
    for b in range(l2):
        row[b] = 0
    for k in range(0, k4, 4):
        y0 = yt + k * l2
        x0, x1, x2, x3 = xa[k], xa[k + 1], xa[k + 2], xa[k + 3]
        if uses_distance(sk.kind):
            for b in range(l2):
                row[b] = row[b] + (x0 - y0[b]) * (x0 - y0[b]) \
                    + (x1 - y0[l2 + b]) * (x1 - y0[l2 + b]) \
                    + (x2 - y0[2 * l2 + b]) * (x2 - y0[2 * l2 + b]) \
                    + (x3 - y0[3 * l2 + b]) * (x3 - y0[3 * l2 + b])
        else:
            for b in range(l2):
                row[b] = row[b] + x0 * y0[b] + x1 * y0[l2 + b] + x2 * y0[2 * l2 + b] \
                    + x3 * y0[3 * l2 + b]
    for k in range(k4, d):                  # the last channels, a pass each
        y0 = yt + k * l2
        x0 = xa[k]
        if uses_distance(sk.kind):
            for b in range(l2):
                row[b] = row[b] + (x0 - y0[b]) * (x0 - y0[b])
        else:
            for b in range(l2):
                row[b] = row[b] + x0 * y0[b]


cdef void pair_g(Static sk, const floating* x, const floating* y, Py_ssize_t l1, Py_ssize_t l2,
                 Py_ssize_t d, const double* w1, const double* w2, double* g,
                 double* work) noexcept nogil:
    """A pair's G into g ((l1 - 1) x (l2 - 1)): by matrix products for wide paths (w1, w2:
    wide_g's data, else NULL), from the increments for the linear kernel, else as second
    differences of kappa's table. work: pair_g_work numbers."""
    cdef Py_ssize_t a, b, n2 = l2 - 1
    cdef double* yt = work + l1 * l2
    cdef double* prev
    cdef double* row
    if w1 != NULL:
        wide_g(sk, w1, w2, l1, l2, d, work, g, n2)
    elif sk.kind == LINEAR:
        linear_g_table(sk, x, y, l1, l2, d, g, work)
    else:     # kappa a row at a time (its arguments, then point_values's loops), and G's
        channels_first(y, l2, d, yt)          # row below it from this row and the last:
        for a in range(l1):                   # two rows stay in cache, a whole table not
            prev, row = work + ((a + 1) % 2) * l2, work + (a % 2) * l2
            kappa_arguments(sk, x + a * d, yt, l2, d, row)
            point_values(sk, row, l2, True)
            if a:
                for b in range(n2):
                    g[(a - 1) * n2 + b] = row[b + 1] - row[b] - prev[b + 1] + prev[b]


cdef inline double pair_g_work(Py_ssize_t L1, Py_ssize_t L2, Py_ssize_t d,
                               bint wide) noexcept nogil:
    """pair_g's workspace (and pair_chain_rule's, wide_g_backward's), in numbers."""
    return wide_work(L1, L2, d) if wide else <double>L1 * L2 + 2 * (L2 + 1.) * d


cdef inline double row_dot(const double* u, const double* v, Py_ssize_t n) noexcept nogil:
    """sum u[j] v[j], in four running sums (j mod 4: independent chains)."""
    cdef Py_ssize_t j
    cdef double s0 = 0, s1 = 0, s2 = 0, s3 = 0
    for j in range(0, n - 3, 4):
        s0 = s0 + u[j] * v[j]
        s1 = s1 + u[j + 1] * v[j + 1]
        s2 = s2 + u[j + 2] * v[j + 2]
        s3 = s3 + u[j + 3] * v[j + 3]
    for j in range(n - n % 4, n):
        s0 = s0 + u[j] * v[j]
    return (s0 + s1) + (s2 + s3)


cdef inline double distance_row(const double* w, const double* yk, double xk, double* ay,
                                Py_ssize_t n) noexcept nogil:
    """sum_b v_b, v_b = 2 w_b (xk - yk[b]), subtracted from ay[b] too (the differences taken
    as they are: no cancellation for points far from the origin); four running sums."""
    cdef Py_ssize_t b, q
    cdef double v
    cdef double s[4]
    s[0] = s[1] = s[2] = s[3] = 0
    for b in range(n):
        q = b & 3
        v = 2 * w[b] * (xk - yk[b])
        s[q] = s[q] + v
        ay[b] = ay[b] - v
    return (s[0] + s[1]) + (s[2] + s[3])


cdef void pair_chain_rule(Static sk, const floating* x, const floating* y, Py_ssize_t l1,
                          Py_ssize_t l2, Py_ssize_t d, const double* gb, double* work,
                          floating* dx, floating* dy) noexcept nogil:
    """pair_g's reverse for the kernels other than the linear one (whose block of lanes
    goes through lanes_linear_chain_rule), not for wide paths: dF/dG of the pair's cells
    (gb, (l1 - 1) x (l2 - 1)) -> dF/dx, dF/dy, added, a row of kappa(x_a, y_b) at a time:
    its dF/dkappa (the four cells that hold it, signs +, -, -, +), its slopes by
    point_values's loops. y's side accumulates channel by channel. work: pair_g_work
    numbers."""
    cdef Py_ssize_t n1 = l1 - 1, n2 = l2 - 1, a, b, i, k
    cdef double t, xk
    cdef double* yt = work                  # y, channel by channel
    cdef double* ay = work + d * l2         # dF/dy, channel by channel
    cdef double* row = work + 2 * d * l2    # kappa's arguments, then slopes
    cdef double* w = row + l2               # dF/dkappa(x_a, y_b) times the slope
    channels_first(y, l2, d, yt)
    for b in range(d * l2):
        ay[b] = 0
    for a in range(l1):
        for b in range(l2):
            w[b] = 0
        if a > 0:               # row a - 1 of cells, whose top corner it is: + left, - right
            i = a - 1
            w[0] = w[0] - gb[i * n2]
            for b in range(1, n2):
                w[b] = w[b] + (gb[i * n2 + b - 1] - gb[i * n2 + b])
            w[n2] = w[n2] + gb[i * n2 + n2 - 1]
        if a < n1:              # row a, whose bottom corner it is: - left, + right
            i = a
            w[0] = w[0] + gb[i * n2]
            for b in range(1, n2):
                w[b] = w[b] - (gb[i * n2 + b - 1] - gb[i * n2 + b])
            w[n2] = w[n2] - gb[i * n2 + n2 - 1]
        kappa_arguments(sk, x + a * d, yt, l2, d, row)
        point_values(sk, row, l2, False)
        for b in range(l2):
            w[b] = w[b] * row[b]
        for k in range(d):
            xk = x[a * d + k]
            if uses_distance(sk.kind):      # d kappa / dx_a = slope 2 (x_a - y_b)
                t = distance_row(w, yt + k * l2, xk, ay + k * l2, l2)
            else:                           # slope y_b (x_a's side), slope x_a (y_b's)
                t = row_dot(w, yt + k * l2, l2)
                for b in range(l2):
                    ay[k * l2 + b] = ay[k * l2 + b] + w[b] * xk
            dx[a * d + k] += <floating>t
    for k in range(d):
        for b in range(l2):
            dy[b * d + k] += <floating>ay[k * l2 + b]


ctypedef struct Lanes:
    # a block of up to SK_PL pairs: each lane's coarse rows and columns (0: no pair), the
    # block's largest, and the lanes' G, interleaved (cell (i, j) of lane l at
    # g[(i n2max + j) SK_PL + l], zero where a lane has no cell); or, when every lane has
    # the block's shape, each lane's own G at src[l] (n1max x n2max), a row at a time
    # interleaved into g by lanes_g_row (row: the one there, -1 none)
    Py_ssize_t n1[SK_PL]
    Py_ssize_t n2[SK_PL]
    Py_ssize_t n1max, n2max
    double* g
    const double* src[SK_PL]
    bint by_rows
    Py_ssize_t row


cdef Lanes load_lanes(Static sk, const floating* X, const floating* Y, Py_ssize_t L1,
                      Py_ssize_t L2, Py_ssize_t d, const Py_ssize_t* pa, const Py_ssize_t* pb,
                      Py_ssize_t start, Py_ssize_t count, const Py_ssize_t* len1,
                      const Py_ssize_t* len2, const double* wide1, const double* wide2,
                      Py_ssize_t wd1, Py_ssize_t wd2, double* g, double* gp,
                      double* work, bint full, const double* given,
                      const Py_ssize_t* rows, bint own=False) noexcept nogil:
    """The lanes of pairs start .. start + count - 1 (count <= SK_PL), G at g; gp: SK_PL
    (L1 - 1) (L2 - 1) numbers (each lane's G), work: pair_g_work. wd1, wd2: the wide data's
    numbers a path. full: the block as large as the batch's paths (whole grids), not only
    its own. given (not NULL): the pairs' G already computed (poly_plans), (L1 - 1) (L2 - 1)
    numbers a pair, pair n's at row rows[n] (rows NULL: row n). own: each lane's G left at
    src[lane] (n1[lane] x n2[lane]), not interleaved (strips_forward reads it so)."""
    cdef Lanes ln
    cdef Py_ssize_t lane, n, i, j, n1, n2, c
    cdef const double* src[SK_PL]
    cdef bint whole = count == SK_PL
    ln.g = g
    ln.by_rows = False
    ln.row = -1
    ln.n1max = L1 - 1 if full else 0
    ln.n2max = L2 - 1 if full else 0
    for lane in range(SK_PL):
        ln.n1[lane] = ln.n2[lane] = 0
        if lane < count:
            n = start + lane
            ln.n1[lane] = (L1 if len1 == NULL else len1[pa[n]]) - 1
            ln.n2[lane] = (L2 if len2 == NULL else len2[pb[n]]) - 1
            if ln.n1[lane] == 0 or ln.n2[lane] == 0:
                ln.n1[lane] = ln.n2[lane] = 0
            ln.n1max = max(ln.n1max, ln.n1[lane])
            ln.n2max = max(ln.n2max, ln.n2[lane])
    for lane in range(count):
        n1, n2, n = ln.n1[lane], ln.n2[lane], start + lane
        whole = whole and n1 == ln.n1max and n2 == ln.n2max
        if n1 == 0:
            continue
        if given != NULL:
            src[lane] = given + (rows[n] if rows != NULL else n) * (L1 - 1) * (L2 - 1)
        else:
            src[lane] = gp + lane * (L1 - 1) * (L2 - 1)
            pair_g(sk, X + pa[n] * L1 * d, Y + pb[n] * L2 * d, n1 + 1, n2 + 1, d,
                   wide1 + pa[n] * wd1 if wide1 != NULL else NULL,
                   wide2 + pb[n] * wd2 if wide2 != NULL else NULL, <double*>src[lane], work)
    if own:
        for lane in range(count):
            ln.src[lane] = src[lane]
        return ln
    if whole:       # every lane of the block's shape: its rows interleaved as they are
        ln.by_rows = True                  # needed, in cache, not all of G at once through
        for lane in range(SK_PL):          # memory (11% of a long-series fit)
            ln.src[lane] = src[lane]
        return ln
    memset(g, 0, ln.n1max * ln.n2max * SK_PL * sizeof(double))
    for lane in range(count):
        n1, n2 = ln.n1[lane], ln.n2[lane]
        for i in range(n1):
            for j in range(n2):
                g[(i * ln.n2max + j) * SK_PL + lane] = src[lane][i * n2 + j]
    return ln


cdef inline const double* lanes_g_row(Lanes* ln, Py_ssize_t i) noexcept nogil:
    """Row i of the lanes' G, interleaved (see Lanes)."""
    cdef Py_ssize_t j, lane
    if not ln.by_rows:
        return ln.g + i * ln.n2max * SK_PL
    if ln.row != i:
        for j in range(ln.n2max):
            for lane in range(SK_PL):
                ln.g[j * SK_PL + lane] = ln.src[lane][i * ln.n2max + j]
        ln.row = i
    return ln.g


cdef inline void lanes_bottom(double* Bs, Py_ssize_t C, int N) noexcept nogil:
    """The bottom edges of C cells, those of the grid: k = 1 there."""
    cdef Py_ssize_t c, m, E = sk_pl_edge(N)
    memset(Bs, 0, C * E * sizeof(double))
    for c in range(C):
        for m in range(SK_PL):
            Bs[c * E + m] = 1


cdef inline double edge_at_one(const double* edge, Py_ssize_t lane, int N,
                              const double* H) noexcept nogil:
    """A lane's edge (sk_pl_edge(N) numbers, its coefficients scaled by m!) at its far end:
    sum_m edge_m / m!."""
    cdef double v = 0
    cdef int m
    for m in range(N + 1):
        v += edge[m * SK_PL + lane] * H[m]
    return v


cdef inline void lane_max(const double* T, Lanes ln, Py_ssize_t r, int d1, int d2, int N,
                          double* big) noexcept nogil:
    """big[lane] = the largest |number| of the top edges T of each lane up to its last
    column, on its rows (r below its last fine row; else 0). A loop over the lanes inside,
    so that it runs in vectors: one lane at a time, it cost more than the cells in
    sweeps with scale exponents."""
    cdef Py_ssize_t c, lane, lo = -1, hi = 0
    cdef Py_ssize_t n[SK_PL]
    cdef double a
    for lane in range(SK_PL):
        big[lane] = 0
        n[lane] = (ln.n2[lane] << d2) * (N + 1) if r < ln.n1[lane] << d1 else 0
        lo = n[lane] if lo < 0 or n[lane] < lo else lo
        hi = max(hi, n[lane])
    for c in range(lo):
        for lane in range(SK_PL):
            a = fabs(T[c * SK_PL + lane])
            big[lane] = a if a > big[lane] else big[lane]
    for c in range(lo, hi):
        for lane in range(SK_PL):
            a = fabs(T[c * SK_PL + lane]) if c < n[lane] else 0
            big[lane] = a if a > big[lane] else big[lane]


cdef void lanes_forward(Lanes ln, int d1, int d2, int N, const double* H, double* Bs, double* Ls, bint keep, double* value, long* exps,
                        double* nodes, Py_ssize_t r0, Py_ssize_t r1, double* prefixes=NULL,
                        Py_ssize_t P=0) noexcept nogil:
    """The polynomial scheme over a block, rows r0 .. r1 - 1 of its fine grid from the bottom
    edges of row r0 at Bs (the grid's: lanes_bottom): value[lane] = the kernel of each lane
    whose last row is among them, times 2^exps[lane] when exps is not NULL (zero at first: a
    lane's rows scaled as they grow past 2^SCALE_AT, its left boundary with them). keep:
    every row's edges kept for the adjoint, row r's
    bottom edges at Bs + (r - r0) C E and left edges at Ls + (r - r0) (C + 1) E, E =
    sk_pl_edge(N); else one row each. nodes (not NULL; all rows): the values at the grid's
    nodes too, (R + 1) x (C + 1) of them, SK_PL numbers each: 1 on the bottom and left, the
    right edges at v = 1 elsewhere (the kernel is the last). prefixes (not NULL): log2 |k| at
    the coarse grid's diagonal nodes (s, s) that a lane reaches, s >= 1, lane's at
    prefixes[lane P + s] (the kernels of the paths' first s + 1 points)."""
    cdef Py_ssize_t C = ln.n2max << d2, E = sk_pl_edge(N)
    cdef Py_ssize_t r, c, m, lane, end, s
    cdef double h = 1.0 / (1 << (d1 + d2)), v
    cdef double big[SK_PL]
    cdef double* T
    cdef double* Lr
    for r in range(r0, r1):
        Lr = Ls + (r - r0) * (C + 1) * E if keep else Ls
        T = Bs + (r - r0 + 1) * C * E if keep else Bs
        for m in range(E):
            Lr[m] = 0
        for lane in range(SK_PL):
            Lr[lane] = 1 if exps == NULL else ldexp(1.0, -exps[lane])
        sk_pl_row(lanes_g_row(&ln, r >> d1), h, Bs + (r - r0) * C * E if keep else Bs,
                  T, Lr, H, N, C, d2)
        if prefixes != NULL and ((r + 1) & ((1 << d1) - 1)) == 0:
            s = (r + 1) >> d1
            for lane in range(SK_PL):
                if s <= min(ln.n1[lane], ln.n2[lane]):
                    v = edge_at_one(Lr + (s << d2) * E, lane, N, H)
                    prefixes[lane * P + s] = log2(fabs(v)) + (exps[lane] if exps != NULL else 0)
        if nodes != NULL:
            if r == 0:
                for c in range((C + 1) * SK_PL):
                    nodes[c] = 1
            for c in range(C + 1):
                for lane in range(SK_PL):
                    nodes[((r + 1) * (C + 1) + c) * SK_PL + lane] = \
                        edge_at_one(Lr + c * E, lane, N, H) if c else 1
        if exps != NULL:
            lane_max(T, ln, r, d1, d2, N, big)
        for lane in range(SK_PL):
            end = ln.n2[lane] << d2           # the lane's last right edge
            if r >= ln.n1[lane] << d1:
                continue
            if exps != NULL and big[lane] > ldexp(1.0, SCALE_AT):
                for c in range(C * (N + 1)):  # E = (N + 1) SK_PL: a lane's numbers c SK_PL + lane
                    T[c * SK_PL + lane] = ldexp(T[c * SK_PL + lane], -SCALE_BY)
                for c in range((C + 1) * (N + 1)):
                    Lr[c * SK_PL + lane] = ldexp(Lr[c * SK_PL + lane], -SCALE_BY)
                exps[lane] += SCALE_BY
            if r == (ln.n1[lane] << d1) - 1:
                value[lane] = edge_at_one(Lr + end * E, lane, N, H)


ctypedef struct Strips:
    # a block of few pairs with each pair's columns cut into S strips of w coarse columns
    # (C fine ones), a lane each: lane p S + s holds strip s of pair p, on fine row t - s
    # at step t of steps; pair p (rows: its fine rows) has its last cell at step done_at,
    # in lane end_lane, its right edge at column end_col of the lane's strip
    Py_ssize_t S, w, C, steps
    Py_ssize_t rows[SK_PL]
    Py_ssize_t done_at[SK_PL]
    Py_ssize_t end_lane[SK_PL]
    Py_ssize_t end_col[SK_PL]


cdef Strips strips_of(Lanes ln, Py_ssize_t count, int d1, int d2) noexcept nogil:
    """The strips of a block of count pairs: as many a pair as fill the lanes left idle
    (a power of two, at most its columns; 1: a lane each)."""
    cdef Strips st
    cdef Py_ssize_t p, last
    st.S = 1
    while count * st.S * 2 <= SK_PL and st.S * 2 <= ln.n2max:
        st.S *= 2
    st.w = (ln.n2max + st.S - 1) // st.S
    st.C = st.w << d2
    st.steps = 0
    for p in range(count):
        st.rows[p] = ln.n1[p] << d1
        last = (ln.n2[p] - 1) // st.w if ln.n1[p] else 0
        st.end_lane[p] = p * st.S + last
        st.end_col[p] = (ln.n2[p] - last * st.w) << d2
        st.done_at[p] = st.rows[p] - 1 + last
        st.steps = max(st.steps, st.done_at[p] + 1)
    return st


cdef inline Py_ssize_t strips_band(Strips st, int N, double at) noexcept nogil:
    """The backward's steps a band (as band_rows): all of them while their edges fit in
    ``at`` numbers, else about sqrt(steps / 2)."""
    if (2. * st.steps + 1) * (st.C + 1) * sk_pl_edge(N) <= at:
        return max(st.steps, 1)
    return max(<Py_ssize_t>sqrt(st.steps / 2.), 1)


cdef inline double strips_edges(Strips st, int N, Py_ssize_t k) noexcept nogil:
    """strips_forward's edges, in numbers; with k > 0 the backward's, k steps a band
    (strips_forward with keep, each band's first bottom edges and right ends before it, and
    strips_adjoint's)."""
    cdef double E = sk_pl_edge(N)
    if not k:
        return (2. * st.C + 1) * E + st.w * SK_PL
    return ((k + 1.) * st.C + k * (st.C + 1.) + ceil(st.steps / <double>k) * (st.C + 1.)
            + 2 * st.C + 1) * E + 2. * st.w * SK_PL


cdef inline void strips_g(Lanes ln, Strips* st, Py_ssize_t count, int d1, Py_ssize_t t,
                          double* gs, double* Gb, int way) noexcept nogil:
    """Step t's cells of each lane: way 0, their G from the pairs' own (load_lanes' src)
    into gs (w SK_PL numbers, zero outside a pair's cells); way 1, their dF/dG from Gb
    (laid out as Lanes.g) into gs; way 2, gs back into Gb."""
    cdef Py_ssize_t lane, p, s, r, jc, J, at
    for lane in range(SK_PL):
        p, s = lane // st.S, lane % st.S
        r = t - s
        for jc in range(st.w):
            J = s * st.w + jc
            if not (p < count and 0 <= r < st.rows[p] and J < ln.n2[p]):
                if way < 2:
                    gs[jc * SK_PL + lane] = 0
                continue
            at = ((r >> d1) * ln.n2max + J) * SK_PL + p
            if way == 0:
                gs[jc * SK_PL + lane] = ln.src[p][(r >> d1) * ln.n2[p] + J]
            elif way == 1:
                gs[jc * SK_PL + lane] = Gb[at]
            else:
                Gb[at] = gs[jc * SK_PL + lane]


cdef int strips_forward(Lanes ln, Strips st, Py_ssize_t count, int d1, int d2, int N,
                        const double* H, double* Bs, double* Ls, double* gs, bint keep,
                        double* value, Py_ssize_t t0, Py_ssize_t t1, const double* ends,
                        double* ends_after, double* prefixes=NULL, Py_ssize_t P=0,
                        bint check=False) noexcept nogil:
    """lanes_forward's kernels (no nodes) of a block of count pairs
    (load_lanes' own G) in strips (Strips), steps t0 .. t1 - 1 from the bottom edges at Bs
    (the grid's, lanes_bottom, at t0 = 0): each lane's left edge is the right end of the
    lane before it a step before (the same row), or the grid's. Before its first row a lane
    sees G = 0 and unit left edges, which leave its bottom edges as they are, bit for bit, so
    every cell is computed from the same edges and rho as in one lane: each value is bit for
    bit lanes_forward's. keep: step t's bottom edges at Bs + (t - t0) C E, its left and right
    edges at Ls + (t - t0) (C + 1) E (E = sk_pl_edge(N)), for strips_adjoint; else Bs: C E
    numbers, Ls: (C + 1) E. ends: the right ends of step t0 - 1 (E numbers, read when t0 > 0);
    ends_after (not NULL): those of step t1 - 1 written there. gs: w SK_PL numbers.
    prefixes (not NULL): as lanes_forward's, pair p's at prefixes[p P + s]. check: returns 1
    (and stops) where a pair's cells reach 2^SCALE_AT, where lanes_forward with exponents
    would scale its row; else 0, and the values are lanes_forward's with exponents zero."""
    cdef Py_ssize_t C = st.C, E = sk_pl_edge(N)
    cdef Py_ssize_t t, lane, p, m, r, s, sc, local, c
    cdef double h = 1.0 / (1 << (d1 + d2)), scaled_at = ldexp(1.0, SCALE_AT)
    cdef double v
    cdef double* B
    cdef double* L
    cdef const double* T
    cdef const double* before = ends
    cdef Py_ssize_t valid[SK_PL]      # numbers of a lane's top edges in its pair's cells
    for t in range(t0, t1):
        B = Bs + (t - t0) * C * E if keep else Bs
        L = Ls + (t - t0) * (C + 1) * E if keep else Ls
        # the left edges from the right ends a step before (read before this step's row
        # writes them, when they are its own)
        for m in range(N + 1):
            for lane in range(SK_PL):
                L[m * SK_PL + lane] = before[m * SK_PL + lane - 1] \
                    if t and lane % st.S else (1 if m == 0 else 0)
        strips_g(ln, &st, count, d1, t, gs, NULL, 0)
        sk_pl_row(gs, h, B, B + C * E if keep else B, L, H, N, C, d2)
        before = L + C * E
        for p in range(count):
            if ln.n1[p] and t == st.done_at[p]:
                value[p] = edge_at_one(L + st.end_col[p] * E, st.end_lane[p], N, H)
        for lane in range(SK_PL if prefixes != NULL or check else 0):
            p, s = lane // st.S, lane % st.S
            r = t - s
            valid[lane] = 0
            if p >= count or not 0 <= r < st.rows[p]:
                continue
            valid[lane] = max(0, min(C, (ln.n2[p] << d2) - s * C)) * (N + 1)
            if prefixes != NULL and ((r + 1) & ((1 << d1) - 1)) == 0:
                sc = (r + 1) >> d1              # the diagonal node (sc, sc), in this strip?
                local = (sc << d2) - s * C
                if sc <= min(ln.n1[p], ln.n2[p]) and 0 < local <= C:
                    v = edge_at_one(L + local * E, lane, N, H)
                    prefixes[p * P + sc] = log2(fabs(v))
        if check:
            T = B + C * E if keep else B
            for c in range(C * (N + 1)):      # the top edges: E = (N + 1) SK_PL
                for lane in range(SK_PL):
                    if c < valid[lane] and fabs(T[c * SK_PL + lane]) > scaled_at:
                        return 1
    if ends_after != NULL and t1 > t0:
        memcpy(ends_after, before, E * sizeof(double))
    return 0


cdef void strips_adjoint(Lanes ln, Strips st, Py_ssize_t count, int d1, int d2, int N,
                         const double* H, const double* Bs, const double* Ls,
                         const double* seeds, double* tb, double* rb, double* gs,
                         double* gbs, double* Gb, Py_ssize_t t0, Py_ssize_t t1) noexcept nogil:
    """The reverse of strips_forward (keep) over steps t1 - 1 .. t0, the steps after them
    done (Gb, laid out as Lanes.g, and tb zeroed when t1 is the last): lanes_adjoint's in
    strips, seeds[p] dk/dG of each pair's cells added to Gb. Each lane's right end is the
    left edge's adjoint of the lane after it a step later (rb's first E numbers, kept from
    step to step), or zero; the cells of a coarse cell are reached in lanes_adjoint's
    order, its dF/dG carried from step to step through gbs, so that Gb is bit for bit
    lanes_adjoint's. tb: C E numbers, rb: (C + 1) E, gs, gbs: w SK_PL."""
    cdef Py_ssize_t C = st.C, E = sk_pl_edge(N)
    cdef Py_ssize_t t, lane, p, m
    cdef double h = 1.0 / (1 << (d1 + d2))
    cdef Py_ssize_t seed_at[SK_PL]
    cdef double sd[SK_PL]
    if t1 == st.steps:
        memset(Gb, 0, ln.n1max * ln.n2max * SK_PL * sizeof(double))
        memset(tb, 0, C * E * sizeof(double))
    for t in range(t1 - 1, t0 - 1, -1):
        for m in range(N + 1):
            for lane in range(SK_PL):
                rb[C * E + m * SK_PL + lane] = rb[m * SK_PL + lane + 1] \
                    if t < st.steps - 1 and lane % st.S != st.S - 1 else 0
        for lane in range(SK_PL):
            seed_at[lane] = -1
            sd[lane] = 0
        for p in range(count):
            if ln.n1[p] and t == st.done_at[p]:
                lane = st.end_lane[p]
                seed_at[lane] = st.end_col[p]
                sd[lane] = seeds[p]
                if seed_at[lane] == C:
                    for m in range(N + 1):
                        rb[C * E + m * SK_PL + lane] = seeds[p] * H[m]
        strips_g(ln, &st, count, d1, t, gs, NULL, 0)
        strips_g(ln, &st, count, d1, t, gbs, Gb, 1)
        sk_pl_adjoint_row(gs, Bs + (t - t0) * C * E, Ls + (t - t0) * (C + 1) * E, tb, rb, H,
                          N, C, d2, h, gbs, seed_at, sd, 0)
        strips_g(ln, &st, count, d1, t, gbs, Gb, 2)


cdef void lanes_adjoint(Lanes ln, int d1, int d2, int N, const double* H, const double* Bs, const double* Ls, const double* seeds, double* tb,
                        double* rb, double* Gb, const double* nodes, Py_ssize_t r0,
                        Py_ssize_t r1) noexcept nogil:
    """The reverse of lanes_forward (keep) over rows r1 - 1 .. r0, the rows above done
    (Gb and tb zeroed when r1 is the last row): seeds[lane] dk/dG of each lane's cells added
    to Gb (laid out as Lanes.g). tb: C E numbers, dF/d(top edges) of row r1 - 1; rb:
    (C + 1) E. nodes (not NULL): instead of seeds, dF/d(value) at every node of the grid,
    laid out as lanes_forward's nodes."""
    cdef Py_ssize_t R = ln.n1max << d1, C = ln.n2max << d2, E = sk_pl_edge(N)
    cdef Py_ssize_t r, m, lane, c
    cdef Py_ssize_t seed_at[SK_PL]
    cdef double h = 1.0 / (1 << (d1 + d2))
    if r1 == R:
        memset(Gb, 0, ln.n1max * ln.n2max * SK_PL * sizeof(double))
        memset(tb, 0, C * E * sizeof(double))
    for r in range(r1 - 1, r0 - 1, -1):
        if nodes != NULL:                     # a node's value: the right edge at v = 1
            memset(rb, 0, (C + 1) * E * sizeof(double))
            for c in range(1, C + 1):
                for m in range(N + 1):
                    for lane in range(SK_PL):
                        rb[c * E + m * SK_PL + lane] = \
                            nodes[((r + 1) * (C + 1) + c) * SK_PL + lane] * H[m]
        else:       # the row's right end; the rest of rb is written by its cells (zeroing
            memset(rb + C * E, 0, E * sizeof(double))      # it measured 5% of the backward)
        for lane in range(SK_PL):             # the kernel: the lane's last right edge at v = 1
            seed_at[lane] = -1
            if nodes == NULL and ln.n1[lane] and r == (ln.n1[lane] << d1) - 1:
                seed_at[lane] = ln.n2[lane] << d2
                if seed_at[lane] == C:
                    for m in range(N + 1):
                        rb[C * E + m * SK_PL + lane] = seeds[lane] * H[m]
        sk_pl_adjoint_row(lanes_g_row(&ln, r >> d1), Bs + (r - r0) * C * E,
                          Ls + (r - r0) * (C + 1) * E, tb, rb, H, N, C, d2, h,
                          Gb + (r >> d1) * ln.n2max * SK_PL, seed_at, seeds, nodes != NULL)


DEF BAND_AT = 1 << 23        # the backward keeps every row's edges up to this many numbers
# and in strips up to this many (a call of few pairs allocates them afresh: past it, their
# first touch cost more than a band's second forward, 2 pairs of 500 points 66 -> 31 ms)
DEF STRIPS_BAND_AT = 1 << 21


cdef inline Py_ssize_t band_rows(Py_ssize_t L1, Py_ssize_t L2, int d1, int d2, int N,
                                 double at) noexcept nogil:
    """The backward's rows a band: all of them while their edges fit in ``at`` numbers;
    else about sqrt(R / 2) (the least memory: the bands' first bottom edges, kept by a first
    forward, and one band's edges, recomputed before its adjoint)."""
    cdef double R = (L1 - 1.0) * (1 << d1), C = (L2 - 1.0) * (1 << d2)
    if (2 * R + 1) * (C + 1) * sk_pl_edge(N) <= at:
        return max(<Py_ssize_t>R, 1)
    return max(<Py_ssize_t>sqrt(R / 2), 1)


cdef inline double lanes_work(Py_ssize_t L1, Py_ssize_t L2, Py_ssize_t d, bint wide,
                              bint keep) noexcept nogil:
    """A thread's fixed workspace for blocks of paths of up to L1 and L2 points, in numbers
    (double precision: it cannot wrap): G of the lanes and of their pairs, pair_g's, and with
    keep the lanes' dF/dG and lanes_linear_chain_rule's buffers. A block's edges, which
    depend on its refinement, are apart (Edges)."""
    cdef double n1 = L1 - 1.0, n2 = L2 - 1.0
    return n1 * n2 * 2 * SK_PL + pair_g_work(L1, L2, d, wide) + \
        ((n1 * n2 + 2 * (n1 + n2 + 1) * (d + 3)) * SK_PL if keep else 0)


cdef inline double forward_edges(Py_ssize_t R, Py_ssize_t C, int N, bint grid) noexcept nogil:
    """poly_forward_block's edges for a block of R x C fine cells, in numbers: a row's
    bottom and left edges, and with grid the lanes' grids."""
    return (2. * C + 1) * sk_pl_edge(N) + ((R + 1.) * (C + 1) * SK_PL if grid else 0)


cdef inline double backward_edges(Py_ssize_t R, Py_ssize_t C, int N, Py_ssize_t k,
                                  bint grid) noexcept nogil:
    """poly_backward_block's edges for a block of R x C fine cells, k rows a band
    (band_rows), in numbers: a band's rows' edges, the bands' first bottom edges, the
    adjoint's tb and rb, and with grid the lanes' seeds at the nodes."""
    cdef double E = sk_pl_edge(N)
    return ((k + 1.) * C + k * (C + 1.)) * E + ceil(R / <double>k) * C * E \
        + (2. * C + 1) * E + ((R + 1.) * (C + 1) * SK_PL if grid else 0)


ctypedef struct Edges:
    # a thread's edges: grown as a block's refinement needs
    double* p
    double n


cdef Edges* new_edges(int* failed) noexcept nogil:
    """A thread's Edges, none held yet (NULL, and failed set, when it cannot be allocated)."""
    cdef Edges* e = <Edges*>calloc(1, sizeof(Edges))
    if e == NULL:
        failed[0] = 1
    return e


cdef void free_edges(Edges* e) noexcept nogil:
    if e != NULL:
        free(e.p)
    free(e)


cdef double* edges(Edges* e, double numbers, int* failed) noexcept nogil:
    """At least ``numbers`` numbers at e.p (NULL, and failed set, when they cannot be
    allocated)."""
    if numbers > e.n:
        free(e.p)
        e.p = NULL
        e.n = 0
        if numbers * sizeof(double) < 2.0 ** 48:
            e.p = <double*>malloc(<size_t>numbers * sizeof(double))
        if e.p == NULL:
            failed[0] = 1
            return NULL
        e.n = numbers
    return e.p


# dyadic_order="auto" gives a pair the cheapest refinement (cost 4^d (N + 1)^2) that either
# of two bounds on its error at degree N on cells split 2^d x 2^d puts within the tolerance
# (relative to sqrt(k(x, x) k(y, y))):
# - from the sums: 10^c(N) (L1 + L2) 2^d a_d^(N + 1) exp(-sqrt(a_d)) / ((N + 1)!)^2, with
#   L1, L2 the paths' points, a the largest |sum| of G along a row or a column of coarse
#   cells from the grid's edge (a sub-cell's edges see the static kernel's first
#   differences, to which such sums telescope), a_d = a / 2^d <= 16, c = 1.2 for N <= 4,
#   0.8 + 0.15 (N - 5) beyond (the edges' Taylor coefficients fall as a^m / (m!)^2). Sharp
#   on paths whose increments cancel.
# - from the cells: total 10^g(N) r^N, with r = largest / 4^d <= 1 the largest |G| of a
#   sub-cell, total the sum of |G|, g = 2.2 for N <= 4, 1.4 - 1.5 (N - 5) beyond. Sharp
#   where the kernel grows fast (a long straight segment).
# c and g were fitted on 300 pairs, half of them a path with itself (k(x, x), whose diagonal
# cells all grow it), 1 to 5 channels, 2 to 20 points, linear and RBF kernels, steps of
# scale 0.3 to 10, against the method converged: the largest error is 0.05, 0.22 and 0.11
# of tolerances 1e-6, 1e-8 and 1e-10. (Fitted before on distinct pairs alone, c was 1.0
# lower and g 1.5: 5 times the tolerance on this set, 1e3 on some 1-channel k(x, x).)
DEF PLAN_MAX_D = 16
DEF PLAN_MAX_N = 16
DEF PLAN_MAX_A = 16.0

ctypedef struct Plan:
    int d1, d2, N

ctypedef struct Sums:
    double a, largest, total


cdef Sums g_sums(const double* g, Py_ssize_t n1, Py_ssize_t n2, double* col) noexcept nogil:
    """The sums of a pair's G (n1 x n2) that the bounds read (see Plan); col: 4 n2 numbers
    of scratch. Rows go four at a time (four independent running sums); the columns'
    running sums, largest and totals, a row at a time (vector loops)."""
    cdef Py_ssize_t i, j
    cdef double s0, s1, s2, s3, m0, m1, m2, m3, v
    cdef double* cmax = col + n2
    cdef double* big = col + 2 * n2
    cdef double* tot = col + 3 * n2
    cdef Sums r
    r.a = r.largest = r.total = 0
    m0 = m1 = m2 = m3 = 0
    for i in range(0, n1 - 3, 4):
        s0 = s1 = s2 = s3 = 0
        for j in range(n2):
            s0 = s0 + g[i * n2 + j]
            s1 = s1 + g[(i + 1) * n2 + j]
            s2 = s2 + g[(i + 2) * n2 + j]
            s3 = s3 + g[(i + 3) * n2 + j]
            m0 = max(m0, fabs(s0))
            m1 = max(m1, fabs(s1))
            m2 = max(m2, fabs(s2))
            m3 = max(m3, fabs(s3))
    for i in range(n1 - n1 % 4, n1):
        s0 = 0
        for j in range(n2):
            s0 = s0 + g[i * n2 + j]
            m0 = max(m0, fabs(s0))
    for j in range(n2):
        col[j] = cmax[j] = big[j] = tot[j] = 0
    for i in range(n1):
        for j in range(n2):
            v = g[i * n2 + j]
            col[j] = col[j] + v
            cmax[j] = max(cmax[j], fabs(col[j]))
            big[j] = max(big[j], fabs(v))
            tot[j] = tot[j] + fabs(v)
    r.a = max(max(m0, m1), max(m2, m3))
    for j in range(n2):
        r.a = max(r.a, cmax[j])
        r.largest = max(r.largest, big[j])
        r.total = r.total + tot[j]
    return r


cdef inline double log10_bound_sums(double a, Py_ssize_t points, int d, int N) noexcept nogil:
    cdef double ad = ldexp(a, -d)
    return (1.2 if N <= 4 else 0.8 + 0.15 * (N - 5)) + log10(points * ldexp(1.0, d)) \
        + (N + 1) * log10(ad) - sqrt(ad) / log(10.0) - 2 * lgamma(N + 2.0) / log(10.0)


cdef inline double log10_bound_cells(double largest, double total, int d, int N) noexcept nogil:
    return log10(total) + (2.2 if N <= 4 else 1.4 - 1.5 * (N - 5)) \
        + N * log10(ldexp(largest, -2 * d))


cdef Plan plan(Sums sums, Py_ssize_t n1, Py_ssize_t n2, double tolerance,
               int order) noexcept nogil:
    """The cheapest refinement either bound puts within ``tolerance``, N from 2 to
    PLAN_MAX_N (``order`` when not 0), d up to PLAN_MAX_D; else the least d with r <= 1 at
    the largest degree."""
    cdef Plan best
    cdef int d, N
    cdef double cost, least = INFINITY, tol = log10(tolerance)
    cdef bint by_sums, by_cells
    best.N = order if order else PLAN_MAX_N
    best.d1 = -1
    for d in range(PLAN_MAX_D + 1):
        by_sums = ldexp(sums.a, -d) <= PLAN_MAX_A
        by_cells = ldexp(sums.largest, -2 * d) <= 1
        if best.d1 < 0 and by_cells:
            best.d1 = d
        for N in range(order if order else 2, (order if order else PLAN_MAX_N) + 1):
            cost = ldexp(1.0, 2 * d) * (N + 1) * (N + 1)
            if cost < least and (
                    (by_sums and log10_bound_sums(sums.a, n1 + n2 + 2, d, N) <= tol) or
                    (by_cells and log10_bound_cells(sums.largest, sums.total, d, N) <= tol)):
                least, best.d1, best.N = cost, d, N
    if best.d1 < 0:
        best.d1 = PLAN_MAX_D
    best.d2 = best.d1
    return best


cdef inline double block_edges(Py_ssize_t L1, Py_ssize_t L2, int d1, int d2, int N,
                               bint grid, bint backward, double band_at) noexcept nogil:
    """The edges a block of paths of up to L1 and L2 points needs, in numbers: forward's or
    (backward) backward's, bands as band_at gives them."""
    cdef Py_ssize_t R = (L1 - 1) << d1, C = (L2 - 1) << d2
    if backward:
        return backward_edges(R, C, N, band_rows(L1, L2, d1, d2, N, band_at), grid)
    return forward_edges(R, C, N, grid)


cdef int check_refinements(const Py_ssize_t[:, ::1] blocks, Py_ssize_t N, Py_ssize_t L1,
                           Py_ssize_t L2, double* invfact, bint grid, int d1, int d2,
                           int order, bint backward, double band_at) except -1:
    """Checks the refinements of poly_forward's or poly_backward's N pairs (and fills
    invfact): ``blocks`` (None: cells split 2^d1 x 2^d2, edges of degree ``order``, for
    all), rows (start, count, d1, d2, degree): pairs start .. start + count - 1 (count at
    most SK_PL) on cells split 2^d1 x 2^d2, edges of that degree, each pair in one block;
    with grid, their dyadic orders must be d1 and d2 (the grid's)."""
    cdef Py_ssize_t b, held = 0
    cdef int deg
    if blocks is None:
        inverse_factorials(invfact, order)
        checked_size(sizeof(double), block_edges(L1, L2, d1, d2, order, grid, backward,
                                                 band_at))
        return 0
    if blocks.shape[1] != 5:
        raise ValueError("blocks must have rows (start, count, d1, d2, degree)")
    for b in range(blocks.shape[0]):
        if not (0 <= blocks[b, 0] and 1 <= blocks[b, 1] <= SK_PL
                and blocks[b, 0] + blocks[b, 1] <= N):
            raise ValueError(f"blocks[{b}] must hold 1 to {SK_PL} of the {N} pairs")
        held += blocks[b, 1]
        if not (0 <= blocks[b, 2] <= 30 and 0 <= blocks[b, 3] <= 30):
            raise ValueError(f"blocks[{b}]: dyadic orders must be between 0 and 30")
        if grid and (blocks[b, 2] != d1 or blocks[b, 3] != d2):
            raise ValueError(f"blocks[{b}]: a grid's pairs must all be of dyadic orders "
                             f"({d1}, {d2})")
        if not 1 <= blocks[b, 4] <= 64:
            raise ValueError(f"order must be between 1 and 64, got {blocks[b, 4]}")
        deg = <int>blocks[b, 4]
        inverse_factorials(invfact, deg)
        checked_size(sizeof(double), block_edges(L1, L2, <int>blocks[b, 2],
                                                 <int>blocks[b, 3], deg, grid, backward,
                                                 band_at))
    starts = sorted((blocks[b, 0], blocks[b, 1]) for b in range(blocks.shape[0]))
    if held != N or any(a + c != a2 for (a, c), (a2, _) in zip(starts, starts[1:])):
        raise ValueError(f"blocks must hold each of the {N} pairs once")
    return 0


ctypedef struct Block:
    # pairs start .. start + count - 1 on cells split 2^d1 x 2^d2, edges of degree N
    Py_ssize_t start, count
    int d1, d2, N


cdef inline Block block_at(const Py_ssize_t* blocks, Py_ssize_t blk, Py_ssize_t N, int d1,
                           int d2, int order) noexcept nogil:
    """Block blk of N pairs: row blk of blocks (check_refinements), or with blocks NULL
    the blk-th SK_PL pairs, of d1, d2 and order."""
    cdef Block b
    if blocks != NULL:
        b.start, b.count = blocks[5 * blk], blocks[5 * blk + 1]
        b.d1, b.d2, b.N = <int>blocks[5 * blk + 2], <int>blocks[5 * blk + 3], \
            <int>blocks[5 * blk + 4]
    else:
        b.start, b.count = blk * SK_PL, min(SK_PL, N - blk * SK_PL)
        b.d1, b.d2, b.N = d1, d2, order
    return b


cdef void poly_forward_block(Static sk, const floating* X, const floating* Y, Py_ssize_t L1,
                             Py_ssize_t L2, Py_ssize_t d, const Py_ssize_t* pa,
                             const Py_ssize_t* pb, Py_ssize_t start, Py_ssize_t count,
                             const Py_ssize_t* len1, const Py_ssize_t* len2,
                             const double* wide1, const double* wide2, Py_ssize_t wd1,
                             Py_ssize_t wd2, int d1, int d2, int N, const double* given,
                             const Py_ssize_t* rows, const double* H, double* ws, Edges* ed,
                             int* failed, floating* out, double* mantissas, long* exponents,
                             floating* grid, double* prefixes) noexcept nogil:
    """poly_forward's pairs start .. start + count - 1, a block; ws: lanes_work."""
    cdef Py_ssize_t lane, n, c, R, C, nodes
    cdef Strips st
    cdef double* gp = ws + (L1 - 1) * (L2 - 1) * SK_PL
    cdef double* work = gp + (L1 - 1) * (L2 - 1) * SK_PL
    cdef double* Bs = NULL
    cdef double value[SK_PL]
    cdef long exps[SK_PL]
    # few pairs: their columns in strips fill the idle lanes (strips_forward), unless a row
    # would be scaled (exponents)
    cdef bint strips = count * 2 <= SK_PL and grid == NULL
    cdef Lanes ln = load_lanes(sk, X, Y, L1, L2, d, pa, pb, start, count, len1, len2, wide1,
                               wide2, wd1, wd2, ws, gp, work, grid != NULL, given,
                               rows, strips)
    R, C = ln.n1max << d1, ln.n2max << d2
    nodes = (R + 1) * (C + 1)
    for lane in range(SK_PL):
        value[lane] = 1
        exps[lane] = 0
    if prefixes != NULL:
        for lane in range(count):
            prefixes[(start + lane) * L1] = 0          # k = 1 at the first point
    if ln.n1max and strips:
        st = strips_of(ln, count, d1, d2)
        Bs = edges(ed, strips_edges(st, N, 0), failed)
        if Bs == NULL:
            return
        lanes_bottom(Bs, st.C, N)
        if strips_forward(ln, st, count, d1, d2, N, H, Bs, Bs + st.C * sk_pl_edge(N),
                          Bs + (2 * st.C + 1) * sk_pl_edge(N), False, value, 0, st.steps,
                          NULL, NULL, prefixes + start * L1 if prefixes != NULL else NULL,
                          L1, exponents != NULL):
            strips = False      # the lanes' G interleaved after all, for lanes_forward
            for lane in range(SK_PL):
                value[lane] = 1
            ln = load_lanes(sk, X, Y, L1, L2, d, pa, pb, start, count, len1, len2, wide1,
                            wide2, wd1, wd2, ws, gp, work, False, given, rows)
    if ln.n1max and not strips:
        Bs = edges(ed, forward_edges(R, C, N, grid != NULL), failed)
        if Bs == NULL:
            return
        lanes_bottom(Bs, C, N)
        lanes_forward(ln, d1, d2, N, H, Bs, Bs + C * sk_pl_edge(N), False, value,
                      exps if exponents != NULL else NULL,
                      Bs + (2 * C + 1) * sk_pl_edge(N) if grid != NULL else NULL, 0, R,
                      prefixes + start * L1 if prefixes != NULL else NULL, L1)
    for lane in range(count):
        n = start + lane
        if grid != NULL:      # the lanes' grids, as large as the batch's
            for c in range(nodes):
                grid[n * nodes + c] = <floating>(
                    (Bs + (2 * C + 1) * sk_pl_edge(N))[c * SK_PL + lane] if ln.n1max else 1)
        out[n] = <floating>ldexp(value[lane], exps[lane])
        if exponents != NULL:
            mantissas[n] = value[lane]
            exponents[n] = exps[lane]


cdef int check_given(const double[:, :, ::1] given, const Py_ssize_t[::1] rows,
                     Py_ssize_t N, Py_ssize_t L1, Py_ssize_t L2) except -1:
    """The pairs' G (poly_plans), None or (rows, L1 - 1, L2 - 1), and the row of each pair,
    None (row n for pair n) or N rows of given."""
    cdef Py_ssize_t n
    if given is None:
        if rows is not None:
            raise ValueError("given_rows needs given")
        return 0
    if given.shape[1] != L1 - 1 or given.shape[2] != L2 - 1 or \
            (rows is None and given.shape[0] != N):
        raise ValueError("given must hold (pairs, L1 - 1, L2 - 1) numbers")
    if rows is not None:
        if rows.shape[0] != N:
            raise ValueError("given_rows must hold a row of given for each pair")
        for n in range(N):
            if not 0 <= rows[n] < given.shape[0]:
                raise ValueError(f"given_rows[{n}] = {rows[n]} is not a row of given")
    return 0


def poly_forward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
                 const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb,
                 int kind, double p0, double p1, double p2, int d1, int d2, int order,
                 floating[::1] out, int nthreads=1, const Py_ssize_t[::1] len1=None,
                 const Py_ssize_t[::1] len2=None, double[::1] mantissas=None,
                 long[::1] exponents=None, const double[:, :, ::1] wide1=None,
                 const double[:, :, ::1] wide2=None, floating[:, :, ::1] grid=None,
                 const double[:, :, ::1] given=None,
                 const Py_ssize_t[::1] given_rows=None, double[:, ::1] prefixes=None,
                 const Py_ssize_t[:, ::1] blocks=None):
    """out[n] = k(X[pa[n]], Y[pb[n]]) by the polynomial scheme of degree ``order`` on cells
    split 2^d1 x 2^d2, SK_PL pairs a block (the lanes of a vector); len1/len2: the paths'
    true lengths (None: all of them). With mantissas and exponents (both or neither), also
    k = mantissas[n] 2^exponents[n], finite where out overflows. wide1, wide2: as for
    forward (wide paths), in float64. grid (not None): each pair's values at the nodes of
    its fine grid too, ((L1 - 1) 2^d1 + 1) x ((L2 - 1) 2^d2 + 1) (the right edges' values
    at v = 1). given (not None): the pairs' G from poly_plans, not computed again, pair n's
    at row given_rows[n] (None: row n). prefixes (not None; N x L1): log2 |k| of the pairs'
    first s + 1 points, at [n, s] for s up to the shorter path's last point (the rest left as
    it is; with exponents, beyond the floating range too). blocks (not None): the pairs'
    blocks, rows (start, count, d1, d2, degree) of up to SK_PL pairs of one refinement each,
    taken by the threads in this order, instead of d1, d2 and order for all (then only grid's
    shape reads them). Each pair's value is its own alone: lanes do not mix."""
    cdef Static sk = static_kernel(kind, p0, p1, p2)
    cdef Py_ssize_t blk, N = pa.shape[0], L1 = X.shape[1], L2 = Y.shape[1], d = X.shape[2]
    cdef bint wide = wide1 is not None
    cdef double invfact[INVFACT]
    check_refinements(blocks, N, L1, L2, invfact, grid is not None, d1, d2, order, False, 0)
    if wide:
        check_wide(kind, wide1, wide2, X, Y)
    if (mantissas is None) != (exponents is None):
        raise ValueError("mantissas and exponents go together")
    check_given(given, given_rows, N, L1, L2)
    if prefixes is not None and (prefixes.shape[0] != N or prefixes.shape[1] != L1):
        raise ValueError("prefixes must have shape (pairs, L1)")
    cdef double* prep = &prefixes[0, 0] if prefixes is not None and N else NULL
    cdef const double* gv = &given[0, 0, 0] if given is not None and N else NULL
    cdef const Py_ssize_t* gr = &given_rows[0] if given_rows is not None and N else NULL
    cdef size_t nwork = checked_size(sizeof(double), lanes_work(L1, L2, d, wide, False))
    cdef Py_ssize_t nb = (N + SK_PL - 1) // SK_PL if blocks is None else blocks.shape[0]
    cdef const Py_ssize_t* bp = &blocks[0, 0] if blocks is not None and nb else NULL
    cdef Block bk
    cdef int failed = 0
    cdef double* ws
    cdef Edges* ed
    if grid is not None and (grid.shape[0] != N or grid.shape[1] != ((L1 - 1) << d1) + 1 or
                             grid.shape[2] != ((L2 - 1) << d2) + 1):
        raise ValueError("grid must have shape (pairs, rows, cols) of the fine grid")
    if N == 0:
        return
    cdef floating* gridp = &grid[0, 0, 0] if grid is not None else NULL
    cdef const Py_ssize_t* l1p = &len1[0] if len1 is not None else NULL
    cdef const Py_ssize_t* l2p = &len2[0] if len2 is not None else NULL
    cdef const double* w1p = &wide1[0, 0, 0] if wide else NULL
    cdef const double* w2p = &wide2[0, 0, 0] if wide else NULL
    cdef Py_ssize_t wd1 = wide1.shape[1] * wide1.shape[2] if wide else 0
    cdef Py_ssize_t wd2 = wide2.shape[1] * wide2.shape[2] if wide else 0
    cdef double* mp = &mantissas[0] if mantissas is not None else NULL
    cdef long* ep = &exponents[0] if exponents is not None else NULL
    with nogil, parallel(num_threads=nthreads):
        ws = <double*>workspace(nwork * sizeof(double), &failed)
        ed = new_edges(&failed)
        for blk in prange(nb, schedule='dynamic'):
            bk = block_at(bp, blk, N, d1, d2, order)
            if ws != NULL and ed != NULL:
                poly_forward_block(sk, &X[0, 0, 0], &Y[0, 0, 0], L1, L2, d, &pa[0], &pb[0],
                                   bk.start, bk.count, l1p, l2p, w1p, w2p, wd1, wd2, bk.d1,
                                   bk.d2, bk.N, gv, gr, invfact, ws, ed, &failed, &out[0], mp,
                                   ep, gridp, prep)
        free(ws)
        free_edges(ed)
    allocated(failed, 0)


cdef void lanes_linear_chain_rule(Static sk, const floating* X, const floating* Y,
                                  Py_ssize_t L1, Py_ssize_t L2, Py_ssize_t d,
                                  const Py_ssize_t* pa, const Py_ssize_t* pb, Py_ssize_t start,
                                  Py_ssize_t count, Lanes ln, double* Gb, double* buf,
                                  floating* dX, floating* dY) noexcept nogil:
    """pair_chain_rule of the linear kernel for a block's lanes at once, from their dF/dG
    (Gb, laid out as Lanes.g): no lane copied out, and vectors across lanes rather than
    along rows. Gb outside a lane's cells is set to zero first. buf: 2 (n1max + n2max + 1)
    (d + 3) SK_PL numbers."""
    cdef Py_ssize_t n1 = ln.n1max, n2 = ln.n2max, dp = (d + 3) // 4 * 4
    cdef Py_ssize_t lane, n, a, b, i, j, k
    cdef double* dxl = buf          # p0 times each lane's increments, channels padded to dp
    cdef double* dyl = dxl + (n1 + 1) * dp * SK_PL     # with zeros, and zero past the lane
    cdef double* ax = dyl + n2 * dp * SK_PL            # dF/d(increments of x), of y
    cdef double* ay = ax + (n1 + 1) * dp * SK_PL
    cdef double t
    for lane in range(SK_PL):
        a = ln.n1[lane] if lane < count else 0
        b = ln.n2[lane] if lane < count else 0
        for i in range(n1):
            for j in range(b if i < a else 0, n2):
                Gb[(i * n2 + j) * SK_PL + lane] = 0
        for i in range(n1 + 1):
            for k in range(dp):
                dxl[(i * dp + k) * SK_PL + lane] = sk.p0 * (
                    X[(pa[start + lane] * L1 + i + 1) * d + k]
                    - X[(pa[start + lane] * L1 + i) * d + k]) if i < a and k < d else 0
        for j in range(n2):
            for k in range(dp):
                dyl[(j * dp + k) * SK_PL + lane] = sk.p0 * (
                    Y[(pb[start + lane] * L2 + j + 1) * d + k]
                    - Y[(pb[start + lane] * L2 + j) * d + k]) if j < b and k < d else 0
    sk_pl_linear_chain(Gb, n2, n1, n2, dp, dxl, dyl, ax, ay)
    for lane in range(count):
        n, a, b = start + lane, ln.n1[lane], ln.n2[lane]
        for i in range(a):
            for k in range(d):
                t = ax[(i * dp + k) * SK_PL + lane]
                dX[(pa[n] * L1 + i + 1) * d + k] += <floating>t
                dX[(pa[n] * L1 + i) * d + k] -= <floating>t
        for j in range(b):
            for k in range(d):
                t = ay[(j * dp + k) * SK_PL + lane]
                dY[(pb[n] * L2 + j + 1) * d + k] += <floating>t
                dY[(pb[n] * L2 + j) * d + k] -= <floating>t


cdef void poly_backward_block(Static sk, const floating* X, const floating* Y, Py_ssize_t L1,
                              Py_ssize_t L2, Py_ssize_t d, const Py_ssize_t* pa,
                              const Py_ssize_t* pb, Py_ssize_t start, Py_ssize_t count,
                              const Py_ssize_t* len1, const Py_ssize_t* len2,
                              const double* wide1, const double* wide2, Py_ssize_t wd1,
                              Py_ssize_t wd2, int d1, int d2, int N, const double* given,
                              const Py_ssize_t* rows, const double* H, const floating* seeds,
                              double* ws, Edges* ed, int* failed, floating* dX, floating* dY,
                              double* dW1, double* dW2, const floating* grid,
                              double at) noexcept nogil:
    """poly_backward's pairs start .. start + count - 1, a block, in bands of rows when their
    edges exceed ``at`` numbers (band_rows); ws: lanes_work (keep)."""
    cdef Py_ssize_t R, C, E = sk_pl_edge(N)
    cdef Py_ssize_t lane, n, i, j, a, b, nodes, r0, band, k
    cdef double* gp = ws + (L1 - 1) * (L2 - 1) * SK_PL
    cdef double* work = gp + (L1 - 1) * (L2 - 1) * SK_PL
    cdef double* Gb = work + <Py_ssize_t>pair_g_work(L1, L2, d, wide1 != NULL)
    cdef double* Bs
    cdef double* Ls
    cdef double* first
    cdef double* tb
    cdef double* rb
    cdef double* node
    cdef double* gs
    cdef double value[SK_PL]
    cdef double sd[SK_PL]
    cdef Strips st
    # few pairs: their columns in strips fill the idle lanes, when all their edges fit in
    # ``at`` (else the rows go in bands)
    cdef bint strips = count * 2 <= SK_PL and grid == NULL
    cdef Lanes ln = load_lanes(sk, X, Y, L1, L2, d, pa, pb, start, count, len1, len2, wide1,
                               wide2, wd1, wd2, ws, gp, work, grid != NULL, given,
                               rows, strips)
    if not ln.n1max:
        return
    for lane in range(SK_PL):
        sd[lane] = seeds[start + lane] if lane < count else 0
    if strips:
        st = strips_of(ln, count, d1, d2)
        k = strips_band(st, N, min(at, STRIPS_BAND_AT))
        Bs = edges(ed, strips_edges(st, N, k), failed)
        if Bs == NULL:
            return
        Ls = Bs + (k + 1) * st.C * E
        first = Ls + k * (st.C + 1) * E      # each band's first bottom edges, right ends
        tb = first + ((st.steps + k - 1) // k) * (st.C + 1) * E
        rb = tb + st.C * E
        gs = rb + (st.C + 1) * E
        lanes_bottom(Bs, st.C, N)
        if k < st.steps:        # the bands' first edges, for each band's edges again below
            for band in range((st.steps + k - 1) // k):
                memcpy(first + band * (st.C + 1) * E, Bs, st.C * E * sizeof(double))
                strips_forward(ln, st, count, d1, d2, N, H, Bs, Ls, gs, False, value,
                               band * k, min(st.steps, band * k + k),
                               first + (band + 1) * (st.C + 1) * E - E,
                               first + (band + 2) * (st.C + 1) * E - E
                               if band * k + k < st.steps else NULL)
        for band in range((st.steps + k - 1) // k - 1, -1, -1):
            r0 = band * k
            if k < st.steps:
                memcpy(Bs, first + band * (st.C + 1) * E, st.C * E * sizeof(double))
            strips_forward(ln, st, count, d1, d2, N, H, Bs, Ls, gs, True, value, r0,
                           min(st.steps, r0 + k), first + (band + 1) * (st.C + 1) * E - E,
                           NULL)
            strips_adjoint(ln, st, count, d1, d2, N, H, Bs, Ls, sd, tb, rb, gs,
                           gs + st.w * SK_PL, Gb, r0, min(st.steps, r0 + k))
    else:
        R, C = ln.n1max << d1, ln.n2max << d2
        k = band_rows(ln.n1max + 1, ln.n2max + 1, d1, d2, N, at)
        Bs = edges(ed, backward_edges(R, C, N, k, grid != NULL), failed)
        if Bs == NULL:
            return
        Ls = Bs + (k + 1) * C * E
        first = Ls + k * (C + 1) * E                  # the bands' first bottom edges
        tb = first + ((R + k - 1) // k) * C * E
        rb = tb + C * E
        node = rb + (C + 1) * E
        nodes = (R + 1) * (C + 1)
        if grid != NULL:
            for lane in range(SK_PL):
                for i in range(nodes):
                    node[i * SK_PL + lane] = \
                        grid[(start + lane) * nodes + i] if lane < count else 0
        lanes_bottom(Bs, C, N)
        if k < R:        # the bands' first bottom edges, for each band's edges again below
            for band in range((R + k - 1) // k):
                memcpy(first + band * C * E, Bs, C * E * sizeof(double))
                lanes_forward(ln, d1, d2, N, H, Bs, Ls, False, value, NULL, NULL, band * k,
                              min(R, band * k + k))
        for band in range((R + k - 1) // k - 1, -1, -1):
            r0 = band * k
            if k < R:
                memcpy(Bs, first + band * C * E, C * E * sizeof(double))
            lanes_forward(ln, d1, d2, N, H, Bs, Ls, True, value, NULL, NULL, r0,
                          min(R, r0 + k))
            lanes_adjoint(ln, d1, d2, N, H, Bs, Ls, sd, tb, rb, Gb,
                          node if grid != NULL else NULL, r0, min(R, r0 + k))
    if sk.kind == LINEAR and wide1 == NULL:
        lanes_linear_chain_rule(sk, X, Y, L1, L2, d, pa, pb, start, count, ln, Gb,
                                Gb + (L1 - 1) * (L2 - 1) * SK_PL, dX, dY)
        return
    for lane in range(count):
        n, a, b = start + lane, ln.n1[lane], ln.n2[lane]
        if a == 0:
            continue
        for i in range(a):
            for j in range(b):
                gp[i * b + j] = Gb[(i * ln.n2max + j) * SK_PL + lane]
        if wide1 == NULL:
            pair_chain_rule(sk, X + pa[n] * L1 * d, Y + pb[n] * L2 * d, a + 1, b + 1, d, gp,
                            work, dX + pa[n] * L1 * d, dY + pb[n] * L2 * d)
        else:
            wide_g_backward(sk, wide1 + pa[n] * wd1, wide2 + pb[n] * wd2, a + 1, b + 1, d, gp,
                            b, work, dW1 + pa[n] * L1 * d if dW1 != NULL else NULL,
                            dW2 + pb[n] * L2 * d if dW2 != NULL else NULL)


def poly_backward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
                  const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb,
                  const floating[::1] seeds, int kind, double p0, double p1, double p2,
                  int d1, int d2, int order, floating[:, :, :, ::1] dX,
                  floating[:, :, :, ::1] dY, int nthreads=1,
                  const Py_ssize_t[::1] len1=None, const Py_ssize_t[::1] len2=None,
                  const double[:, :, ::1] wide1=None, const double[:, :, ::1] wide2=None,
                  double[:, :, :, ::1] dW1=None, double[:, :, :, ::1] dW2=None,
                  const floating[:, :, ::1] grid_seeds=None, double band_at=BAND_AT,
                  const double[:, :, ::1] given=None,
                  const Py_ssize_t[::1] given_rows=None,
                  const Py_ssize_t[:, ::1] blocks=None):
    """Adds seeds[n] * dk(X[pa[n]], Y[pb[n]]) to dX[thread] and dY[thread] (one slice per
    thread, both needed), the exact reverse mode of poly_forward, a block of pairs at a
    time. wide1, wide2: as for poly_forward, the gradients then going to dW1 and dW2
    (float64, one slice per thread, either None: not wanted) instead. grid_seeds (not None):
    seeds at every node of each pair's grid (poly_forward's grid) instead of seeds. band_at:
    the numbers of edges kept at once, beyond which the rows go in bands (band_rows).
    given, given_rows, blocks: as for poly_forward."""
    cdef Static sk = static_kernel(kind, p0, p1, p2)
    cdef Py_ssize_t blk, tid, N = pa.shape[0], L1 = X.shape[1], L2 = Y.shape[1]
    cdef Py_ssize_t d = X.shape[2]
    cdef bint wide = wide1 is not None
    cdef double invfact[INVFACT]
    check_refinements(blocks, N, L1, L2, invfact, grid_seeds is not None, d1, d2, order, True,
                      band_at)
    if wide:
        check_wide(kind, wide1, wide2, X, Y)
        if (dW1 is not None and (dW1.shape[1] != X.shape[0] or dW1.shape[2] != L1)) or \
                (dW2 is not None and (dW2.shape[1] != Y.shape[0] or dW2.shape[2] != L2)):
            raise ValueError("dW1 and dW2 must hold a slice of X's and Y's shapes a thread")
    elif dX is None or dY is None:
        raise ValueError("dX and dY are both needed")
    check_given(given, given_rows, N, L1, L2)
    cdef const double* gv = &given[0, 0, 0] if given is not None and N else NULL
    cdef const Py_ssize_t* gr = &given_rows[0] if given_rows is not None and N else NULL
    cdef size_t nwork = checked_size(sizeof(double), lanes_work(L1, L2, d, wide, True))
    cdef Py_ssize_t nb = (N + SK_PL - 1) // SK_PL if blocks is None else blocks.shape[0]
    cdef const Py_ssize_t* bp = &blocks[0, 0] if blocks is not None and nb else NULL
    cdef Block bk
    cdef int failed = 0
    cdef double* ws
    cdef Edges* ed
    if grid_seeds is not None and (
            grid_seeds.shape[0] != N or grid_seeds.shape[1] != ((L1 - 1) << d1) + 1 or
            grid_seeds.shape[2] != ((L2 - 1) << d2) + 1):
        raise ValueError("grid_seeds must have shape (pairs, rows, cols) of the fine grid")
    if N == 0:
        return
    cdef const floating* gsp = &grid_seeds[0, 0, 0] if grid_seeds is not None else NULL
    cdef const Py_ssize_t* l1p = &len1[0] if len1 is not None else NULL
    cdef const Py_ssize_t* l2p = &len2[0] if len2 is not None else NULL
    cdef const double* w1p = &wide1[0, 0, 0] if wide else NULL
    cdef const double* w2p = &wide2[0, 0, 0] if wide else NULL
    cdef Py_ssize_t wd1 = wide1.shape[1] * wide1.shape[2] if wide else 0
    cdef Py_ssize_t wd2 = wide2.shape[1] * wide2.shape[2] if wide else 0
    cdef Py_ssize_t sx = 0 if dX is None else dX.shape[1] * dX.shape[2] * dX.shape[3]
    cdef Py_ssize_t sy = 0 if dY is None else dY.shape[1] * dY.shape[2] * dY.shape[3]
    cdef floating* dxp = NULL if dX is None else &dX[0, 0, 0, 0]
    cdef floating* dyp = NULL if dY is None else &dY[0, 0, 0, 0]
    cdef double* w1g = NULL if dW1 is None else &dW1[0, 0, 0, 0]
    cdef double* w2g = NULL if dW2 is None else &dW2[0, 0, 0, 0]
    cdef Py_ssize_t sw1 = 0 if dW1 is None else dW1.shape[1] * dW1.shape[2] * dW1.shape[3]
    cdef Py_ssize_t sw2 = 0 if dW2 is None else dW2.shape[1] * dW2.shape[2] * dW2.shape[3]
    with nogil, parallel(num_threads=nthreads):
        ws = <double*>workspace(nwork * sizeof(double), &failed)
        ed = new_edges(&failed)
        for blk in prange(nb, schedule='dynamic'):
            if ws == NULL or ed == NULL:
                continue
            bk = block_at(bp, blk, N, d1, d2, order)
            tid = threadid()
            poly_backward_block(sk, &X[0, 0, 0], &Y[0, 0, 0], L1, L2, d, &pa[0], &pb[0],
                                bk.start, bk.count, l1p, l2p, w1p, w2p, wd1, wd2, bk.d1, bk.d2,
                                bk.N, gv, gr, invfact, &seeds[0], ws, ed,
                                &failed, dxp + tid * sx if dxp != NULL else NULL,
                                dyp + tid * sy if dyp != NULL else NULL,
                                w1g + tid * sw1 if w1g != NULL else NULL,
                                w2g + tid * sw2 if w2g != NULL else NULL, gsp, band_at)
        free(ws)
        free_edges(ed)
    allocated(failed, 0)


def poly_plans(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
               const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb, int kind, double p0,
               double p1, double p2, const double[::1] tolerance, int order, long[::1] dyadic,
               long[::1] degree, double[:, ::1] sums, int nthreads=1,
               const Py_ssize_t[::1] len1=None, const Py_ssize_t[::1] len2=None,
               const double[:, :, ::1] wide1=None, const double[:, :, ::1] wide2=None,
               double[:, :, ::1] G=None):
    """dyadic_order="auto"'s refinement of each pair (X[pa[n]], Y[pb[n]]) within its
    tolerance[n]: dyadic[n] and degree[n] (order when not 0) from sums[n] = (a, largest,
    total) of its G (Plan); a pair without cells gets (0, 2). G (not None): each pair's G
    kept there, (pairs, L1 - 1, L2 - 1), for poly_forward's and poly_backward's given."""
    cdef Static sk = static_kernel(kind, p0, p1, p2)
    cdef Py_ssize_t n, N = pa.shape[0], L1 = X.shape[1], L2 = Y.shape[1], d = X.shape[2]
    cdef Py_ssize_t n1, n2, wd1, wd2
    cdef bint wide = wide1 is not None
    cdef Sums sm
    cdef Plan pl
    cdef int failed = 0
    cdef double* ws
    cdef double* g
    if wide:
        check_wide(kind, wide1, wide2, X, Y)
    if tolerance.shape[0] != N:
        raise ValueError("tolerance must hold a number for each pair")
    for n in range(N):
        if not 0 < tolerance[n] < 1:
            raise ValueError("tolerance must be between 0 and 1")
    if not 0 <= order <= 64:
        raise ValueError(f"order must be 0 (chosen) or between 1 and 64, got {order}")
    check_given(G, None, N, L1, L2)
    cdef double* gout = &G[0, 0, 0] if G is not None and N else NULL
    cdef size_t nwork = checked_size(sizeof(double), <double>(L1 - 1) * (L2 - 1)
                                     + max(pair_g_work(L1, L2, d, wide), 4.0 * (L2 - 1)))
    if N == 0:
        return
    wd1 = wide1.shape[1] * wide1.shape[2] if wide else 0
    wd2 = wide2.shape[1] * wide2.shape[2] if wide else 0
    with nogil, parallel(num_threads=nthreads):
        ws = <double*>workspace(nwork * sizeof(double), &failed)
        for n in prange(N, schedule='dynamic'):
            if ws == NULL:
                continue
            n1 = (L1 if len1 is None else len1[pa[n]]) - 1
            n2 = (L2 if len2 is None else len2[pb[n]]) - 1
            if n1 == 0 or n2 == 0:
                n1 = n2 = 0
            g = gout + n * (L1 - 1) * (L2 - 1) if gout != NULL else ws
            if n1:
                pair_g(sk, &X[pa[n], 0, 0], &Y[pb[n], 0, 0], n1 + 1, n2 + 1, d,
                       &wide1[pa[n], 0, 0] if wide else NULL,
                       &wide2[pb[n], 0, 0] if wide else NULL, g, ws + (L1 - 1) * (L2 - 1))
            sm = g_sums(g, n1, n2, ws + (L1 - 1) * (L2 - 1))
            pl = plan(sm, n1, n2, tolerance[n], order)
            dyadic[n] = pl.d1
            degree[n] = pl.N
            sums[n, 0] = sm.a
            sums[n, 1] = sm.largest
            sums[n, 2] = sm.total
        free(ws)
    allocated(failed, nwork * sizeof(double))
