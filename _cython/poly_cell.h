/* One cell of the polynomial solver (polynomial.pxi), vectorised over the degree m.
 *
 * With e_n = rho^n / n! and H_k = 1/k!, the top and right edges of a cell are
 *     T_m = sum_p B_p e_(m-p) + rho^m sum_(q>=1) L_q H_(q+m)
 *     R_m = sum_p L'_p e_(m-p) + rho^m sum_(q>=1) B_q H_(q+m),   L'_0 = B_0, L'_p = L_p,
 * (e_n = 0 for n < 0). For each p (or q) these are multiply-adds over m, independent of
 * each other: the m of a cell fill vectors of SK_PV numbers, MP of them (MP SK_PV >= N + 1),
 * and nothing waits on a chain of sums. Entries past N are computed and never read. */
#ifndef SK_POLY_CELL_H
#define SK_POLY_CELL_H

#include <stddef.h>
#include <string.h>

#if (defined(__GNUC__) || defined(__clang__)) && !defined(SK_PLAIN_LOOPS)
typedef double sk_pv __attribute__((vector_size(32)));
#define SK_PV 4
static inline sk_pv sk_pv_load(const double *p) { sk_pv v; memcpy(&v, p, sizeof v); return v; }
static inline void sk_pv_store(double *p, sk_pv v) { memcpy(p, &v, sizeof v); }
static inline sk_pv sk_pv_splat(double x) { return (sk_pv){x, x, x, x}; }
#else
typedef double sk_pv;
#define SK_PV 1
static inline sk_pv sk_pv_load(const double *p) { return *p; }
static inline void sk_pv_store(double *p, sk_pv v) { *p = v; }
static inline sk_pv sk_pv_splat(double x) { return x; }
#endif

/* Vectors of a cell's edge for degree N, and the numbers they hold. */
static inline int sk_poly_vectors(int N) { return (N + SK_PV) / SK_PV; }
static inline int sk_poly_stride(int N) { return sk_poly_vectors(N) * SK_PV; }

/* A cell's coefficients from its rho, written ahead of the sweep (so that its loads never
 * wait on fresh stores), S = sk_poly_stride(N): at co, N + 1 zeros, then e_m = rho^m / m!
 * (m < S), rho^m, and with adjoint, m rho^(m-1) (its derivative) and e reversed, e_(N-j)
 * for j < N + S (0 past j = N); H: 1/k! for k < N + S. */
static inline int sk_poly_coeffs_size(int N) { return 2 * N + 1 + 4 * sk_poly_stride(N); }
static void sk_poly_coeffs(double rho, const double *H, int N, double *co, int adjoint)
{
    const int S = sk_poly_stride(N);
    double *e = co + N + 1, *pw = e + S, *dpw = pw + S, *erev = dpw + S;
    int m;
    for (m = 0; m <= N; m++)
        co[m] = 0;
#if SK_PV == 4
    {   /* rho^m four at a time: a chain of S/4 products, not S */
        const double r2 = rho * rho;
        const sk_pv r4 = sk_pv_splat(r2 * r2);
        sk_pv w = {1, rho, r2, r2 * rho};
        int v;
        for (v = 0; v < S / 4; v++) {
            sk_pv_store(pw + 4 * v, w);
            sk_pv_store(e + 4 * v, w * sk_pv_load(H + 4 * v));
            w *= r4;
        }
    }
#else
    double p = 1;
    for (m = 0; m < S; m++) {
        pw[m] = p;
        e[m] = p * H[m];
        p *= rho;
    }
#endif
    if (!adjoint)
        return;
    for (m = 0; m < S; m++)
        dpw[m] = m ? m * pw[m - 1] : 0;
    for (m = 0; m < N + S; m++)
        erev[m] = m <= N ? e[N - m] : 0;
}

/* T and R (sk_poly_stride(N) numbers each) from B and L (L[0] not read: the corner is B[0]),
 * with the cell's coefficients co (sk_poly_coeffs); T may be B, R never L. The body is one
 * text for arrays of MP vectors of which NV are used: a constant for the common degrees, so
 * that the accumulators live in registers. R first (the sweep's chain from cell to cell
 * runs through it: its sums over the left edge go in two halves, to halve that chain),
 * then T. */
