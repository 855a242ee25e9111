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
# edges are truncated at degree N. Cells are swept row by row from the bottom left; the
# kernel is the last cell's right edge at v = 1.


cdef inline double poly_rho(Static sk, const floating* x, const floating* y, Py_ssize_t i,
                            Py_ssize_t j, Py_ssize_t L2, Py_ssize_t d,
                            const double* kappa) noexcept nogil:
    """G of the coarse cell (i, j): from the pair's G as a table when Static.g is set (kappa
    is then that table: poly_wide, linear_g_table), else from the increments for the linear
    kernel (no cancellation between large values), or from kappa's table of the kernel."""
    cdef Py_ssize_t k
    cdef double s = 0
    if sk.g != NULL:
        return kappa[i * sk.ldg + j]
    if sk.kind == LINEAR:
        for k in range(d):
            s += (x[(i + 1) * d + k] - x[i * d + k]) * (y[(j + 1) * d + k] - y[j * d + k])
        return sk.p0 * s
    return kappa[(i + 1) * L2 + j + 1] - kappa[(i + 1) * L2 + j] \
        - kappa[i * L2 + j + 1] + kappa[i * L2 + j]


DEF INVFACT = 160      # 1/k! for k < N + sk_poly_stride(N), N <= 64 (poly_cell.h)


cdef int inverse_factorials(double* invfact, int order) except -1:
    """invfact[k] = 1/k! for k < INVFACT, after checking the degree ``order``."""
    cdef int k
    if not 1 <= order <= 64:
        raise ValueError(f"order must be between 1 and 64, got {order}")
    invfact[0] = 1
    for k in range(1, INVFACT):
        invfact[k] = invfact[k - 1] / k
    return 0




cdef inline double poly_ws(Py_ssize_t n2, int d2, int N) noexcept nogil:
    """poly_pair's workspace (ws) for n2 coarse columns split 2^d2, in numbers: the row's
    edges and two left edges, and the coarse row's coefficients."""
    return (<double>(n2 << d2) + 2) * sk_poly_stride(N) + <double>n2 * sk_poly_coeffs_size(N)


cdef double poly_pair(Static sk, const floating* x, const floating* y, Py_ssize_t L1,
                      Py_ssize_t L2, Py_ssize_t d, int d1, int d2, int N, double* kappa,
                      double* ws, const double* invfact, double* Bs=NULL,
                      double* Ls=NULL, long* exponent=NULL) noexcept nogil:
    """k(x, y) by the polynomial scheme, one pair, plainly, its rows by sk_poly_row
    (poly_cell.h). Workspace: kappa L1 L2 numbers (not for the linear kernel), ws
    poly_ws(L2 - 1, d2, N); invfact: 1/k! for k < N + sk_poly_stride(N). Bs and Ls,
    when given, keep every cell's edges for the adjoint, S = sk_poly_stride(N) numbers each:
    row r's bottom edges at Bs + r C S ((R + 1) C S numbers), its left edges at
    Ls + r (C + 1) S (R (C + 1) S numbers). With exponent (not NULL), the kernel is the
    result times 2^exponent (rows scaled as they grow); without, rows are never scaled."""
    cdef Py_ssize_t n1 = L1 - 1, n2 = L2 - 1, R = n1 << d1, C = n2 << d2, M = N + 1
    cdef Py_ssize_t S = sk_poly_stride(N)     # an edge's numbers
    cdef Py_ssize_t a, b, r, c, m
    cdef double h = 1.0 / (1 << (d1 + d2)), value = 0, big
    cdef double* tops = ws if Bs == NULL else Bs   # the bottom edges of the row being swept
    cdef double* left = ws + C * S
    cdef double* Rt = left + S
    cdef double* co = Rt + S                  # a coarse row's cells' coefficients
    cdef Py_ssize_t K = sk_poly_coeffs_size(N)
    cdef double* swap
    cdef double* last
    cdef double* edge
    if sk.kind != LINEAR and sk.g == NULL:
        for a in range(L1):
            for b in range(L2):
                kappa[a * L2 + b] = point_kappa(sk, x + a * d, y + b * d, d)
    for c in range(C * S):
        tops[c] = 1 if c % S == 0 else 0
    if exponent != NULL:
        exponent[0] = 0
    if R == 0 or C == 0:
        return 1
    for r in range(R):
        if (r & ((1 << d1) - 1)) == 0:        # a new coarse row: its cells' coefficients
            for c in range(n2):
                sk_poly_coeffs(h * poly_rho(sk, x, y, r >> d1, c, L2, d, kappa), invfact, N,
                               co + c * K, False)
        edge = left if Ls == NULL else Ls + r * (C + 1) * S
        edge[0] = 1
        for m in range(1, S):
            edge[m] = 0
        if Bs == NULL:       # the cells' top edges take their bottoms' places
            last = sk_poly_row(co, K, tops, tops, left, Rt, NULL, invfact, N, C, d2)
            if last != left:
                swap = left
                left = Rt
                Rt = swap
        else:                # each row's edges kept
            left = sk_poly_row(co, K, Bs + r * C * S, Bs + (r + 1) * C * S, NULL, NULL,
                               Ls + r * (C + 1) * S, invfact, N, C, d2)
            tops = Bs + (r + 1) * C * S
        if exponent != NULL:
            big = 0
            for c in range(C):
                for m in range(M):
                    big = fabs(tops[c * S + m]) if fabs(tops[c * S + m]) > big else big
            if big > ldexp(1.0, SCALE_AT):
                for c in range(C * S):
                    tops[c] = ldexp(tops[c], -SCALE_BY)
                for m in range(M):
                    left[m] = ldexp(left[m], -SCALE_BY)
                exponent[0] += SCALE_BY
    for m in range(M):
        value += left[m] * invfact[m]
    return value


