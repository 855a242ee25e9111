/* The solver's innermost loops (_solver.pyx calls them), written on SIMD vectors: a row of
 * the forward scheme, a row of its adjoint, the linear static kernel's rows of G and their
 * chain rule, and the distance kernels with an exp that vectorises.
 *
 * A block holds SK_LANES pairs, the lanes; a value of the fine grid is SK_LANES numbers in a
 * row. The rows carry running values from cell to cell. Written on arrays indexed by lane,
 * compilers keep those running values in memory (stack arrays) and the dependency from
 * cell to cell goes through a store and a load; written on vector types, they stay in
 * registers. GCC and Clang's vector extension gives vectors as wide as the target's SIMD
 * registers (64 bytes with AVX-512: 8 doubles or 16 floats; 32 with AVX; else 16), so
 * that a block's 32 lanes are 4, 8 or 16 vectors of doubles; other compilers (or
 * -DSK_PLAIN_LOOPS, to check that path) get plain loops over lanes with the same
 * arithmetic.
 *
 * The routines on lanes are defined once, as macros over the element type, and
 * instantiated for double (_d) and float (_f).
 */
#ifndef SKSIGKERNEL_LANES_H
#define SKSIGKERNEL_LANES_H

#include <stddef.h>
#include <math.h>
#include <string.h>

#define SK_LANES 32

/* The static kernels' codes: the one list, which _solver.pyx takes (and exports to
 * sksigkernel.static_kernels). */
enum sk_static_kind {
    SK_LINEAR, SK_RBF, SK_MATERN12, SK_MATERN32, SK_MATERN52, SK_POLYNOMIAL,
    SK_RATIONAL_QUADRATIC
};

#if (defined(__GNUC__) || defined(__clang__)) && !defined(SK_PLAIN_LOOPS)
/* A vector is the target's widest SIMD register: on a narrower target GCC splits wider
 * vector types through the stack. */
#if defined(__AVX512F__)
#define SK_VBYTES 64
#elif defined(__AVX__)
#define SK_VBYTES 32
#else
#define SK_VBYTES 16
#endif
typedef double sk_vd __attribute__((vector_size(SK_VBYTES)));
typedef float sk_vf __attribute__((vector_size(SK_VBYTES)));
#define SK_VL_d (SK_VBYTES / 8)
#define SK_VL_f (SK_VBYTES / 4)
#define SK_NV_d (SK_LANES / SK_VL_d)
#define SK_NV_f (SK_LANES / SK_VL_f)
static inline sk_vd sk_load_d(const double *p) { sk_vd v; memcpy(&v, p, sizeof v); return v; }
static inline sk_vf sk_load_f(const float *p) { sk_vf v; memcpy(&v, p, sizeof v); return v; }
static inline void sk_store_d(double *p, sk_vd v) { memcpy(p, &v, sizeof v); }
static inline void sk_store_f(float *p, sk_vf v) { memcpy(p, &v, sizeof v); }
static inline sk_vd sk_splat_d(double x) { sk_vd v = {0}; return v + x; }
static inline sk_vf sk_splat_f(float x) { sk_vf v = {0}; return v + x; }
/* Lanes moved down by one: SK_NEXT(a, b) holds a's lanes 1 .. and then b's lane 0;
 * SK_NEXT<g>(a, z) moves the lanes within each group of g lanes of a and takes z's lane 0
 * (a zero) into the group's last lane (g up to a vector's lanes; the wider ones, never
 * called at this width, stand for the whole vector). */
#if defined(__clang__)
#define SK_SHUFFLE(S, a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
typedef long long sk_md __attribute__((vector_size(SK_VBYTES)));
typedef int sk_mf __attribute__((vector_size(SK_VBYTES)));
#define SK_SHUFFLE(S, a, b, ...) __builtin_shuffle(a, b, (sk_m##S){__VA_ARGS__})
#endif
#if SK_VBYTES == 64
#define SK_NEXT_d(a, b) SK_SHUFFLE(d, a, b, 1, 2, 3, 4, 5, 6, 7, 8)
#define SK_NEXT_f(a, b) SK_SHUFFLE(f, a, b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16)
#define SK_NEXT2_d(a, z) SK_SHUFFLE(d, a, z, 1, 8, 3, 8, 5, 8, 7, 8)
#define SK_NEXT4_d(a, z) SK_SHUFFLE(d, a, z, 1, 2, 3, 8, 5, 6, 7, 8)
#define SK_NEXT8_d(a, z) SK_NEXT_d(a, z)
#define SK_NEXT2_f(a, z) SK_SHUFFLE(f, a, z, 1, 16, 3, 16, 5, 16, 7, 16, 9, 16, 11, 16, 13, 16, 15, 16)
#define SK_NEXT4_f(a, z) SK_SHUFFLE(f, a, z, 1, 2, 3, 16, 5, 6, 7, 16, 9, 10, 11, 16, 13, 14, 15, 16)
#define SK_NEXT8_f(a, z) SK_SHUFFLE(f, a, z, 1, 2, 3, 4, 5, 6, 7, 16, 9, 10, 11, 12, 13, 14, 15, 16)
#define SK_NEXT16_f(a, z) SK_NEXT_f(a, z)
#elif SK_VBYTES == 32
#define SK_NEXT_d(a, b) SK_SHUFFLE(d, a, b, 1, 2, 3, 4)
#define SK_NEXT_f(a, b) SK_SHUFFLE(f, a, b, 1, 2, 3, 4, 5, 6, 7, 8)
#define SK_NEXT2_d(a, z) SK_SHUFFLE(d, a, z, 1, 4, 3, 4)
#define SK_NEXT4_d(a, z) SK_NEXT_d(a, z)
#define SK_NEXT8_d(a, z) SK_NEXT_d(a, z)
#define SK_NEXT2_f(a, z) SK_SHUFFLE(f, a, z, 1, 8, 3, 8, 5, 8, 7, 8)
#define SK_NEXT4_f(a, z) SK_SHUFFLE(f, a, z, 1, 2, 3, 8, 5, 6, 7, 8)
#define SK_NEXT8_f(a, z) SK_NEXT_f(a, z)
#define SK_NEXT16_f(a, z) SK_NEXT_f(a, z)
#else
#define SK_NEXT_d(a, b) SK_SHUFFLE(d, a, b, 1, 2)
#define SK_NEXT_f(a, b) SK_SHUFFLE(f, a, b, 1, 2, 3, 4)
#define SK_NEXT2_d(a, z) SK_NEXT_d(a, z)
#define SK_NEXT4_d(a, z) SK_NEXT_d(a, z)
#define SK_NEXT8_d(a, z) SK_NEXT_d(a, z)
#define SK_NEXT2_f(a, z) SK_SHUFFLE(f, a, z, 1, 4, 3, 4)
#define SK_NEXT4_f(a, z) SK_NEXT_f(a, z)
#define SK_NEXT8_f(a, z) SK_NEXT_f(a, z)
#define SK_NEXT16_f(a, z) SK_NEXT_f(a, z)
#endif
#else
typedef double sk_vd;
typedef float sk_vf;
#define SK_NV_d SK_LANES
#define SK_NV_f SK_LANES
#define SK_VL_d 1
#define SK_VL_f 1
static inline sk_vd sk_load_d(const double *p) { return *p; }
static inline sk_vf sk_load_f(const float *p) { return *p; }
static inline void sk_store_d(double *p, sk_vd v) { *p = v; }
static inline void sk_store_f(float *p, sk_vf v) { *p = v; }
static inline sk_vd sk_splat_d(double x) { return x; }
static inline sk_vf sk_splat_f(float x) { return x; }
#define SK_NEXT_d(a, b) (b)
#define SK_NEXT_f(a, b) (b)
#define SK_NEXT2_d(a, z) (z)
#define SK_NEXT4_d(a, z) (z)
#define SK_NEXT8_d(a, z) (z)
#define SK_NEXT2_f(a, z) (z)
#define SK_NEXT4_f(a, z) (z)
#define SK_NEXT8_f(a, z) (z)
#define SK_NEXT16_f(a, z) (z)
#endif
/* Each lane takes the next lane's value within groups of s lanes (the strips of a pair, s
 * a power of two up to a vector's lanes), the group's last lane a zero. */
