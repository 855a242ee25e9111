/* The solver's rows on SIMD vectors of lanes, for one element type: included by lanes.h once
 * for double and once for float, with SK_S (the suffix of the names: d or f), SK_T (the
 * element type) and SK_V (its vector type) defined; SK_FN(name) is name_d or name_f.
 * The helper macros below are the same text at both inclusions (a permitted redefinition),
 * and expand to the type of the inclusion that uses them. */
#define SK_LOAD SK_FN(sk_load)      /* a vector of lanes from memory */
#define SK_STORE SK_FN(sk_store)
#define SK_SPLAT SK_FN(sk_splat)    /* a number in every lane */
#define SK_VL SK_FN(SK_VL)          /* lanes of a vector */
#define SK_NV SK_FN(SK_NV)          /* vectors of a block's lanes */

/* One fine row of the forward scheme: cur[c+1] = cur[c] A + (prev[c+1] A - prev[c] B), with
 * A, B constant over the M2 fine columns of each of the n2 coarse cells; cur[0], the left
 * boundary, is set by the caller.
 *
 * With SK_DIFF (float), the same recurrence on the row's increments v[c] = cur[c] - prev[c]:
 * v[c+1] = v[c] + (v[c] (A - 1) + prev[c] (A - B) + prev[c+1] (A - 1)),
 * cur[c+1] = prev[c+1] + v[c+1], from the coefficients' small parts a1 = A - 1 and
 * ab = A - B (the arrays A and B hold them: sk_quad_coeffs, row_coeffs). A float holds
 * A = 1 + D/2 + ... only to 6e-8, which for a fine cell's D ~ 1e-4 is an error of 1e-3 in
 * D/2, the same in every cell: here nothing is ever multiplied by A itself, and each value
 * is rounded once, into its own column (a sum of one rounding a row), not spread over the
 * grid above and right of it. */
/* The increments at a strip's left boundary: lane l of n takes lane l - 1's of vprev (the
 * strip before it, its last column), a pair's first strip 0 (its boundary is 1 throughout);
 * all cur[0] - prev[0] (0) without vprev. */
static inline void SK_FN(sk_left_increments)(SK_T *v0, const SK_T *cur, const SK_T *prev,
                                             const SK_T *vprev, ptrdiff_t strips, ptrdiff_t n)
{
    ptrdiff_t l;
    for (l = 0; l < n; l++)
        v0[l] = !vprev ? cur[l] - prev[l] : l % strips ? vprev[l - 1] : 0;
}

/* vprev, strips (SK_DIFF only): the left boundary's increments (sk_left_increments);
 * vout (or NULL) takes the increments of the last column, the next strip's vprev. */
static inline void SK_FN(sk_pde_row)(const SK_T *SK_RESTRICT prev, SK_T *SK_RESTRICT cur,
                                     const SK_T *SK_RESTRICT A, const SK_T *SK_RESTRICT B,
                                     ptrdiff_t n2, ptrdiff_t M2, const SK_T *vprev,
                                     ptrdiff_t strips, SK_T *vout)
{
    SK_V run[SK_NV], lo[SK_NV], a[SK_NV], b[SK_NV];
    SK_T v0[SK_LANES];
    ptrdiff_t j, m, k, c = 0;
    if (SK_DIFF)
        SK_FN(sk_left_increments)(v0, cur, prev, vprev, strips, SK_LANES);
    for (k = 0; k < SK_NV; k++) {
        run[k] = SK_DIFF ? SK_LOAD(v0 + k * SK_VL) : SK_LOAD(cur + k * SK_VL);
        lo[k] = SK_LOAD(prev + k * SK_VL);
    }
    for (j = 0; j < n2; j++) {
        for (k = 0; k < SK_NV; k++) {
            a[k] = SK_LOAD(A + j * SK_LANES + k * SK_VL);
            b[k] = SK_LOAD(B + j * SK_LANES + k * SK_VL);
        }
        for (m = 0; m < M2; m++) {
            c++;
            for (k = 0; k < SK_NV; k++) {
                SK_V hi = SK_LOAD(prev + c * SK_LANES + k * SK_VL);
                if (SK_DIFF) {
                    run[k] = run[k] + (run[k] * a[k] + (lo[k] * b[k] + hi * a[k]));
                    SK_STORE(cur + c * SK_LANES + k * SK_VL, hi + run[k]);
                } else {
                    run[k] = run[k] * a[k] + (hi * a[k] - lo[k] * b[k]);
                    SK_STORE(cur + c * SK_LANES + k * SK_VL, run[k]);
                }
                lo[k] = hi;
            }
        }
    }
    if (SK_DIFF && vout)
        for (k = 0; k < SK_NV; k++)
            SK_STORE(vout + k * SK_VL, run[k]);
}

/* One row p of the adjoint from row p+1 (nxt), and dF/dG of the cells of fine row p-1 into
 * gb (one value per coarse column): see adjoint_row in _solver.pyx for the recurrence and
 * the meaning of every argument. The cell with top right corner (p, q) adds
 * Kbar[p][q] (dA (K[p][q-1] + K[p-1][q]) - dB K[p-1][q-1]), where dA = 1/2 + Delta/6 and
 * dB = -Delta/6 (the derivatives of A and B) are constant over a coarse cell: with s1, s2
 * the two sums over it, its dF/dG is s1/2 + (s1 + s2) Delta/6, from one coefficient, e6 =
 * Delta/6 = dg[j] s6 (dg: the coarse row's G; s6 = 2^-(d1+d2)/6). (The scheme's identity
 * K[p][q-1] + K[p-1][q] = (K[p][q] + B K[p-1][q-1]) / A saves an addition a cell but costs
 * a division a coarse cell: no faster for one row a sweep.) */