cdef void linear_g_table(Static sk, const floating* x, const floating* y, Py_ssize_t L1,
                         Py_ssize_t L2, Py_ssize_t d, double* g, double* work) noexcept nogil:
    """The linear kernel's G of a pair of paths of L1 and L2 points into g ((L1 - 1) x
    (L2 - 1)): y's increments once, channel by channel, then a row of G at a time as sums
    over the channels of rows, loops the compiler vectorises. work: L2 d + d numbers."""
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
        for k in range(d):
            for j in range(n2):
                g[i * n2 + j] = g[i * n2 + j] + dx[k] * dy[k * n2 + j]


cdef inline Static poly_wide(Static sk, const double* w1, const double* w2, Py_ssize_t l1,
                             Py_ssize_t l2, Py_ssize_t d, double* g, double* gbar,
                             double* tmp) noexcept nogil:
    """Wide paths: sk with the G of a pair of paths of l1 and l2 points (wide_g's w1, w2)
    computed into g (rows of l2 - 1 numbers, as poly_rho reads it), dF/dG at gbar; tmp:
    wide_work numbers."""
    wide_g(sk, w1, w2, l1, l2, d, tmp, g, l2 - 1)
    return wide_static(sk, g, gbar, l1 - 1, l2 - 1, l2 - 1)