#define SK_POLY_CELL_BODY(MP, NV)                                                        \
    {                                                                                    \
        sk_pv a[MP], a2[MP], h[MP];                                                      \
        const double *e = co + N + 1, *pw = e + (NV) * SK_PV;                                \
        int q, v;                                                                        \
        for (v = 0; v < (NV); v++) {                                                     \
            a[v] = sk_pv_splat(B[0]) * sk_pv_load(e + v * SK_PV);                        \
            a2[v] = h[v] = sk_pv_splat(0);                                               \
        }                                                                                \
        for (q = 1; q < N; q += 2)                                                       \
            for (v = 0; v < (NV); v++) {                                                 \
                a[v] += sk_pv_splat(L[q]) * sk_pv_load(e + v * SK_PV - q);               \
                a2[v] += sk_pv_splat(L[q + 1]) * sk_pv_load(e + v * SK_PV - q - 1);      \
                h[v] += sk_pv_splat(B[q]) * sk_pv_load(H + q + v * SK_PV);               \
                h[v] += sk_pv_splat(B[q + 1]) * sk_pv_load(H + q + 1 + v * SK_PV);       \
            }                                                                            \
        if (q == N)                                                                      \
            for (v = 0; v < (NV); v++) {                                                 \
                a[v] += sk_pv_splat(L[q]) * sk_pv_load(e + v * SK_PV - q);               \
                h[v] += sk_pv_splat(B[q]) * sk_pv_load(H + q + v * SK_PV);               \
            }                                                                            \
        for (v = 0; v < (NV); v++)                                                       \
            sk_pv_store(R + v * SK_PV, (a[v] + a2[v]) + sk_pv_load(pw + v * SK_PV) * h[v]); \
        for (v = 0; v < (NV); v++) {                                                     \
            a[v] = sk_pv_splat(B[0]) * sk_pv_load(e + v * SK_PV);                        \
            h[v] = sk_pv_splat(0);                                                       \
        }                                                                                \
        for (q = 1; q <= N; q++)                                                         \
            for (v = 0; v < (NV); v++) {                                                 \
                a[v] += sk_pv_splat(B[q]) * sk_pv_load(e + v * SK_PV - q);               \
                h[v] += sk_pv_splat(L[q]) * sk_pv_load(H + q + v * SK_PV);               \
            }                                                                            \
        for (v = 0; v < (NV); v++)                                                       \
            sk_pv_store(T + v * SK_PV, a[v] + sk_pv_load(pw + v * SK_PV) * h[v]);        \
    }

/* The reverse of the cell: from dF/dT (Tb) and dF/dR (Rb), sk_poly_stride(N) numbers each,
 * zero past N, set dF/dB (Bb) and dF/dL (Lb, Lb[0] = 0) likewise, and dF/drho. B and
 * L are the cell's edges (N + 1 numbers each); Bb may be Tb. With TPw = Tb rho^m and
 * RPw = Rb rho^m: Bb_p = sum_m Tb_m e_(m-p) + RPw_m H_(p+m), Lb_q = sum_m Rb_m e_(m-q) +
 * TPw_m H_(q+m) (for p, q >= 1; B_0 takes R's corner term and no H term), as multiply-adds
 * over p in vectors (e_(m-p) from e reversed). dF/drho = sum_m Tb_m t'_m + Rb_m r'_m +
 * m rho^(m-1) (Tb_m HL_m + Rb_m HB_m), t' and r' the edges' sums over e shifted by one
 * (de_n/drho = e_(n-1)), HL and HB their sums over H; it goes to rhob_out. */