/* Pieces of the adjoint row's loop: coefficients of coarse column CJ; the recurrence at
 * column q; the sums of Kbar K over the cell with top right corner q. */
/* A = 1 + D/2 + D^2/12 and B = 1 - D^2/12 of a coarse cell from its G at P (D = G
 * 2^-(d1+d2)): 1 + G (hh + G c12) and 1 - G^2 c12, with hh = 3 s6 and c12 = 3 s6^2,
 * computed where the adjoint uses them: rows of them written beforehand and read here cost
 * more than the arithmetic. */
#define SK_B(P) (one - SK_LOAD(P) * SK_LOAD(P) * c12)
#define SK_A(P) (one + SK_LOAD(P) * (hh + SK_LOAD(P) * c12))
/* The constants of the adjoint kernels, from s6 (one, hh, c12 for SK_A and SK_B; half and
 * sixth for dF/dG). */
#define SK_ADJ_CONSTANTS()                                                                \
    const SK_V zero = SK_SPLAT(0), half = SK_SPLAT(0.5);                                  \
    const SK_V sixth = SK_SPLAT(s6), one = SK_SPLAT(1);                                   \
    const SK_V c12 = SK_SPLAT(3 * s6 * s6), hh = SK_SPLAT(3 * s6);
/* dF/dG of coarse column j at lane offset O from the sums acc, acc2 over its cells:
 * s1/2 + (s1 + s2) Delta/6, Delta/6 = dg[j] s6; written to gb, or added with add. */
#define SK_ADJ_STORE_GB(O)                                                                \
    SK_STORE(gb + j * SK_LANES + (O),                                                     \
                 (add ? SK_LOAD(gb + j * SK_LANES + (O)) : zero)                          \
                 + (half * acc[k] + (acc[k] + acc2[k])                                    \
                    * (SK_LOAD(dg + j * SK_LANES + (O)) * sixth)));
#define SK_ADJ_COEFFS(CJ)                                                                 \
    for (k = 0; k < SK_NV; k++) {                                                         \
        aL[k] = SK_A(dg + (CJ) * SK_LANES + k * SK_VL);                                   \
        bH[k] = SK_B(dh + (CJ) * SK_LANES + k * SK_VL);                                   \
    }
#define SK_ADJ_STEP(Q)                                                                    \
    for (k = 0; k < SK_NV; k++) {                                                         \
        SK_V n = SK_LOAD(nxt + (Q) * SK_LANES + k * SK_VL);                               \
        run[k] = aL[k] * run[k] + (aH[k] * n - bH[k] * nh[k]);                            \
        SK_STORE(out + (Q) * SK_LANES + k * SK_VL, run[k]);                               \
        nh[k] = n;                                                                        \
    }
#define SK_ADJ_ACC(Q)                                                                     \
    for (k = 0; k < SK_NV; k++) {                                                         \
        SK_V km = SK_LOAD(Km + ((Q) - 1) * SK_LANES + k * SK_VL);                         \
        acc[k] += run[k] * (SK_LOAD(Kp + ((Q) - 1) * SK_LANES + k * SK_VL) + kh[k]);      \
        acc2[k] += run[k] * km;                                                           \
        kh[k] = km;                                                                       \
    }

/* The cells of coarse column j from its top (q = (j + 1) M2) down to the cell past its
 * left edge: the top cell (STEP) takes A(p-1, q), B(p, q) from column j + 1 (none past the
 * last column, where the adjoint keeps its value), which the registers still hold from the
 * column before; the others (STEP_IN) from column j. Each coefficient is computed once a
 * sweep. */
#define SK_ADJ_COLUMN(COEFFS, STEP, ACC, STEP_IN)                                         \
    q = (j + 1) * M2;                                                                     \
    if (j + 1 < n2) {                                                                     \
        STEP(q)                                                                           \
    }                                                                                     \
    ACC(q)                                                                                \
    COEFFS(j)                                                                             \
    for (q = (j + 1) * M2 - 1; q > j * M2; q--) {                                         \
        STEP_IN(q)                                                                        \
        ACC(q)                                                                            \
    }

static inline void SK_FN(sk_adjoint_row)(SK_T *SK_RESTRICT out, const SK_T *SK_RESTRICT nxt,
                                         const SK_T *SK_RESTRICT Kp, const SK_T *SK_RESTRICT Km,
                                         const SK_T *SK_RESTRICT dg, const SK_T *SK_RESTRICT dh,
                                         SK_T s6, SK_T *SK_RESTRICT gb, ptrdiff_t n2, ptrdiff_t M2,
                                         const SK_T *SK_RESTRICT seed,
                                         const SK_T *SK_RESTRICT right, int add)
{
    SK_V run[SK_NV], nh[SK_NV], kh[SK_NV], acc[SK_NV], acc2[SK_NV];
    SK_V aL[SK_NV], bH[SK_NV], aH[SK_NV];
    const ptrdiff_t C = n2 * M2;
    SK_ADJ_CONSTANTS()
    ptrdiff_t j, k, q;
    for (k = 0; k < SK_NV; k++) {
        const ptrdiff_t o = k * SK_VL;
        nh[k] = SK_LOAD(nxt + C * SK_LANES + o);
        run[k] = seed ? SK_LOAD(seed + o)
                      : SK_A(dh + (n2 - 1) * SK_LANES + o) * nh[k];
        if (right)
            run[k] += SK_LOAD(right + o);
        SK_STORE(out + C * SK_LANES + o, run[k]);
        kh[k] = SK_LOAD(Km + C * SK_LANES + o);
        aL[k] = zero;
        bH[k] = zero;
    }
    for (j = n2 - 1; j >= 0; j--) {
        for (k = 0; k < SK_NV; k++) {
            const ptrdiff_t o = k * SK_VL;
            aH[k] = SK_A(dh + j * SK_LANES + o);
            acc[k] = zero;
            acc2[k] = zero;
        }
        SK_ADJ_COLUMN(SK_ADJ_COEFFS, SK_ADJ_STEP, SK_ADJ_ACC, SK_ADJ_STEP)
        for (k = 0; k < SK_NV; k++)
            SK_ADJ_STORE_GB(k * SK_VL)
    }
}