def poly_forward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
                 const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb,
                 int kind, double p0, double p1, double p2, int d1, int d2, int order,
                 floating[::1] out, int nthreads=1, const Py_ssize_t[::1] len1=None,
                 const Py_ssize_t[::1] len2=None, double[::1] mantissas=None,
                 long[::1] exponents=None, const double[:, :, ::1] wide1=None,
                 const double[:, :, ::1] wide2=None):
    """out[n] = k(X[pa[n]], Y[pb[n]]) by the polynomial scheme of degree ``order`` on cells
    split 2^d1 x 2^d2; len1/len2: the paths' true lengths (None: all of them). With
    mantissas and exponents (both or neither), also k = mantissas[n] 2^exponents[n], finite
    where out overflows. wide1, wide2: as for forward (wide paths), in float64."""
    cdef Static sk = static_kernel(kind, p0, p1, p2)
    cdef Static skb
    cdef Py_ssize_t n, N = pa.shape[0], L1 = X.shape[1], L2 = Y.shape[1], d = X.shape[2]
    cdef Py_ssize_t l1, l2
    cdef double* kappa
    cdef bint wide = wide1 is not None
    if wide:
        check_wide(kind, wide1, wide2, X, Y)
    cdef bint table = kind == LINEAR and not wide     # G as a table (linear_g_table)
    cdef size_t nwork = checked_size(sizeof(double), <double>L1 * L2 + poly_ws(L2 - 1, d2, order)
                                     + (wide_work(L1, L2, d) if wide else (L2 + 1.) * d))
    cdef int failed = 0
    cdef double* ws
    cdef double invfact[INVFACT]
    if N == 0:
        return
    inverse_factorials(invfact, order)
    with nogil, parallel(num_threads=nthreads):
        ws = <double*>workspace(nwork * sizeof(double), &failed)
        for n in prange(N, schedule='dynamic'):
            if ws == NULL:
                continue
            l1 = L1 if len1 is None else len1[pa[n]]
            l2 = L2 if len2 is None else len2[pb[n]]
            kappa = ws + <Py_ssize_t>poly_ws(l2 - 1, d2, order)
            if wide:
                skb = poly_wide(sk, &wide1[pa[n], 0, 0], &wide2[pb[n], 0, 0], l1, l2, d,
                                kappa, NULL, kappa + l1 * l2)
            elif table:
                linear_g_table(sk, &X[pa[n], 0, 0], &Y[pb[n], 0, 0], l1, l2, d, kappa,
                               kappa + l1 * l2)
                skb = wide_static(sk, kappa, NULL, l1 - 1, l2 - 1, l2 - 1)
            else:
                skb = sk
            if exponents is None:
                out[n] = <floating>poly_pair(skb, &X[pa[n], 0, 0], &Y[pb[n], 0, 0], l1, l2, d,
                                             d1, d2, order, kappa, ws, invfact)
            else:
                mantissas[n] = poly_pair(skb, &X[pa[n], 0, 0], &Y[pb[n], 0, 0], l1, l2, d, d1,
                                         d2, order, kappa, ws, invfact, NULL, NULL,
                                         &exponents[n])
                out[n] = <floating>ldexp(mantissas[n], exponents[n])
        free(ws)
    allocated(failed, nwork * sizeof(double))


cdef void poly_pair_backward(Static sk, const floating* x, const floating* y, Py_ssize_t L1,
                             Py_ssize_t L2, Py_ssize_t d, int d1, int d2, int N, double seed,
                             double* ws, const double* invfact, floating* dx,
                             floating* dy) noexcept nogil:
    """Adds seed * dk(x, y)/dx and /dy to dx, dy: the forward with every cell's edges kept,
    then the cells' adjoints from the top right (sk_poly_adjoint_row, poly_cell.h), then
    kappa's chain rule. Wide paths (Static.g, at ws: poly_wide): seed * dk/dG is left at
    ws + L1 L2 (rows of L2 - 1 numbers) instead. Workspace: poly_work(L1, L2, d1, d2, N)."""
    cdef Py_ssize_t n1 = L1 - 1, n2 = L2 - 1, R = n1 << d1, C = n2 << d2, M = N + 1
    cdef Py_ssize_t S = sk_poly_stride(N), K = sk_poly_coeffs_size(N)
    cdef Py_ssize_t r, c, m
    cdef double h = 1.0 / (1 << (d1 + d2))
    cdef double* kappa = ws
    cdef double* Gb = ws + L1 * L2
    cdef double* Bs = Gb + L1 * L2            # the forward's edges (poly_pair)
    cdef double* Ls = Bs + (R + 1) * C * S
    cdef double* tb = Ls + R * (C + 1) * S    # dF/d(top edge), a column each
    cdef double* rb = tb + C * S              # dF/d(right edge) of the cell being swept
    cdef double* Lb = rb + S
    cdef double* co = Lb + S                  # a coarse row's cells' coefficients
    cdef double* fw = co + n2 * K             # the forward's own workspace (poly_ws)
    if R == 0 or C == 0:
        return
    poly_pair(sk, x, y, L1, L2, d, d1, d2, N, kappa, fw, invfact, Bs, Ls)
    for m in range(n1 * n2):
        Gb[m] = 0
    for m in range(C * S):
        tb[m] = 0
    for r in range(R - 1, -1, -1):
        if r == R - 1 or ((r + 1) & ((1 << d1) - 1)) == 0:     # a new coarse row, from its top
            for c in range(n2):
                sk_poly_coeffs(h * poly_rho(sk, x, y, r >> d1, c, L2, d, kappa), invfact, N,
                               co + c * K, True)
        for m in range(S):                    # the kernel is the last right edge at v = 1
            rb[m] = seed * invfact[m] if r == R - 1 and m < M else 0
        # dF/d(bottom edge) takes the top's place: the cell below reads it as its top
        sk_poly_adjoint_row(co, K, Bs + r * C * S, Ls + r * (C + 1) * S, tb, rb, Lb, invfact,
                            N, C, d2, h, Gb + (r >> d1) * n2)
    if sk.g == NULL:
        kappa_chain_rule(sk, x, y, L1, L2, d, Gb, dx, dy)


