# The adjoint of the discrete scheme: rows of Kbar from the top down, and dF/dG.
# (included by _solver.pyx, whose header declares what these use)

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