#define SK_POLY_ADJOINT_BODY(MP, NV)                                                     \
    {                                                                                    \
        sk_pv ts[MP], rs[MP], hl[MP], hb[MP], bb[MP], lb[MP], acc = sk_pv_splat(0);      \
        const double *e = co + N + 1, *pw = e + (NV) * SK_PV, *dpw = pw + (NV) * SK_PV;  \
        const double *erev = dpw + (NV) * SK_PV;                                         \
        double xr = 0, xt = 0, out[SK_PV], rhob = 0;                                     \
        int m, q, v;                                                                     \
        for (v = 0; v < (NV); v++) {                                                     \
            ts[v] = sk_pv_splat(B[0]) * sk_pv_load(e + v * SK_PV - 1);                   \
            rs[v] = ts[v];                                                               \
            hl[v] = hb[v] = bb[v] = lb[v] = sk_pv_splat(0);                              \
        }                                                                                \
        for (q = 1; q <= N; q++)                                                         \
            for (v = 0; v < (NV); v++) {                                                 \
                const sk_pv ev = sk_pv_load(e + v * SK_PV - q - 1);                      \
                const sk_pv hv = sk_pv_load(H + q + v * SK_PV);                          \
                ts[v] += sk_pv_splat(B[q]) * ev;                                         \
                rs[v] += sk_pv_splat(L[q]) * ev;                                         \
                hl[v] += sk_pv_splat(L[q]) * hv;                                         \
                hb[v] += sk_pv_splat(B[q]) * hv;                                         \
            }                                                                            \
        for (v = 0; v < (NV); v++) {                                                     \
            const sk_pv tb = sk_pv_load(Tb + v * SK_PV), rb = sk_pv_load(Rb + v * SK_PV);\
            acc += tb * ts[v] + rb * rs[v]                                               \
                   + sk_pv_load(dpw + v * SK_PV) * (tb * hl[v] + rb * hb[v]);            \
        }                                                                                \
        sk_pv_store(out, acc);                                                           \
        for (v = 0; v < SK_PV; v++)                                                      \
            rhob += out[v];                                                              \
        for (m = 0; m <= N; m++) {                                                       \
            const double tbm = Tb[m], rbm = Rb[m], tbp = tbm * pw[m], rbp = rbm * pw[m]; \
            for (v = 0; v < (NV); v++) {                                                 \
                const sk_pv er = sk_pv_load(erev + N - m + v * SK_PV);                   \
                const sk_pv hm = sk_pv_load(H + m + v * SK_PV);                          \
                bb[v] += sk_pv_splat(tbm) * er + sk_pv_splat(rbp) * hm;                  \
                lb[v] += sk_pv_splat(rbm) * er + sk_pv_splat(tbp) * hm;                  \
            }                                                                            \
            xr += rbp * H[m];                                                            \
            xt += tbp * H[m];                                                            \
        }                                                                                \
        for (v = 0; v < (NV); v++) {                                                     \
            sk_pv_store(Bb + v * SK_PV, bb[v]);                                          \
            sk_pv_store(Lb + v * SK_PV, lb[v]);                                          \
        }                                                                                \
        Bb[0] += (Lb[0] - xt) - xr;                                                      \
        Lb[0] = 0;                                                                       \
        for (m = N + 1; m < (NV) * SK_PV; m++)                                           \
            Bb[m] = Lb[m] = 0;                                                           \
        rhob_out = rhob;                                                                 \
    }

/* The sweeps of a row of C cells from the left (forward) and from the right (adjoint), a
 * function for each degree up to 16 (N a constant: the loops over q unroll and the shifted
 * loads of e are fixed offsets) and one for any degree up to 64. Cell c has coefficients
 * co + (c >> d2) K; edges are S = sk_poly_stride(N) numbers apart.
 *
 * Forward: cell c's bottom edge is at Brow + c S and its top edge goes to Trow + c S (Trow
 * may be Brow). Without Ls (NULL), left is the row's left edge and the right edges go
 * alternately to Rt and left; with Ls, cell c's left edge is at Ls + c S (the caller sets
 * Ls's first) and its right edge goes to Ls + (c + 1) S, where the adjoint finds them. The
 * row's last right edge is returned.
 *
 * Adjoint: Brow and Lrow as the forward kept them (with Ls); tb holds dF/d(top edge) of each
 * cell, rb dF/d(right edge) of the last; each cell's dF/d(bottom edge) takes its top's place
 * in tb, dF/d(left edge) goes to the cell before it through rb and Lb (alternately), and
 * h dF/drho is added to Gb[c >> d2]. */
