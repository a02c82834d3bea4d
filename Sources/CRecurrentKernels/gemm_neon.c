/*
 * AArch64 NEON micro-kernel: an 8 x 12 tile of C in 24 q-register
 * accumulators (32 q registers: 24 + 3 B vectors + 2 A vectors).
 * One k step: 3 B loads (12 floats), 2 A loads (8 floats), 24 FMAs by lane.
 *
 * Edge tiles (mr < 8 or nr < 12) run the very same full-tile code on a
 * stack copy of the C tile, so they round exactly like full tiles; the
 * packed panels are zero-padded, so the extra rows/columns are harmless.
 */
#include "gemm_internal.h"
#include "CRecurrentKernels.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#define MRN 8
#define NRN 12

RK_INLINE void tile_neon(int kc, const float *RK_RESTRICT a, long ldak, const float *RK_RESTRICT b, long ldbk,
                         float *RK_RESTRICT c, long ldc, float alpha, float beta) {
    float32x4_t c00 = vdupq_n_f32(0), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00;
    float32x4_t c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00;
    float32x4_t c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
    float32x4_t c60 = c00, c61 = c00, c62 = c00, c70 = c00, c71 = c00, c72 = c00;
    for (int k = 0; k < kc; k++) {
        const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4), b2 = vld1q_f32(b + 8);
        const float32x4_t a0 = vld1q_f32(a), a1 = vld1q_f32(a + 4);
#define RK_ROW(r, av, l)                          \
        c##r##0 = vfmaq_laneq_f32(c##r##0, b0, av, l); \
        c##r##1 = vfmaq_laneq_f32(c##r##1, b1, av, l); \
        c##r##2 = vfmaq_laneq_f32(c##r##2, b2, av, l);
        RK_ROW(0, a0, 0) RK_ROW(1, a0, 1) RK_ROW(2, a0, 2) RK_ROW(3, a0, 3)
        RK_ROW(4, a1, 0) RK_ROW(5, a1, 1) RK_ROW(6, a1, 2) RK_ROW(7, a1, 3)
#undef RK_ROW
        a += ldak; /* MRN: this kernel reads whole panels (direct_a = 0: ldai == 1) */
        b += ldbk;
    }
    const float32x4_t va = vdupq_n_f32(alpha), vb = vdupq_n_f32(beta);
#define RK_STORE1(p, acc)                                                          \
    if (beta == 0.0f) vst1q_f32(p, vmulq_f32(va, acc));                            \
    else vst1q_f32(p, vfmaq_f32(vmulq_f32(vb, vld1q_f32(p)), va, acc));
#define RK_STORE(r)                                                                \
    { float *cr = c + (long)(r) * ldc;                                             \
      RK_STORE1(cr, c##r##0) RK_STORE1(cr + 4, c##r##1) RK_STORE1(cr + 8, c##r##2) }
    RK_STORE(0) RK_STORE(1) RK_STORE(2) RK_STORE(3)
    RK_STORE(4) RK_STORE(5) RK_STORE(6) RK_STORE(7)
#undef RK_STORE
#undef RK_STORE1
}

static void kernel_neon(int kc, const float *RK_RESTRICT a, long ldai, long ldak, const float *RK_RESTRICT b, long ldbk,
                        float *RK_RESTRICT c, long ldc, int mr, int nr, float alpha, float beta) {
    (void)ldai;
    if (mr == MRN && nr == NRN) {
        tile_neon(kc, a, ldak, b, ldbk, c, ldc, alpha, beta);
        return;
    }
    float t[MRN * NRN] = {0};
    if (beta != 0.0f)
        for (int i = 0; i < mr; i++)
            for (int j = 0; j < nr; j++) t[i * NRN + j] = c[(long)i * ldc + j];
    tile_neon(kc, a, ldak, b, ldbk, t, NRN, alpha, beta);
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) c[(long)i * ldc + j] = t[i * NRN + j];
}

/*
 * A panel 8 x 256 x 4 B = 8 KiB (L1 is 64-128 KiB on Apple/Neoverse cores),
 * B block 256 x 384 x 4 B = 384 KiB (L2).
 */
const rk_gemm_arch rk_arch_neon = {
    .isa = RK_ISA_NEON,
    .mr = MRN, .nr = NRN,
    .kc = 256, .mc = 512, .nc = 384,
    .direct_b_max_m = 0, /* reads all 12 columns: needs the zero-padded panel */
    .direct_a = 0,       /* and all 8 rows */
    .kernel = kernel_neon,
    .pack_a = 0, .pack_b = 0, .gemv = 0,
};

#endif
