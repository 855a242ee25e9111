# The backward of one block, segment by segment: the forward rows a segment's adjoint reads
# (three ways to them), then its adjoint and the chain rule back to the points.
# (included by _solver.pyx, whose header declares what these use)

ctypedef struct BlockPlan:
    Static sk
    int d1, d2
    Py_ssize_t d, strips, CH, CB    # channels; strips; coarse rows of G, of the adjoint a step
    Py_ssize_t n1, n2, R, rowlen    # the block's grid: coarse rows and columns, fine rows,
                                    # numbers of a fine row
    Py_ssize_t S, nseg              # fine rows of a segment, segments
    Py_ssize_t* tags                # the static kernel's (static_prepare, wide_block)


cdef inline BlockPlan block_plan(Static sk, int d1, int d2, Py_ssize_t d, Py_ssize_t strips,
                                 Py_ssize_t CH, Py_ssize_t CB, Py_ssize_t n1, Py_ssize_t n2,
                                 Py_ssize_t S, Py_ssize_t* tags) noexcept nogil:
    """A block's plan, as one value (a prange body must assign it whole to keep it private)."""
    cdef BlockPlan b
    b.tags = tags
    b.sk, b.d1, b.d2, b.d, b.strips, b.CH, b.CB = sk, d1, d2, d, strips, CH, CB
    b.n1, b.n2, b.R, b.rowlen = n1, n2, n1 << d1, ((n2 << d2) + 1) * W
    b.S, b.nseg = S, ((n1 << d1) + S - 1) // S
    return b


cdef void checkpoint_rows(const BlockPlan* b, floating* ws, const BackwardLayout* lay,
                          Py_ssize_t* tags) noexcept nogil:
    """The forward's rows 0, S, 2S, ... into the checkpoints, a segment at a time with two
    rows as a ring (the top segment's rows are computed with its adjoint, once)."""
    cdef Py_ssize_t s, t, r0, r1, M1 = 1 << b.d1, rl = b.rowlen
    cdef floating* check = ws + lay.check
    cdef floating* seg = ws + lay.seg
    for t in range(rl):
        check[t] = 1
    for s in range(b.nseg - 1):
        r0 = s * b.S
        r1 = r0 + b.S if r0 + b.S < b.R else b.R
        memcpy(seg, check + s * rl, sizeof(floating) * rl)
        forward_coarse_rows(b.sk, ws + lay.xs, ws + lay.ys, r0 // M1, r1 // M1, b.n2 + 1, b.d,
                            b.CH, False, ws + lay.G, ws + lay.work, tags, ws + lay.dxs, b.d1,
                            b.d2, seg, r0, 2, ws + lay.AB, b.strips, ws + lay.fedge, NULL, NULL)
        memcpy(check + (s + 1) * rl, seg + ((r1 - r0) % 2) * rl, sizeof(floating) * rl)


cdef void segment_from_grid(const BlockPlan* b, floating* ws, const BackwardLayout* lay,
                            Py_ssize_t* tags, Py_ssize_t r0, Py_ssize_t r1, Py_ssize_t i0,
                            Py_ssize_t ig, const floating* grid, Py_ssize_t first,
                            Py_ssize_t npairs) noexcept nogil:
    """A segment's forward rows r0 .. r1 copied from the given grids (pair first + l in lane
    l; lanes past the block's npairs pairs repeat the first), and its rows i0 .. ig-1 of G."""
    cdef Py_ssize_t l, r, c, pair, cols = (b.n2 << b.d2) + 1
    cdef floating* seg = ws + lay.seg
    g_rows(b.sk, ws + lay.xs, ws + lay.ys, i0, ig, b.n2 + 1, b.d, ws + lay.G, ws + lay.work,
           tags, ws + lay.dxs)
    for l in range(W):
        pair = first + (l if l < npairs else 0)
        for r in range(r0, r1 + 1):
            for c in range(cols):
                seg[((r - r0) * cols + c) * W + l] = grid[(pair * (b.R + 1) + r) * cols + c]


