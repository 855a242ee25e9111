/* The polynomial solver's cells (polynomial.pxi), four pairs at a time: the lanes of a
 * vector are different pairs, so that every multiply-add of a cell is one vector operation
 * and no lane waits on another.
 *
 * An edge of a cell is N + 1 vectors (its coefficients of degree 0 .. N, the four lanes of
 * each in a row). With H_k = 1/k! and e_n = rho^n / n! (computed in the cell from rho: a
 * pass of their own over a row's cells cost a quarter of the cells' time), the top and
 * right edges from the bottom B and left L (L_0 = B_0, not read) are
 *     T_m = B_0 e_m + rho^m sum_(q>=1) L_q H_(q+m) + sum_(p=1..m) B_p e_(m-p)
 *     R_m = B_0 e_m + rho^m sum_(q>=1) B_q H_(q+m) + sum_(p=1..m) L_p e_(m-p).
 * Along a row the right edge of a cell is the left of the next; R_m's sum over L comes last
 * and in rising p, so that R_m waits only on L_m, the previous cell's R_m: the chain from
 * cell to cell is one multiply-add a cell, not N.
 *
 * The adjoint: with Tb, Rb = dF/dT, dF/dR (zero past N),
 *     dF/dB_0 = sum_m (Tb_m + Rb_m) e_m,
 *     dF/dB_q = sum_m Rb_m rho^m H_(q+m) + sum_(m>=q) Tb_m e_(m-q)     (q >= 1)
 *     dF/dL_q = sum_m Tb_m rho^m H_(q+m) + sum_(m>=q) Rb_m e_(m-q)     (q >= 1)
 *     dF/drho = sum_m Tb_m T'_m + Rb_m R'_m,
 * T'_m = m rho^(m-1) sum_q L_q H_(q+m) + sum_(p<m) B_p e_(m-1-p) (as d e_n/drho = e_(n-1)),
 * R'_m the same with B and L exchanged. dF/dL_q's sum over Rb comes last, in falling m, for
 * the same reason as R's in the forward. */
#ifndef SK_POLY_LANES_H
#define SK_POLY_LANES_H

#include <stddef.h>
#include <string.h>

#define SK_PL_MAX 64     /* the largest degree */

/* pairs a block: the doubles of the widest vector (eight with AVX-512, else four) */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(SK_PLAIN_LOOPS)
#if defined(__AVX512F__)
#define SK_PL 8
#else
#define SK_PL 4
#endif
typedef double sk_pl __attribute__((vector_size(SK_PL * sizeof(double))));
static inline sk_pl sk_pl_load(const double *p) { sk_pl v; memcpy(&v, p, sizeof v); return v; }
static inline void sk_pl_store(double *p, sk_pl v) { memcpy(p, &v, sizeof v); }
/* a brace list, not a loop over lanes: for AVX-512 GCC built the loop's vector on the
 * stack, whose reload stalled (order 1 ran 4.6x slower, order 8 8%) */
static inline sk_pl sk_pl_splat(double x)
{
#if SK_PL == 8
    return (sk_pl){x, x, x, x, x, x, x, x};
#else
    return (sk_pl){x, x, x, x};
#endif
}
#define SK_PL_ADD(a, b) ((a) + (b))
#define SK_PL_MUL(a, b) ((a) * (b))
#else
#define SK_PL 4
typedef struct { double v[SK_PL]; } sk_pl;
static inline sk_pl sk_pl_load(const double *p) { sk_pl r; memcpy(r.v, p, sizeof r.v); return r; }
static inline void sk_pl_store(double *p, sk_pl v) { memcpy(p, v.v, sizeof v.v); }
static inline sk_pl sk_pl_splat(double x)
{ sk_pl r; int i; for (i = 0; i < SK_PL; i++) r.v[i] = x; return r; }
static inline sk_pl sk_pl_add(sk_pl a, sk_pl b)
{ int i; for (i = 0; i < SK_PL; i++) a.v[i] += b.v[i]; return a; }
static inline sk_pl sk_pl_mul(sk_pl a, sk_pl b)
{ int i; for (i = 0; i < SK_PL; i++) a.v[i] *= b.v[i]; return a; }
#define SK_PL_ADD(a, b) sk_pl_add((a), (b))
#define SK_PL_MUL(a, b) sk_pl_mul((a), (b))
#endif
#define SK_PL_FMA(acc, a, b) SK_PL_ADD((acc), SK_PL_MUL((a), (b)))

