/*
 * AVX-512 BF16 micro-kernel for bf16 products (gemm_bf16.c has the layout and the arithmetic it
 * reproduces bit for bit): a 14 x 32 tile of C in 28 zmm accumulators, as the float32 kernel,
 * but each VDPBF16PS takes two steps of k (a pair of bf16 per 32-bit lane), so one pair step is
 * 2 loads of the B panel (32 columns x 2 k), 14 broadcasts of an A word and 28 VDPBF16PS: twice
 * the products of an FMA for the same issue slots (dev/bandwidth/bf16_peak.c: 1,010–1,024
 * GFLOP/s against fma_peak's 541–556 on 2 Zen 5 cores).
 *
 * Few rows (mr <= 6): two B panels at once, as kernel_pair512. Compiled with a target attribute
 * and only called after the CPUID check below.
 */
#include "gemm_internal.h"
#include "CRecurrentKernels.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#include <immintrin.h>

#define B512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512bf16,fma")))
#define A512 B512
#include "gemm_avx512_shared.h"

#define MRB 14
#define NRB 32

/* AVX-512 BF16: CPUID.(7,1):EAX bit 5, on top of the AVX-512 path (which checks the OS state). */
int rk_cpu_has_avx512_bf16(void) {
    unsigned a, b, c, d;
    if (!rk_cpu_has(RK_ISA_AVX512) || __get_cpuid_max(0, 0) < 7) return 0;
    __cpuid_count(7, 1, a, b, c, d);
    return (a >> 5) & 1;
}

/* R rows x 16*NV columns; vectors 0, 1 from b0 and 2, 3 from b1 (the next panel). */
RK_INLINE B512 void tile_bf16(const int R, const int NV, int kc, const uint32_t *RK_RESTRICT a, long ldak,
                              const uint32_t *RK_RESTRICT b0, const uint32_t *RK_RESTRICT b1, long ldbk,
                              float *RK_RESTRICT c, long ldc, int nr, float alpha, float beta) {
    __m512 acc[MRB][4];
    RK_UNROLL for (int i = 0; i < R; i++)
        RK_UNROLL for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
    for (int kp = 0; kp < (kc + 1) / 2; kp++) {
        __m512bh bv[4];
        RK_UNROLL for (int v = 0; v < NV; v++)
            bv[v] = (__m512bh)_mm512_loadu_si512(v < 2 ? b0 + 16 * v : b1 + 16 * (v - 2));
        RK_UNROLL for (int i = 0; i < R; i++) {
            const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i]);
            RK_UNROLL for (int v = 0; v < NV; v++) acc[i][v] = _mm512_dpbf16_ps(acc[i][v], ai, bv[v]);
        }
        a += ldak;
        b0 += ldbk;
        b1 += ldbk;
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    RK_UNROLL for (int i = 0; i < R; i++) {
        float *ci = c + (long)i * ldc;
        RK_UNROLL for (int v = 0; v < NV; v++) {
            const __mmask16 m = lane_mask(nr - 16 * v);
            if (!m) continue;
            __m512 r;
            if (beta == 0.0f) r = _mm512_mul_ps(va, acc[i][v]);
            else r = _mm512_fmadd_ps(va, acc[i][v], _mm512_mul_ps(vb, _mm512_maskz_loadu_ps(m, ci + 16 * v)));
            _mm512_mask_storeu_ps(ci + 16 * v, m, r);
        }
    }
}

/* Rows 1..6, then (RK_MORE_CASES) 7..14: the two-panel tile only ever gets <= 6 (pair_max_mr). */
#define RK_CASES(NV, ...)                                                                             \
    case 1: tile_bf16(1, NV, __VA_ARGS__); return;                                                   \
    case 2: tile_bf16(2, NV, __VA_ARGS__); return;                                                   \
    case 3: tile_bf16(3, NV, __VA_ARGS__); return;                                                   \
    case 4: tile_bf16(4, NV, __VA_ARGS__); return;                                                   \
    case 5: tile_bf16(5, NV, __VA_ARGS__); return;                                                   \
    case 6: tile_bf16(6, NV, __VA_ARGS__); return;