/* Rows p and p-1 of the adjoint in one sweep, for p even at dyadic order d1 >= 1: both lie
 * in coarse row i = (p-1) >> d1, so they share its coefficients (from its G, dg) and its
 * row of dF/dG (gb, one sum for both), and row p-1 takes row p from registers: of row p,
 * only columns 1 and C are stored (row p-1 is the next sweep's nxt). dh is the G of the
 * coarse row of fine row p (i + 1 when p starts one, else dg); K0, K1, K2 are the forward
 * rows p, p-1, p-2; nxt is row p+1; seed as for sk_adjoint_row (row p only);
 * right1, right2 (or NULL) are added to the last column of rows p and p-1; gb is
 * overwritten, or added to with add. */
#define SK_PAIR_STEP(Q)                                                                   \
    for (k = 0; k < NP; k++) {                                                            \
        const ptrdiff_t o = k * SK_VL;                                                    \
        const SK_V n = SK_LOAD(nxt + (Q) * SK_LANES + o);                                 \
        const SK_V r1 = aL[k] * run1[k] + (aH1[k] * n - bH1[k] * nh1[k]);                 \
        run2[k] = aL[k] * run2[k] + (aH2[k] * r1 - bH2[k] * run1[k]);                     \
        SK_STORE(out2 + (Q) * SK_LANES + o, run2[k]);                                     \
        nh1[k] = n;                                                                       \
        run1[k] = r1;                                                                     \
    }
#define SK_PAIR_ACC(Q)                                                                    \
    for (k = 0; k < NP; k++) {                                                            \
        const ptrdiff_t c = ((Q) - 1) * SK_LANES + k * SK_VL;                             \
        const SK_V k1 = SK_LOAD(K1 + c), k2 = SK_LOAD(K2 + c);                            \
        acc[k] += run1[k] * (SK_LOAD(K0 + c) + kh1[k]) + run2[k] * (k1 + kh2[k]);         \
        acc2[k] += run1[k] * k1 + run2[k] * k2;                                           \
        kh1[k] = k1;                                                                      \
        kh2[k] = k2;                                                                      \
    }
#define SK_PAIR_COEFFS(CJ)                                                                \
    for (k = 0; k < NP; k++) {                                                            \
        const ptrdiff_t o = k * SK_VL;                                                    \
        aL[k] = aH2[k];                 /* A(dg) of column CJ */                          \
        bH1[k] = SK_B(dh + (CJ) * SK_LANES + o);                                          \
        bH2[k] = SK_B(dg + (CJ) * SK_LANES + o);                                          \
    }

/* Two vectors of lanes a sweep (NP; all of them where a vector is fewer): the running and
 * carried values of four take more registers than there are. */
#define SK_PAIR_NP 2
SK_NOINLINE void SK_FN(sk_adjoint_pair_lanes)(SK_T *SK_RESTRICT out1, SK_T *SK_RESTRICT out2,
                                              const SK_T *SK_RESTRICT nxt,
                                              const SK_T *SK_RESTRICT K0,
                                              const SK_T *SK_RESTRICT K1,
                                              const SK_T *SK_RESTRICT K2,
                                              const SK_T *SK_RESTRICT dg,
                                              const SK_T *SK_RESTRICT dh, SK_T s6,
                                              SK_T *SK_RESTRICT gb, ptrdiff_t n2, ptrdiff_t M2,
                                              const SK_T *SK_RESTRICT seed,
                                              const SK_T *SK_RESTRICT right1,
                                              const SK_T *SK_RESTRICT right2, int add)
{
    enum { NP = SK_PAIR_NP < SK_NV ? SK_PAIR_NP : SK_NV };
    SK_V run1[NP], run2[NP], nh1[NP], kh1[NP], kh2[NP], acc[NP], acc2[NP];
    SK_V aL[NP], aH1[NP], bH1[NP], aH2[NP], bH2[NP];
    const ptrdiff_t C = n2 * M2;
    SK_ADJ_CONSTANTS()
    ptrdiff_t j, k, q;
    for (k = 0; k < NP; k++) {
        const ptrdiff_t o = k * SK_VL, c = C * SK_LANES + o;
        nh1[k] = SK_LOAD(nxt + c);
        run1[k] = seed ? SK_LOAD(seed + o)
                       : SK_A(dh + (n2 - 1) * SK_LANES + o) * nh1[k];
        if (right1)
            run1[k] += SK_LOAD(right1 + o);
        SK_STORE(out1 + c, run1[k]);
        run2[k] = SK_A(dg + (n2 - 1) * SK_LANES + o) * run1[k];
        if (right2)
            run2[k] += SK_LOAD(right2 + o);
        SK_STORE(out2 + c, run2[k]);
        kh1[k] = SK_LOAD(K1 + c);
        kh2[k] = SK_LOAD(K2 + c);
        aL[k] = bH1[k] = bH2[k] = zero;
    }
    for (j = n2 - 1; j >= 0; j--) {
        for (k = 0; k < NP; k++) {
            const ptrdiff_t o = k * SK_VL;
            aH1[k] = SK_A(dh + j * SK_LANES + o);
            aH2[k] = SK_A(dg + j * SK_LANES + o);
            acc[k] = acc2[k] = zero;
        }
        SK_ADJ_COLUMN(SK_PAIR_COEFFS, SK_PAIR_STEP, SK_PAIR_ACC, SK_PAIR_STEP)
        for (k = 0; k < NP; k++)
            SK_ADJ_STORE_GB(k * SK_VL)
    }
    for (k = 0; k < NP; k++)    /* row p's column 1 (the rest is not read again) */
        SK_STORE(out1 + SK_LANES + k * SK_VL, run1[k]);
}
static inline void SK_FN(sk_adjoint_pair)(SK_T *out1, SK_T *out2, const SK_T *nxt,
                                          const SK_T *K0, const SK_T *K1, const SK_T *K2,
                                          const SK_T *dg, const SK_T *dh, SK_T s6, SK_T *gb,
                                          ptrdiff_t n2, ptrdiff_t M2, const SK_T *seed,
                                          const SK_T *right1, const SK_T *right2, int add)
{
    enum { NP = SK_PAIR_NP < SK_NV ? SK_PAIR_NP : SK_NV };
    ptrdiff_t o;
    for (o = 0; o < SK_LANES; o += NP * SK_VL)
        SK_FN(sk_adjoint_pair_lanes)(out1 + o, out2 + o, nxt + o, K0 + o, K1 + o, K2 + o,
                                     dg + o, dh + o, s6, gb + o, n2, M2,
                                     seed ? seed + o : NULL, right1 ? right1 + o : NULL,
                                     right2 ? right2 + o : NULL, add);
}

