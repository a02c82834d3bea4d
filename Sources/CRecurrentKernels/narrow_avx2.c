/*
 * Narrow-weight matrix-vector kernels on AVX2 + FMA: the AVX-512 file's scheme
 * (narrow_avx512.c) at 8 lanes. bf16: 16 weights per 32-byte load, split into
 * even and odd columns by a shift and a mask; int8: 8 weights per 8-byte load,
 * sign-extended and converted. Four rows at a time, two accumulators each.
 * AVX2 has no masked 16- or 8-bit loads, so the last partial block of a row is
 * summed by a scalar loop into its own term (the same for every row).
 */
#include "CRecurrentKernels.h"
#include "gemm_internal.h"
#include "narrow_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <string.h>

#define A256 __attribute__((target("avx2,fma")))
#define RN 4

RK_INLINE A256 float hsum256(__m256 v) {
    const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}

RK_INLINE float widen_bf16(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

RK_INLINE A256 void bf16_pass(const int R, long p, long K, const uint16_t *RK_RESTRICT W, const float *RK_RESTRICT x,
                              const float *RK_RESTRICT xe, const float *RK_RESTRICT xo, int accumulate,
                              float *RK_RESTRICT y) {
    __m256 ae[RN], ao[RN];
    const uint16_t *w[RN];
    const __m256i high = _mm256_set1_epi32((int)0xFFFF0000u);
    RK_UNROLL for (int r = 0; r < R; r++) {
        ae[r] = ao[r] = _mm256_setzero_ps();
        w[r] = W + (p + r) * K;
    }
    long k = 0;
    for (; k + 16 <= K; k += 16) {
        const __m256 ve = _mm256_loadu_ps(xe + k / 2), vo = _mm256_loadu_ps(xo + k / 2);
        RK_UNROLL for (int r = 0; r < R; r++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(w[r] + k));
            ae[r] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_slli_epi32(v, 16)), ve, ae[r]);
            ao[r] = _mm256_fmadd_ps(_mm256_castsi256_ps(_mm256_and_si256(v, high)), vo, ao[r]);
        }
    }
    RK_UNROLL for (int r = 0; r < R; r++) {
        float tail = 0.0f;
        for (long j = k; j < K; j++) tail += widen_bf16(w[r][j]) * x[j];
        const float s = hsum256(_mm256_add_ps(ae[r], ao[r])) + tail;
        y[p + r] = accumulate ? y[p + r] + s : s;
    }
}

static A256 void bf16_avx2(long p0, long p1, long K, const uint16_t *W, const float *x, const float *xe,
                           const float *xo, int accumulate, float *y) {
    long p = p0;
    for (; p + RN <= p1; p += RN) bf16_pass(RN, p, K, W, x, xe, xo, accumulate, y);
    for (; p < p1; p++) bf16_pass(1, p, K, W, x, xe, xo, accumulate, y);
}

RK_INLINE A256 __m256 widen8(const int8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

RK_INLINE A256 void int8_pass(const int R, long p, long K, const int8_t *RK_RESTRICT W, const float *RK_RESTRICT scale,
                              const float *RK_RESTRICT x, int accumulate, float *RK_RESTRICT y) {
    __m256 a0[RN], a1[RN];
    const int8_t *w[RN];
    RK_UNROLL for (int r = 0; r < R; r++) {
        a0[r] = a1[r] = _mm256_setzero_ps();
        w[r] = W + (p + r) * K;
    }
    long k = 0;
    for (; k + 16 <= K; k += 16) {
        const __m256 x0 = _mm256_loadu_ps(x + k), x1 = _mm256_loadu_ps(x + k + 8);
        RK_UNROLL for (int r = 0; r < R; r++) {
            a0[r] = _mm256_fmadd_ps(widen8(w[r] + k), x0, a0[r]);
            a1[r] = _mm256_fmadd_ps(widen8(w[r] + k + 8), x1, a1[r]);
        }
    }
    RK_UNROLL for (int r = 0; r < R; r++) {
        float tail = 0.0f;
        for (long j = k; j < K; j++) tail += (float)w[r][j] * x[j];
        const float s = scale[p + r] * (hsum256(_mm256_add_ps(a0[r], a1[r])) + tail);
        y[p + r] = accumulate ? y[p + r] + s : s;
    }
}

static A256 void int8_avx2(long p0, long p1, long K, const int8_t *W, const float *scale, const float *x,
                           int accumulate, float *y) {
    long p = p0;
    for (; p + RN <= p1; p += RN) int8_pass(RN, p, K, W, scale, x, accumulate, y);
    for (; p < p1; p++) int8_pass(1, p, K, W, scale, x, accumulate, y);
}

const rk_narrow_arch rk_narrow_avx2 = {.isa = RK_ISA_AVX2, .bf16 = bf16_avx2, .int8 = int8_avx2};

#endif