#define RK_MORE_CASES(NV, ...)                                                                        \
    case 7: tile_bf16(7, NV, __VA_ARGS__); return;                                                   \
    case 8: tile_bf16(8, NV, __VA_ARGS__); return;                                                   \
    case 9: tile_bf16(9, NV, __VA_ARGS__); return;                                                   \
    case 10: tile_bf16(10, NV, __VA_ARGS__); return;                                                 \
    case 11: tile_bf16(11, NV, __VA_ARGS__); return;                                                 \
    case 12: tile_bf16(12, NV, __VA_ARGS__); return;                                                 \
    case 13: tile_bf16(13, NV, __VA_ARGS__); return;                                                 \
    case 14: tile_bf16(14, NV, __VA_ARGS__); return;

static B512 void kernel_avx512_bf16(int kc, const float *RK_RESTRICT a, long ldai, long ldak,
                                    const float *RK_RESTRICT b, long ldbk, float *RK_RESTRICT c, long ldc, int mr,
                                    int nr, float alpha, float beta) {
    (void)ldai;
    const uint32_t *aw = (const uint32_t *)a, *bw = (const uint32_t *)b;
    switch (mr) {
        RK_CASES(2, kc, aw, ldak, bw, bw + 16, ldbk, c, ldc, nr, alpha, beta)
        RK_MORE_CASES(2, kc, aw, ldak, bw, bw + 16, ldbk, c, ldc, nr, alpha, beta)
    default: return;
    }
}

static B512 void kernel_pair_avx512_bf16(int kc, const float *RK_RESTRICT a, long ldai, long ldak,
                                         const float *RK_RESTRICT b0, const float *RK_RESTRICT b1, long ldbk,
                                         float *RK_RESTRICT c, long ldc, int mr, int nr, float alpha, float beta) {
    (void)ldai;
    switch (mr) {
        RK_CASES(4, kc, (const uint32_t *)a, ldak, (const uint32_t *)b0, (const uint32_t *)b1, ldbk, c, ldc, nr, alpha,
                 beta)
    default: return;
    }
}
#undef RK_CASES
#undef RK_MORE_CASES

/* ---- packers: rounding to bf16 in registers (VCVTNEPS2BF16: nearest, ties to even) --------- */

/* Words of 16 lanes from two rows of 16 floats: lo's bf16 in the low halves, hi's in the high. */
RK_INLINE B512 __m512i pair_rows(__m512 lo, __m512 hi) {
    const __m512i l = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(lo));
    const __m512i h = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(hi));
    return _mm512_or_si512(l, _mm512_slli_epi32(h, 16));
}