static inline sk_vd sk_strip_next_d(sk_vd a, ptrdiff_t s)
{
    const sk_vd z = sk_splat_d(0);
    return s == 2 ? SK_NEXT2_d(a, z) : s == 4 ? SK_NEXT4_d(a, z) : SK_NEXT8_d(a, z);
}
static inline sk_vf sk_strip_next_f(sk_vf a, ptrdiff_t s)
{
    const sk_vf z = sk_splat_f(0);
    return s == 2 ? SK_NEXT2_f(a, z) : s == 4 ? SK_NEXT4_f(a, z)
        : s == 8 ? SK_NEXT8_f(a, z) : SK_NEXT16_f(a, z);
}

/* The rows a kernel writes never overlap those it reads: with restrict, the compiler may keep
 * loaded values across the stores. */
#if defined(__GNUC__) || defined(__clang__)
#define SK_RESTRICT __restrict__
#define SK_ALWAYS_INLINE static inline __attribute__((always_inline))
#define SK_NOINLINE static __attribute__((noinline))
#else
#define SK_RESTRICT
#define SK_ALWAYS_INLINE static inline
#define SK_NOINLINE static
#endif
/* Keeps a loaded vector in a register: without it GCC folds the load into every
 * multiply-add that uses the value, and loads it again for each. Only where a 64-byte
 * vector is one register (AVX-512); elsewhere the compiler splits it as it likes. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(SK_PLAIN_LOOPS) && defined(__AVX512F__)
#define SK_IN_REGISTER(v) __asm__("" : "+v"(v))
#else
#define SK_IN_REGISTER(v) ((void)0)
#endif

/* One fine row of the forward scheme: cur[c+1] = cur[c] A + (prev[c+1] A - prev[c] B), with
 * A, B constant over the M2 fine columns of each of the n2 coarse cells; cur[0], the left
 * boundary, is set by the caller. */