/* numbers of an edge */
static inline ptrdiff_t sk_pl_edge(int N) { return (ptrdiff_t)(N + 1) * SK_PL; }

/* the loops of a cell unrolled whole for N a constant (at most 17 turns: a cell is then
 * straight-line code); the code for any degree unrolled as much, not more (with 65, the
 * solver took 137 s to compile instead of 32) */
#if defined(__GNUC__) && !defined(__clang__)
#define SK_PL_UNROLL _Pragma("GCC unroll 17")
#else
#define SK_PL_UNROLL
#endif

#define SK_PL_LD(p, i) sk_pl_load((p) + (ptrdiff_t)(i) * SK_PL)
#define SK_PL_ST(p, i, v) sk_pl_store((p) + (ptrdiff_t)(i) * SK_PL, (v))

/* e_n = rho^n / n! and rho^n for n <= N. */
static inline __attribute__((always_inline)) void
sk_pl_powers(int N, sk_pl rho, const double *H, sk_pl *e, sk_pl *pw)
{
    int n;
    e[0] = pw[0] = sk_pl_splat(1);
    SK_PL_UNROLL
    for (n = 1; n <= N; n++) {
        pw[n] = SK_PL_MUL(pw[n - 1], rho);
        e[n] = SK_PL_MUL(pw[n], sk_pl_splat(H[n]));
    }
}

/* x_i = sum_(j = j0..N) u_j H_(i+j) and y_i the same of w, for i = i0 .. N: the sums over
 * H, all of a cell's before its sums over e (the chains of multiply-adds of several i then
 * overlap: measured 1.35x faster at N = 8 than each next to its sum over e). */
static inline __attribute__((always_inline)) void
sk_pl_hankel(int N, int i0, int j0, const sk_pl *u, const sk_pl *w, const double *H,
             sk_pl *x, sk_pl *y)
{
    int i, j;
    SK_PL_UNROLL
    for (i = i0; i <= N; i++) {
        sk_pl a = sk_pl_splat(0), b = sk_pl_splat(0);
        SK_PL_UNROLL
        for (j = j0; j <= N; j++) {
            const sk_pl hk = sk_pl_splat(H[i + j]);
            a = SK_PL_FMA(a, u[j], hk);
            b = SK_PL_FMA(b, w[j], hk);
        }
        x[i] = a;
        y[i] = b;
    }
}

/* One cell: T and R from B and L; T may be B (every B is read first), R never L. */
static inline __attribute__((always_inline)) void
sk_pl_cell(int N, sk_pl rho, const double *B, const double *L, double *T, double *R,
           const double *H)
{
    sk_pl e[SK_PL_MAX + 1], pw[SK_PL_MAX + 1];
    sk_pl b[SK_PL_MAX + 1], l[SK_PL_MAX + 1], hb[SK_PL_MAX + 1], hl[SK_PL_MAX + 1];
    int m, q;
    sk_pl_powers(N, rho, H, e, pw);
    SK_PL_UNROLL
    for (m = 0; m <= N; m++) {
        b[m] = SK_PL_LD(B, m);
        l[m] = SK_PL_LD(L, m);
    }
    sk_pl_hankel(N, 0, 1, b, l, H, hb, hl);
    SK_PL_UNROLL
    for (m = 0; m <= N; m++) {
        const sk_pl em = e[m], pm = pw[m];
        sk_pl r = SK_PL_FMA(SK_PL_MUL(b[0], em), pm, hb[m]);
        sk_pl t = SK_PL_FMA(SK_PL_MUL(b[0], em), pm, hl[m]);
        SK_PL_UNROLL
        for (q = 1; q < m; q++) {
            const sk_pl eq = e[m - q];
            t = SK_PL_FMA(t, b[q], eq);
            r = SK_PL_FMA(r, l[q], eq);
        }
        SK_PL_ST(T, m, m ? SK_PL_ADD(t, b[m]) : t);       /* e_0 = 1 */
        SK_PL_ST(R, m, m ? SK_PL_ADD(r, l[m]) : r);
    }
}

/* The adjoint of a cell: from Tb and Rb, Bb (may be Tb) and Lb (never Rb), and dF/drho
 * returned. B, L: the cell's edges as the forward read them. */