/* Up to 32 consecutive floats of a row (n valid, the rest zero) as 16 words, pairs in order. */
RK_INLINE B512 __m512 row_pairs(const float *src, int n) {
    const __m512 lo = _mm512_maskz_loadu_ps(lane_mask(n), src), hi = _mm512_maskz_loadu_ps(lane_mask(n - 16), src + 16);
    return _mm512_castsi512_ps((__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

/*
 * Rows contiguous in k (A as M x K, or B stored N x K): 16 rows x 16 pairs at a time, each row's
 * 32 floats rounded into 16 words, then transposed, so that the 16 pairs land k-major:
 * dst[kp * stride + r] for r < lanes of the store mask.
 */
RK_INLINE B512 void pack_rows_k(const float *src, long ld, int rows, int kc, uint32_t *dst, long stride,
                                __mmask16 smask) {
    for (int k0 = 0; k0 < kc; k0 += 32) {
        const int n = kc - k0 < 32 ? kc - k0 : 32;
        __m512 r[16];
        RK_UNROLL for (int i = 0; i < 16; i++) r[i] = i < rows ? row_pairs(src + (long)i * ld + k0, n) : _mm512_setzero_ps();
        transpose16(r);
        const int pairs = (n + 1) / 2;
        for (int t = 0; t < pairs; t++) _mm512_mask_storeu_ps(dst + (long)(k0 / 2 + t) * stride, smask, r[t]);
    }
}

/*
 * Rows contiguous across the panel (A stored K x M, or B as K x N): for each pair of k, two rows
 * of up to 16 floats (n valid) become 16 words at dst[kp * stride], zero past n; an odd kc pairs
 * its last row with zeros.
 */
RK_INLINE B512 void pack_rows_j(const float *src, long ld, int n, int kc, uint32_t *dst, long stride) {
    const __mmask16 m = lane_mask(n);
    for (int k = 0; k < kc; k += 2) {
        const __m512 lo = _mm512_maskz_loadu_ps(m, src + (long)k * ld);
        const __m512 hi = k + 1 < kc ? _mm512_maskz_loadu_ps(m, src + (long)(k + 1) * ld) : _mm512_setzero_ps();
        _mm512_mask_storeu_epi32(dst + (long)(k / 2) * stride, (__mmask16)0xFFFF, pair_rows(lo, hi));
    }
}

/* rk_pack_a_pairs' layout and bits (MR = 14 words a pair, rows past mc zero). */
static B512 void pack_a_avx512_bf16(int transA, const float *A, long lda, int i0, int mc, int p0, int kc, int MR,
                                    float *RK_RESTRICT out) {
    if (MR > 16) {
        rk_pack_a_pairs(transA, A, lda, i0, mc, p0, kc, MR, out);
        return;
    }
    for (int r0 = 0; r0 < mc; r0 += MR) {
        const int rows = mc - r0 < MR ? mc - r0 : MR;
        uint32_t *dst = (uint32_t *)(out + (size_t)r0 * kc);
        if (!transA) {
            pack_rows_k(A + (size_t)(i0 + r0) * lda + p0, lda, rows, kc, dst, MR, lane_mask(MR));
        } else {
            /* each pair of k: two rows of MR floats (zero past the panel's rows), MR words */
            const __mmask16 m = lane_mask(rows), keep = lane_mask(MR);
            const float *src = A + (size_t)p0 * lda + i0 + r0;
            for (int k = 0; k < kc; k += 2) {
                const __m512 lo = _mm512_maskz_loadu_ps(m, src + (long)k * lda);
                const __m512 hi = k + 1 < kc ? _mm512_maskz_loadu_ps(m, src + (long)(k + 1) * lda) : _mm512_setzero_ps();
                _mm512_mask_storeu_epi32(dst + (long)(k / 2) * MR, keep, pair_rows(lo, hi));
            }
        }
    }
}

/* rk_pack_b_pairs' layout and bits (NR = 32 words a pair, columns past nc zero). */
static B512 void pack_b_avx512_bf16(int transB, const float *B, long ldb, int p0, int kc, int j0, int nc, int NR,
                                    float *RK_RESTRICT out) {
    if (NR % 16 || NR > 64) {
        rk_pack_b_pairs(transB, B, ldb, p0, kc, j0, nc, NR, out);
        return;
    }
    for (int s0 = 0; s0 < nc; s0 += NR) {
        uint32_t *dst = (uint32_t *)(out + (size_t)s0 * kc);
        for (int h = 0; h < NR; h += 16) {
            int cols = nc - s0 - h;
            cols = cols < 0 ? 0 : cols > 16 ? 16 : cols;
            if (transB) pack_rows_k(B + (size_t)(j0 + s0 + h) * ldb + p0, ldb, cols, kc, dst + h, NR, (__mmask16)0xFFFF);
            else pack_rows_j(B + (size_t)p0 * ldb + j0 + s0 + h, ldb, cols, kc, dst + h, NR);
        }
    }
}

const rk_gemm_arch rk_arch_avx512_bf16 = {
    .isa = RK_ISA_AVX512,
    .mr = MRB, .nr = NRB,
    /* A panel 14 x 384 words = 21 KiB (L1), B block 384 words x 512 = 768 KiB (L2): the float32
       kernel's footprints with twice the k. */
    .kc = RK_BF16_KC, .mc = MRB * 256, .nc = 512,
    .direct_b_max_m = 0, .direct_a = 0, /* the operands are rounded while they are packed */
    .kernel = kernel_avx512_bf16,
    .kernel_pair = kernel_pair_avx512_bf16, .pair_max_mr = 6,
    .pack_a = pack_a_avx512_bf16, .pack_b = pack_b_avx512_bf16, .gemv = 0,
    .pairs = 1,
};

#endif