#define SK_DEFINE_PDE_ROW(S, T, V)                                                        \
static inline void sk_pde_row_##S(const T *SK_RESTRICT prev, T *SK_RESTRICT cur,         \
                                  const T *SK_RESTRICT A, const T *SK_RESTRICT B,         \
                                  ptrdiff_t n2, ptrdiff_t M2)                             \
{                                                                                         \
    V run[SK_NV_##S], lo[SK_NV_##S], a[SK_NV_##S], b[SK_NV_##S];                          \
    ptrdiff_t j, m, k, c = 0;                                                             \
    for (k = 0; k < SK_NV_##S; k++) {                                                     \
        run[k] = sk_load_##S(cur + k * SK_VL_##S);                                        \
        lo[k] = sk_load_##S(prev + k * SK_VL_##S);                                        \
    }                                                                                     \
    for (j = 0; j < n2; j++) {                                                            \
        for (k = 0; k < SK_NV_##S; k++) {                                                 \
            a[k] = sk_load_##S(A + j * SK_LANES + k * SK_VL_##S);                         \
            b[k] = sk_load_##S(B + j * SK_LANES + k * SK_VL_##S);                         \
        }                                                                                 \
        for (m = 0; m < M2; m++) {                                                        \
            c++;                                                                          \
            for (k = 0; k < SK_NV_##S; k++) {                                             \
                V hi = sk_load_##S(prev + c * SK_LANES + k * SK_VL_##S);                  \
                run[k] = run[k] * a[k] + (hi * a[k] - lo[k] * b[k]);                      \
                sk_store_##S(cur + c * SK_LANES + k * SK_VL_##S, run[k]);                 \
                lo[k] = hi;                                                               \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
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
#define SK_B(S, P) (one - sk_load_##S(P) * sk_load_##S(P) * c12)
#define SK_A(S, P) (one + sk_load_##S(P) * (hh + sk_load_##S(P) * c12))
/* The constants of the adjoint kernels, from s6 (one, hh, c12 for SK_A and SK_B; half and
 * sixth for dF/dG). */
#define SK_ADJ_CONSTANTS(S)                                                               \
    const sk_v##S zero = sk_splat_##S(0), half = sk_splat_##S(0.5);                       \
    const sk_v##S sixth = sk_splat_##S(s6), one = sk_splat_##S(1);                        \
    const sk_v##S c12 = sk_splat_##S(3 * s6 * s6), hh = sk_splat_##S(3 * s6);
/* dF/dG of coarse column j at lane offset O from the sums acc, acc2 over its cells:
 * s1/2 + (s1 + s2) Delta/6, Delta/6 = dg[j] s6; written to gb, or added with add. */
#define SK_ADJ_STORE_GB(S, O)                                                             \
    sk_store_##S(gb + j * SK_LANES + (O),                                                 \
                 (add ? sk_load_##S(gb + j * SK_LANES + (O)) : zero)                      \
                 + (half * acc[k] + (acc[k] + acc2[k])                                    \
                    * (sk_load_##S(dg + j * SK_LANES + (O)) * sixth)));
#define SK_ADJ_COEFFS(S, CJ)                                                              \
    for (k = 0; k < SK_NV_##S; k++) {                                                     \
        aL[k] = SK_A(S, dg + (CJ) * SK_LANES + k * SK_VL_##S);                            \
        bH[k] = SK_B(S, dh + (CJ) * SK_LANES + k * SK_VL_##S);                            \
    }
#define SK_ADJ_STEP(S, Q)                                                                 \
    for (k = 0; k < SK_NV_##S; k++) {                                                     \
        sk_v##S n = sk_load_##S(nxt + (Q) * SK_LANES + k * SK_VL_##S);                    \
        run[k] = aL[k] * run[k] + (aH[k] * n - bH[k] * nh[k]);                            \
        sk_store_##S(out + (Q) * SK_LANES + k * SK_VL_##S, run[k]);                       \
        nh[k] = n;                                                                        \
    }
#define SK_ADJ_ACC(S, Q)                                                                  \
    for (k = 0; k < SK_NV_##S; k++) {                                                     \
        sk_v##S km = sk_load_##S(Km + ((Q) - 1) * SK_LANES + k * SK_VL_##S);              \
        acc[k] += run[k] * (sk_load_##S(Kp + ((Q) - 1) * SK_LANES + k * SK_VL_##S) + kh[k]); \
        acc2[k] += run[k] * km;                                                           \
        kh[k] = km;                                                                       \
    }

/* The cells of coarse column j from its top (q = (j + 1) M2) down to the cell past its
 * left edge: the top cell (STEP) takes A(p-1, q), B(p, q) from column j + 1 (none past the
 * last column, where the adjoint keeps its value), which the registers still hold from the
 * column before; the others (STEP_IN) from column j. Each coefficient is computed once a
 * sweep. */
#define SK_ADJ_COLUMN(S, COEFFS, STEP, ACC, STEP_IN)                                      \
    q = (j + 1) * M2;                                                                     \
    if (j + 1 < n2) {                                                                     \
        STEP(S, q)                                                                        \
    }                                                                                     \
    ACC(S, q)                                                                             \
    COEFFS(S, j)                                                                          \
    for (q = (j + 1) * M2 - 1; q > j * M2; q--) {                                         \
        STEP_IN(S, q)                                                                     \
        ACC(S, q)                                                                         \
    }

#define SK_DEFINE_ADJOINT_ROW(S, T, V)                                                    \
static inline void sk_adjoint_row_##S(T *SK_RESTRICT out, const T *SK_RESTRICT nxt,      \
                                      const T *SK_RESTRICT Kp, const T *SK_RESTRICT Km,   \
                                      const T *SK_RESTRICT dg, const T *SK_RESTRICT dh,   \
                                      T s6, T *SK_RESTRICT gb, ptrdiff_t n2, ptrdiff_t M2, \
                                      const T *SK_RESTRICT seed,                          \
                                      const T *SK_RESTRICT right, int add)                \
{                                                                                         \
    V run[SK_NV_##S], nh[SK_NV_##S], kh[SK_NV_##S], acc[SK_NV_##S], acc2[SK_NV_##S];      \
    V aL[SK_NV_##S], bH[SK_NV_##S], aH[SK_NV_##S];                                        \
    const ptrdiff_t C = n2 * M2;                                                          \
    SK_ADJ_CONSTANTS(S)                                                                   \
    ptrdiff_t j, k, q;                                                                    \
    for (k = 0; k < SK_NV_##S; k++) {                                                     \
        const ptrdiff_t o = k * SK_VL_##S;                                                \
        nh[k] = sk_load_##S(nxt + C * SK_LANES + o);                                      \
        run[k] = seed ? sk_load_##S(seed + o)                                             \
                      : SK_A(S, dh + (n2 - 1) * SK_LANES + o) * nh[k];                    \
        if (right)                                                                        \
            run[k] += sk_load_##S(right + o);                                             \
        sk_store_##S(out + C * SK_LANES + o, run[k]);                                     \
        kh[k] = sk_load_##S(Km + C * SK_LANES + o);                                       \
        aL[k] = zero;                                                                     \
        bH[k] = zero;                                                                     \
    }                                                                                     \
    for (j = n2 - 1; j >= 0; j--) {                                                       \
        for (k = 0; k < SK_NV_##S; k++) {                                                 \
            const ptrdiff_t o = k * SK_VL_##S;                                            \
            aH[k] = SK_A(S, dh + j * SK_LANES + o);                                       \
            acc[k] = zero;                                                                \
            acc2[k] = zero;                                                               \
        }                                                                                 \
        SK_ADJ_COLUMN(S, SK_ADJ_COEFFS, SK_ADJ_STEP, SK_ADJ_ACC, SK_ADJ_STEP)                          \
        for (k = 0; k < SK_NV_##S; k++)                                                   \
            SK_ADJ_STORE_GB(S, k * SK_VL_##S)                                             \
    }                                                                                     \
}

/* Rows p and p-1 of the adjoint in one sweep, for p even at dyadic order d1 >= 1: both lie
 * in coarse row i = (p-1) >> d1, so they share its coefficients (from its G, dg) and its
 * row of dF/dG (gb, one sum for both), and row p-1 takes row p from registers: of row p,
 * only columns 1 and C are stored (row p-1 is the next sweep's nxt). dh is the G of the
 * coarse row of fine row p (i + 1 when p starts one, else dg); K0, K1, K2 are the forward
 * rows p, p-1, p-2; nxt is row p+1; seed as for sk_adjoint_row (row p only);
 * right1, right2 (or NULL) are added to the last column of rows p and p-1; gb is
 * overwritten, or added to with add. */
#define SK_PAIR_STEP(S, Q)                                                                \
    for (k = 0; k < NP; k++) {                                                            \
        const ptrdiff_t o = k * SK_VL_##S;                                                \
        const sk_v##S n = sk_load_##S(nxt + (Q) * SK_LANES + o);                          \
        const sk_v##S r1 = aL[k] * run1[k] + (aH1[k] * n - bH1[k] * nh1[k]);              \
        run2[k] = aL[k] * run2[k] + (aH2[k] * r1 - bH2[k] * run1[k]);                     \
        sk_store_##S(out2 + (Q) * SK_LANES + o, run2[k]);                                 \
        nh1[k] = n;                                                                       \
        run1[k] = r1;                                                                     \
    }
#define SK_PAIR_ACC(S, Q)                                                                 \
    for (k = 0; k < NP; k++) {                                                            \
        const ptrdiff_t c = ((Q) - 1) * SK_LANES + k * SK_VL_##S;                         \
        const sk_v##S k1 = sk_load_##S(K1 + c), k2 = sk_load_##S(K2 + c);                 \
        acc[k] += run1[k] * (sk_load_##S(K0 + c) + kh1[k]) + run2[k] * (k1 + kh2[k]);     \
        acc2[k] += run1[k] * k1 + run2[k] * k2;                                           \
        kh1[k] = k1;                                                                      \
        kh2[k] = k2;                                                                      \
    }
#define SK_PAIR_COEFFS(S, CJ)                                                             \
    for (k = 0; k < NP; k++) {                                                            \
        const ptrdiff_t o = k * SK_VL_##S;                                                \
        aL[k] = aH2[k];                 /* A(dg) of column CJ */                          \
        bH1[k] = SK_B(S, dh + (CJ) * SK_LANES + o);                                       \
        bH2[k] = SK_B(S, dg + (CJ) * SK_LANES + o);                                       \
    }

/* Two vectors of lanes a sweep (NP; all of them where a vector is fewer): the running and
 * carried values of four take more registers than there are. */
#define SK_PAIR_NP 2
#define SK_DEFINE_ADJOINT_PAIR(S, T, V)                                                   \
SK_NOINLINE void sk_adjoint_pair_lanes_##S(T *SK_RESTRICT out1, T *SK_RESTRICT out2,     \
                                           const T *SK_RESTRICT nxt,                      \
                                           const T *SK_RESTRICT K0,                       \
                                           const T *SK_RESTRICT K1,                       \
                                           const T *SK_RESTRICT K2,                       \
                                           const T *SK_RESTRICT dg,                       \
                                           const T *SK_RESTRICT dh, T s6,                 \
                                           T *SK_RESTRICT gb, ptrdiff_t n2, ptrdiff_t M2, \
                                           const T *SK_RESTRICT seed,                     \
                                           const T *SK_RESTRICT right1,                   \
                                           const T *SK_RESTRICT right2, int add)          \
{                                                                                         \
    enum { NP = SK_PAIR_NP < SK_NV_##S ? SK_PAIR_NP : SK_NV_##S };                        \
    V run1[NP], run2[NP], nh1[NP], kh1[NP], kh2[NP], acc[NP], acc2[NP];                   \
    V aL[NP], aH1[NP], bH1[NP], aH2[NP], bH2[NP];                                         \
    const ptrdiff_t C = n2 * M2;                                                          \
    SK_ADJ_CONSTANTS(S)                                                                   \
    ptrdiff_t j, k, q;                                                                    \
    for (k = 0; k < NP; k++) {                                                            \
        const ptrdiff_t o = k * SK_VL_##S, c = C * SK_LANES + o;                          \
        nh1[k] = sk_load_##S(nxt + c);                                                    \
        run1[k] = seed ? sk_load_##S(seed + o)                                            \
                       : SK_A(S, dh + (n2 - 1) * SK_LANES + o) * nh1[k];                  \
        if (right1)                                                                       \
            run1[k] += sk_load_##S(right1 + o);                                           \
        sk_store_##S(out1 + c, run1[k]);                                                  \
        run2[k] = SK_A(S, dg + (n2 - 1) * SK_LANES + o) * run1[k];                        \
        if (right2)                                                                       \
            run2[k] += sk_load_##S(right2 + o);                                           \
        sk_store_##S(out2 + c, run2[k]);                                                  \
        kh1[k] = sk_load_##S(K1 + c);                                                     \
        kh2[k] = sk_load_##S(K2 + c);                                                     \
        aL[k] = bH1[k] = bH2[k] = zero;                                                   \
    }                                                                                     \
    for (j = n2 - 1; j >= 0; j--) {                                                       \
        for (k = 0; k < NP; k++) {                                                        \
            const ptrdiff_t o = k * SK_VL_##S;                                            \
            aH1[k] = SK_A(S, dh + j * SK_LANES + o);                                      \
            aH2[k] = SK_A(S, dg + j * SK_LANES + o);                                      \
            acc[k] = acc2[k] = zero;                                                      \
        }                                                                                 \
        SK_ADJ_COLUMN(S, SK_PAIR_COEFFS, SK_PAIR_STEP, SK_PAIR_ACC, SK_PAIR_STEP)         \
        for (k = 0; k < NP; k++)                                                          \
            SK_ADJ_STORE_GB(S, k * SK_VL_##S)                                             \
    }                                                                                     \
    for (k = 0; k < NP; k++)    /* row p's column 1 (the rest is not read again) */       \
        sk_store_##S(out1 + SK_LANES + k * SK_VL_##S, run1[k]);                           \
}                                                                                         \
static inline void sk_adjoint_pair_##S(T *out1, T *out2, const T *nxt, const T *K0,       \
                                       const T *K1, const T *K2, const T *dg, const T *dh, \
                                       T s6, T *gb, ptrdiff_t n2, ptrdiff_t M2,           \
                                       const T *seed, const T *right1, const T *right2,   \
                                       int add)                                           \
{                                                                                         \
    enum { NP = SK_PAIR_NP < SK_NV_##S ? SK_PAIR_NP : SK_NV_##S };                        \
    ptrdiff_t o;                                                                          \
    for (o = 0; o < SK_LANES; o += NP * SK_VL_##S)                                        \
        sk_adjoint_pair_lanes_##S(out1 + o, out2 + o, nxt + o, K0 + o, K1 + o, K2 + o,    \
                                  dg + o, dh + o, s6, gb + o, n2, M2,                     \
                                  seed ? seed + o : NULL, right1 ? right1 + o : NULL,     \
                                  right2 ? right2 + o : NULL, add);                       \
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
#define SK_QUAD_STEP(S, Q)                                                                \
    {                                                                                     \
        const sk_v##S n = sk_load_##S(nxt + (Q) * SK_LANES);                              \
        const sk_v##S s1 = aL * r1 + (aH * n - bH * nh);                                  \
        const sk_v##S s2 = aL * r2 + (aM * s1 - bL * r1);                                 \
        const sk_v##S s3 = aL * r3 + (aM * s2 - bL * r2);                                 \
        r4 = aL * r4 + (aM * s3 - bL * r3);                                               \
        sk_store_##S(out4 + (Q) * SK_LANES, r4);                                          \
        nh = n;                                                                           \
        r1 = s1;                                                                          \
        r2 = s2;                                                                          \
        r3 = s3;                                                                          \
    }
#define SK_QUAD_STEP_IN(S, Q)                                                             \
    {                                                                                     \
        const sk_v##S n = sk_load_##S(nxt + (Q) * SK_LANES);                              \
        const sk_v##S s1 = aL * r1 + (aH * n - bH * nh);                                  \
        const sk_v##S s2 = aL * (r2 + s1) - bL * r1;                                      \
        const sk_v##S s3 = aL * (r3 + s2) - bL * r2;                                      \
        r4 = aL * (r4 + s3) - bL * r3;                                                    \
        sk_store_##S(out4 + (Q) * SK_LANES, r4);                                          \
        nh = n;                                                                           \
        r1 = s1;                                                                          \
        r2 = s2;                                                                          \
        r3 = s3;                                                                          \
    }
#define SK_QUAD_ACC(S, Q)                                                                 \
    {                                                                                     \
        const ptrdiff_t c = ((Q) - 1) * kc;                                               \
        const sk_v##S c1 = sk_load_##S(K - ks + c), c2 = sk_load_##S(K - 2 * ks + c);     \
        const sk_v##S c3 = sk_load_##S(K - 3 * ks + c), c4 = sk_load_##S(K - 4 * ks + c); \
        acc += r1 * sk_load_##S(K + c + kc) + r2 * k1 + r3 * k2 + r4 * k3;                \
        acc2 += r1 * c1 + r2 * c2 + r3 * c3 + r4 * c4;                                    \
        k1 = c1;                                                                          \
        k2 = c2;                                                                          \
        k3 = c3;                                                                          \
    }
#define SK_QUAD_COEFFS(S, CJ)                                                             \
    {                                                                                     \
        aL = aM;                        /* A(dg) of column CJ */                          \
        bH = SK_B(S, dh + (CJ) * SK_LANES);                                               \
        bL = SK_B(S, dg + (CJ) * SK_LANES);                                               \
    }

#define SK_DEFINE_ADJOINT_QUAD(S, T, V)                                                   \
SK_NOINLINE void sk_adjoint_quad_lanes_##S(T *SK_RESTRICT out1, T *SK_RESTRICT out2,     \
                                           T *SK_RESTRICT out3, T *SK_RESTRICT out4,      \
                                           const T *SK_RESTRICT nxt,                      \
                                           const T *SK_RESTRICT K, ptrdiff_t ks,          \
                                           ptrdiff_t kc, const T *SK_RESTRICT dg,         \
                                           const T *SK_RESTRICT dh, T s6,                 \
                                           T *SK_RESTRICT gb, ptrdiff_t n2, ptrdiff_t M2, \
                                           const T *SK_RESTRICT seed,                     \
                                           const T *SK_RESTRICT right, int add,           \
                                           ptrdiff_t o0, T *SK_RESTRICT edge,             \
                                           ptrdiff_t strips)                              \
{                                                                                         \
    V r1, r2, r3, r4, nh, k1, k2, k3, acc, acc2, aL, aH, aM, bH, bL, a;                   \
    const ptrdiff_t C = n2 * M2, c = C * SK_LANES;                                        \
    SK_ADJ_CONSTANTS(S)                                                                   \
    ptrdiff_t j, q;                                                                       \
    out1 += o0;                                                                           \
    out2 += o0;                                                                           \
    out3 += o0;                                                                           \
    out4 += o0;                                                                           \
    nxt += o0;                                                                            \
    dg += o0;                                                                             \
    dh += o0;                                                                             \
    gb += o0;                                                                             \
    a = SK_A(S, dg + (n2 - 1) * SK_LANES);                                                \
    nh = sk_load_##S(nxt + c);                                                            \
    r1 = seed ? sk_load_##S(seed + o0) : SK_A(S, dh + (n2 - 1) * SK_LANES) * nh;          \
    if (right)                                                                            \
        r1 += sk_load_##S(right + o0);                                                    \
    r2 = a * r1;                                                                          \
    if (right)                                                                            \
        r2 += sk_load_##S(right - SK_LANES + o0);                                         \
    r3 = a * r2;                                                                          \
    if (right)                                                                            \
        r3 += sk_load_##S(right - 2 * SK_LANES + o0);                                     \
    r4 = a * r3;                                                                          \
    if (right)                                                                            \
        r4 += sk_load_##S(right - 3 * SK_LANES + o0);                                     \
    sk_store_##S(out1 + c, r1);                                                           \
    sk_store_##S(out2 + c, r2);                                                           \
    sk_store_##S(out3 + c, r3);                                                           \
    sk_store_##S(out4 + c, r4);                                                           \
    k1 = sk_load_##S(K - ks + C * kc);                                                    \
    k2 = sk_load_##S(K - 2 * ks + C * kc);                                                \
    k3 = sk_load_##S(K - 3 * ks + C * kc);                                                \
    aL = bH = bL = zero;                                                                  \
    for (j = n2 - 1; j >= 0; j--) {                                                       \
        aH = SK_A(S, dh + j * SK_LANES);                                                  \
        aM = SK_A(S, dg + j * SK_LANES);                                                  \
        acc = acc2 = zero;                                                                \
        SK_ADJ_COLUMN(S, SK_QUAD_COEFFS, SK_QUAD_STEP, SK_QUAD_ACC, SK_QUAD_STEP_IN)      \
        acc = (acc + bL * acc2) / aL;                                                     \
        sk_store_##S(gb + j * SK_LANES,                                                   \
                     (add ? sk_load_##S(gb + j * SK_LANES) : zero)                        \
                     + (half * acc + (acc + acc2)                                         \
                        * (sk_load_##S(dg + j * SK_LANES) * sixth)));                     \
    }                                                                                     \
    sk_store_##S(out1 + SK_LANES, r1);    /* column 1 of rows p, p-1, p-2 */              \
    sk_store_##S(out2 + SK_LANES, r2);                                                    \
    sk_store_##S(out3 + SK_LANES, r3);                                                    \
    if (edge) {     /* strip_edge (_solver.pyx) of rows p .. p-3, edge + t W row p-t */    \
        edge += o0;                                                                       \
        sk_store_##S(edge, sk_strip_next_##S(aL * r1 - bH * nh, strips));                 \
        sk_store_##S(edge - SK_LANES, sk_strip_next_##S(aL * r2 - bL * r1, strips));      \
        sk_store_##S(edge - 2 * SK_LANES, sk_strip_next_##S(aL * r3 - bL * r2, strips));  \
        sk_store_##S(edge - 3 * SK_LANES, sk_strip_next_##S(aL * r4 - bL * r3, strips));  \
    }                                                                                     \
}                                                                                         \
/* All the lanes, K in rows of all of them. */                                            \
static inline void sk_adjoint_quad_##S(T *out1, T *out2, T *out3, T *out4, const T *nxt,  \
                                       const T *K, ptrdiff_t ks, const T *dg, const T *dh, \
                                       T s6, T *gb, ptrdiff_t n2, ptrdiff_t M2,           \
                                       const T *seed, const T *right, int add)            \
{                                                                                         \
    ptrdiff_t o0;                                                                         \
    for (o0 = 0; o0 < SK_LANES; o0 += SK_VL_##S)                                          \
        sk_adjoint_quad_lanes_##S(out1, out2, out3, out4, nxt, K + o0, ks, SK_LANES, dg,  \
                                  dh, s6, gb, n2, M2, seed, right, add, o0, NULL, 1);     \
}

/* Fine rows r+1 .. r+4 of the forward scheme (sk_pde_row's recurrence) on one vector of
 * lanes, in rows of these lanes alone: row r at prev, row r+1+t at cur + t rs, each taking
 * the row below from registers; A and B one vector a coarse column. The caller has set the
 * four rows' left boundaries. For the backward at d1 >= 2, which keeps the grid of one
 * vector of lanes at a time (a quarter of a block's at 32 lanes of doubles): four rows
 * keep the four independent chains of multiply-adds that sk_pde_row gets from its four
 * vectors. */
#define SK_DEFINE_PDE_QUAD(S, T, V)                                                       \
/* A = 1 + D (1/2 + D/12) and B = 1 - D D/12, D = G inv (as row_coeffs in _solver.pyx), of \
 * one vector of lanes of a coarse row of G (column j at G + j SK_LANES), one vector a      \
 * column. */                                                                             \
static inline void sk_quad_coeffs_##S(const T *SK_RESTRICT G, ptrdiff_t n2, T inv,        \
                                      T *SK_RESTRICT A, T *SK_RESTRICT B)                 \
{                                                                                         \
    const V one = sk_splat_##S(1), half = sk_splat_##S(0.5);                              \
    const V twelfth = sk_splat_##S((T)(1.0 / 12.0));                                      \
    ptrdiff_t j;                                                                          \
    for (j = 0; j < n2; j++) {                                                            \
        const V D = sk_load_##S(G + j * SK_LANES) * inv;                                  \
        sk_store_##S(A + j * SK_VL_##S, one + D * (half + D * twelfth));                  \
        sk_store_##S(B + j * SK_VL_##S, one - D * D * twelfth);                           \
    }                                                                                     \
}                                                                                         \
static inline void sk_pde_quad_##S(const T *SK_RESTRICT prev, T *SK_RESTRICT cur,        \
                                   ptrdiff_t rs, const T *SK_RESTRICT A,                  \
                                   const T *SK_RESTRICT B, ptrdiff_t n2, ptrdiff_t M2)    \
{                                                                                         \
    V r1 = sk_load_##S(cur), r2 = sk_load_##S(cur + rs);                                  \
    V r3 = sk_load_##S(cur + 2 * rs), r4 = sk_load_##S(cur + 3 * rs);                     \
    V lo = sk_load_##S(prev);                                                             \
    ptrdiff_t j, m, c = 0;                                                                \
    for (j = 0; j < n2; j++) {                                                            \
        const V a = sk_load_##S(A + j * SK_VL_##S), b = sk_load_##S(B + j * SK_VL_##S);   \
        for (m = 0; m < M2; m++) {                                                        \
            c++;                                                                          \
            const V hi = sk_load_##S(prev + c * SK_VL_##S);                               \
            const V s1 = r1 * a + (hi * a - lo * b);                                      \
            const V s2 = r2 * a + (s1 * a - r1 * b);                                      \
            const V s3 = r3 * a + (s2 * a - r2 * b);                                      \
            r4 = r4 * a + (s3 * a - r3 * b);                                              \
            sk_store_##S(cur + c * SK_VL_##S, s1);                                        \
            sk_store_##S(cur + rs + c * SK_VL_##S, s2);                                   \
            sk_store_##S(cur + 2 * rs + c * SK_VL_##S, s3);                               \
            sk_store_##S(cur + 3 * rs + c * SK_VL_##S, r4);                               \
            lo = hi;                                                                      \
            r1 = s1;                                                                      \
            r2 = s2;                                                                      \
            r3 = s3;                                                                      \
        }                                                                                 \
    }                                                                                     \
}

/* The linear static kernel on rows r = 0 .. nrows-1 of G (coarse rows i0 + r), with dx[r]
 * the scaled increments of x at those rows and dy[j] the increments of y, d channels each.
 * Per lane, G = dx dy^T, and its chain rule is dxbar = gb dy and dybar += gb^T dx: small
 * matrix products. Each is computed in tiles of up to 4 x 4 numbers (for one vector of
 * lanes) held in registers, so that each load feeds several multiply-adds. dybar sums the
 * rows from the top down, the order in which the solver's segments finish them, so that
 * its sums do not depend on how the rows are split into segments. */
#define SK_DEFINE_LINEAR_ROWS(S, T, V)                                                    \
/* out[a][b] (=, or += when add) sum_k p[a][k] q[b][k] over k < K, for a < NA, b < NB:     \
 * p[a] at p + a * ps, q[b] at q + b * qs, steps of k pk and qk, out[a][b] at               \
 * out + a * oa + b * ob, all in numbers, at one vector of lanes. */                       \
SK_ALWAYS_INLINE void sk_tile_##S(const T *p, ptrdiff_t ps, ptrdiff_t pk, const T *q,      \
                                  ptrdiff_t qs, ptrdiff_t qk, ptrdiff_t K, T *out,        \
                                  ptrdiff_t oa, ptrdiff_t ob, int add, const int NA,      \
                                  const int NB)                                           \
{                                                                                         \
    V acc[4][4];                                                                          \
    ptrdiff_t k;                                                                          \
    int a, b;                                                                             \
    for (a = 0; a < NA; a++)                                                              \
        for (b = 0; b < NB; b++)                                                          \
            acc[a][b] = add ? sk_load_##S(out + a * oa + b * ob) : sk_splat_##S(0);       \
    for (k = 0; k < K; k++) {                                                             \
        V x[4], y[4];                                                                     \
        for (a = 0; a < NA; a++) {                                                        \
            x[a] = sk_load_##S(p + a * ps + k * pk);                                      \
            SK_IN_REGISTER(x[a]);                                                         \
        }                                                                                 \
        for (b = 0; b < NB; b++) {                                                        \
            y[b] = sk_load_##S(q + b * qs + k * qk);                                      \
            SK_IN_REGISTER(y[b]);                                                         \
        }                                                                                 \
        for (a = 0; a < NA; a++)                                                          \
            for (b = 0; b < NB; b++)                                                      \
                acc[a][b] += x[a] * y[b];                                                 \
    }                                                                                     \
    for (a = 0; a < NA; a++)                                                              \
        for (b = 0; b < NB; b++)                                                          \
            sk_store_##S(out + a * oa + b * ob, acc[a][b]);                               \
}                                                                                         \
/* The tiles of an NA x NB result whose NB columns come in blocks of 4, 2, 1 (the same      \
 * arguments as sk_tile, with nb columns). */                                             \
SK_ALWAYS_INLINE void sk_tiles_##S(const T *p, ptrdiff_t ps, ptrdiff_t pk, const T *q,     \
                                   ptrdiff_t qs, ptrdiff_t qk, ptrdiff_t K, T *out,       \
                                   ptrdiff_t oa, ptrdiff_t ob, int add, const int NA,     \
                                   ptrdiff_t nb)                                          \
{                                                                                         \
    ptrdiff_t b = 0, v;                                                                   \
    for (v = 0; v < SK_LANES; v += SK_VL_##S) {                                           \
        for (b = 0; b + 4 <= nb; b += 4)                                                  \
            sk_tile_##S(p + v, ps, pk, q + b * qs + v, qs, qk, K, out + b * ob + v, oa, ob, \
                        add, NA, 4);                                                      \
        if (b + 2 <= nb) {                                                                \
            sk_tile_##S(p + v, ps, pk, q + b * qs + v, qs, qk, K, out + b * ob + v, oa, ob, \
                        add, NA, 2);                                                      \
            b += 2;                                                                       \
        }                                                                                 \
        if (b < nb)                                                                       \
            sk_tile_##S(p + v, ps, pk, q + b * qs + v, qs, qk, K, out + b * ob + v, oa, ob, \
                        add, NA, 1);                                                      \
    }                                                                                     \
}                                                                                         \
/* sk_tiles over na rows in blocks of 4, 2, 1: row a's p at p + a * ps, its out at       \
 * out + a * oa. */                                                                      \
SK_ALWAYS_INLINE void sk_tile_rows_##S(const T *p, ptrdiff_t ps, ptrdiff_t pk, const T *q,  \
                                       ptrdiff_t qs, ptrdiff_t qk, ptrdiff_t K, T *out,   \
                                       ptrdiff_t oa, ptrdiff_t ob, int add, ptrdiff_t na, \
                                       ptrdiff_t nb)                                      \
{                                                                                         \
    ptrdiff_t a;                                                                          \
    for (a = 0; a + 4 <= na; a += 4)                                                      \
        sk_tiles_##S(p + a * ps, ps, pk, q, qs, qk, K, out + a * oa, oa, ob, add, 4, nb); \
    if (a + 2 <= na) {                                                                    \
        sk_tiles_##S(p + a * ps, ps, pk, q, qs, qk, K, out + a * oa, oa, ob, add, 2, nb); \
        a += 2;                                                                           \
    }                                                                                     \
    if (a < na)                                                                           \
        sk_tiles_##S(p + a * ps, ps, pk, q, qs, qk, K, out + a * oa, oa, ob, add, 1, nb); \
}                                                                                         \
/* G[r][j] = sum_k dx[r][k] dy[j][k] */                                                    \
static void sk_linear_g_rows_##S(const T *dx, const T *dy, T *G, ptrdiff_t nrows,         \
                                 ptrdiff_t n2, ptrdiff_t d)                               \
{                                                                                         \
    const ptrdiff_t L = SK_LANES, dL = d * SK_LANES;                                      \
    ptrdiff_t j;                                                                          \
    for (j = 0; j < n2; j += 4)                                                           \
        sk_tile_rows_##S(dx, dL, L, dy + j * dL, dL, L, d, G + j * L, n2 * L, L, 0, nrows, \
                         n2 - j < 4 ? n2 - j : 4);                                        \
}                                                                                         \
/* Chain rule of sum gb * G: dxbar[r][k] = sum_j gb[r][j] dy[j][k] (over j in order), and  \
 * dybar[j][k] += sum_r gb[r][j] dx[r][k] (r from the top down: p walks down the rows with \
 * a negative step). dybar goes KC rows at a time, dxbar JC columns at a time (the sums   \
 * in the same order), so that a vector's numbers stay in the L1 cache from one tile to   \
 * the next. */                                                                           \
static void sk_linear_rows_##S(const T *gb, const T *dy, const T *dx, T *dxbar, T *dybar, \
                               ptrdiff_t nrows, ptrdiff_t n2, ptrdiff_t d)                \
{                                                                                         \
    const ptrdiff_t L = SK_LANES, dL = d * SK_LANES, KC = 8, JC = 16;                    \
    ptrdiff_t top, k, j;                                                                  \
    for (j = 0; j < n2; j += JC)                                                          \
        sk_tile_rows_##S(gb + j * L, n2 * L, L, dy + j * dL, L, dL, n2 - j < JC ? n2 - j : JC, \
                         dxbar, dL, L, j > 0, nrows, d);                                  \
    for (top = nrows; top > 0; top -= KC) {                                               \
        k = top < KC ? top : KC;                                                          \
        sk_tile_rows_##S(gb + (top - 1) * n2 * L, L, -n2 * L, dx + (top - 1) * dL, L, -dL, \
                         k, dybar, dL, L, 1, n2, d);                                      \
    }                                                                                     \
}

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
#define SK_DEFINE_DIAG_SUMS(S, T, V)                                                      \
SK_ALWAYS_INLINE V sk_next_in_##S(V a, V z, const int g)                                  \
{                                                                                         \
    return g == 1 ? z : g == 2 ? SK_NEXT2_##S(a, z) : g == 4 ? SK_NEXT4_##S(a, z)          \
         : SK_NEXT8_##S(a, z);                                                            \
}                                                                                         \
/* nf: vectors of R (w / VL); g: strips when strips < VL, else 0 (lanes move across the   \
 * vectors) */                                                                            \
SK_ALWAYS_INLINE void sk_diag_loop_##S(T *rows, ptrdiff_t n, ptrdiff_t d, const int nf,   \
                                       const int g)                                       \
{                                                                                         \
    const V zero = sk_splat_##S(0);                                                       \
    ptrdiff_t i, k;                                                                       \
    int u;                                                                                \
    for (k = 0; k < d; k++) {                                                             \
        V R[SK_NV_##S];                                                                   \
        for (u = 0; u < nf; u++)                                                          \
            R[u] = zero;                                                                  \
        for (i = n - 1; i >= 0; i--) {                                                    \
            T *row = rows + (i * d + k) * SK_LANES;                                       \
            V v[SK_NV_##S];                                                               \
            for (u = 0; u < nf; u++)                                                      \
                v[u] = sk_load_##S(row + u * SK_VL_##S);                                  \
            for (u = nf; u < SK_NV_##S; u++)                                              \
                v[u % nf] += sk_load_##S(row + u * SK_VL_##S);                            \
            for (u = 0; u < nf; u++) {                                                    \
                R[u] = (g ? sk_next_in_##S(R[u], zero, g)                                 \
                          : SK_NEXT_##S(R[u], u + 1 < nf ? R[u + 1] : zero)) + v[u];      \
                sk_store_##S(row + u * SK_VL_##S, R[u]);                                  \
            }                                                                             \
        }                                                                                 \
    }                                                                                     \
}                                                                                         \
static void sk_diag_sums_##S(T *rows, ptrdiff_t n, ptrdiff_t d, ptrdiff_t strips)        \
{                                                                                         \
    const ptrdiff_t VL = SK_VL_##S;                                                       \
    if (VL == 1)                                                                          \
        sk_diag_loop_##S(rows, n, d, (int)strips, strips == 1);                           \
    else if (strips < VL)                                                                 \
        switch (strips) {                                                                 \
        case 1: sk_diag_loop_##S(rows, n, d, 1, 1); break;                                \
        case 2: sk_diag_loop_##S(rows, n, d, 1, 2); break;                                \
        case 4: sk_diag_loop_##S(rows, n, d, 1, 4); break;                                \
        default: sk_diag_loop_##S(rows, n, d, 1, 8); break;                               \
        }                                                                                 \
    else                                                                                  \
        switch (strips / VL) {                                                            \
        case 1: sk_diag_loop_##S(rows, n, d, 1, 0); break;                                \
        case 2: sk_diag_loop_##S(rows, n, d, 2, 0); break;                                \
        case 4: sk_diag_loop_##S(rows, n, d, 4, 0); break;                                \
        case 8: sk_diag_loop_##S(rows, n, d, 8, 0); break;                                \
        default: sk_diag_loop_##S(rows, n, d, SK_NV_##S, 0); break;                       \
        }                                                                                 \
}

/* exp(x) in double precision, branch-free so that loops over arrays of x vectorise (libm's
 * exp is a call the compiler cannot vectorise). x = n ln2 + r with |r| <= ln2/2, e^r by its
 * Taylor polynomial of degree 13 (truncation below 5e-18), times 2^n built in the exponent
 * bits. Within 2 ulp of the correctly rounded result for -708 <= x <= 709; 0 below -708
 * (the true value is under 3.3e-308). */
static inline double sk_exp(double x)
{
    const double shift = 6755399441055744.0;                /* 1.5 * 2^52 */
    double t, n, r, p, scale;
    long long bits;
    x = x > 709.0 ? 709.0 : x;
    t = x * 1.4426950408889634 + shift;                     /* n in t's last bits */
    n = t - shift;
    r = x - n * 0.6931471805599453;                         /* ln2, high part */
    r = r - n * 2.3190468138462996e-17;                     /* ln2, low part */
    p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    memcpy(&bits, &t, sizeof bits);
    bits = (bits - 0x4338000000000000LL + 1023) << 52;      /* 2^n */
    memcpy(&scale, &bits, sizeof scale);
    return x < -708.0 ? 0.0 : p * scale;
}

/* The distance-based static kernels on an array of squared distances s, in place: their
 * values (values != 0) or their derivatives in s: RBF exp(-s p0), Matern 1/2 exp(-u) with
 * u = sqrt(s) p0, Matern 3/2 (1 + u) exp(-u), Matern 5/2 (1 + u + u^2/3) exp(-u),
 * u = sqrt(s) p0 (p0 as _solver.pyx passes it). Returns 0 for
 * other kinds, which the caller computes itself. (Float32 callers convert to double first:
 * with the conversions inside, the loops do not vectorise.) */
#define SK_DEFINE_DISTANCE_KERNEL(S, T)                                                   \
static int sk_distance_kernel_##S(int kind, double p0, T *s, ptrdiff_t n, int values)     \
{                                                                                         \
    ptrdiff_t t;                                                                          \
    switch (kind * 2 + (values != 0)) {                                                   \
    case SK_RBF * 2 + 1:                                                                  \
        for (t = 0; t < n; t++) s[t] = (T)sk_exp(-(double)s[t] * p0);                     \
        return 1;                                                                         \
    case SK_RBF * 2:                                                                      \
        for (t = 0; t < n; t++) s[t] = (T)(-p0 * sk_exp(-(double)s[t] * p0));             \
        return 1;                                                                         \
    case SK_MATERN12 * 2 + 1:                                                             \
        for (t = 0; t < n; t++) s[t] = (T)sk_exp(-sqrt((double)s[t]) * p0);               \
        return 1;                                                                         \
    case SK_MATERN12 * 2: /* -p0 exp(-u) / (2 sqrt(s)); 0 at s = 0 (zero subgradient) */  \
        for (t = 0; t < n; t++) {                                                         \
            double u = sqrt((double)s[t]);                                                \
            s[t] = (T)(u == 0.0 ? 0.0 : -p0 * sk_exp(-u * p0) / (2.0 * (u == 0.0 ? 1.0 : u))); \
        }                                                                                 \
        return 1;                                                                         \
    case SK_MATERN32 * 2 + 1:                                                             \
        for (t = 0; t < n; t++) {                                                         \
            double u = sqrt((double)s[t]) * p0;                                           \
            s[t] = (T)((1.0 + u) * sk_exp(-u));                                           \
        }                                                                                 \
        return 1;                                                                         \
    case SK_MATERN32 * 2:                                                                 \
        for (t = 0; t < n; t++) s[t] = (T)(-0.5 * p0 * p0 * sk_exp(-sqrt((double)s[t]) * p0)); \
        return 1;                                                                         \
    case SK_MATERN52 * 2 + 1:                                                             \
        for (t = 0; t < n; t++) {                                                         \
            double u = sqrt((double)s[t]) * p0;                                           \
            s[t] = (T)((1.0 + u + u * u / 3.0) * sk_exp(-u));                             \
        }                                                                                 \
        return 1;                                                                         \
    case SK_MATERN52 * 2:                                                                 \
        for (t = 0; t < n; t++) {                                                         \
            double u = sqrt((double)s[t]) * p0;                                           \
            s[t] = (T)(-p0 * p0 / 6.0 * (1.0 + u) * sk_exp(-u));                          \
        }                                                                                 \
        return 1;                                                                         \
    }                                                                                     \
    return 0;                                                                             \
}

SK_DEFINE_PDE_ROW(d, double, sk_vd)
SK_DEFINE_PDE_ROW(f, float, sk_vf)
SK_DEFINE_ADJOINT_ROW(d, double, sk_vd)
SK_DEFINE_ADJOINT_ROW(f, float, sk_vf)
SK_DEFINE_ADJOINT_PAIR(d, double, sk_vd)
SK_DEFINE_ADJOINT_PAIR(f, float, sk_vf)
SK_DEFINE_ADJOINT_QUAD(d, double, sk_vd)
SK_DEFINE_ADJOINT_QUAD(f, float, sk_vf)
SK_DEFINE_PDE_QUAD(d, double, sk_vd)
SK_DEFINE_PDE_QUAD(f, float, sk_vf)
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
SK_DEFINE_LINEAR_ROWS(d, double, sk_vd)
SK_DEFINE_LINEAR_ROWS(f, float, sk_vf)
#if defined(__clang__)
#pragma clang fp contract(fast)
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
SK_DEFINE_DIAG_SUMS(d, double, sk_vd)
SK_DEFINE_DIAG_SUMS(f, float, sk_vf)
SK_DEFINE_DISTANCE_KERNEL(d, double)

#endif
