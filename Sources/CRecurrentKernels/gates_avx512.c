/*
 * The elementwise kernels (gates_body.h) on AVX-512: 16 lanes, tails through
 * mask registers (masked loads never touch the lanes that are off).
 * Compiled with a target attribute on every function (no -mavx512f flag) and
 * only called after the runtime check in cpu.c.
 */
#include <math.h>
#include "CRecurrentKernels.h"
#include "gates_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#define RK_TARGET_512 "avx512f,avx512vl,avx512bw,avx512dq,fma"
#if defined(__clang__)
#pragma clang attribute push(__attribute__((target(RK_TARGET_512))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq,fma")
#endif

#define VW 16
typedef __m512 vf;
typedef __mmask16 vm;
typedef __m512i vi;

static inline vm vmask(long n) { return n >= 16 ? (vm)0xFFFF : n <= 0 ? (vm)0 : (vm)((1u << n) - 1u); }
static inline vf vload(const float *p, vm m) { return m == 0xFFFF ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(m, p); }
static inline vf vload_or(const float *p, vm m, float f) { return _mm512_mask_loadu_ps(_mm512_set1_ps(f), m, p); }
static inline void vstore(float *p, vf v, vm m) {
    if (m == 0xFFFF) _mm512_storeu_ps(p, v); /* whole vectors, the common case, without the mask */
    else _mm512_mask_storeu_ps(p, m, v);
}
static inline vf vset1(float x) { return _mm512_set1_ps(x); }
static inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
static inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
static inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
static inline vf vdiv(vf a, vf b) { return _mm512_div_ps(a, b); }
static inline vf vsqrt(vf a) { return _mm512_sqrt_ps(a); }
static inline vf vfma(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
static inline vf vmin(vf a, vf b) { return _mm512_min_ps(a, b); }
static inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }
static inline vf vabs(vf a) { return _mm512_abs_ps(a); }
static inline vf vcopysign(vf mag, vf sgn) {
    const vi s = _mm512_and_si512(_mm512_castps_si512(sgn), _mm512_set1_epi32((int)0x80000000u));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(mag), s));
}
static inline vf vselect_lt(vf a, vf b, vf x, vf y) {
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, b, _CMP_LT_OQ), y, x);
}
static inline vf vgt0_select(vf a, vf x) { return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(a, _mm512_setzero_ps(), _CMP_GT_OQ), x); }
static inline vf vkeep(vf v, vm m) { return _mm512_maskz_mov_ps(m, v); }
static inline float vhmax(vf v) { return _mm512_reduce_max_ps(v); }
static inline float vhsum(vf v) {
    /* fixed pairwise order: 16 -> 8 -> 4 -> 2 -> 1 */
    __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
    return _mm_cvtss_f32(s4);
}
static inline vi vf_as_vi(vf v) { return _mm512_castps_si512(v); }
static inline vf vi_as_vf(vi v) { return _mm512_castsi512_ps(v); }
static inline vi vi_sub_const(vi v, int c) { return _mm512_sub_epi32(v, _mm512_set1_epi32(c)); }
static inline vi vi_shl23(vi v) { return _mm512_slli_epi32(v, 23); }

/* Σ x² in double: 16 floats per step widened into two double accumulators. */
static double sum_squares_avx512(long n, const float *x) {
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (long i = 0; i < n; i += 16) {
        const __m512 v = _mm512_maskz_loadu_ps(vmask(n - i), x + i);
        const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v)), hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
        s0 = _mm512_fmadd_pd(lo, lo, s0);
        s1 = _mm512_fmadd_pd(hi, hi, s1);
    }
    return _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
}

#define RK_SUFFIX avx512
#define RK_ISA_ID RK_ISA_AVX512
#include "gates_body.h"

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif
#endif
