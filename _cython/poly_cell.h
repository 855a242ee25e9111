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
 * wait on fresh stores): at co, N zeros, then e_m = rho^m / m! (m < S), then rho^m (m < S),
 * S = sk_poly_stride(N); H: 1/k! for k < N + S. */
static inline int sk_poly_coeffs_size(int N) { return N + 2 * sk_poly_stride(N); }
static void sk_poly_coeffs(double rho, const double *H, int N, double *co)
{
    const int S = sk_poly_stride(N);
    double *e = co + N, *pw = e + S, p = 1;
    int m;
    for (m = 0; m < N; m++)
        co[m] = 0;
    for (m = 0; m < S; m++) {
        pw[m] = p;
        e[m] = p * H[m];
        p *= rho;
    }
}

/* T and R (sk_poly_stride(N) numbers each) from B and L (L[0] not read: the corner is B[0]),
 * with the cell's coefficients co (sk_poly_coeffs); T may be B. The body is one text for
 * arrays of MP vectors of which NV are used: a constant for the common degrees, so that the
 * accumulators live in registers. R first (the sweep's chain from cell to cell runs through
 * it: its sums over the left edge go in two halves, to halve that chain), then T. */
#define SK_POLY_CELL_BODY(MP, NV)                                                        \
    {                                                                                    \
        sk_pv a[MP], a2[MP], h[MP];                                                      \
        const double *e = co + N, *pw = e + (NV) * SK_PV;                                \
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

/* GCC's predictive commoning keeps the shifted loads of e in rotating registers, which
 * spills them (N = 8: 44 ns a cell, 34 without it and with the q loops unrolled). */
/* One function for each degree up to 16 (N a constant: the loops over q unroll and the
 * shifted loads of e are fixed offsets), and one for any degree up to 64. */
#define SK_POLY_CELL_FN(NAME, MP, NV, NN)                                                \
    static void NAME(const double *co, const double *B, const double *L, double *T,      \
                     double *R, const double *H, int N_)                                 \
    {                                                                                    \
        const int N = (NN) ? (NN) : N_;                                                  \
        SK_POLY_CELL_BODY(MP, NV)                                                        \
    }
#define SK_POLY_CELL_DEGREE(NN) \
    SK_POLY_CELL_FN(sk_poly_cell_##NN, (NN + SK_PV) / SK_PV, (NN + SK_PV) / SK_PV, NN)

SK_POLY_CELL_DEGREE(1)
SK_POLY_CELL_DEGREE(2)
SK_POLY_CELL_DEGREE(3)
SK_POLY_CELL_DEGREE(4)
SK_POLY_CELL_DEGREE(5)
SK_POLY_CELL_DEGREE(6)
SK_POLY_CELL_DEGREE(7)
SK_POLY_CELL_DEGREE(8)
SK_POLY_CELL_DEGREE(9)
SK_POLY_CELL_DEGREE(10)
SK_POLY_CELL_DEGREE(11)
SK_POLY_CELL_DEGREE(12)
SK_POLY_CELL_DEGREE(13)
SK_POLY_CELL_DEGREE(14)
SK_POLY_CELL_DEGREE(15)
SK_POLY_CELL_DEGREE(16)
SK_POLY_CELL_FN(sk_poly_cell_wide, (64 + SK_PV) / SK_PV, sk_poly_vectors(N), 0)

static inline void sk_poly_cell(const double *co, const double *B, const double *L, double *T,
                                double *R, const double *H, int N)
{
    typedef void (*cell_fn)(const double *, const double *, const double *, double *,
                            double *, const double *, int);
    static const cell_fn fixed[17] = {
        0, sk_poly_cell_1, sk_poly_cell_2, sk_poly_cell_3, sk_poly_cell_4, sk_poly_cell_5,
        sk_poly_cell_6, sk_poly_cell_7, sk_poly_cell_8, sk_poly_cell_9, sk_poly_cell_10,
        sk_poly_cell_11, sk_poly_cell_12, sk_poly_cell_13, sk_poly_cell_14, sk_poly_cell_15,
        sk_poly_cell_16};
    (N <= 16 ? fixed[N] : sk_poly_cell_wide)(co, B, L, T, R, H, N);
}


#endif
