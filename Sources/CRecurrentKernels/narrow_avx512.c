/*
 * Narrow-weight matrix-vector kernels on AVX-512 (see narrow_internal.h).
 *
 * bf16: one 64-byte load holds 32 weights of a row; as 16 32-bit lanes, each
 *   lane's low half is an even column and its high half the next odd one, so
 *   a shift left by 16 gives the 16 even weights as float32 and a mask of the
 *   low half the 16 odd ones: two FMAs per load (against x's even and odd
 *   elements, split once per product), no shuffles.
 * int8: 16 weights at a time, sign-extended to 32 bits and converted, FMA
 *   against x; the row's scale multiplies the finished sum once.
 * w8a8: vpdpbusd multiplies 64 activation bytes by 64 weight bytes and adds
 *   each group of four products into an int32 lane: one instruction per 64
 *   weights, exact (AVX-512 VNNI; narrow.c checks the CPU has it).
 *
 * int8 and w8a8: sixteen rows per pass, one accumulator each: sixteen
 * independent chains, sixteen weight streams sharing each load of x, and the
 * sixteen lane sums finished together by a transposing add tree (45 shuffles
 * and adds, not 16 separate horizontal sums) into one vector of 16 results, so
 * the epilogue (scale, accumulate, store) is vector code too. A matrix whose
 * last pass has fewer rows repeats its last row in the empty slots and stores
 * only the real ones. bf16: four rows per pass (see there).
 *
 * Every row goes through the same operations wherever it lies, so the split of
 * rows over threads never changes a bit. The last partial block of a row is a
 * masked load (lanes that are off read as zero).
 *
 * Compiled with target attributes (no -mavx512f flag) and only called after
 * the runtime check in cpu.c.
 */
#include <math.h>
#include <string.h>
#include "CRecurrentKernels.h"
#include "gemm_internal.h"
#include "narrow_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define A512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
#define A512VNNI __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,fma")))
#define RN 16 /* rows per pass (int8, w8a8) */

RK_INLINE A512 __mmask16 mask16(long n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

RK_INLINE A512 __mmask32 mask32(long n) {
    return n >= 32 ? (__mmask32)0xFFFFFFFFu : n <= 0 ? (__mmask32)0 : (__mmask32)((1u << n) - 1u);
}

/* The rows of one pass: p .. p+15, the ones at or past p1 replaced by row p1 - 1. */
#define PASS_ROWS(T, w, W, p, p1, K)                                                    \
    const T *w[RN];                                                                     \
    RK_UNROLL for (int r = 0; r < RN; r++) w[r] = (W) + ((p) + r < (p1) ? (p) + r : (p1) - 1) * (K)

/*
 * a[r] (16 lanes each) -> one vector whose lane r is the sum of a[r]'s lanes. The tree is the
 * same for every r: within each 128-bit quarter lanes (0+2)+(1+3), then quarters (0+1)+(2+3).
 */
RK_INLINE A512 __m512 sum16_ps(__m512 a[RN]) {
    __m512 b[8], c[4], d[2];
    RK_UNROLL for (int i = 0; i < 8; i++)
        b[i] = _mm512_add_ps(_mm512_unpacklo_ps(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_ps(a[2 * i], a[2 * i + 1]));
    RK_UNROLL for (int i = 0; i < 4; i++) {
        const __m512d u = _mm512_castps_pd(b[2 * i]), v = _mm512_castps_pd(b[2 * i + 1]);
        c[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(u, v)), _mm512_castpd_ps(_mm512_unpackhi_pd(u, v)));
    }
    RK_UNROLL for (int i = 0; i < 2; i++)
        d[i] = _mm512_add_ps(_mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], 0x88), _mm512_shuffle_f32x4(c[2 * i], c[2 * i + 1], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(d[0], d[1], 0x88), _mm512_shuffle_f32x4(d[0], d[1], 0xDD));
}

/* sum16_ps for int32 lanes (exact, so only the layout matters). */
RK_INLINE A512 __m512i sum16_epi32(__m512i a[RN]) {
    __m512i b[8], c[4], d[2];
    RK_UNROLL for (int i = 0; i < 8; i++)
        b[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(a[2 * i], a[2 * i + 1]), _mm512_unpackhi_epi32(a[2 * i], a[2 * i + 1]));
    RK_UNROLL for (int i = 0; i < 4; i++)
        c[i] = _mm512_add_epi32(_mm512_unpacklo_epi64(b[2 * i], b[2 * i + 1]), _mm512_unpackhi_epi64(b[2 * i], b[2 * i + 1]));
    RK_UNROLL for (int i = 0; i < 2; i++)
        d[i] = _mm512_add_epi32(_mm512_shuffle_i32x4(c[2 * i], c[2 * i + 1], 0x88), _mm512_shuffle_i32x4(c[2 * i], c[2 * i + 1], 0xDD));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(d[0], d[1], 0x88), _mm512_shuffle_i32x4(d[0], d[1], 0xDD));
}