/* out_q = x_q + sum_(m = N .. q, falling) w_m e_(m-q) for q = 1 .. N: dF/dB_q (x = xb, w =
 * Tb) and dF/dL_q (x = xl, w = Rb) */
static inline __attribute__((always_inline)) void
sk_pl_shifted(int N, const sk_pl *x, const sk_pl *w, const sk_pl *e, double *out)
{
    int m, q;
    SK_PL_UNROLL
    for (q = 1; q <= N; q++) {
        sk_pl acc = x[q];
        SK_PL_UNROLL
        for (m = N; m >= q; m--)
            acc = SK_PL_FMA(acc, w[m], e[m - q]);
        SK_PL_ST(out, q, acc);
    }
}

static inline __attribute__((always_inline)) sk_pl
sk_pl_cell_adjoint(int N, sk_pl rho_, const double *B, const double *L,
                   const double *Tb, const double *Rb, double *Bb, double *Lb, const double *H)
{
    sk_pl e[SK_PL_MAX + 1], pw[SK_PL_MAX + 1];
    sk_pl tb[SK_PL_MAX + 1], rb[SK_PL_MAX + 1], tp[SK_PL_MAX + 1], rp[SK_PL_MAX + 1];
    sk_pl b[SK_PL_MAX + 1], l[SK_PL_MAX + 1], hb[SK_PL_MAX + 1], hl[SK_PL_MAX + 1];
    sk_pl xb[SK_PL_MAX + 1], xl[SK_PL_MAX + 1], rho = sk_pl_splat(0);
    int m, q;
    sk_pl_powers(N, rho_, H, e, pw);
    SK_PL_UNROLL
    for (m = 0; m <= N; m++) {
        tb[m] = SK_PL_LD(Tb, m);
        rb[m] = SK_PL_LD(Rb, m);
        tp[m] = SK_PL_MUL(tb[m], pw[m]);
        rp[m] = SK_PL_MUL(rb[m], pw[m]);
        b[m] = SK_PL_LD(B, m);
        l[m] = SK_PL_LD(L, m);
    }
    sk_pl_hankel(N, 1, 1, b, l, H, hb, hl);
    sk_pl_hankel(N, 1, 0, rp, tp, H, xb, xl);
    /* dF/drho: the sums over H times m rho^(m-1), and over e shifted by one */
    SK_PL_UNROLL
    for (m = 1; m <= N; m++) {
        const sk_pl dp = SK_PL_MUL(sk_pl_splat((double)m), pw[m - 1]);
        sk_pl st, sr;
        st = sr = SK_PL_MUL(b[0], e[m - 1]);
        SK_PL_UNROLL
        for (q = 1; q < m; q++) {
            const sk_pl eq = e[m - 1 - q];
            st = SK_PL_FMA(st, b[q], eq);
            sr = SK_PL_FMA(sr, l[q], eq);
        }
        rho = SK_PL_FMA(rho, tb[m], SK_PL_FMA(st, dp, hl[m]));
        rho = SK_PL_FMA(rho, rb[m], SK_PL_FMA(sr, dp, hb[m]));
    }
    /* the edges' adjoints; Lb's sum over Rb last, in falling m */
    sk_pl_shifted(N, xb, tb, e, Bb);
    {
        sk_pl bb = sk_pl_splat(0);
        SK_PL_UNROLL
        for (m = N; m >= 0; m--)
            bb = SK_PL_FMA(bb, SK_PL_ADD(tb[m], rb[m]), e[m]);
        SK_PL_ST(Bb, 0, bb);
    }
    SK_PL_ST(Lb, 0, sk_pl_splat(0));
    sk_pl_shifted(N, xl, rb, e, Lb);
    return rho;
}

/* A row of C cells from the left. Cell c has rho = h g[(c >> d2) SK_PL ..], bottom edge
 * Brow + c E and top edge Trow + c E (E = sk_pl_edge(N); Trow may be Brow), left edge
 * Lrow + c E and right edge Lrow + (c + 1) E (the caller sets the first). */
