/*
 * Portable C micro-kernel: a 4 x 16 tile. Plain loops that clang -O2
 * vectorizes for the baseline ISA (SSE2 / NEON); it exists so that the
 * package works, and is tested, on any CPU.
 *
 * The per-element arithmetic (acc += a*b in k order, then alpha*acc + beta*C)
 * is one source expression whatever mr, nr, so edge tiles round exactly
 * like full ones.
 */
#include "gemm_internal.h"
#include "CRecurrentKernels.h"

#define MRG 4
#define NRG 16

static void kernel_generic(int kc, const float *RK_RESTRICT a, long ldai, long ldak, const float *RK_RESTRICT b, long ldbk,
                           float *RK_RESTRICT c, long ldc, int mr, int nr, float alpha, float beta) {
    (void)ldai;
    float acc[MRG][NRG] = {{0}};
    for (int k = 0; k < kc; k++) {
        for (int i = 0; i < MRG; i++) {
            const float ai = a[i];
            for (int j = 0; j < NRG; j++) acc[i][j] += ai * b[j];
        }
        a += ldak; /* MRG: this kernel reads whole panels (direct_a = 0: ldai == 1) */
        b += ldbk;
    }
    for (int i = 0; i < mr; i++) {
        float *ci = c + (long)i * ldc;
        if (beta == 0.0f)
            for (int j = 0; j < nr; j++) ci[j] = alpha * acc[i][j];
        else
            for (int j = 0; j < nr; j++) ci[j] = alpha * acc[i][j] + beta * ci[j];
    }
}

/* A panel 4 x 256 (4 KiB, L1), B block 256 x 256 (256 KiB, L2). */
const rk_gemm_arch rk_arch_generic = {
    .isa = RK_ISA_GENERIC,
    .mr = MRG, .nr = NRG,
    .kc = 256, .mc = 512, .nc = 256,
    .direct_b_max_m = 0, /* reads all NRG columns of b: needs the zero-padded panel */
    .direct_a = 0,       /* and all MRG rows of a */
    .kernel = kernel_generic,
    .pack_a = 0, .pack_b = 0, .gemv = 0,
};