cdef void segment_recomputed(const BlockPlan* b, floating* ws, const BackwardLayout* lay,
                             Py_ssize_t* tags, Py_ssize_t s, Py_ssize_t i0, Py_ssize_t i1,
                             Py_ssize_t ig) noexcept nogil:
    """Segment s's forward rows, from its checkpoint (or the bottom edge), with every row of
    G it needs kept: its coarse rows i0 .. i1-1, and row i1 below the segment above."""
    cdef Py_ssize_t t, rl = b.rowlen
    cdef floating* seg = ws + lay.seg
    if b.nseg > 1:
        memcpy(seg, ws + lay.check + s * rl, sizeof(floating) * rl)
    else:
        for t in range(rl):
            seg[t] = 1
    forward_coarse_rows(b.sk, ws + lay.xs, ws + lay.ys, i0, i1, b.n2 + 1, b.d, b.CH, True,
                        ws + lay.G, ws + lay.work, tags, ws + lay.dxs, b.d1, b.d2, seg,
                        s * b.S, b.S + 1, ws + lay.AB, b.strips, ws + lay.fedge, NULL, NULL)
    g_rows(b.sk, ws + lay.xs, ws + lay.ys, i1, ig, b.n2 + 1, b.d,
           ws + lay.G + (i1 - i0) * b.n2 * W, ws + lay.work, tags,
           ws + lay.dxs + (i1 - i0) * b.d * W)


cdef void whole_grid_by_vectors(const BlockPlan* b, floating* ws, const BackwardLayout* lay,
                                Py_ssize_t* tags) noexcept nogil:
    """At d1 >= 2 with the block's whole grid kept (one segment): its rows of G, then one
    SIMD vector of lanes (whole pairs) at a time its forward grid and its adjoint, so that
    a quarter of the block's grid goes to memory and back at a time."""
    cdef Py_ssize_t t, V = SK_VL_d if floating is double else SK_VL_f
    g_rows(b.sk, ws + lay.xs, ws + lay.ys, 0, b.n1, b.n2 + 1, b.d, ws + lay.G, ws + lay.work,
           tags, ws + lay.dxs)
    for t in range(W // V):
        forward_lanes(ws + lay.G, b.n1, b.n2, b.d1, b.d2, ws + lay.seg, ws + lay.AB,
                      b.strips, ws + lay.fedge, t * V)
        adjoint_lanes(ws + lay.G, ws + lay.Gb, b.n1, b.n2, b.d1, b.d2, ws + lay.seed,
                      ws + lay.seg, ws + lay.kb, b.strips, ws + lay.aedge, t * V)


cdef void adjoint_and_chain_rule(const BlockPlan* b, floating* ws, const BackwardLayout* lay,
                                 Py_ssize_t r0, Py_ssize_t i0, Py_ssize_t i1, bint adjoint,
                                 floating inv) noexcept nogil:
    """A segment's adjoint (unless done already) and the chain rule of its rows of dF/dG,
    CB coarse rows at a time from the top, so that the chain rule reads rows the adjoint
    has just written. Gb holds rows i0 .. i1: the segment's, and row i1, the lowest of the
    segment above (as the point kernels need it), moved here to its place."""
    cdef Py_ssize_t i, ia_, ib_ = i1, n2 = b.n2, d1 = b.d1
    cdef floating* Gb = ws + lay.Gb
    if i1 < b.n1:
        memcpy(Gb + (i1 - i0) * n2 * W, Gb, sizeof(floating) * n2 * W)
    while ib_ > i0:
        ia_ = ib_ - b.CB if ib_ - b.CB > i0 else i0
        if adjoint:
            pde_adjoint(ws + lay.G, i0, Gb, b.n1, n2, d1, b.d2, ws + lay.seed,
                        ws + lay.seg + ((ia_ << d1) - r0) * b.rowlen, ia_ << d1, ib_ << d1,
                        ws + lay.kb, b.strips, ws + lay.aedge)
        if b.sk.g != NULL:
            wide_rows(b.sk, Gb + (ia_ - i0) * n2 * W, ia_, ib_, n2, b.tags, True, inv)
        elif b.sk.kind == LINEAR:
            linear_backward_rows(ib_ - ia_, n2, b.d, Gb + (ia_ - i0) * n2 * W, ws + lay.work,
                                 ws + lay.dxs + (ia_ - i0) * b.d * W,
                                 ws + lay.xbar + ia_ * b.d * W, ws + lay.dybar)
        else:
            for i in range(ib_ - 1, ia_ - 1, -1):
                point_backward(b.sk, inv, ws + lay.xs, ws + lay.ys, i + 1, n2 + 1, b.d,
                               Gb + (i - i0) * n2 * W,
                               Gb + (i + 1 - i0) * n2 * W if i + 1 < b.n1 else NULL,
                               ws + lay.xbar, ws + lay.ybar, ws + lay.srow)
        ib_ = ia_