/* Rows p, p-1, p-2, p-3 of the adjoint in one sweep, p a multiple of 4 at dyadic order
 * d1 >= 2, on the one vector of lanes from lane o0: all four rows lie in coarse row
 * i = (p-1) >> d1, so they share its coefficients (dg) and its row of dF/dG (gb), and each
 * row takes the one above it from registers. Only row p-3 (out4, the next sweep's nxt) is
 * stored whole; rows p, p-1, p-2 (out1..out3) at columns 1 and C. K holds the forward row
 * p of these lanes, K - t ks row p-t (t <= 4), column c at K + c kc: kc = SK_LANES in rows
 * of all the lanes (K pointing at lane o0), or one vector in rows of these lanes alone.
 * right (or NULL) holds the right edges of rows p-t at right - t SK_LANES; dh, nxt, seed,
 * gb and add as for sk_adjoint_pair, all in rows of all the lanes. s6 as for
 * sk_adjoint_row.
 * One vector a sweep: the running values and carried forward values of two vectors take
 * more registers than there are, and their spills made the speed depend on where the stack
 * lay.
 * The sums for dF/dG use the scheme's identity K[p][q-1] + K[p-1][q] =
 * (K[p][q] + B K[p-1][q-1]) / A: a cell adds Kbar K[p][q] and Kbar K[p-1][q-1], and a coarse
 * cell divides once. Inside a coarse column a cell's coefficients to the right and above
 * are one, A, so that rows p-1 .. p-3 take A (right + above) - B (above right): an addition
 * instead of a multiply-add. */
#define SK_QUAD_STEP(Q)                                                                   \
    {                                                                                     \
        const SK_V n = SK_LOAD(nxt + (Q) * SK_LANES);                                     \
        const SK_V s1 = aL * r1 + (aH * n - bH * nh);                                     \
        const SK_V s2 = aL * r2 + (aM * s1 - bL * r1);                                    \
        const SK_V s3 = aL * r3 + (aM * s2 - bL * r2);                                    \
        r4 = aL * r4 + (aM * s3 - bL * r3);                                               \
        SK_STORE(out4 + (Q) * SK_LANES, r4);                                              \
        nh = n;                                                                           \
        r1 = s1;                                                                          \
        r2 = s2;                                                                          \
        r3 = s3;                                                                          \
    }
#define SK_QUAD_STEP_IN(Q)                                                                \
    {                                                                                     \
        const SK_V n = SK_LOAD(nxt + (Q) * SK_LANES);                                     \
        const SK_V s1 = aL * r1 + (aH * n - bH * nh);                                     \
        const SK_V s2 = aL * (r2 + s1) - bL * r1;                                         \
        const SK_V s3 = aL * (r3 + s2) - bL * r2;                                         \
        r4 = aL * (r4 + s3) - bL * r3;                                                    \
        SK_STORE(out4 + (Q) * SK_LANES, r4);                                              \
        nh = n;                                                                           \
        r1 = s1;                                                                          \
        r2 = s2;                                                                          \
        r3 = s3;                                                                          \
    }
#define SK_QUAD_ACC(Q)                                                                    \
    {                                                                                     \
        const ptrdiff_t c = ((Q) - 1) * kc;                                               \
        const SK_V c1 = SK_LOAD(K - ks + c), c2 = SK_LOAD(K - 2 * ks + c);                \
        const SK_V c3 = SK_LOAD(K - 3 * ks + c), c4 = SK_LOAD(K - 4 * ks + c);            \
        acc += r1 * SK_LOAD(K + c + kc) + r2 * k1 + r3 * k2 + r4 * k3;                    \
        acc2 += r1 * c1 + r2 * c2 + r3 * c3 + r4 * c4;                                    \
        k1 = c1;                                                                          \
        k2 = c2;                                                                          \
        k3 = c3;                                                                          \
    }
