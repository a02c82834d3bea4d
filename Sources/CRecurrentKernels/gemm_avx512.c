/*
 * AVX-512 micro-kernel: a 14 x 32 tile of C held in 28 zmm accumulators.
 *
 * One k step: 2 zmm loads of the B panel row (32 floats), 14 broadcasts from
 * the A panel column, 28 FMAs. Zen 4/5 and Skylake-X have two 512-bit FMA
 * pipes with a 4-cycle latency, so >= 8 independent chains are needed; 28
 * keep both pipes busy and leave 4 registers for the B rows and a broadcast.
 * 14 rows (not 6 x 64) keeps the B panel row at two cache lines, which the
 * driver streams from L2 while the 14 x kc A panel stays in L1.
 *
 * Edges: mr < 14 uses a kernel instantiated for exactly mr rows (same FMA
 * chain per element, fewer wasted flops for M = 50 or 32); nr < 32 uses
 * masked loads/stores, which also lets the kernel read an unpacked op(B) in
 * place without touching memory past the last column.
 *
 * Compiled with a target attribute (no -mavx512f flag) and only called after
 * the runtime check in cpu.c.
 */
#include "gemm_internal.h"
#include "CRecurrentKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define A512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))

#ifndef RK512_MR
#define RK512_MR 14 /* rows of the register tile */
#endif
#ifndef RK512_NV
#define RK512_NV 2  /* zmm vectors per row: NR = 16 * NV */
#endif
#define RK512_NR (16 * RK512_NV)

RK_INLINE A512 __mmask16 lane_mask(int n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* R rows (compile-time after inlining) x NR columns, EDGE: nr < NR (masked). */
RK_INLINE A512 void tile512(const int R, const int EDGE, int kc, const float *RK_RESTRICT a,
                            const float *RK_RESTRICT b, long ldbk, float *RK_RESTRICT c, long ldc,
                            int nr, float alpha, float beta) {
    __m512 acc[RK512_MR][RK512_NV];
    __mmask16 m[RK512_NV];
    RK_UNROLL for (int v = 0; v < RK512_NV; v++) m[v] = EDGE ? lane_mask(nr - 16 * v) : (__mmask16)0xFFFF;
    RK_UNROLL for (int i = 0; i < R; i++)
        RK_UNROLL for (int v = 0; v < RK512_NV; v++) acc[i][v] = _mm512_setzero_ps();

    for (int k = 0; k < kc; k++) {
        __m512 bv[RK512_NV];
        RK_UNROLL for (int v = 0; v < RK512_NV; v++)
            bv[v] = EDGE ? _mm512_maskz_loadu_ps(m[v], b + 16 * v) : _mm512_loadu_ps(b + 16 * v);
        RK_UNROLL for (int i = 0; i < R; i++) {
            const __m512 ai = _mm512_set1_ps(a[i]);
            RK_UNROLL for (int v = 0; v < RK512_NV; v++) acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
        }
        a += RK512_MR; /* panel stride is always MR, whatever R */
        b += ldbk;
    }

    /* C = alpha*acc + beta*C; beta == 0 never reads C (BLAS semantics: NaNs in C vanish). */
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    RK_UNROLL for (int i = 0; i < R; i++) {
        float *ci = c + (long)i * ldc;
        RK_UNROLL for (int v = 0; v < RK512_NV; v++) {
            __m512 r;
            if (beta == 0.0f) {
                r = _mm512_mul_ps(va, acc[i][v]);
            } else {
                const __m512 old = EDGE ? _mm512_maskz_loadu_ps(m[v], ci + 16 * v) : _mm512_loadu_ps(ci + 16 * v);
                r = _mm512_fmadd_ps(va, acc[i][v], _mm512_mul_ps(vb, old));
            }
            if (EDGE) _mm512_mask_storeu_ps(ci + 16 * v, m[v], r);
            else _mm512_storeu_ps(ci + 16 * v, r);
        }
    }
}

static A512 void kernel_avx512(int kc, const float *RK_RESTRICT a, const float *RK_RESTRICT b, long ldbk,
                               float *RK_RESTRICT c, long ldc, int mr, int nr, float alpha, float beta) {
#define RK_CASE(R)                                                                     \
    case R:                                                                            \
        if (nr >= RK512_NR) tile512(R, 0, kc, a, b, ldbk, c, ldc, nr, alpha, beta);    \
        else tile512(R, 1, kc, a, b, ldbk, c, ldc, nr, alpha, beta);                   \
        return;
    switch (mr) {
        RK_CASE(1) RK_CASE(2) RK_CASE(3) RK_CASE(4)
#if RK512_MR >= 5
        RK_CASE(5) RK_CASE(6)
#endif
#if RK512_MR >= 7
        RK_CASE(7) RK_CASE(8)
#endif
#if RK512_MR >= 9
        RK_CASE(9) RK_CASE(10)
#endif
#if RK512_MR >= 11
        RK_CASE(11) RK_CASE(12)
#endif
#if RK512_MR >= 13
        RK_CASE(13) RK_CASE(14)
#endif
#if RK512_MR >= 15
        RK_CASE(15) RK_CASE(16)
#endif
    default: return;
    }
#undef RK_CASE
}

#ifndef RK512_KC
#define RK512_KC 384
#endif
#ifndef RK512_NC
#define RK512_NC 512
#endif
#ifndef RK512_MC
#define RK512_MC (RK512_MR * 72)
#endif

/*
 * Blocks (Zen 5: 48 KiB L1d, 1 MiB L2 per core):
 *   A panel  14 x 384 x 4 B = 21 KiB  stays in L1 across the jr loop;
 *   B block 384 x 512 x 4 B = 768 KiB stays in L2 across the ir loop;
 *   A block 1008 x 384 x 4 B = 1.5 MiB in L3, packed once per K block.
 */
const rk_gemm_arch rk_arch_avx512 = {
    .isa = RK_ISA_AVX512,
    .mr = RK512_MR, .nr = RK512_NR,
    .kc = RK512_KC, .mc = RK512_MC, .nc = RK512_NC,
    .direct_b = 1,
    .kernel = kernel_avx512,
    .pack_b = 0,
};

#endif
