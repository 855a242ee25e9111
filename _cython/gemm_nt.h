/* C = alpha A B^T for wide paths (row-major: A m x k, B n x k, C m x n with rows of ldc):
 * their G (the linear kernel's increments' inner products) and the other static kernels'
 * arguments. These products have the pair's shape (about 100 x 100 x the channels), where
 * BLAS spends much of its time packing: here B is transposed once into k rows of vectors,
 * and 8 rows of C by 2 vectors of columns accumulate in registers, 8 operands broadcast
 * from A and two loaded from B per 16 multiply-adds.
 *
 * Each entry of C is one chain of multiply-adds over k in order, then times alpha, so its
 * value does not depend on m, n or where it falls in a block: a pair's G is its own.
 * Returns 0, or -1 when the transposed copy of B cannot be allocated (nothing written).
 */
#ifndef SKSIGKERNEL_GEMM_NT_H
#define SKSIGKERNEL_GEMM_NT_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "lanes.h"

#if (defined(__GNUC__) || defined(__clang__)) && !defined(SK_PLAIN_LOOPS)

#define SK_GEMM_NT(T, S)                                                                     \
static int sk_gemm_nt_##S(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, T alpha, const T *A,        \
                          ptrdiff_t lda, const T *B, ptrdiff_t ldb, T *C, ptrdiff_t ldc)     \
{                                                                                            \
    const ptrdiff_t V = SK_VL_##S, np = (n + 2 * V - 1) / (2 * V) * (2 * V);                 \
    ptrdiff_t i, j, p, r, rows;                                                              \
    size_t size = (size_t)(k > 0 ? k : 1) * (size_t)np * sizeof(T);                          \
    T *Bt = (T *)malloc(size);                                                               \
    T last[8][2 * SK_VL_##S];                                                                \
    if (Bt == NULL)                                                                          \
        return -1;                                                                           \
    for (p = 0; p < k; p++) {                                                                \
        for (j = 0; j < n; j++)                                                              \
            Bt[p * np + j] = B[j * ldb + p];                                                 \
        for (j = n; j < np; j++)                                                             \
            Bt[p * np + j] = 0;                                                              \
    }                                                                                        \
    for (j = 0; j < np; j += 2 * V) {   /* k x 2V of Bt: in the L1 cache for every row */   \
        for (i = 0; i < m; i += rows) {                                                      \
            sk_v##S c[8][2];                                                                 \
            rows = m - i < 8 ? m - i : 8;                                                    \
            for (r = 0; r < 8; r++)                                                          \
                c[r][0] = c[r][1] = sk_splat_##S(0);                                         \
            if (rows == 8) {                                                                 \
                for (p = 0; p < k; p++) {                                                    \
                    sk_v##S b0 = sk_load_##S(Bt + p * np + j);                               \
                    sk_v##S b1 = sk_load_##S(Bt + p * np + j + V);                           \
                    for (r = 0; r < 8; r++) {                                                \
                        sk_v##S a = sk_splat_##S(A[(i + r) * lda + p]);                      \
                        c[r][0] += a * b0;                                                   \
                        c[r][1] += a * b1;                                                   \
                    }                                                                        \
                }                                                                            \
            } else {                                                                         \
                for (p = 0; p < k; p++) {                                                    \
                    sk_v##S b0 = sk_load_##S(Bt + p * np + j);                               \
                    sk_v##S b1 = sk_load_##S(Bt + p * np + j + V);                           \
                    for (r = 0; r < rows; r++) {                                             \
                        sk_v##S a = sk_splat_##S(A[(i + r) * lda + p]);                      \
                        c[r][0] += a * b0;                                                   \
                        c[r][1] += a * b1;                                                   \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
            for (r = 0; r < rows; r++) {                                                     \
                c[r][0] *= alpha;                                                            \
                c[r][1] *= alpha;                                                            \
                if (j + 2 * V <= n) {                                                        \
                    sk_store_##S(C + (i + r) * ldc + j, c[r][0]);                            \
                    sk_store_##S(C + (i + r) * ldc + j + V, c[r][1]);                        \
                } else {                  /* the last columns: only those of C */            \
                    sk_store_##S(last[r], c[r][0]);                                          \
                    sk_store_##S(last[r] + V, c[r][1]);                                      \
                    memcpy(C + (i + r) * ldc + j, last[r], (size_t)(n - j) * sizeof(T));     \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
    free(Bt);                                                                                \
    return 0;                                                                                \
}

SK_GEMM_NT(double, d)
SK_GEMM_NT(float, f)

#else   /* plain loops: the same chains */

#define SK_GEMM_NT(T, S)                                                                     \
static int sk_gemm_nt_##S(ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, T alpha, const T *A,        \
                          ptrdiff_t lda, const T *B, ptrdiff_t ldb, T *C, ptrdiff_t ldc)     \
{                                                                                            \
    ptrdiff_t i, j, p;                                                                       \
    for (i = 0; i < m; i++)                                                                  \
        for (j = 0; j < n; j++) {                                                            \
            T c = 0;                                                                         \
            for (p = 0; p < k; p++)                                                          \
                c += A[i * lda + p] * B[j * ldb + p];                                        \
            C[i * ldc + j] = c * alpha;                                                      \
        }                                                                                    \
    return 0;                                                                                \
}

SK_GEMM_NT(double, d)
SK_GEMM_NT(float, f)

#endif
#endif