#define SK_QUAD_COEFFS(CJ)                                                                \
    {                                                                                     \
        aL = aM;                        /* A(dg) of column CJ */                          \
        bH = SK_B(dh + (CJ) * SK_LANES);                                                  \
        bL = SK_B(dg + (CJ) * SK_LANES);                                                  \
    }

SK_NOINLINE void SK_FN(sk_adjoint_quad_lanes)(SK_T *SK_RESTRICT out1, SK_T *SK_RESTRICT out2,
                                              SK_T *SK_RESTRICT out3, SK_T *SK_RESTRICT out4,
                                              const SK_T *SK_RESTRICT nxt,
                                              const SK_T *SK_RESTRICT K, ptrdiff_t ks,
                                              ptrdiff_t kc, const SK_T *SK_RESTRICT dg,
                                              const SK_T *SK_RESTRICT dh, SK_T s6,
                                              SK_T *SK_RESTRICT gb, ptrdiff_t n2, ptrdiff_t M2,
                                              const SK_T *SK_RESTRICT seed,
                                              const SK_T *SK_RESTRICT right, int add,
                                              ptrdiff_t o0, SK_T *SK_RESTRICT edge,
                                              ptrdiff_t strips)
{
    SK_V r1, r2, r3, r4, nh, k1, k2, k3, acc, acc2, aL, aH, aM, bH, bL, a;
    const ptrdiff_t C = n2 * M2, c = C * SK_LANES;
    SK_ADJ_CONSTANTS()
    ptrdiff_t j, q;
    out1 += o0;
    out2 += o0;
    out3 += o0;
    out4 += o0;
    nxt += o0;
    dg += o0;
    dh += o0;
    gb += o0;
    a = SK_A(dg + (n2 - 1) * SK_LANES);
    nh = SK_LOAD(nxt + c);
    r1 = seed ? SK_LOAD(seed + o0) : SK_A(dh + (n2 - 1) * SK_LANES) * nh;
    if (right)
        r1 += SK_LOAD(right + o0);
    r2 = a * r1;
    if (right)
        r2 += SK_LOAD(right - SK_LANES + o0);
    r3 = a * r2;
    if (right)
        r3 += SK_LOAD(right - 2 * SK_LANES + o0);
    r4 = a * r3;
    if (right)
        r4 += SK_LOAD(right - 3 * SK_LANES + o0);
    SK_STORE(out1 + c, r1);
    SK_STORE(out2 + c, r2);
    SK_STORE(out3 + c, r3);
    SK_STORE(out4 + c, r4);
    k1 = SK_LOAD(K - ks + C * kc);
    k2 = SK_LOAD(K - 2 * ks + C * kc);
    k3 = SK_LOAD(K - 3 * ks + C * kc);
    aL = bH = bL = zero;
    for (j = n2 - 1; j >= 0; j--) {
        aH = SK_A(dh + j * SK_LANES);
        aM = SK_A(dg + j * SK_LANES);
        acc = acc2 = zero;
        SK_ADJ_COLUMN(SK_QUAD_COEFFS, SK_QUAD_STEP, SK_QUAD_ACC, SK_QUAD_STEP_IN)
        acc = (acc + bL * acc2) / aL;
        SK_STORE(gb + j * SK_LANES,
                     (add ? SK_LOAD(gb + j * SK_LANES) : zero)
                     + (half * acc + (acc + acc2)
                        * (SK_LOAD(dg + j * SK_LANES) * sixth)));
    }
    SK_STORE(out1 + SK_LANES, r1);    /* column 1 of rows p, p-1, p-2 */
    SK_STORE(out2 + SK_LANES, r2);
    SK_STORE(out3 + SK_LANES, r3);
    if (edge) {     /* strip_edge (_solver.pyx) of rows p .. p-3, edge + t W row p-t */
        edge += o0;
        SK_STORE(edge, SK_FN(sk_strip_next)(aL * r1 - bH * nh, strips));
                                            SK_STORE(edge - SK_LANES, SK_FN(sk_strip_next)(aL * r2 - bL * r1, strips));
                                            SK_STORE(edge - 2 * SK_LANES, SK_FN(sk_strip_next)(aL * r3 - bL * r2, strips));
                                            SK_STORE(edge - 3 * SK_LANES, SK_FN(sk_strip_next)(aL * r4 - bL * r3, strips));
                                            }
}
/* All the lanes, K in rows of all of them. */
static inline void SK_FN(sk_adjoint_quad)(SK_T *out1, SK_T *out2, SK_T *out3, SK_T *out4,
                                          const SK_T *nxt, const SK_T *K, ptrdiff_t ks,
                                          const SK_T *dg, const SK_T *dh, SK_T s6, SK_T *gb,
                                          ptrdiff_t n2, ptrdiff_t M2, const SK_T *seed,
                                          const SK_T *right, int add)
{
    ptrdiff_t o0;
    for (o0 = 0; o0 < SK_LANES; o0 += SK_VL)
        SK_FN(sk_adjoint_quad_lanes)(out1, out2, out3, out4, nxt, K + o0, ks, SK_LANES, dg,
                                     dh, s6, gb, n2, M2, seed, right, add, o0, NULL, 1);
}

