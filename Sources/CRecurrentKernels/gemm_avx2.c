/*
 * AVX2 + FMA micro-kernel: a 6 x 16 tile of C in 12 ymm accumulators
 * (the classic Haswell shape: 16 ymm registers = 12 accumulators + 2 B rows
 * + 1 broadcast). One k step: 2 ymm loads, 6 broadcasts, 12 FMAs.
 *
 * Edges: mr < 6 is instantiated per row count; nr < 16 uses maskload /
 * maskstore, which do not fault on the masked-off lanes (so the kernel could
 * also read an unpacked op(B) in place; see direct_b_max_m below).
 */
#include "gemm_internal.h"
#include "CRecurrentKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define A256 __attribute__((target("avx2,fma")))
#define MR2 6
#define NR2 16

RK_INLINE A256 __m256i lane_mask8(int n) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx); /* lane l on when l < n */
}

/* ROWS: A read in place as rows ldai apart (k stride 1), else element (i, k) at a[k*ldak + i]. */
RK_INLINE A256 void tile256(const int R, const int EDGE, const int ROWS, int kc, const float *RK_RESTRICT a, long ldai,
                            long ldak,
                            const float *RK_RESTRICT b, long ldbk, float *RK_RESTRICT c, long ldc,
                            int nr, float alpha, float beta) {
    __m256 acc[MR2][2];
    const __m256i m0 = lane_mask8(nr), m1 = lane_mask8(nr - 8);
    RK_UNROLL for (int i = 0; i < R; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();

    for (int k = 0; k < kc; k++) {
        const __m256 b0 = EDGE ? _mm256_maskload_ps(b, m0) : _mm256_loadu_ps(b);
        const __m256 b1 = EDGE ? _mm256_maskload_ps(b + 8, m1) : _mm256_loadu_ps(b + 8);
        RK_UNROLL for (int i = 0; i < R; i++) {
            const __m256 ai = _mm256_broadcast_ss(ROWS ? a + (long)i * ldai : a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
        a += ROWS ? 1 : ldak;
        b += ldbk;
    }

    const __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    RK_UNROLL for (int i = 0; i < R; i++) {
        float *ci = c + (long)i * ldc;
        __m256 r0, r1;
        if (beta == 0.0f) { /* C is not read: NaNs in it vanish */
            r0 = _mm256_mul_ps(va, acc[i][0]);
            r1 = _mm256_mul_ps(va, acc[i][1]);
        } else {
            const __m256 o0 = EDGE ? _mm256_maskload_ps(ci, m0) : _mm256_loadu_ps(ci);
            const __m256 o1 = EDGE ? _mm256_maskload_ps(ci + 8, m1) : _mm256_loadu_ps(ci + 8);
            r0 = _mm256_fmadd_ps(va, acc[i][0], _mm256_mul_ps(vb, o0));
            r1 = _mm256_fmadd_ps(va, acc[i][1], _mm256_mul_ps(vb, o1));
        }
        if (EDGE) {
            _mm256_maskstore_ps(ci, m0, r0);
            _mm256_maskstore_ps(ci + 8, m1, r1);
        } else {
            _mm256_storeu_ps(ci, r0);
            _mm256_storeu_ps(ci + 8, r1);
        }
    }
}

static A256 void kernel_avx2(int kc, const float *RK_RESTRICT a, long ldai, long ldak, const float *RK_RESTRICT b,
                             long ldbk, float *RK_RESTRICT c, long ldc, int mr, int nr, float alpha, float beta) {
#define RK_TILE(R, EDGE, ROWS) tile256(R, EDGE, ROWS, kc, a, ldai, ldak, b, ldbk, c, ldc, nr, alpha, beta)
#define RK_CASE(R)                                                                  \
    case R:                                                                         \
        if (ldai != 1) {                                                            \
            if (nr >= NR2) RK_TILE(R, 0, 1);                                        \
            else RK_TILE(R, 1, 1);                                                  \
        } else if (nr >= NR2) RK_TILE(R, 0, 0);                                     \
        else RK_TILE(R, 1, 0);                                                      \
        return;
    switch (mr) {
        RK_CASE(1) RK_CASE(2) RK_CASE(3) RK_CASE(4) RK_CASE(5) RK_CASE(6)
    default: return;
    }
#undef RK_CASE
#undef RK_TILE
}

/*
 * A panel 6 x 256 x 4 B = 6 KiB (L1, 32 KiB on Haswell-class cores);
 * B block 256 x 256 x 4 B = 256 KiB (L2); A block 720 x 256 in L3.
 */
const rk_gemm_arch rk_arch_avx2 = {
    .isa = RK_ISA_AVX2,
    .mr = MR2, .nr = NR2,
    .kc = 256, .mc = 720, .nc = 256,
    /* Reading B in place (one cache line per k row, rows ldb apart) lost to
       packing on Zen 5 for M = 50, N*K = 1M; only small B gained: keep packing. */
    .direct_b_max_m = 0,
    .direct_a = 1,
    .kernel = kernel_avx2,
    .pack_a = 0, .pack_b = 0, .gemv = 0,
};

#endif