static inline __attribute__((always_inline)) void
sk_pl_row_body(int N, const double *g, double h, const double *Brow, double *Trow,
               double *Lrow, const double *H, ptrdiff_t C, int d2)
{
    const ptrdiff_t E = sk_pl_edge(N);
    ptrdiff_t c;
    for (c = 0; c < C; c++)
        sk_pl_cell(N, SK_PL_MUL(sk_pl_splat(h), sk_pl_load(g + (c >> d2) * SK_PL)), Brow + c * E, Lrow + c * E, Trow + c * E,
                   Lrow + (c + 1) * E, H);
}

/* The adjoint of a row, from the right: tb holds dF/d(top edge) of each cell, and gets
 * dF/d(bottom edge) in its place; rb + (c + 1) E holds dF/d(right edge of cell c) when
 * cell c is reached: the caller sets rb + C E (the row's right end), and dF/d(left edge)
 * of cell c is written to rb + c E, then lane l's seed[l] H_m added to its degree m when
 * seed_at[l] is c (a kernel's seed: its last node is in the row, not at its right end).
 * With add, dF/d(left edge) is added to rb + c E instead (the caller has set the whole of
 * rb), and seed_at is not read. h dF/drho is added to Gb + (c >> d2) SK_PL. */
static inline __attribute__((always_inline)) void
sk_pl_adjoint_row_body(int N, const double *g, const double *Brow,
                       const double *Lrow, double *tb, double *rb, const double *H,
                       ptrdiff_t C, int d2, double h, double *Gb, const ptrdiff_t *seed_at,
                       const double *seed, int add)
{
    const ptrdiff_t E = sk_pl_edge(N);
    double lb[(SK_PL_MAX + 1) * SK_PL];
    ptrdiff_t c;
    int m, lane;
    for (c = C - 1; c >= 0; c--) {
        const sk_pl rho = sk_pl_cell_adjoint(N, SK_PL_MUL(sk_pl_splat(h),
                                                          sk_pl_load(g + (c >> d2) * SK_PL)),
                                              Brow + c * E,
                                              Lrow + c * E, tb + c * E, rb + (c + 1) * E,
                                              tb + c * E, add ? lb : rb + c * E, H);
        double *g = Gb + (c >> d2) * SK_PL;
        sk_pl_store(g, SK_PL_FMA(sk_pl_load(g), sk_pl_splat(h), rho));
        if (add) {
            for (m = 0; m <= N; m++)
                SK_PL_ST(rb + c * E, m, SK_PL_ADD(SK_PL_LD(rb + c * E, m), SK_PL_LD(lb, m)));
            continue;
        }
        for (lane = 0; lane < SK_PL; lane++)
            if (seed_at[lane] == c)
                for (m = 0; m <= N; m++)
                    rb[c * E + m * SK_PL + lane] += seed[lane] * H[m];
    }
}

/* The linear static kernel's chain rule for a block, its lanes' vectors at once (G = dx
 * dy' of each lane's increments): ax[i, k] = sum_j gb[i, j] dy[j, k] and ay[j, k] =
 * sum_i gb[i, j] dx[i, k], for i < n1, j < n2, k < d; gb[i, j] at gb + (i ldg + j) SK_PL,
 * the others (i d + k) SK_PL apart, d a multiple of 4 and dx, ax with n1 + 1 rows (dx's
 * last zero when n1 is odd). Two rows of gb and four channels a turn, their sums over j
 * held in registers: half the stores of one row at a time. */
static void sk_pl_linear_chain(const double *restrict gb, ptrdiff_t ldg, ptrdiff_t n1,
                               ptrdiff_t n2, ptrdiff_t d, const double *restrict dx,
                               const double *restrict dy, double *restrict ax,
                               double *restrict ay)
{
    ptrdiff_t i, j, k, q;
    memset(ay, 0, sizeof(double) * n2 * d * SK_PL);
    for (i = 0; i < n1; i += 2) {
        const int two = i + 1 < n1;
        for (k = 0; k < d; k += 4) {
            sk_pl a0[4], a1[4], x0[4], x1[4];
            for (q = 0; q < 4; q++) {
                a0[q] = a1[q] = sk_pl_splat(0);
                x0[q] = SK_PL_LD(dx, i * d + k + q);
                x1[q] = SK_PL_LD(dx, (i + 1) * d + k + q);
            }
            for (j = 0; j < n2; j++) {
                const sk_pl g0 = SK_PL_LD(gb, i * ldg + j);
                const sk_pl g1 = two ? SK_PL_LD(gb, (i + 1) * ldg + j) : sk_pl_splat(0);
                double *restrict ayj = ay + (j * d + k) * SK_PL;
                for (q = 0; q < 4; q++) {
                    const sk_pl y = SK_PL_LD(dy, j * d + k + q);
                    a0[q] = SK_PL_FMA(a0[q], g0, y);
                    a1[q] = SK_PL_FMA(a1[q], g1, y);
                    SK_PL_ST(ayj, q, SK_PL_FMA(SK_PL_FMA(SK_PL_LD(ayj, q), g0, x0[q]),
                                               g1, x1[q]));
                }
            }
            for (q = 0; q < 4; q++) {
                SK_PL_ST(ax, i * d + k + q, a0[q]);
                SK_PL_ST(ax, (i + 1) * d + k + q, a1[q]);
            }
        }
    }
}