/* y[p .. p+15] (only rows < p1) = s, or += s. */
RK_INLINE A512 void store_rows(__m512 s, long p, long p1, int accumulate, float *y) {
    const __mmask16 m = mask16(p1 - p);
    if (accumulate) s = _mm512_add_ps(_mm512_maskz_loadu_ps(m, y + p), s);
    _mm512_mask_storeu_ps(y + p, m, s);
}

/* ---- bf16 ---------------------------------------------------------------------------------- */

/*
 * Four rows per pass here, even and odd columns in separate accumulators (eight chains), each row
 * summed on its own: with more rows per pass the 64-byte weight streams outrun the L2 prefetcher
 * (measured on Zen 5: sixteen rows 20% and eight rows 4% slower from L3 than four).
 */
#define RB 4

/* R rows (compile-time after inlining) starting at row p. */
RK_INLINE A512 void bf16_pass(const int R, long p, long K, const uint16_t *RK_RESTRICT W,
                              const float *RK_RESTRICT xe, const float *RK_RESTRICT xo, int accumulate,
                              float *RK_RESTRICT y) {
    __m512 ae[RB], ao[RB];
    const uint16_t *w[RB];
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);
    RK_UNROLL for (int r = 0; r < R; r++) {
        ae[r] = ao[r] = _mm512_setzero_ps();
        w[r] = W + (p + r) * K;
    }
    long k = 0;
    for (; k + 32 <= K; k += 32) {
        const __m512 ve = _mm512_loadu_ps(xe + k / 2), vo = _mm512_loadu_ps(xo + k / 2);
        RK_UNROLL for (int r = 0; r < R; r++) {
            const __m512i v = _mm512_loadu_si512((const void *)(w[r] + k));
            ae[r] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), ve, ae[r]);
            ao[r] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v, high)), vo, ao[r]);
        }
    }
    if (k < K) { /* xe, xo are zero-padded: only the weights need a mask */
        const __mmask32 m = mask32(K - k);
        const __m512 ve = _mm512_loadu_ps(xe + k / 2), vo = _mm512_loadu_ps(xo + k / 2);
        RK_UNROLL for (int r = 0; r < R; r++) {
            const __m512i v = _mm512_maskz_loadu_epi16(m, (const void *)(w[r] + k));
            ae[r] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), ve, ae[r]);
            ao[r] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v, high)), vo, ao[r]);
        }
    }
    RK_UNROLL for (int r = 0; r < R; r++) {
        const float s = _mm512_reduce_add_ps(_mm512_add_ps(ae[r], ao[r]));
        y[p + r] = accumulate ? y[p + r] + s : s;
    }
}

static A512 void bf16_avx512(long p0, long p1, long K, const uint16_t *W, const float *x, const float *xe,
                             const float *xo, int accumulate, float *y) {
    (void)x;
    long p = p0;
    for (; p + RB <= p1; p += RB) bf16_pass(RB, p, K, W, xe, xo, accumulate, y);
    for (; p < p1; p++) bf16_pass(1, p, K, W, xe, xo, accumulate, y);
}

/* ---- int8 ---------------------------------------------------------------------------------- */

RK_INLINE A512 __m512 widen_int8(__m128i v) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(v)); }

static A512 void int8_avx512(long p0, long p1, long K, const int8_t *W, const float *scale, const float *x,
                             int accumulate, float *y) {
    for (long p = p0; p < p1; p += RN) {
        PASS_ROWS(int8_t, w, W, p, p1, K);
        __m512 a[RN];
        RK_UNROLL for (int r = 0; r < RN; r++) a[r] = _mm512_setzero_ps();
        long k = 0;
        for (; k + 16 <= K; k += 16) {
            const __m512 xv = _mm512_loadu_ps(x + k);
            RK_UNROLL for (int r = 0; r < RN; r++)
                a[r] = _mm512_fmadd_ps(widen_int8(_mm_loadu_si128((const __m128i *)(w[r] + k))), xv, a[r]);
        }
        if (k < K) {
            const __mmask16 m = mask16(K - k);
            const __m512 xv = _mm512_maskz_loadu_ps(m, x + k);
            RK_UNROLL for (int r = 0; r < RN; r++) a[r] = _mm512_fmadd_ps(widen_int8(_mm_maskz_loadu_epi8(m, w[r] + k)), xv, a[r]);
        }
        const __m512 s = _mm512_mul_ps(_mm512_maskz_loadu_ps(mask16(p1 - p), scale + p), sum16_ps(a));
        store_rows(s, p, p1, accumulate, y);
    }
}