cdef inline double poly_work(Py_ssize_t L1, Py_ssize_t L2, int d1, int d2, int N) noexcept nogil:
    """poly_pair_backward's workspace, in numbers (double precision: it cannot wrap)."""
    cdef double R = <double>(L1 - 1) * (1 << d1), C = <double>(L2 - 1) * (1 << d2)
    cdef double S = sk_poly_stride(N)
    return 2.0 * L1 * L2 + (2 * R * C + R + C) * S + (C + 2) * S \
        + (L2 - 1.0) * sk_poly_coeffs_size(N) + poly_ws(L2 - 1, d2, N)


def poly_backward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
                  const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb,
                  const floating[::1] seeds, int kind, double p0, double p1, double p2,
                  int d1, int d2, int order, floating[:, :, :, ::1] dX,
                  floating[:, :, :, ::1] dY, int nthreads=1,
                  const Py_ssize_t[::1] len1=None, const Py_ssize_t[::1] len2=None,
                  const double[:, :, ::1] wide1=None, const double[:, :, ::1] wide2=None,
                  double[:, :, :, ::1] dW1=None, double[:, :, :, ::1] dW2=None):
    """Adds seeds[n] * dk(X[pa[n]], Y[pb[n]]) to dX[thread] and dY[thread] (one slice per
    thread, both needed), the exact reverse mode of poly_forward, a pair at a time. wide1,
    wide2: as for poly_forward, the gradients then going to dW1 and dW2 (float64, one slice
    per thread, either None: not wanted) instead."""
    cdef Static sk = static_kernel(kind, p0, p1, p2)
    cdef Static skb
    cdef Py_ssize_t n, tid, N = pa.shape[0], L1 = X.shape[1], L2 = Y.shape[1], d = X.shape[2]
    cdef Py_ssize_t l1, l2
    cdef bint wide = wide1 is not None
    if wide:
        check_wide(kind, wide1, wide2, X, Y)
        if (dW1 is not None and (dW1.shape[1] != X.shape[0] or dW1.shape[2] != L1)) or \
                (dW2 is not None and (dW2.shape[1] != Y.shape[0] or dW2.shape[2] != L2)):
            raise ValueError("dW1 and dW2 must hold a slice of X's and Y's shapes a thread")
    elif dX is None or dY is None:
        raise ValueError("dX and dY are both needed")
    cdef size_t nwork = checked_size(sizeof(double), poly_work(L1, L2, d1, d2, order)
                                     + (wide_work(L1, L2, d) if wide else 0))
    cdef double* tmp
    cdef int failed = 0
    cdef double* ws
    cdef double invfact[INVFACT]
    if N == 0:
        return
    inverse_factorials(invfact, order)
    with nogil, parallel(num_threads=nthreads):
        ws = <double*>workspace(nwork * sizeof(double), &failed)
        for n in prange(N, schedule='dynamic'):
            if ws == NULL:
                continue
            tid = threadid()
            l1 = L1 if len1 is None else len1[pa[n]]
            l2 = L2 if len2 is None else len2[pb[n]]
            if not wide:
                poly_pair_backward(sk, &X[pa[n], 0, 0], &Y[pb[n], 0, 0], l1, l2, d, d1, d2,
                                   order, seeds[n], ws, invfact, &dX[tid, pa[n], 0, 0],
                                   &dY[tid, pb[n], 0, 0])
                continue
            tmp = ws + <Py_ssize_t>poly_work(l1, l2, d1, d2, order)
            skb = poly_wide(sk, &wide1[pa[n], 0, 0], &wide2[pb[n], 0, 0], l1, l2, d, ws,
                            ws + l1 * l2, tmp)
            poly_pair_backward(skb, &X[pa[n], 0, 0], &Y[pb[n], 0, 0], l1, l2, d, d1, d2, order,
                               seeds[n], ws, invfact, NULL, NULL)
            wide_g_backward(skb, &wide1[pa[n], 0, 0], &wide2[pb[n], 0, 0], l1, l2, d,
                            ws + l1 * l2, l2 - 1, tmp,
                            &dW1[tid, pa[n], 0, 0] if dW1 is not None else NULL,
                            &dW2[tid, pb[n], 0, 0] if dW2 is not None else NULL)
        free(ws)
    allocated(failed, nwork * sizeof(double))