/* Each degree up to 16 a function of its own (N a constant: loops unroll), and one for any
 * degree up to SK_PL_MAX. */
#define SK_PL_FNS(NAME, NN)                                                              \
    static void sk_pl_row_##NAME(const double *g, double h, const double *Brow,          \
                                 double *Trow, double *Lrow, const double *H, int N,     \
                                 ptrdiff_t C, int d2)                                    \
    {                                                                                    \
        sk_pl_row_body((NN) ? (NN) : N, g, h, Brow, Trow, Lrow, H, C, d2);               \
    }                                                                                    \
    static void sk_pl_adjoint_row_##NAME(const double *g, const double *Brow,            \
                                         const double *Lrow, double *tb, double *rb,     \
                                         const double *H, int N, ptrdiff_t C, int d2,    \
                                         double h, double *Gb, const ptrdiff_t *seed_at, \
                                         const double *seed, int add)                    \
    {                                                                                    \
        sk_pl_adjoint_row_body((NN) ? (NN) : N, g, Brow, Lrow, tb, rb, H, C, d2, h, Gb,  \
                               seed_at, seed, add);                                      \
    }

SK_PL_FNS(1, 1) SK_PL_FNS(2, 2) SK_PL_FNS(3, 3) SK_PL_FNS(4, 4)
SK_PL_FNS(5, 5) SK_PL_FNS(6, 6) SK_PL_FNS(7, 7) SK_PL_FNS(8, 8)
SK_PL_FNS(9, 9) SK_PL_FNS(10, 10) SK_PL_FNS(11, 11) SK_PL_FNS(12, 12)
SK_PL_FNS(13, 13) SK_PL_FNS(14, 14) SK_PL_FNS(15, 15) SK_PL_FNS(16, 16)
SK_PL_FNS(any, 0)

#define SK_PL_DEGREES(PREFIX)                                                            \
    {0, PREFIX##1, PREFIX##2, PREFIX##3, PREFIX##4, PREFIX##5, PREFIX##6, PREFIX##7,     \
     PREFIX##8, PREFIX##9, PREFIX##10, PREFIX##11, PREFIX##12, PREFIX##13, PREFIX##14,   \
     PREFIX##15, PREFIX##16}

static void sk_pl_row(const double *g, double h, const double *Brow, double *Trow,
                      double *Lrow, const double *H, int N, ptrdiff_t C, int d2)
{
    typedef void (*row_fn)(const double *, double, const double *, double *, double *,
                           const double *, int, ptrdiff_t, int);
    static const row_fn fixed[17] = SK_PL_DEGREES(sk_pl_row_);
    (N <= 16 ? fixed[N] : sk_pl_row_any)(g, h, Brow, Trow, Lrow, H, N, C, d2);
}

static void sk_pl_adjoint_row(const double *g, const double *Brow,
                              const double *Lrow, double *tb, double *rb, const double *H,
                              int N, ptrdiff_t C, int d2, double h, double *Gb,
                              const ptrdiff_t *seed_at, const double *seed, int add)
{
    typedef void (*adjoint_fn)(const double *, const double *, const double *,
                               double *, double *, const double *, int, ptrdiff_t, int,
                               double, double *, const ptrdiff_t *, const double *, int);
    static const adjoint_fn fixed[17] = SK_PL_DEGREES(sk_pl_adjoint_row_);
    (N <= 16 ? fixed[N] : sk_pl_adjoint_row_any)(g, Brow, Lrow, tb, rb, H, N, C, d2, h, Gb,
                                                 seed_at, seed, add);
}

#endif
