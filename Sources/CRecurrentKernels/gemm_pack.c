/*
 * Portable packers. Written so that the inner loop is the contiguous one in
 * the source and clang -O2 (plain x86-64 / AArch64 baseline) vectorizes the
 * copies; the transposing cases write with a stride of MR or NR floats.
 */
#include <string.h>
#include "gemm_internal.h"

/*
 * op(A)[i0 : i0+mc, p0 : p0+kc] -> ceil(mc/MR) panels, panel r holds rows
 * i0 + r*MR .. +MR as out[r*MR*kc + k*MR + i] (MR x kc, k-major).
 * Rows past mc are zero (the edge micro-kernels never store them).
 */
void rk_pack_a(int transA, const float *A, long lda, int i0, int mc, int p0, int kc, int MR,
               float *RK_RESTRICT out) {
    for (int r0 = 0; r0 < mc; r0 += MR) {
        const int rows = mc - r0 < MR ? mc - r0 : MR;
        float *RK_RESTRICT dst = out + (size_t)r0 * kc;
        if (!transA) {
            /* A is M x K: row i is contiguous in k, scatter it into column i of the panel. */
            for (int i = 0; i < rows; i++) {
                const float *src = A + (size_t)(i0 + r0 + i) * lda + p0;
                for (int k = 0; k < kc; k++) dst[(size_t)k * MR + i] = src[k];
            }
        } else {
            /* A is stored K x M: for each k the MR values are already contiguous. */
            for (int k = 0; k < kc; k++) {
                const float *src = A + (size_t)(p0 + k) * lda + i0 + r0;
                for (int i = 0; i < rows; i++) dst[(size_t)k * MR + i] = src[i];
            }
        }
        if (rows < MR)
            for (int k = 0; k < kc; k++)
                for (int i = rows; i < MR; i++) dst[(size_t)k * MR + i] = 0.0f;
    }
}

/*
 * op(B)[p0 : p0+kc, j0 : j0+nc] -> ceil(nc/NR) panels, panel s holds columns
 * j0 + s*NR .. +NR as out[s*NR*kc + k*NR + j] (kc x NR, k-major).
 * Columns past nc are zero.
 */
void rk_pack_b(int transB, const float *B, long ldb, int p0, int kc, int j0, int nc, int NR,
               float *RK_RESTRICT out) {
    for (int s0 = 0; s0 < nc; s0 += NR) {
        const int cols = nc - s0 < NR ? nc - s0 : NR;
        float *RK_RESTRICT dst = out + (size_t)s0 * kc;
        if (!transB) {
            /* B is K x N: each k row of the panel is a contiguous copy. */
            for (int k = 0; k < kc; k++) {
                const float *src = B + (size_t)(p0 + k) * ldb + j0 + s0;
                memcpy(dst + (size_t)k * NR, src, sizeof(float) * (size_t)cols);
                for (int j = cols; j < NR; j++) dst[(size_t)k * NR + j] = 0.0f;
            }
        } else {
            /* B is stored N x K: column j of op(B) is contiguous in k. */
            for (int j = 0; j < cols; j++) {
                const float *src = B + (size_t)(j0 + s0 + j) * ldb + p0;
                for (int k = 0; k < kc; k++) dst[(size_t)k * NR + j] = src[k];
            }
            if (cols < NR)
                for (int k = 0; k < kc; k++)
                    for (int j = cols; j < NR; j++) dst[(size_t)k * NR + j] = 0.0f;
        }
    }
}