#define SK_POLY_ROW_FNS(FWD, ADJ, MP, NV, NN)                                            \
    static double *FWD(const double *co0, ptrdiff_t K, const double *Brow, double *Trow,  \
                       double *left, double *Rt, double *Ls, const double *H, int N_,     \
                       ptrdiff_t C, int d2)                                              \
    {                                                                                    \
        const int N = (NN) ? (NN) : N_;                                                  \
        ptrdiff_t c;                                                                     \
        for (c = 0; c < C; c++) {                                                        \
            const double *co = co0 + (c >> d2) * K, *B = Brow + c * (NV) * SK_PV;        \
            const double *L = Ls ? Ls + c * (NV) * SK_PV : left;                         \
            double *T = Trow + c * (NV) * SK_PV;                                         \
            double *R = Ls ? Ls + (c + 1) * (NV) * SK_PV : Rt, *swap = left;             \
            SK_POLY_CELL_BODY(MP, NV)                                                    \
            left = R;                                                                    \
            if (!Ls)                                                                     \
                Rt = swap;                                                               \
        }                                                                                \
        return left;                                                                     \
    }                                                                                    \
    static void ADJ(const double *co0, ptrdiff_t K, const double *Brow, const double *Lrow, \
                    double *tb, double *rb, double *Lb, const double *H, int N_,         \
                    ptrdiff_t C, int d2, double h, double *Gb)                           \
    {                                                                                    \
        const int N = (NN) ? (NN) : N_;                                                  \
        ptrdiff_t c;                                                                     \
        for (c = C - 1; c >= 0; c--) {                                                   \
            const double *co = co0 + (c >> d2) * K, *B = Brow + c * (NV) * SK_PV;        \
            const double *L = Lrow + c * (NV) * SK_PV, *Tb = tb + c * (NV) * SK_PV;      \
            const double *Rb = rb;                                                       \
            double *Bb = tb + c * (NV) * SK_PV, *swap = rb, rhob_out;                    \
            SK_POLY_ADJOINT_BODY(MP, NV)                                                 \
            Gb[c >> d2] += h * rhob_out;                                                 \
            rb = Lb;                                                                     \
            Lb = swap;                                                                   \
        }                                                                                \
    }
#define SK_POLY_ROW_DEGREE(NN)                                                           \
    SK_POLY_ROW_FNS(sk_poly_row_##NN, sk_poly_adjoint_row_##NN, (NN + SK_PV) / SK_PV,    \
                    (NN + SK_PV) / SK_PV, NN)

SK_POLY_ROW_DEGREE(1)
SK_POLY_ROW_DEGREE(2)
SK_POLY_ROW_DEGREE(3)
SK_POLY_ROW_DEGREE(4)
SK_POLY_ROW_DEGREE(5)
SK_POLY_ROW_DEGREE(6)
SK_POLY_ROW_DEGREE(7)
SK_POLY_ROW_DEGREE(8)
SK_POLY_ROW_DEGREE(9)
SK_POLY_ROW_DEGREE(10)
SK_POLY_ROW_DEGREE(11)
SK_POLY_ROW_DEGREE(12)
SK_POLY_ROW_DEGREE(13)
SK_POLY_ROW_DEGREE(14)
SK_POLY_ROW_DEGREE(15)
SK_POLY_ROW_DEGREE(16)
SK_POLY_ROW_FNS(sk_poly_row_wide, sk_poly_adjoint_row_wide, (64 + SK_PV) / SK_PV,
                sk_poly_vectors(N), 0)

#define SK_POLY_DEGREES(PREFIX)                                                          \
    {0, PREFIX##1, PREFIX##2, PREFIX##3, PREFIX##4, PREFIX##5, PREFIX##6, PREFIX##7,     \
     PREFIX##8, PREFIX##9, PREFIX##10, PREFIX##11, PREFIX##12, PREFIX##13, PREFIX##14,   \
     PREFIX##15, PREFIX##16}

static double *sk_poly_row(const double *co, ptrdiff_t K, const double *Brow, double *Trow,
                           double *left, double *Rt, double *Ls, const double *H, int N,
                           ptrdiff_t C, int d2)
{
    typedef double *(*row_fn)(const double *, ptrdiff_t, const double *, double *, double *,
                              double *, double *, const double *, int, ptrdiff_t, int);
    static const row_fn fixed[17] = SK_POLY_DEGREES(sk_poly_row_);
    return (N <= 16 ? fixed[N] : sk_poly_row_wide)(co, K, Brow, Trow, left, Rt, Ls, H, N, C,
                                                   d2);
}

static void sk_poly_adjoint_row(const double *co, ptrdiff_t K, const double *Brow,
                                const double *Lrow, double *tb, double *rb, double *Lb,
                                const double *H, int N, ptrdiff_t C, int d2, double h,
                                double *Gb)
{
    typedef void (*adjoint_fn)(const double *, ptrdiff_t, const double *, const double *,
                               double *, double *, double *, const double *, int, ptrdiff_t,
                               int, double, double *);
    static const adjoint_fn fixed[17] = SK_POLY_DEGREES(sk_poly_adjoint_row_);
    (N <= 16 ? fixed[N] : sk_poly_adjoint_row_wide)(co, K, Brow, Lrow, tb, rb, Lb, H, N, C, d2,
                                                    h, Gb);
}

#endif