/* Fine rows r+1 .. r+4 of the forward scheme (sk_pde_row's recurrence) on one vector of
 * lanes, in rows of these lanes alone: row r at prev, row r+1+t at cur + t rs, each taking
 * the row below from registers; A and B one vector a coarse column. The caller has set the
 * four rows' left boundaries. For the backward at d1 >= 2, which keeps the grid of one
 * vector of lanes at a time (a quarter of a block's at 32 lanes of doubles): four rows
 * keep the four independent chains of multiply-adds that sk_pde_row gets from its four
 * vectors. */
/* A = 1 + D (1/2 + D/12) and B = 1 - D D/12, D = G inv (as row_coeffs in forward.pxi), of
 * one vector of lanes of a coarse row of G (column j at G + j SK_LANES), one vector a
 * column; with SK_DIFF, A - 1 and A - B (see sk_pde_row). */
static inline void SK_FN(sk_quad_coeffs)(const SK_T *SK_RESTRICT G, ptrdiff_t n2, SK_T inv,
                                         SK_T *SK_RESTRICT A, SK_T *SK_RESTRICT B)
{
    const SK_V one = SK_SPLAT(1), half = SK_SPLAT(0.5);
    const SK_V twelfth = SK_SPLAT((SK_T)(1.0 / 12.0)), sixth = SK_SPLAT((SK_T)(1.0 / 6.0));
    ptrdiff_t j;
    for (j = 0; j < n2; j++) {
        const SK_V D = SK_LOAD(G + j * SK_LANES) * inv;
        if (SK_DIFF) {
            SK_STORE(A + j * SK_VL, D * (half + D * twelfth));
            SK_STORE(B + j * SK_VL, D * (half + D * sixth));
        } else {
            SK_STORE(A + j * SK_VL, one + D * (half + D * twelfth));
            SK_STORE(B + j * SK_VL, one - D * D * twelfth);
        }
    }
}
/* Four fine rows of one vector of lanes (sk_pde_row's recurrence, SK_DIFF included): rows
 * prev + rs .. prev + 4 rs, from prev and their left boundaries; vprev, vout (or NULL):
 * as for sk_pde_row, of the four rows, es numbers apart. */
static inline void SK_FN(sk_pde_quad)(const SK_T *SK_RESTRICT prev, SK_T *SK_RESTRICT cur,
                                      ptrdiff_t rs, const SK_T *SK_RESTRICT A,
                                      const SK_T *SK_RESTRICT B, ptrdiff_t n2, ptrdiff_t M2,
                                      const SK_T *vprev, ptrdiff_t strips, SK_T *vout,
                                      ptrdiff_t es)
{
    SK_V r1 = SK_LOAD(cur), r2 = SK_LOAD(cur + rs);
    SK_V r3 = SK_LOAD(cur + 2 * rs), r4 = SK_LOAD(cur + 3 * rs);
    SK_V lo = SK_LOAD(prev);
    /* v1..v4 (SK_DIFF): the rows' increments over the row below, carried as in sk_pde_row */
    SK_V v1 = SK_SPLAT(0), v2 = v1, v3 = v1, v4 = v1;
    ptrdiff_t j, m, c = 0;
    if (SK_DIFF) {
        SK_T w0[4][SK_VL];
        int t;
        for (t = 0; t < 4; t++)
            SK_FN(sk_left_increments)(w0[t], cur + t * rs, t ? cur + (t - 1) * rs : prev,
                                      vprev ? vprev + t * es : NULL, strips, SK_VL);
        v1 = SK_LOAD(w0[0]);
        v2 = SK_LOAD(w0[1]);
        v3 = SK_LOAD(w0[2]);
        v4 = SK_LOAD(w0[3]);
    }
    for (j = 0; j < n2; j++) {
        const SK_V a = SK_LOAD(A + j * SK_VL), b = SK_LOAD(B + j * SK_VL);
        for (m = 0; m < M2; m++) {
            c++;
            const SK_V hi = SK_LOAD(prev + c * SK_VL);
            SK_V s1, s2, s3;
            if (SK_DIFF) {
                v1 = v1 + (v1 * a + (lo * b + hi * a));
                s1 = hi + v1;
                v2 = v2 + (v2 * a + (r1 * b + s1 * a));
                s2 = s1 + v2;
                v3 = v3 + (v3 * a + (r2 * b + s2 * a));
                s3 = s2 + v3;
                v4 = v4 + (v4 * a + (r3 * b + s3 * a));
                r4 = s3 + v4;
            } else {
                s1 = r1 * a + (hi * a - lo * b);
                s2 = r2 * a + (s1 * a - r1 * b);
                s3 = r3 * a + (s2 * a - r2 * b);
                r4 = r4 * a + (s3 * a - r3 * b);
            }
            SK_STORE(cur + c * SK_VL, s1);
            SK_STORE(cur + rs + c * SK_VL, s2);
            SK_STORE(cur + 2 * rs + c * SK_VL, s3);
            SK_STORE(cur + 3 * rs + c * SK_VL, r4);
            lo = hi;
            r1 = s1;
            r2 = s2;
            r3 = s3;
        }
    }
    if (SK_DIFF && vout) {
        SK_STORE(vout, v1);
        SK_STORE(vout + es, v2);
        SK_STORE(vout + 2 * es, v3);
        SK_STORE(vout + 3 * es, v4);
    }
}

/* The static kernel's rows sum products, a*b + c*d + ..., where a compiler may fuse either
 * product into a multiply-add, and GCC did so differently in differently shaped tiles: the
 * same G would then depend on where a pair's columns fall in a block's strips, and kernels
 * on the number of threads. Here nothing is fused, so each sum is computed as written. */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC optimize("fp-contract=off")
