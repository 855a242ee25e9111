# The adjoint seeded at every node of the grid (return_grid=True in the backprops).
# (included by _solver.pyx, whose header declares what these use)

cdef inline double point_kappa(Static sk, const floating* x, const floating* y,
                               Py_ssize_t d) noexcept nogil:
    """kappa(x, y) of two points."""
    cdef Py_ssize_t k
    cdef double s = 0, t
    for k in range(d):
        t = (x[k] - y[k]) if uses_distance(sk.kind) else x[k] * y[k]
        s += t * t if uses_distance(sk.kind) else t
    return sk.p0 * s if sk.kind == LINEAR else point_value(sk, s)


cdef void kappa_chain_rule(Static sk, const floating* x, const floating* y, Py_ssize_t L1,
                           Py_ssize_t L2, Py_ssize_t d, const double* Gb, floating* dx,
                           floating* dy) noexcept nogil:
    """dF/dG of the coarse cells (Gb, (L1-1) x (L2-1)) -> dF/dx, dF/dy, added: kappa(x_a,
    y_b) enters four cells of G with signs +, -, -, +."""
    cdef Py_ssize_t n1 = L1 - 1, n2 = L2 - 1, a, b, k
    cdef double w, s, t
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
    kappa_chain_rule(sk, x, y, L1, L2, d, Gb, dx, dy)


def grid_backward(const floating[:, :, ::1] X, const floating[:, :, ::1] Y,
                  const Py_ssize_t[::1] pa, const Py_ssize_t[::1] pb,
                  const floating[:, :, ::1] grid, const floating[:, :, ::1] seeds,
                  int kind, double p0, double p1, double p2, int d1, int d2,
                  floating[:, :, :, ::1] dX, floating[:, :, :, ::1] dY, int nthreads=1):
    """Adds the gradients of F = sum(seeds[n] * grid[n]) over the fine grids of the pairs
    (X[pa[n]], Y[pb[n]]) to dX[thread], dY[thread] (one slice per thread, as backward).
    grid[n] is the pair's forward grid; the sweep is plain, a pair at a time
    (grid_pair_backward): this serves losses on the whole grid, not speed."""
    cdef Static sk = static_kernel(kind, p0, p1, p2)
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
    allocated(failed, nwork * sizeof(double))
