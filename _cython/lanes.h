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
 * The routines on lanes are written once, in lanes_rows.h, which this file includes for
 * double (names ending _d) and for float (_f).
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
/* A number in every lane, as a brace list: one broadcast (x plus a zero vector is an add
 * more, kept for x = -0; gemm_nt.h broadcasts in its inner loop). */
#define SK_X2(x) x, x
#define SK_X4(x) SK_X2(x), SK_X2(x)
#define SK_X8(x) SK_X4(x), SK_X4(x)
#define SK_X16(x) SK_X8(x), SK_X8(x)
#if SK_VBYTES == 64
static inline sk_vd sk_splat_d(double x) { return (sk_vd){SK_X8(x)}; }
static inline sk_vf sk_splat_f(float x) { return (sk_vf){SK_X16(x)}; }
#elif SK_VBYTES == 32
static inline sk_vd sk_splat_d(double x) { return (sk_vd){SK_X4(x)}; }
static inline sk_vf sk_splat_f(float x) { return (sk_vf){SK_X8(x)}; }
#else
static inline sk_vd sk_splat_d(double x) { return (sk_vd){SK_X2(x)}; }
static inline sk_vf sk_splat_f(float x) { return (sk_vf){SK_X4(x)}; }
#endif
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
 * with the conversions inside, the loops do not vectorise.) With AVX-512 its loops take
 * whole 512-bit vectors, which GCC otherwise avoids for auto-vectorised loops. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__AVX512F__)
__attribute__((target("prefer-vector-width=512")))
#endif
static int sk_distance_kernel_d(int kind, double p0, double *s, ptrdiff_t n, int values)
{
    ptrdiff_t t;
    switch (kind * 2 + (values != 0)) {
    case SK_RBF * 2 + 1:
        for (t = 0; t < n; t++) s[t] = (double)sk_exp(-(double)s[t] * p0);
        return 1;
    case SK_RBF * 2:
        for (t = 0; t < n; t++) s[t] = (double)(-p0 * sk_exp(-(double)s[t] * p0));
        return 1;
    case SK_MATERN12 * 2 + 1:
        for (t = 0; t < n; t++) s[t] = (double)sk_exp(-sqrt((double)s[t]) * p0);
        return 1;
    case SK_MATERN12 * 2: /* -p0 exp(-u) / (2 sqrt(s)); 0 at s = 0 (zero subgradient) */
        for (t = 0; t < n; t++) {
            double u = sqrt((double)s[t]);
            s[t] = (double)(u == 0.0 ? 0.0 : -p0 * sk_exp(-u * p0) / (2.0 * (u == 0.0 ? 1.0 : u)));
        }
        return 1;
    case SK_MATERN32 * 2 + 1:
        for (t = 0; t < n; t++) {
            double u = sqrt((double)s[t]) * p0;
            s[t] = (double)((1.0 + u) * sk_exp(-u));
        }
        return 1;
    case SK_MATERN32 * 2:
        for (t = 0; t < n; t++) s[t] = (double)(-0.5 * p0 * p0 * sk_exp(-sqrt((double)s[t]) * p0));
        return 1;
    case SK_MATERN52 * 2 + 1:
        for (t = 0; t < n; t++) {
            double u = sqrt((double)s[t]) * p0;
            s[t] = (double)((1.0 + u + u * u / 3.0) * sk_exp(-u));
        }
        return 1;
    case SK_MATERN52 * 2:
        for (t = 0; t < n; t++) {
            double u = sqrt((double)s[t]) * p0;
            s[t] = (double)(-p0 * p0 / 6.0 * (1.0 + u) * sk_exp(-u));
        }
        return 1;
    }
    return 0;
}

/* The rows on lanes, once for each element type (lanes_rows.h). */
#define SK_CAT(a, b) a##_##b
#define SK_CAT2(a, b) SK_CAT(a, b)
#define SK_FN(name) SK_CAT2(name, SK_S)     /* name_d or name_f */
#define SK_S d
#define SK_T double
#define SK_V sk_vd
#define SK_DIFF 0
#include "lanes_rows.h"
#undef SK_S
#undef SK_T
#undef SK_V
#undef SK_DIFF
#define SK_S f
#define SK_T float
#define SK_V sk_vf
#define SK_DIFF 1
#include "lanes_rows.h"
#undef SK_S
#undef SK_T
#undef SK_V
#undef SK_DIFF

#endif