#endif
/* The linear static kernel on rows r = 0 .. nrows-1 of G (coarse rows i0 + r), with dx[r]
 * the scaled increments of x at those rows and dy[j] the increments of y, d channels each.
 * Per lane, G = dx dy^T, and its chain rule is dxbar = gb dy and dybar += gb^T dx: small
 * matrix products. Each is computed in tiles of up to 4 x 4 numbers (for one vector of
 * lanes) held in registers, so that each load feeds several multiply-adds. dybar sums the
 * rows from the top down, the order in which the solver's segments finish them, so that
 * its sums do not depend on how the rows are split into segments. */
/* out[a][b] (=, or += when add) sum_k p[a][k] q[b][k] over k < K, for a < NA, b < NB:
 * p[a] at p + a * ps, q[b] at q + b * qs, steps of k pk and qk, out[a][b] at
 * out + a * oa + b * ob, all in numbers, at one vector of lanes. */
SK_ALWAYS_INLINE void SK_FN(sk_tile)(const SK_T *p, ptrdiff_t ps, ptrdiff_t pk, const SK_T *q,
                                     ptrdiff_t qs, ptrdiff_t qk, ptrdiff_t K, SK_T *out,
                                     ptrdiff_t oa, ptrdiff_t ob, int add, const int NA,
                                     const int NB)
{
    SK_V acc[4][4];
    ptrdiff_t k;
    int a, b;
    for (a = 0; a < NA; a++)
        for (b = 0; b < NB; b++)
            acc[a][b] = add ? SK_LOAD(out + a * oa + b * ob) : SK_SPLAT(0);
    for (k = 0; k < K; k++) {
        SK_V x[4], y[4];
        for (a = 0; a < NA; a++) {
            x[a] = SK_LOAD(p + a * ps + k * pk);
            SK_IN_REGISTER(x[a]);
        }
        for (b = 0; b < NB; b++) {
            y[b] = SK_LOAD(q + b * qs + k * qk);
            SK_IN_REGISTER(y[b]);
        }
        for (a = 0; a < NA; a++)
            for (b = 0; b < NB; b++)
                acc[a][b] += x[a] * y[b];
    }
    for (a = 0; a < NA; a++)
        for (b = 0; b < NB; b++)
            SK_STORE(out + a * oa + b * ob, acc[a][b]);
}
/* The tiles of an NA x NB result whose NB columns come in blocks of 4, 2, 1 (the same
 * arguments as sk_tile, with nb columns). */
SK_ALWAYS_INLINE void SK_FN(sk_tiles)(const SK_T *p, ptrdiff_t ps, ptrdiff_t pk, const SK_T *q,
                                      ptrdiff_t qs, ptrdiff_t qk, ptrdiff_t K, SK_T *out,
                                      ptrdiff_t oa, ptrdiff_t ob, int add, const int NA,
                                      ptrdiff_t nb)
{
    ptrdiff_t b = 0, v;
    for (v = 0; v < SK_LANES; v += SK_VL) {
        for (b = 0; b + 4 <= nb; b += 4)
            SK_FN(sk_tile)(p + v, ps, pk, q + b * qs + v, qs, qk, K, out + b * ob + v, oa, ob,
                           add, NA, 4);
                           if (b + 2 <= nb) {
                           SK_FN(sk_tile)(p + v, ps, pk, q + b * qs + v, qs, qk, K, out + b * ob + v, oa, ob,
                           add, NA, 2);
                           b += 2;
                           }
                           if (b < nb)
            SK_FN(sk_tile)(p + v, ps, pk, q + b * qs + v, qs, qk, K, out + b * ob + v, oa, ob,
                           add, NA, 1);
                           }
}
/* sk_tiles over na rows in blocks of 4, 2, 1: row a's p at p + a * ps, its out at
 * out + a * oa. */
SK_ALWAYS_INLINE void SK_FN(sk_tile_rows)(const SK_T *p, ptrdiff_t ps, ptrdiff_t pk, const SK_T *q,
                                          ptrdiff_t qs, ptrdiff_t qk, ptrdiff_t K, SK_T *out,
                                          ptrdiff_t oa, ptrdiff_t ob, int add, ptrdiff_t na,
                                          ptrdiff_t nb)
{
    ptrdiff_t a;
    for (a = 0; a + 4 <= na; a += 4)
        SK_FN(sk_tiles)(p + a * ps, ps, pk, q, qs, qk, K, out + a * oa, oa, ob, add, 4, nb);
                        if (a + 2 <= na) {
                        SK_FN(sk_tiles)(p + a * ps, ps, pk, q, qs, qk, K, out + a * oa, oa, ob, add, 2, nb);
                        a += 2;
                        }
                        if (a < na)
        SK_FN(sk_tiles)(p + a * ps, ps, pk, q, qs, qk, K, out + a * oa, oa, ob, add, 1, nb);
}
/* G[r][j] = sum_k dx[r][k] dy[j][k] */
static void SK_FN(sk_linear_g_rows)(const SK_T *dx, const SK_T *dy, SK_T *G, ptrdiff_t nrows,
                                    ptrdiff_t n2, ptrdiff_t d)
{
    const ptrdiff_t L = SK_LANES, dL = d * SK_LANES;
    ptrdiff_t j;
    for (j = 0; j < n2; j += 4)
        SK_FN(sk_tile_rows)(dx, dL, L, dy + j * dL, dL, L, d, G + j * L, n2 * L, L, 0, nrows,
                            n2 - j < 4 ? n2 - j : 4);
}
/* Chain rule of sum gb * G: dxbar[r][k] = sum_j gb[r][j] dy[j][k] (over j in order), and
 * dybar[j][k] += sum_r gb[r][j] dx[r][k] (r from the top down: p walks down the rows with
 * a negative step). dybar goes KC rows at a time, dxbar JC columns at a time (the sums
 * in the same order), so that a vector's numbers stay in the L1 cache from one tile to
 * the next. */