/* ---- w8a8 ---------------------------------------------------------------------------------- */

static A512VNNI void w8a8_avx512(long p0, long p1, long K, const int8_t *W, const float *scale, const int32_t *rowsum,
                                 const uint8_t *xq, float sx, int accumulate, float *y) {
    for (long p = p0; p < p1; p += RN) {
        PASS_ROWS(int8_t, w, W, p, p1, K);
        __m512i a[RN];
        RK_UNROLL for (int r = 0; r < RN; r++) a[r] = _mm512_setzero_si512();
        for (long k = 0; k < K; k += 64) { /* xq is zero-padded to 64: only the weights need a mask */
            const __mmask64 m = K - k >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << (K - k)) - 1);
            const __m512i xv = _mm512_loadu_si512((const void *)(xq + k));
            RK_UNROLL for (int r = 0; r < RN; r++) a[r] = _mm512_dpbusd_epi32(a[r], xv, _mm512_maskz_loadu_epi8(m, w[r] + k));
        }
        /* rk_w8a8_row for 16 rows: dot - 128 rowsum fits int32 (K <= 66000), so the int32 and
           the int64 difference convert to the same float. */
        const __mmask16 m = mask16(p1 - p);
        const __m512i centred = _mm512_sub_epi32(sum16_epi32(a), _mm512_slli_epi32(_mm512_maskz_loadu_epi32(m, rowsum + p), 7));
        const __m512 scales = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, scale + p), _mm512_set1_ps(sx));
        store_rows(_mm512_mul_ps(_mm512_cvtepi32_ps(centred), scales), p, p1, accumulate, y);
    }
}

/* rk_quantize_u8 (narrow.c) in 16 lanes: the maximum is exact in any order, and every other step
   is the same IEEE operation per element, so the bytes and sx are the portable loop's. */
static A512 float quantize_avx512(long K, const float *x, uint8_t *xq, long padded) {
    __m512 m = _mm512_setzero_ps(), poison = _mm512_setzero_ps();
    for (long k = 0; k < K; k += 16) {
        const __m512 v = _mm512_maskz_loadu_ps(mask16(K - k), x + k);
        m = _mm512_max_ps(m, _mm512_abs_ps(v));
        poison = _mm512_add_ps(poison, _mm512_mul_ps(v, _mm512_setzero_ps()));
    }
    const float bad = _mm512_reduce_add_ps(poison), sx = _mm512_reduce_max_ps(m) / 127.0f;
    if (bad != 0.0f || !(sx > 0.0f)) {
        memset(xq, 128, (size_t)K);
        memset(xq + K, 0, (size_t)(padded - K));
        return bad != 0.0f ? NAN : 0.0f;
    }
    const __m512 vs = _mm512_set1_ps(sx), magic = _mm512_set1_ps(12582912.0f);
    const __m512 hi = _mm512_set1_ps(127.0f), lo = _mm512_set1_ps(-127.0f);
    const __m512i offset = _mm512_set1_epi32(128);
    for (long k = 0; k < K; k += 16) {
        const __mmask16 mk = mask16(K - k);
        __m512 r = _mm512_sub_ps(_mm512_add_ps(_mm512_div_ps(_mm512_maskz_loadu_ps(mk, x + k), vs), magic), magic);
        r = _mm512_max_ps(_mm512_min_ps(r, hi), lo);
        _mm_mask_storeu_epi8(xq + k, mk, _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_cvtps_epi32(r), offset)));
    }
    memset(xq + K, 0, (size_t)(padded - K));
    return sx;
}

const rk_narrow_arch rk_narrow_avx512 = {.isa = RK_ISA_AVX512, .bf16 = bf16_avx512, .int8 = int8_avx512,
                                         .w8a8 = w8a8_avx512, .quantize = quantize_avx512};

#endif