def cell_increments(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
                    const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb,
                    int kind, double p0, double p1, double p2, double[::1] largest,
                    double[::1] total, int nthreads=1, const Py_ssize_t[::1] len1=None,
                    const Py_ssize_t[::1] len2=None, const double[:, :, ::1] wide1=None,
                    const double[:, :, ::1] wide2=None):
    """For each pair (X[pa[n]], Y[pb[n]]): the largest |G| of its coarse cells (largest[n])
    and their sum (total[n]), from which dyadic_order='auto' picks its refinement. wide1,
    wide2: as for poly_forward (wide paths)."""
    cdef Static sk = static_kernel(kind, p0, p1, p2)
    cdef Static skb
    cdef bint wide = wide1 is not None
    cdef Py_ssize_t n, i, j, a, b, N = pa.shape[0], L1 = X.shape[1], L2 = Y.shape[1]
    cdef Py_ssize_t d = X.shape[2], l1, l2
    cdef size_t nwork = checked_size(sizeof(double), <double>L1 * L2
                                     + (wide_work(L1, L2, d) if wide else (L2 + 1.) * d))
    cdef int failed = 0
    cdef double g, big, tot
    cdef bint plain = kind == LINEAR and not wide     # G as a table (linear_g_table)
    cdef double* kappa
    cdef const floating* x
    cdef const floating* y
    if N == 0:
        return
    if wide:
        check_wide(kind, wide1, wide2, X, Y)
    with nogil, parallel(num_threads=nthreads):
        kappa = <double*>workspace(nwork * sizeof(double), &failed)
        for n in prange(N, schedule='dynamic'):
            if kappa == NULL:
                continue
            x = &X[pa[n], 0, 0]
            y = &Y[pb[n], 0, 0]
            l1 = L1 if len1 is None else len1[pa[n]]
            l2 = L2 if len2 is None else len2[pb[n]]
            skb = poly_wide(sk, &wide1[pa[n], 0, 0], &wide2[pb[n], 0, 0], l1, l2, d, kappa,
                            NULL, kappa + l1 * l2) if wide else sk
            if sk.kind != LINEAR and not wide:
                for a in range(l1):
                    for b in range(l2):
                        kappa[a * l2 + b] = point_kappa(sk, x + a * d, y + b * d, d)
            big = 0
            tot = 0
            if plain:
                linear_g_table(sk, x, y, l1, l2, d, kappa, kappa + l1 * l2)
                skb = wide_static(sk, kappa, NULL, l1 - 1, l2 - 1, l2 - 1)
            for i in range(l1 - 1):
                for j in range(l2 - 1):
                    g = fabs(poly_rho(skb, x, y, i, j, l2, d, kappa))
                    tot = tot + g
                    if g > big:
                        big = g
            largest[n] = big
            total[n] = tot
        free(kappa)
    allocated(failed, nwork * sizeof(double))