static void SK_FN(sk_linear_rows)(const SK_T *gb, const SK_T *dy, const SK_T *dx,
                                  SK_T *dxbar, SK_T *dybar, ptrdiff_t nrows, ptrdiff_t n2,
                                  ptrdiff_t d)
{
    const ptrdiff_t L = SK_LANES, dL = d * SK_LANES, KC = 8, JC = 16;
    ptrdiff_t top, k, j;
    for (j = 0; j < n2; j += JC)
        SK_FN(sk_tile_rows)(gb + j * L, n2 * L, L, dy + j * dL, L, dL, n2 - j < JC ? n2 - j : JC,
                            dxbar, dL, L, j > 0, nrows, d);
                            for (top = nrows; top > 0; top -= KC) {
                            k = top < KC ? top : KC;
                            SK_FN(sk_tile_rows)(gb + (top - 1) * n2 * L, L, -n2 * L, dx + (top - 1) * dL, L, -dL,
                            k, dybar, dL, L, 1, n2, d);
                            }
}

#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

/* The x side of a block cut in strips (see scatter_x in _solver.pyx), summed over the
 * block's pairs, which share one path of x. Lane t of a pair's group of `strips` lanes sees
 * at its row i the point (or increment) that lane 0 sees at row i - t, so that point i gets
 * sum_t rows[i + t][lane t]. In place, each row i < n of channel k (W lanes at
 * rows + (i d + k) W) becomes R[i] = next(R[i + 1]) + fold(rows[i]), R[n] = 0, on the first
 * w = max(strips, VL) lanes (VL: the lanes of a vector): fold sums the vectors that hold
 * the same lanes of their groups (all of them when strips <= VL), and next moves each lane
 * of a group down by one (SK_NEXT). Point i then gets the sum of lanes 0, strips, 2 strips
 * ... < w of R[i], and point 0 also the other lanes of R[0] (what lanes t > 0 saw before
 * the path's first point). The running sums stay in registers: the loop over lanes in
 * memory this replaced read what the row before had stored, one lane off. */
SK_ALWAYS_INLINE SK_V SK_FN(sk_next_in)(SK_V a, SK_V z, const int g)
{
    return g == 1 ? z : g == 2 ? SK_FN(SK_NEXT2)(a, z) : g == 4 ? SK_FN(SK_NEXT4)(a, z)
         : SK_FN(SK_NEXT8)(a, z);
}
/* nf: vectors of R (w / VL); g: strips when strips < VL, else 0 (lanes move across the
 * vectors) */
SK_ALWAYS_INLINE void SK_FN(sk_diag_loop)(SK_T *rows, ptrdiff_t n, ptrdiff_t d, const int nf,
                                          const int g)
{
    const SK_V zero = SK_SPLAT(0);
    ptrdiff_t i, k;
    int u;
    for (k = 0; k < d; k++) {
        SK_V R[SK_NV];
        for (u = 0; u < nf; u++)
            R[u] = zero;
        for (i = n - 1; i >= 0; i--) {
            SK_T *row = rows + (i * d + k) * SK_LANES;
            SK_V v[SK_NV];
            for (u = 0; u < nf; u++)
                v[u] = SK_LOAD(row + u * SK_VL);
            for (u = nf; u < SK_NV; u++)
                v[u % nf] += SK_LOAD(row + u * SK_VL);
            for (u = 0; u < nf; u++) {
                R[u] = (g ? SK_FN(sk_next_in)(R[u], zero, g)
                          : SK_FN(SK_NEXT)(R[u], u + 1 < nf ? R[u + 1] : zero)) + v[u];
                                           SK_STORE(row + u * SK_VL, R[u]);
                                           }
                                           }
                                           }
}
static void SK_FN(sk_diag_sums)(SK_T *rows, ptrdiff_t n, ptrdiff_t d, ptrdiff_t strips)
{
    const ptrdiff_t VL = SK_VL;
    if (VL == 1)
        SK_FN(sk_diag_loop)(rows, n, d, (int)strips, strips == 1);
                            else if (strips < VL)
        switch (strips) {
        case 1: SK_FN(sk_diag_loop)(rows, n, d, 1, 1); break;
                                    case 2: SK_FN(sk_diag_loop)(rows, n, d, 1, 2); break;
                                    case 4: SK_FN(sk_diag_loop)(rows, n, d, 1, 4); break;
                                    default: SK_FN(sk_diag_loop)(rows, n, d, 1, 8); break;
                                    }
                                    else
                                    switch (strips / VL) {
                                    case 1: SK_FN(sk_diag_loop)(rows, n, d, 1, 0); break;
                                    case 2: SK_FN(sk_diag_loop)(rows, n, d, 2, 0); break;
                                    case 4: SK_FN(sk_diag_loop)(rows, n, d, 4, 0); break;
                                    case 8: SK_FN(sk_diag_loop)(rows, n, d, 8, 0); break;
                                    default: SK_FN(sk_diag_loop)(rows, n, d, SK_NV, 0); break;
                                    }
}

#undef SK_LOAD
#undef SK_STORE
#undef SK_SPLAT
#undef SK_VL
#undef SK_NV
